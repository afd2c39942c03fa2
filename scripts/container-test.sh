#!/usr/bin/env bash
# The server image and the compose cluster, built and tested with podman
# and no registry (.ci/run runs it; docs/operations.md#containers):
#
#   1. installs podman, runc, debootstrap and podman-compose when missing,
#      with runc and capped ulimits (this machine's cgroups and limits);
#   2. makes the base image localhost/debian:bookworm with debootstrap if
#      absent;
#   3. builds the server image from the host's release binary (or
#      STRONGROOM_BIN's: CI passes the debug binary its tests built), and local
#      PostgreSQL and NATS images from Debian's packages;
#   4. checks the image alone: a missing master-key secret, an unreachable
#      database and a read-only /data each end with one error line and a
#      non-zero exit;
#   5. starts compose.yaml (two instances on PostgreSQL + NATS, secrets as
#      files) and tests it from the host: non-root, an unreachable NATS,
#      scripts/container_e2e.py (sign-in across instances, a message
#      across instances within 1 s, kill -9 of A during writes loses
#      nothing acknowledged), and `down -t 5` within 10 s.
#
# Prints each step and how long it took; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

begin=$SECONDS
step_start=$SECONDS
step() {
  if [ -n "${step_name:-}" ]; then
    echo "   (${step_name}: $((SECONDS - step_start)) s)"
  fi
  step_name="$1"
  step_start=$SECONDS
  echo "== $1"
}
fail() {
  echo "FAILED: $*" >&2
  exit 1
}
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo

step "podman"
need=()
for tool in podman runc debootstrap podman-compose; do
  command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
if [ ${#need[@]} -gt 0 ]; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
conf=/etc/containers/containers.conf
if ! grep -qs 'runtime = "runc"' "$conf"; then
  # crun fails on this machine's hybrid cgroups, and the default ulimits
  # exceed what root may set here.
  $sudo mkdir -p /etc/containers
  printf '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n\n[engine]\nruntime = "runc"\n' |
    $sudo tee "$conf" >/dev/null
fi
podman --version

step "base image localhost/debian:bookworm"
if ! podman image exists localhost/debian:bookworm; then
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  rootfs=$(mktemp -d)
  $sudo debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/dev/null
  # Downloaded packages, documentation and translations are not needed.
  $sudo rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/usr/share/doc "$rootfs"/usr/share/man "$rootfs"/usr/share/locale
  $sudo tar -C "$rootfs" -c . | podman import - localhost/debian:bookworm >/dev/null
  $sudo rm -rf "$rootfs"
fi
echo "localhost/debian:bookworm: $(podman image inspect --format '{{.Size}}' localhost/debian:bookworm | numfmt --to=iec)"

step "images"
bin="${STRONGROOM_BIN:-}"
if [ -z "$bin" ]; then
  cargo build --release --bin strongroom
  bin=target/release/strongroom
fi
version=$("$bin" --version | awk '{print $2}')
# The build context admits target/release/strongroom and target/image/ only.
mkdir -p target/image
cp "$bin" target/image/strongroom
podman build -q --format docker -f Containerfile -t localhost/strongroom:latest \
  --build-arg BASE_IMAGE=localhost/debian:bookworm \
  --build-arg BINARY=target/image/strongroom \
  --build-arg VERSION="$version" \
  --build-arg SOURCE="$(git remote get-url origin 2>/dev/null || echo local)" \
  --build-arg REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)" . >/dev/null
podman build -q -t localhost/strongroom-postgres:15 containers/postgres >/dev/null
podman build -q -t localhost/strongroom-nats:latest containers/nats >/dev/null
for image in localhost/strongroom:latest localhost/strongroom-postgres:15 localhost/strongroom-nats:latest; do
  echo "$image: $(podman image inspect --format '{{.Size}}' "$image" | numfmt --to=iec)"
done
echo "the server's own layers: $(podman history --format '{{.Size}} {{.CreatedBy}}' localhost/strongroom:latest |
  grep -E 'COPY|mkdir' | cut -d' ' -f1-2 | paste -sd' ')"
