#!/usr/bin/env bash
# What plaintext a running server leaves in its memory: starts the release
# server on a fresh data dir (the setup of scripts/http_load.sh, which signs
# up and logs in the account `load`), opens one HTTP/1.1 and one HTTP/2
# event stream for it, stores 40 messages that each carry a numbered
# marker, closes the streams, then reads every readable mapping of the
# server through /proc/PID/mem and counts the copies of message text
# (by the marker), of the account's password and of its access token
# still there — in freed memory or not. Each message and token copy is
# counted by what it sits in: a request as received (hyper's read
# buffer), an event's JSON or a response, or other. Before the scan it
# also makes ten share links of two views, fetches each one's page twice
# and opens each once through the API; their tokens are counted the same
# way. Last, with the streams closed, it
# stores ten messages of 3 KiB whose JSON has escapes (quotes, line
# breaks) and counts copies of their text as unescaped. Every secret is
# looked for past its first 8 bytes (and every marker sits 16 bytes into
# its text): in a freed block those bytes hold the allocator's free list,
# so a copy at a block's start would otherwise go uncounted.
# With --multiline each message's text has line breaks (escaped in JSON,
# so every body holding it outgrows the length it was sized for), and the
# 40 are read back as two pages of 20 before the scan.
# Needs curl with HTTP/2 and python3, and the right to read the server's
# memory (root, or the same user with ptrace allowed).
#
# Usage: scripts/memory_scan.sh [--multiline]
# STRONGROOM_BIN=path/to/strongroom scans another build.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  --multiline) filler=$(printf 'line\\n%.0s' $(seq 80)) ;;
  "") filler=$(printf '%*s' 300 '' | tr ' ' x) ;;
  *) echo "usage: $0 [--multiline]" >&2; exit 2 ;;
esac
tools="curl python3"
# shellcheck source=scripts/load-prelude.sh
source scripts/load-prelude.sh
# shellcheck source=scripts/load-setup.sh
source scripts/load-setup.sh
auth="authorization: Bearer $token"
curl -sN "$base/v1/events" -H "$auth" >"$work/http1" &
curl -sN --http2-prior-knowledge "$base/v1/events" -H "$auth" >"$work/http2" &
sleep 1
for i in $(seq 40); do
  curl -sf -o /dev/null -XPOST $base/v1/messages -H "$json" -H "$auth" \
    -d "{\"message\":\"sixteen bytes.. SCANMARK-$i-$filler\"}"
done
if [ -n "${1:-}" ]; then
  cursor=$(curl -sf "$base/v1/messages?limit=20" -H "$auth" | sed -E 's/.*"next_cursor":"([^"]+)".*/\1/')
  curl -sf -o /dev/null "$base/v1/messages?limit=20&cursor=$cursor" -H "$auth"
fi
# Ten share links of two views, each page fetched twice (HTML, which
# carries the token) and each opened once through the API (the token in
# the path), so each stays live.
for _ in $(seq 10); do
  url=$(curl -sf -XPOST $base/v1/shares -H "$json" -H "$auth" -d '{"message":"shared","max_views":2}' |
    sed -E 's/.*"url":"([^"]+)".*/\1/')
  echo "${url##*/}" >>"$work/shares"
  curl -sf -o /dev/null "$base/s/${url##*/}"
  curl -sf -o /dev/null "$base/s/${url##*/}"
  curl -sf -o /dev/null -XPOST "$base/v1/shares/${url##*/}/open" -H "$json" -d '{}'
done
sleep 1
kill %2 %3
wait %2 %3 2>/dev/null || true
# Last, with the streams closed, ten messages of 3 KiB whose JSON has
# escapes (a quote, 51 line breaks), each unescaped by the server as it
# reads the body: a reader that unescapes into a buffer it grows and frees
# unerased (serde_json's scratch) leaves their text behind. (The marker
# is not at the text's start: a freed block's first bytes are overwritten
# by the allocator's free list.)
line=$(printf '%*s\\n' 60 '' | tr ' ' y)
lines=$(for _ in $(seq 50); do printf '%s' "$line"; done)
for i in $(seq 10); do
  curl -sf -o /dev/null -XPOST $base/v1/messages -H "$json" -H "$auth" \
    -d "{\"message\":\"sixteen bytes.. ESCMARK-$i \\\"quoted\\\" line\\nbreak $lines\"}"
done
echo "events received: HTTP/1.1 stream $(grep -c SCANMARK "$work/http1"), HTTP/2 stream $(grep -c SCANMARK "$work/http2")"
python3 - "$server_pid" "$token" "$work/shares" <<'PY'
import re, sys
pid, token = sys.argv[1], sys.argv[2].encode()
links = [line.strip().encode() for line in open(sys.argv[3]) if line.strip()]
mem = open(f"/proc/{pid}/mem", "rb", 0)
marks, password, tokens, shares, unescaped = [], 0, {}, {}, []
for line in open(f"/proc/{pid}/maps"):
    fields = line.split()
    if "r" not in fields[1] or (len(fields) > 5 and fields[5] in ("[vvar]", "[vsyscall]")):
        continue
    start, end = (int(x, 16) for x in fields[0].split("-"))
    try:
        mem.seek(start)
        data = mem.read(end - start)
    except (OSError, ValueError, OverflowError):
        continue
    # Each secret is found by what follows its first 8 bytes: in a freed
    # block those hold the allocator's free list.
    password += data.count(b" horse battery")
    for m in re.finditer(re.escape(token[8:]), data):
        start = m.start() - 8
        before, after = data[max(0, start - 60):start], data[m.end():m.end() + 40]
        kind = ("in a request as received" if after.startswith(b"\r\n")
                else "in a response" if b'_token":"' in before or b'"ticket":"' in before
                else "other (a decoded HTTP/2 header block, for one)")
        tokens[kind] = tokens.get(kind, 0) + 1
    for link in links:
        for m in re.finditer(re.escape(link[8:]), data):
            before = data[max(0, m.start() - 28):m.start() - 8]
            kind = ("in a request as received" if before.endswith((b"GET /s/", b"POST /v1/shares/"))
                    else "in a page" if before.endswith(b'data-token="')
                    else "in the response that created it" if before.endswith(b"/s/")
                    else "other")
            shares[kind] = shares.get(kind, 0) + 1
    unescaped += [int(m.group(1)) for m in re.finditer(rb'ESCMARK-(\d+) "quoted" line\nbreak', data)]
    for m in re.finditer(rb"SCANMARK-(\d+)-", data):
        before = data[max(0, m.start() - 200):m.start()]
        kind = ("request as received" if b"\r\n\r\n" in before
                else "event JSON or a response" if b'"sender_id"' in before else "other")
        marks.append((int(m.group(1)), kind))
print(f"message text: {len(marks)} copies of {len({n for n, _ in marks})} of the 40 messages")
for kind in sorted({k for _, k in marks}):
    found = sorted(n for n, k in marks if k == kind)
    print(f"  {kind}: {len(found)} (messages {', '.join(map(str, found))})")
print(f"escaped messages, unescaped: {len(unescaped)} copies of {len(set(unescaped))} of the 10"
      + (f" (messages {', '.join(map(str, sorted(unescaped)))})" if unescaped else ""))
print(f"password: {password} copies")
print(f"access token: {sum(tokens.values())} copies")
for kind, n in sorted(tokens.items()):
    print(f"  {kind}: {n}")
print(f"share link tokens: {sum(shares.values())} copies of {len(links)} tokens")
for kind, n in sorted(shares.items()):
    print(f"  {kind}: {n}")
PY
