#!/usr/bin/env bash
# Every test, as the README says: the whole workspace (the engine on its
# embedded redb backend, the server, the browser tests), then the engine's
# integration suite again, unchanged, on PostgreSQL
# (STRONGROOM_TEST_BACKEND=postgres; each test process starts a throwaway
# server from the installed package). Extra arguments go to both runs.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace "$@"

echo "== the engine's integration suite on PostgreSQL"
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  printf '\n**********\nSKIPPED the engine suite on PostgreSQL: PostgreSQL is not installed (apt-get install postgresql); .ci/run installs it.\n**********\n\n'
  exit 0
fi
# `--workspace --test engine` (not `-p strongroom-engine`): the same feature
# resolution as the run above, so nothing is compiled again.
STRONGROOM_TEST_BACKEND=postgres cargo test --workspace --test engine "$@"
