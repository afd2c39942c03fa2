#!/usr/bin/env bash
# Copies facade/assets/app/uqr.js, the QR code encoder the web client
# draws share links with, from the pinned uqr in web/uqr
# (package-lock.json). A single dependency-free ES module: copied as it
# is, with a header. Only needed to change its version.
set -euo pipefail
cd "$(dirname "$0")/../web/uqr"
npm ci --no-audit --no-fund --ignore-scripts
version=$(node -p 'JSON.parse(require("fs").readFileSync("node_modules/uqr/package.json")).version')
{
  echo "// uqr ${version} (MIT, see uqr.LICENSE), copied by scripts/vendor-uqr.sh from web/uqr. Do not edit."
  cat node_modules/uqr/dist/index.mjs
} > ../../facade/assets/app/uqr.js
cp node_modules/uqr/LICENSE ../../facade/assets/app/uqr.LICENSE
