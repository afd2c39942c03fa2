#!/usr/bin/env bash
# Rebuilds facade/assets/app/hpke.js, the HPKE library the web client
# imports, from the pinned @hpke/core in web/hpke (package-lock.json).
# Only needed to change that version: the bundle is committed, so neither
# `cargo run` nor the tests need Node. Reproducible: the same lock file
# gives the same bytes (CI does not run this; `git diff` after it shows
# nothing).
set -euo pipefail
cd "$(dirname "$0")/../web/hpke"
npm ci --no-audit --no-fund --ignore-scripts
version=$(node -p 'require("@hpke/core/package.json").version')
npx --no-install esbuild entry.js --bundle --format=esm --target=es2022 \
  --legal-comments=inline \
  --banner:js="// @hpke/core ${version} (MIT, see hpke.LICENSE), bundled by scripts/build-hpke.sh from web/hpke. Do not edit." \
  --outfile=../../facade/assets/app/hpke.js
cp node_modules/@hpke/core/LICENSE ../../facade/assets/app/hpke.LICENSE