podman image inspect localhost/strongroom:latest | python3 -c '
import json, sys
image = json.load(sys.stdin)[0]
labels = image.get("Labels") or {}
for label in ("source", "version", "licenses"):
    assert labels.get("org.opencontainers.image." + label), "the image has no %s label" % label
assert image["Config"].get("User") == "10001:10001", "the image does not run as uid 10001"
assert image["Config"].get("StopSignal") == "SIGTERM", "the image stops with another signal"
check = image.get("Healthcheck") or {}
assert check.get("Test", [None])[0] == "CMD" and "healthcheck" in check["Test"], "no exec-form HEALTHCHECK"
print("ok: labels %s; user 10001; HEALTHCHECK %s" % (
    ", ".join(k.rsplit(".", 1)[1] + "=" + v for k, v in labels.items() if k.startswith("org.opencontainers")),
    " ".join(check["Test"][1:])))
' || fail "the image is not as the Containerfile says"

work=$(mktemp -d)
project="strongroom-ci-$$"
compose=(podman-compose -p "$project" -f compose.yaml)
cleanup() {
  status=$?
  if [ $status -ne 0 ] && [ -n "${compose_up:-}" ]; then
    for c in $(podman ps -a --filter "label=io.podman.compose.project=$project" --format '{{.Names}}'); do
      echo "-- logs of $c (last 20 lines)"
      podman logs --tail 20 "$c" 2>&1 || true
    done
  fi
  if [ -n "${compose_up:-}" ]; then
    "${compose[@]}" down -t 1 >/dev/null 2>&1 || true
  fi
  podman rm -f -t 0 "$project-alone" >/dev/null 2>&1 || true
  for v in $(podman volume ls -q --filter "name=$project"); do podman volume rm -f "$v" >/dev/null 2>&1 || true; done
  rm -rf "$work"
  exit $status
}
trap cleanup EXIT

# A failed start: exit status non-zero, exactly one "error:" line, no panic.
one_line_failure() { # what, then the podman run arguments
  local what="$1"
  shift
  local out="$work/out" code=0
  timeout 60 podman run --rm --name "$project-alone" "$@" >"$out" 2>&1 || code=$?
  [ "$code" -ne 0 ] || fail "$what: the server started"
  [ "$code" -ne 124 ] || fail "$what: the server neither started nor stopped within 60 s"
  [ "$(grep -c '^error: ' "$out")" -eq 1 ] || { cat "$out"; fail "$what: not one error line"; }
  ! grep -qiE 'panicked|backtrace' "$out" || { cat "$out"; fail "$what: a panic"; }
  echo "ok: $what: exit $code, $(grep '^error: ' "$out")"
}

step "faults at start"
key="$work/key"
head -c 32 /dev/urandom | base64 >"$key"
chmod 0444 "$key"
one_line_failure "no master-key secret" \
  -e STRONGROOM_MASTER_KEY_FILE=/run/secrets/master_key localhost/strongroom:latest
one_line_failure "unreachable database" \
  -v "$key:/run/secrets/master_key:ro" -e STRONGROOM_MASTER_KEY_FILE=/run/secrets/master_key \
  -e STRONGROOM_DATABASE_URL=postgres://strongroom:nothing@127.0.0.1:1/strongroom \
  localhost/strongroom:latest
podman volume create "$project-readonly" >/dev/null
podman run --rm -v "$project-readonly:/data" --entrypoint /usr/local/bin/strongroom \
  localhost/strongroom:latest --version >/dev/null # the volume takes /data's owner and mode
one_line_failure "read-only /data" \
  -v "$project-readonly:/data:ro" -v "$key:/run/secrets/master_key:ro" \
  -e STRONGROOM_MASTER_KEY_FILE=/run/secrets/master_key localhost/strongroom:latest

