#!/usr/bin/env bash
# Checks that the OpenAPI document says exactly what the server does:
# schemathesis (all checks, all phases: examples, coverage, fuzzing,
# stateful) against a release build on a fresh data dir, authenticated as
# a fresh admin (so the admin API is exercised, not only refused). The
# event stream (SSE, endless) is excluded; it has its own end-to-end tests.
#
# Usage: scripts/schemathesis.sh [SECONDS]   (default 180; CI uses 60)
# Installs schemathesis into target/schemathesis-venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-180}"

venv=target/schemathesis-venv
if [ ! -x "$venv/bin/st" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'schemathesis>=4.3,<5'
fi

cargo build --release --bin strongroom >&2
work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
base="http://127.0.0.1:$port"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
printf '%s\n' 'correct horse battery' |
  target/release/strongroom user add schemathesis --role admin --data-dir "$work/data" >/dev/null
STRONGROOM_LOG=warn target/release/strongroom serve --listen "127.0.0.1:$port" \
  --data-dir "$work/data" >"$work/server.log" 2>&1 &
for _ in $(seq 100); do
  curl -sf "$base/healthz" >/dev/null && break
  sleep 0.1
done

json='content-type: application/json'
creds='{"username":"schemathesis","password":"correct horse battery"}'
token=$(curl -sf -XPOST "$base/v1/sessions" -H "$json" -d "$creds" |
  sed -E 's/.*"access_token":"([^"]+)".*/\1/')

st() { # extra args...
  "$venv/bin/st" run "$base/openapi.json" --checks all --seed 1 \
    -H "Authorization: Bearer $token" "$@"
}
# Everything but logout, which would revoke the token the run uses; then
# logout on its own.
status=0
st --phases examples,coverage,fuzzing,stateful --max-time "$seconds" \
  --exclude-operation-id events --exclude-operation-id logout "${@:2}" || status=$?
st --phases examples,coverage,fuzzing --max-time 20 \
  --include-operation-id logout "${@:2}" || status=$?
if grep -qi panic "$work/server.log"; then
  cat "$work/server.log" >&2
  echo "the server panicked during the run" >&2
  exit 1
fi
exit $status
