# shellcheck shell=bash
# Sourced by http_load.sh, profile_route.sh, alloc_profile.sh,
# cpu_split.sh, syscall_count.sh and memory_scan.sh: starts `strongroom
# serve` (binary "$bin") on 127.0.0.1:18080 with a data dir under
# "$work", the account quotas lifted (SERVE_FLAGS replaces those flags;
# the caller's $extra_flags, if set, are added), and stores 21 messages of
# 1 KiB for an account `load`. Sets base, json, token (the account's),
# message, id (the last message's) and server_pid, and defines
# post_script and route_load.

# The load comes from one address and one account: lift the connection cap
# and the account's quotas (0.1.0 and other builds without quota flags:
# pass SERVE_FLAGS).
flags="${SERVE_FLAGS---max-connections-per-address 4096 --quota-writes-per-minute 4294967295 --quota-messages 1000000000 --quota-bytes 1000000000000}"
# shellcheck disable=SC2086
STRONGROOM_LOG=warn "$bin" serve --listen 127.0.0.1:18080 \
  --data-dir "$work/data" $flags ${extra_flags:-} >/dev/null 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  curl -sf http://127.0.0.1:18080/healthz >/dev/null && break
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

post_script() { # FILE TOKEN: writes a wrk script that stores the 1 KiB message as TOKEN's holder
  cat >"$1" <<LUA
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "Bearer $2"
wrk.body = '{"message":"$message","ttl_seconds":3600}'
LUA
}

route_load() { # ROUTE (one, page, health or post): sets url, and load (wrk's arguments)
  load=(-H "authorization: Bearer $token")
  case $1 in
    one) url=$base/v1/messages/$id ;;
    page) url="$base/v1/messages?limit=20" ;;
    health) url=$base/healthz ;;
    post)
      url=$base/v1/messages
      post_script "$work/post.lua" "$token"
      load=(-s "$work/post.lua")
      ;;
    *) echo "route: one, page, health or post" >&2; exit 2 ;;
  esac
}