step "compose up (PostgreSQL and NATS, then the two instances)"
scripts/compose-secrets.sh "$work/secrets" >/dev/null
export STRONGROOM_SECRETS="$work/secrets"
export POSTGRES_IMAGE=localhost/strongroom-postgres:15
export NATS_IMAGE=localhost/strongroom-nats:latest
export BASE_IMAGE=localhost/debian:bookworm
export STRONGROOM_A_PORT=$((20000 + RANDOM % 10000))
export STRONGROOM_B_PORT=$((STRONGROOM_A_PORT + 1))
compose_up=1
# podman-compose 1.0 starts services in order but does not wait for
# `condition: service_healthy`; so the databases first, until healthy.
"${compose[@]}" up -d postgres nats >/dev/null 2>&1
healthy() {
  local c="${project}_$1_1"
  for _ in $(seq 120); do
    podman healthcheck run "$c" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  fail "$1 did not become healthy"
}
healthy postgres
healthy nats
"${compose[@]}" up -d --no-build >/dev/null 2>&1
A="http://127.0.0.1:$STRONGROOM_A_PORT"
B="http://127.0.0.1:$STRONGROOM_B_PORT"
for url in "$A" "$B"; do
  ready=""
  for _ in $(seq 120); do
    if curl -sf "$url/readyz" >/dev/null; then ready=1; break; fi
    sleep 0.5
  done
  [ -n "$ready" ] || fail "$url/readyz never answered"
done
podman ps --filter "label=io.podman.compose.project=$project" --format '{{.Names}} {{.Status}}'

step "non-root and healthy"
for service in strongroom-a strongroom-b; do
  c="${project}_${service}_1"
  pid=$(podman inspect --format '{{.State.Pid}}' "$c")
  uid=$(ps -o uid= -p "$pid" | tr -d ' ')
  [ "$uid" = 10001 ] || fail "$service runs as uid $uid"
  podman healthcheck run "$c" >/dev/null || fail "$service: its HEALTHCHECK fails"
  echo "ok: $service runs as uid $uid; its HEALTHCHECK (strongroom healthcheck) passes"
done
pg_uid=$(ps -o uid= -p "$(podman inspect --format '{{.State.Pid}}' "${project}_postgres_1")" | tr -d ' ')
[ "$pg_uid" != 0 ] || fail "postgres runs as root"
# The key is a secret mount: root's, mode 0444, read-only; accepted.
# Read whole before grep: `grep -q` stops at the first match, and under
# pipefail the SIGPIPE that then ends `podman logs` failed this check.
logs_a=$(podman logs "${project}_strongroom-a_1" 2>&1)
grep -q 'read-only mount' <<<"$logs_a" ||
  fail "the instance did not say it took the key from a read-only secret mount"

step "an unreachable NATS at start"
one_line_failure "unreachable NATS" --network "${project}_default" \
  -v "$work/secrets/master_key:/run/secrets/master_key:ro" \
  -v "$work/secrets/database_url:/run/secrets/database_url:ro" \
  -e STRONGROOM_MASTER_KEY_FILE=/run/secrets/master_key \
  -e STRONGROOM_DATABASE_URL_FILE=/run/secrets/database_url \
  -e STRONGROOM_NATS_URL=nats://nats:1 localhost/strongroom:latest

step "end to end from the host"
python3 scripts/container_e2e.py "$A" "$B" podman kill -s KILL "${project}_strongroom-a_1"

step "compose down -t 5"
down_start=$(date +%s%N)
"${compose[@]}" down -t 5 >/dev/null 2>&1
down_ms=$((($(date +%s%N) - down_start) / 1000000))
compose_up=""
echo "down took $down_ms ms"
[ "$down_ms" -lt 10000 ] || fail "compose down took $down_ms ms (limit 10 s)"

step "done"
echo "container test: passed in $((SECONDS - begin)) s"
