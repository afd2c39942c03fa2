#!/usr/bin/env bash
# Mixed concurrent load, then the store's own checks: scripts/mixed_load.py
# (every operation of six accounts from twelve threads, and an admin's
# from two, racing on purpose) against `strongroom serve` with credits on,
# on a fresh data dir; then the server is stopped and `strongroom verify
# --deep` and `strongroom audit verify` must find nothing wrong. Fails on
# any 5xx, any dropped connection, a panic in the server's log, or an
# integrity problem.
#
# Usage: scripts/mixed_load.sh [SECONDS]   (default 120; CI uses 30)
# STRONGROOM_BIN=PATH runs that binary instead of building the release one.
# DATABASE_URL=postgres://… runs it against PostgreSQL (an empty database);
# there a 503 "busy with conflicting writes" (a write that conflicted
# through every retry) is counted but not a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-120}"

bin="${STRONGROOM_BIN:-}"
if [ -z "$bin" ]; then
  cargo build --release --bin strongroom >&2
  bin=target/release/strongroom
fi
work=$(mktemp -d)
server=""
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
port=$((20000 + RANDOM % 20000))
base="http://127.0.0.1:$port"
mkdir -m 700 "$work/data"
head -c 32 /dev/urandom | base64 >"$work/master.key"
chmod 600 "$work/master.key"
store=(--data-dir "$work/data" --master-key-file "$work/master.key")
if [ -n "${DATABASE_URL:-}" ]; then
  store+=(--database-url "$DATABASE_URL")
  # A write refused after every retry of its conflicts answers 503 there.
  export MIXED_LOAD_ALLOW_BUSY=1
fi

printf '%s\n' 'correct horse battery staple' |
  "$bin" user add mixed-admin --role admin "${store[@]}" >/dev/null
STRONGROOM_LOG=warn "$bin" serve --listen "127.0.0.1:$port" "${store[@]}" \
  --registration open --anonymous-shares --trusted-proxy 127.0.0.1 \
  --credits --credits-initial 1000000 --quota-writes-per-minute 1000000 \
  --public-url "http://localhost:$port" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do
  curl -sf "$base/healthz" >/dev/null && break
  sleep 0.1
done
admin=$(curl -sf -XPOST "$base/v1/sessions" -H 'content-type: application/json' \
  -d '{"username":"mixed-admin","password":"correct horse battery staple"}' |
  sed -E 's/.*"access_token":"([^"]+)".*/\1/')

status=0
python3 scripts/mixed_load.py "$base" "$seconds" "$admin" || status=1
kill -TERM "$server"
wait "$server" || { echo "the server did not stop cleanly" >&2; status=1; }
if grep -a -n "panicked" "$work/server.log"; then
  echo "the server panicked (above)" >&2
  status=1
fi
echo "-- strongroom verify --deep"
"$bin" verify --deep "${store[@]}" || status=1
echo "-- strongroom audit verify"
"$bin" audit verify "${store[@]}" || status=1
exit $status
