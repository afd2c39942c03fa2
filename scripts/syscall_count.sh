#!/usr/bin/env bash
# The system calls a route costs the server: starts the release server on
# a fresh data dir (the setup of scripts/http_load.sh, with its metrics
# listener on), loads the route with `wrk -t2 -c64 -d12s`, counts the
# server's system calls for 4 s in the middle (`strace -c -f`), and
# prints each call's count per request answered in those 4 s (from the
# server's request counter). strace slows every call it counts, so the
# requests/s printed is not the route's; the counts per request are.
# What found a futex call per durable write that woke nobody. Needs wrk
# and strace (apt-get install wrk strace).
#
# Usage: scripts/syscall_count.sh one|page|health|post
# STRONGROOM_BIN=path/to/strongroom counts another build.
set -euo pipefail
cd "$(dirname "$0")/.."
route="${1:?one, page, health or post}"
tools="wrk strace"
# shellcheck source=scripts/load-prelude.sh
source scripts/load-prelude.sh
metrics=127.0.0.1:18082
extra_flags="--metrics-listen $metrics"
# shellcheck source=scripts/load-setup.sh
source scripts/load-setup.sh
route_load "$route"
answered() { # requests answered so far, every route and status
  curl -sf "http://$metrics/metrics" |
    awk '/^strongroom_http_requests_total/ {n += $2} END {print n + 0}'
}
wrk -t2 -c64 -d12s "${load[@]}" "$url" >"$work/wrk" &
wrk_pid=$!
sleep 3
before=$(answered)
timeout -s INT 4 strace -c -f -qq -p "$server_pid" -o "$work/strace" >/dev/null 2>&1 || true
after=$(answered)
wait $wrk_pid
echo "$route: $((after - before)) requests answered in the 4 s counted"
# strace -c's table: calls in column 4, the name last.
awk -v n=$((after - before)) '
  $NF != "syscall" && $NF != "total" && $4 ~ /^[0-9]+$/ {
    printf "  %-16s %9d calls  %6.2f per request\n", $NF, $4, $4 / n
  }' "$work/strace"
