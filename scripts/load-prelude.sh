# shellcheck shell=bash
# Sourced first by profile_route.sh, alloc_profile.sh, cpu_split.sh,
# syscall_count.sh and memory_scan.sh (from the repository's root): checks
# that each tool in $tools is installed, builds the release server unless
# STRONGROOM_BIN names another build (sets bin), and makes a work dir,
# $work, removed on exit with the jobs still running stopped.
for tool in $tools; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 1; }
done
bin="${STRONGROOM_BIN:-target/release/strongroom}"
[ -n "${STRONGROOM_BIN:-}" ] || cargo build --release --bin strongroom >&2
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
