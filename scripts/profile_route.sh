#!/usr/bin/env bash
# Where a route's server time goes, by crate: starts the release
# server on a fresh data dir (the setup of scripts/http_load.sh: one
# account, 21 messages of 1 KiB), loads the route with
# `wrk -t2 -c64 -d20s`, records the server with `perf record -F 999` for
# 12 s in the middle, and prints the self time summed by the symbol's crate
# (kernel, mimalloc and libc's mem* on lines of their own), then the top
# symbols. For `post` (durable writes of 1 KiB) it also prints the group
# commits over the 20 s: how many, and records per commit, which is
# writes per fsync (from the server's metrics), and, with strace
# installed, the bytes and redb pages written before each fdatasync. Needs
# wrk and perf (apt-get install wrk linux-perf; strace for the pages).
#
# Usage: scripts/profile_route.sh one|page|health|post [TOP]
# STRONGROOM_BIN=path/to/strongroom profiles another build.
set -euo pipefail
cd "$(dirname "$0")/.."
route="${1:?one, page, health or post}"
top="${2:-15}"
tools="wrk perf"
# shellcheck source=scripts/load-prelude.sh
source scripts/load-prelude.sh
metrics=127.0.0.1:18082
[ "$route" != post ] || extra_flags="--metrics-listen $metrics"
# shellcheck source=scripts/load-setup.sh
source scripts/load-setup.sh
pid=$server_pid
route_load "$route"
commits() { # "commits records seconds" so far, from the commit histograms
  curl -sf "http://$metrics/metrics" | awk '
    /^strongroom_commit_batch_records_count/ {c = $2}
    /^strongroom_commit_batch_records_sum/ {r = $2}
    /^strongroom_commit_seconds_sum/ {t = $2}
    END {print c + 0, r + 0, t + 0}'
}
[ "$route" != post ] || before=$(commits)
wrk -t2 -c64 -d20s --latency "${load[@]}" "$url" >"$work/wrk" &
wrk_pid=$!
sleep 4
perf record -q -F 999 -p "$pid" -o "$work/perf.data" -- sleep 12 >/dev/null 2>&1
if [ "$route" = post ] && command -v strace >/dev/null; then
  # What each commit writes before its flush: 2 s of the store's writes.
  timeout 2 strace -f -qq -x -s 4 -e trace=pwrite64,fdatasync -p "$pid" \
    -o "$work/strace" >/dev/null 2>&1 || true
fi
wait $wrk_pid
grep -E "Requests/sec|99%" "$work/wrk"
if [ "$route" = post ]; then
  read -r c0 r0 t0 <<<"$before"
  read -r c1 r1 t1 <<<"$(commits)"
  awk -v c=$((c1 - c0)) -v r="$r1" -v r0="$r0" -v t="$t1" -v t0="$t0" 'BEGIN {
    printf "group commits: %d in 20 s, records per commit (writes per fsync): %.1f,", c, (r - r0) / c
    printf " mean commit %.3f ms, committing %.0f%% of the time\n", 1000 * (t - t0) / c, 100 * (t - t0) / 20
  }'
  # Pages written per flush, by redb's page kind (the first byte of a
  # page: 1 a leaf, 2 a branch; a write under 4 KiB is the file header).
  [ ! -s "$work/strace" ] || awk '
    /pwrite64\(/ && match($0, /"(\.\.\.)?, [0-9]+, [0-9]+/) {
      args = substr($0, RSTART, RLENGTH)
      sub(/^[^,]*, /, "", args)
      split(args, a, ", ")
      bytes += a[1]; writes++
      if (a[1] < 4096) header++
      else if ($0 ~ /"\\x01/) leaves++
      else if ($0 ~ /"\\x02/) branches++
    }
    /fdatasync/ && / = 0/ { syncs++ }
    END {
      if (!syncs) exit
      printf "per fdatasync (strace, 2 s): %.0f bytes in %.1f writes: %.1f leaf pages, %.1f branch pages, %.1f header\n",
        bytes / syncs, writes / syncs, leaves / syncs, branches / syncs, header / syncs
    }' "$work/strace"
fi
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
