#!/usr/bin/env bash
# Rebuilds facade/assets/app/zxcvbn.js, the password strength estimator
# the web client's registration and password change use, from the pinned
# @zxcvbn-ts packages in web/zxcvbn (package-lock.json). Only needed to
# change those versions: the bundle is committed, so neither `cargo run`
# nor the tests need Node. Reproducible like scripts/build-hpke.sh.
set -euo pipefail
cd "$(dirname "$0")/../web/zxcvbn"
npm ci --no-audit --no-fund --ignore-scripts
version=$(node -p 'require("@zxcvbn-ts/core/package.json").version')
npx --no-install esbuild entry.js --bundle --format=esm --target=es2022 --minify \
  --legal-comments=inline \
  --banner:js="// @zxcvbn-ts/core ${version} with language-common and language-en (MIT, see zxcvbn.LICENSE), bundled by scripts/build-zxcvbn.sh from web/zxcvbn. Do not edit." \
  --outfile=../../facade/assets/app/zxcvbn.js
cp node_modules/@zxcvbn-ts/core/LICENSE* ../../facade/assets/app/zxcvbn.LICENSE
