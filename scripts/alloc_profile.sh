#!/usr/bin/env bash
# Heap allocations per request on a route, and where they come from: starts
# the release server on a fresh data dir (the setup of scripts/http_load.sh),
# puts a uprobe on mimalloc's allocation entry (`mi_malloc_aligned`, which
# every Rust allocation of the server goes through), its reallocation
# (`mi_realloc_aligned`: a growing `Vec` or `String`, counted apart) and
# its `mi_free`, counts the three over 5 s of `wrk -t1 -c1` (one
# connection, so the count is exact, not a sample), then records 0.3 s of
# allocations with their call stacks and prints the share of each
# allocating site (the allocator's caller and its caller), scaled to
# allocations per request. Uprobes slow every allocation down: the
# requests/s here mean nothing. Needs root, wrk and perf (apt-get install
# wrk linux-perf).
#
# For `post` (durable writes of 1 KiB) each request commits alone (one
# connection), so the count includes a whole commit's allocations per
# request, which under load are shared by a batch: CONNECTIONS=64 runs
# `wrk -t2 -c64` instead (the count is then per request over all of them).
#
# Usage: scripts/alloc_profile.sh one|page|health|post [TOP]
# STRONGROOM_BIN=path/to/strongroom profiles another build.
set -euo pipefail
cd "$(dirname "$0")/.."
route="${1:?one, page, health or post}"
top="${2:-30}"
tools="wrk perf"
# shellcheck source=scripts/load-prelude.sh
source scripts/load-prelude.sh
# A copy of its own, so that the probes name this run's binary only.
cp "$bin" "$work/strongroom"
bin="$work/strongroom"
group=probe_strongroom
trap 'kill $(jobs -p) 2>/dev/null || true; perf probe -q -d "$group:*" 2>/dev/null || true; rm -rf "$work"' EXIT
for fn in mi_malloc_aligned mi_realloc_aligned mi_free; do
  perf probe -q -x "$bin" "$fn" >/dev/null
done
# shellcheck source=scripts/load-setup.sh
source scripts/load-setup.sh
connections="${CONNECTIONS:-1}"
threads=$((connections > 1 ? 2 : 1))
route_load "$route"
perf stat -x, -e "$group:mi_malloc_aligned" -e "$group:mi_realloc_aligned" \
  -e "$group:mi_free" -p "$server_pid" \
  -o "$work/stat" -- sleep 7 &
stat_pid=$!
sleep 1
wrk -t"$threads" -c"$connections" -d5s "${load[@]}" "$url" >"$work/wrk"
wait $stat_pid
requests=$(grep -oE "^ +[0-9]+ requests" "$work/wrk" | grep -oE "[0-9]+")
per() { awk -F, -v r="$requests" -v e="$1" '$3 ~ e {printf "%.1f", $1 / r}' "$work/stat"; }
per_request=$(per mi_malloc_aligned)
echo "requests: $requests; allocations per request: $per_request" \
  "(reallocations: $(per mi_realloc_aligned), frees: $(per mi_free))"
wrk -t"$threads" -c"$connections" -d3s "${load[@]}" "$url" >/dev/null &
load_pid=$!
sleep 1
perf record -q -e "$group:mi_malloc_aligned" --call-graph dwarf,16384 -p "$server_pid" \
  -o "$work/perf.data" -- sleep 0.3 >/dev/null 2>&1
wait $load_pid
echo "allocations per request by site (allocator's caller <- its caller):"
perf script -i "$work/perf.data" --max-stack 4 -F ip,sym 2>/dev/null | awk -v per="$per_request" '
  BEGIN { RS = "" }
  {
    n = split($0, frame, "\n"); site = ""
    for (i = 2; i <= n && i <= 3; i++) {
      s = frame[i]; sub(/^[ \t]*[0-9a-f]+ /, "", s)
      site = site (i > 2 ? " <- " : "") substr(s, 1, 100)
    }
    count[site]++; total++
  }
  END { for (s in count) printf "%5.1f  %s\n", per * count[s] / total, s }' |
  sort -rn | head -n "$top"
