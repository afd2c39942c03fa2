#!/usr/bin/env bash
# Where the machine's time goes while a route is under load: starts the
# release server on a fresh data dir (the setup of scripts/http_load.sh),
# loads the route with `wrk -t2 -c64 -d10s`, and over 5 s in the middle
# prints the machine's CPU split and disk writes (`vmstat 1`: busy user
# and system, idle, waiting on the disk, MB/s written, context switches
# per request) and each server thread's CPU time (/proc/PID/task: a
# thread named tokio-rt-worker is an async worker or the blocking thread
# that commits, which runs under the same name). What tells a route bound
# by CPU (idle near 0) from one bound by waiting (idle or iowait left
# over). Needs wrk and vmstat (apt-get install wrk procps).
#
# Usage: scripts/cpu_split.sh one|page|health|post
# STRONGROOM_BIN=path/to/strongroom measures another build.
set -euo pipefail
cd "$(dirname "$0")/.."
route="${1:?one, page, health or post}"
tools="wrk vmstat"
# shellcheck source=scripts/load-prelude.sh
source scripts/load-prelude.sh
# shellcheck source=scripts/load-setup.sh
source scripts/load-setup.sh
route_load "$route"
threads() { # one line per thread: id name user-ticks system-ticks
  for task in /proc/"$server_pid"/task/*; do
    printf '%s %s %s\n' "${task##*/}" "$(tr ' ' _ <"$task/comm")" "$(awk '{print $14, $15}' "$task/stat")"
  done | sort
}
wrk -t2 -c64 -d10s "${load[@]}" "$url" >"$work/wrk" &
wrk_pid=$!
sleep 3
threads >"$work/before"
# The first line of vmstat is the average since boot: skipped.
vmstat -w 1 6 | tail -n 5 >"$work/vmstat"
threads >"$work/after"
wait $wrk_pid
rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk")
echo "$route: $rps requests/s"
awk -v rps="$rps" '
  { us += $13; sy += $14; id += $15; wa += $16; bo += $10; cs += $12; n++ }
  END {
    printf "machine (vmstat, 5 s): user %.0f%%, system %.0f%%, idle %.0f%%, iowait %.0f%%;", us / n, sy / n, id / n, wa / n
    printf " disk writes %.0f MB/s; %.2f context switches per request\n", bo / n / 1000, cs / n / rps
  }' "$work/vmstat"
ticks=$(getconf CLK_TCK)
echo "server threads with CPU time (share of one core over the 5 s):"
join "$work/before" "$work/after" | awk -v hz="$ticks" '
  {
    user = ($6 - $3) / hz / 5 * 100; sys = ($7 - $4) / hz / 5 * 100
    if (user + sys >= 0.5) printf "  %-8s %-18s user %5.1f%%  system %5.1f%%\n", $1, $2, user, sys
  }' | sort -k4 -rn
