#!/usr/bin/env bash
# HTTP load, side by side in one window: a bare poem hello-world server
# (examples/hello_world.rs) and `strongroom serve` (release build, a fresh
# data dir), each hit with `wrk -t2 -c64 -d10s --latency` on the same
# machine. Prints one table row per endpoint (requests/s, p50, p99, the
# server's CPU time per request — its user and system time over the run,
# from /proc, divided by the requests answered — and the share of
# hello-world's requests/s). Needs wrk (apt-get install wrk).
#
# With ROUNDS > 1 every endpoint runs once per round, in turn, and each
# column is the median over the rounds (the share is computed within each
# round, against that round's hello world, and then its median taken): on a
# shared machine one window can differ from the next by 20%.
#
# Usage: scripts/http_load.sh [DURATION_SECONDS] [ROUNDS]
# STRONGROOM_BIN=path/to/strongroom runs another build (e.g. an older
# release) against the same harness; SERVE_FLAGS adds flags to serve.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
rounds="${2:-1}"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

# Two commands, not one: built together, the example's dev-dependencies
# would unify the server's features differently from the other load
# scripts' `cargo build --release --bin strongroom`, and each switch
# between the scripts would rebuild the server.
cargo build --release --bin strongroom >&2
cargo build --release --example hello_world >&2
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

target/release/examples/hello_world 127.0.0.1:18081 >/dev/null &
hello_pid=$!
bin="${STRONGROOM_BIN:-target/release/strongroom}"
# shellcheck source=scripts/load-setup.sh
source scripts/load-setup.sh
for _ in $(seq 100); do
  curl -sf http://127.0.0.1:18081/ >/dev/null && break
  sleep 0.1
done
# The writes go to a second account, and outlive the run: every round then
# reads the same 20-message page, and no reaper purge runs meanwhile.
writer='{"username":"writer","password":"correct horse battery"}'
curl -sf -XPOST $base/v1/accounts -H "$json" -d "$writer" >/dev/null
writer_token=$(curl -sf -XPOST $base/v1/sessions -H "$json" -d "$writer" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
post_script "$work/post.lua" "$writer_token"

cpu_ticks() { # pid: its user + system time so far, in clock ticks
  awk '{print $14 + $15}' "/proc/$1/stat"
}
ticks_per_second=$(getconf CLK_TCK)

run() { # name, pid, url, extra wrk args...: prints name|requests/s|p50 ms|p99 ms|server CPU µs per request
  local name=$1 pid=$2 url=$3; shift 3
  local before after
  before=$(cpu_ticks "$pid")
  wrk -t2 -c64 -d"${duration}s" --latency "$@" "$url" >"$work/wrk"
  after=$(cpu_ticks "$pid")
  awk -v name="$name" -v ticks=$((after - before)) -v hz="$ticks_per_second" '
    function ms(v) {
      if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
      if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
      if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
      return v
    }
    /^Requests\/sec/ { rps = $2 }
    / requests in / { requests = $1 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    END { printf "%s|%.0f|%.3f|%.3f|%.2f\n", name, rps, p50, p99, ticks / hz * 1e6 / requests }' "$work/wrk"
}

endpoints=(
  "hello world (bare poem)|http://127.0.0.1:18081/"
  "GET /healthz|$base/healthz"
  "GET /v1/messages/{id} (1 KiB)|$base/v1/messages/$id"
  "GET /v1/messages?limit=20|$base/v1/messages?limit=20"
  "POST /v1/messages (1 KiB, durable)|$base/v1/messages"
)
results="$work/results"
for round in $(seq "$rounds"); do
  hello=""
  for entry in "${endpoints[@]}"; do
    name=${entry%%|*} url=${entry#*|}
    case $name in
      hello*) row=$(run "$name" "$hello_pid" "$url") ;;
      *healthz) row=$(run "$name" "$server_pid" "$url") ;;
      POST*) row=$(run "$name" "$server_pid" "$url" -s "$work/post.lua") ;;
      *) row=$(run "$name" "$server_pid" "$url" -H "authorization: Bearer $token") ;;
    esac
    rps=$(cut -d'|' -f2 <<<"$row")
    [ -n "$hello" ] || hello=$rps
    echo "$round|$row|$(awk -v a="$rps" -v b="$hello" 'BEGIN {printf "%.1f", 100 * a / b}')" >>"$results"
  done
  [ "$rounds" -eq 1 ] || echo "round $round of $rounds done" >&2
done

rounds_of() { # column number: that column for endpoint $name, one round per line, sorted
  awk -F'|' -v n="$name" -v c="$1" '$2 == n {print $c}' "$results" | sort -g
}
median() { # column number: the median of that column for endpoint $name
  rounds_of "$1" |
    awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
range() { # column number: "lowest–highest" of that column for endpoint $name
  rounds_of "$1" | awk 'NR == 1 {lo = $1} {hi = $1} END {print lo "–" hi}'
}
[ "$rounds" -eq 1 ] || echo "medians over $rounds rounds of ${duration}s per endpoint"
echo "| endpoint | requests/s | p50 | p99 | server CPU per request | share of hello world |"
echo "|---|---|---|---|---|---|"
for entry in "${endpoints[@]}"; do
  name=${entry%%|*}
  printf '| %s | %.0f | %.2f ms | %.2f ms | %.2f µs | %.1f%% |\n' \
    "$name" "$(median 3)" "$(median 4)" "$(median 5)" "$(median 6)" "$(median 7)"
done
if [ "$rounds" -gt 1 ]; then
  echo
  echo "Per round, lowest–highest: share of hello world, p99 (ms), server CPU per request (µs)"
  for entry in "${endpoints[@]}"; do
    name=${entry%%|*}
    echo "- $name: $(range 7)%, $(range 5) ms, $(range 6) µs"
  done
fi
