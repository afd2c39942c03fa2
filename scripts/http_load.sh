#!/usr/bin/env bash
# HTTP load, side by side in one window: a bare poem hello-world server
# (examples/hello_world.rs) and `strongroom serve` (release build, a fresh
# data dir), each hit with `wrk -t2 -c64 -d10s --latency` on the same
# machine. Prints one table row per endpoint (requests/s, p50, p99, and the
# share of hello-world's requests/s). Needs wrk (apt-get install wrk).
#
# Usage: scripts/http_load.sh [DURATION_SECONDS]
# STRONGROOM_BIN=path/to/strongroom runs another build (e.g. an older
# release) against the same harness; SERVE_FLAGS adds flags to serve.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

cargo build --release --bin strongroom --example hello_world >&2
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

target/release/examples/hello_world 127.0.0.1:18081 >/dev/null &
bin="${STRONGROOM_BIN:-target/release/strongroom}"
# The load comes from one address and one account: lift the connection cap
# and the account's quotas (0.1.0 and other builds without quota flags:
# pass SERVE_FLAGS).
flags="${SERVE_FLAGS---max-connections-per-address 4096 --quota-writes-per-minute 4294967295 --quota-messages 1000000000 --quota-bytes 1000000000000}"
# shellcheck disable=SC2086
STRONGROOM_LOG=warn "$bin" serve --listen 127.0.0.1:18080 \
  --data-dir "$work/data" $flags >/dev/null 2>&1 &
for _ in $(seq 100); do
  curl -sf http://127.0.0.1:18080/healthz >/dev/null && curl -sf http://127.0.0.1:18081/ >/dev/null && break
  sleep 0.1
done

base=http://127.0.0.1:18080
json='content-type: application/json'
creds='{"username":"load","password":"correct horse battery"}'
curl -sf -XPOST $base/v1/accounts -H "$json" -d "$creds" >/dev/null
token=$(curl -sf -XPOST $base/v1/sessions -H "$json" -d "$creds" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
message=$(printf '%*s' 1024 '' | tr ' ' x)
for _ in $(seq 20); do
  curl -sf -XPOST $base/v1/messages -H "$json" -H "authorization: Bearer $token" \
    -d "{\"message\":\"$message\",\"ttl_seconds\":3600}" >/dev/null
done
id=$(curl -sf -XPOST $base/v1/messages -H "$json" -H "authorization: Bearer $token" \
  -d "{\"message\":\"$message\",\"ttl_seconds\":3600}" | sed -E 's/.*"id":"([^"]+)".*/\1/')
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "Bearer $token"
wrk.body = '{"message":"$message","ttl_seconds":60}'
LUA

run() { # name, url, extra wrk args...
  local name=$1 url=$2; shift 2
  local out
  out=$(wrk -t2 -c64 -d"${duration}s" --latency "$@" "$url")
  local rps p50 p99
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  echo "$name|$rps|$p50|$p99"
}

rows=()
rows+=("$(run 'hello world (bare poem)' http://127.0.0.1:18081/)")
rows+=("$(run 'GET /healthz' $base/healthz)")
rows+=("$(run 'GET /v1/messages/{id} (1 KiB)' "$base/v1/messages/$id" -H "authorization: Bearer $token")")
rows+=("$(run 'GET /v1/messages?limit=20' "$base/v1/messages?limit=20" -H "authorization: Bearer $token")")
rows+=("$(run 'POST /v1/messages (1 KiB, durable)' $base/v1/messages -s "$work/post.lua")")

hello=$(cut -d'|' -f2 <<<"${rows[0]}")
echo "| endpoint | requests/s | p50 | p99 | share of hello world |"
echo "|---|---|---|---|---|"
for row in "${rows[@]}"; do
  IFS='|' read -r name rps p50 p99 <<<"$row"
  share=$(awk -v a="$rps" -v b="$hello" 'BEGIN {printf "%.0f%%", 100 * a / b}')
  echo "| $name | $rps | $p50 | $p99 | $share |"
done
