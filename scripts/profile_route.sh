#!/usr/bin/env bash
# Where a read route's server time goes, by crate: starts the release
# server on a fresh data dir (the setup of scripts/http_load.sh: one
# account, 21 messages of 1 KiB), loads the route with
# `wrk -t2 -c64 -d20s`, records the server with `perf record -F 999` for
# 12 s in the middle, and prints the self time summed by the symbol's crate
# (kernel, mimalloc and libc's mem* on lines of their own), then the top
# symbols. Needs wrk and perf (apt-get install wrk linux-perf).
#
# Usage: scripts/profile_route.sh one|page [TOP]
# STRONGROOM_BIN=path/to/strongroom profiles another build.
set -euo pipefail
cd "$(dirname "$0")/.."
route="${1:?one or page}"
top="${2:-15}"
for tool in wrk perf; do
  command -v $tool >/dev/null || { echo "$tool is not installed" >&2; exit 1; }
done
bin="${STRONGROOM_BIN:-target/release/strongroom}"
[ -n "${STRONGROOM_BIN:-}" ] || cargo build --release --bin strongroom >&2
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
# shellcheck source=scripts/load-setup.sh
source scripts/load-setup.sh
pid=$server_pid
case $route in
  one) url=$base/v1/messages/$id ;;
  page) url="$base/v1/messages?limit=20" ;;
  *) echo "route: one or page" >&2; exit 2 ;;
esac
wrk -t2 -c64 -d20s --latency -H "authorization: Bearer $token" "$url" >"$work/wrk" &
load=$!
sleep 4
perf record -q -F 999 -p "$pid" -o "$work/perf.data" -- sleep 12 >/dev/null 2>&1
wait $load
grep -E "Requests/sec|99%" "$work/wrk"
perf report -i "$work/perf.data" --no-children --sort symbol 2>/dev/null | grep '%' | grep -v '^#' |
  awk -v top="$top" '
    {
      share = $1; sub(/%/, "", share); kind = $2; sym = $3
      for (i = 4; i <= NF && $i != "-"; i++) sym = sym " " $i
      if (kind == "[k]") crate = "kernel"
      else if (sym ~ /^_?mi_/) crate = "mimalloc"
      else if (sym ~ /mem(move|cpy|set|cmp)/) crate = "libc mem*"
      else if (sym ~ /aesni|aws_lc|gcm/) crate = "aws-lc (AES-GCM)"
      else { s = sym; sub(/^</, "", s); sub(/^(alloc::boxed::Box<T> as |T as )/, "", s); split(s, p, "::"); crate = p[1] }
      by[crate] += share
      if (NR <= top) tops[NR] = sprintf("%6.2f%%  %s", share, sym)
    }
    END {
      print "by crate:"
      cmd = "sort -rn | head -" top
      for (c in by) printf "%6.2f%%  %s\n", by[c], c | cmd
      close(cmd)
      print "top symbols:"
      for (i = 1; i <= top; i++) if (i in tops) print tops[i]
    }'
