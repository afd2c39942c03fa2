#!/usr/bin/env bash
# Makes the secrets compose.yaml mounts, in DIR (default ./secrets): a
# fresh master key, a PostgreSQL password and the database URL holding it.
# Never overwrites: an existing master key is the only key to the data.
#
# The directory is 0700; the files are 0444 and should be owned by root
# (run as root, or `sudo chown root:root DIR/*`), because the server runs
# as uid 10001 in its container: it accepts a key others can read only
# as a mounted secret (owned by root, on a read-only mount, outside the
# data directory). Rootless podman shows your own files as root's.
#
# Usage: scripts/compose-secrets.sh [DIR]
set -euo pipefail
dir="${1:-./secrets}"
mkdir -p "$dir"
chmod 0700 "$dir"
umask 0277
for name in master_key postgres_password database_url; do
  if [ -e "$dir/$name" ]; then
    echo "$dir/$name exists; not overwritten" >&2
    exit 1
  fi
done
head -c 32 /dev/urandom | base64 > "$dir/master_key"
password=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')
printf '%s' "$password" > "$dir/postgres_password"
printf 'postgres://strongroom:%s@postgres:5432/strongroom\n' "$password" > "$dir/database_url"
chmod 0444 "$dir/master_key" "$dir/postgres_password" "$dir/database_url"
echo "secrets in $dir: master_key, postgres_password, database_url (keep a copy of master_key apart from the data)"
