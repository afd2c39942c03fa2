#!/usr/bin/env python3
"""End-to-end checks of the compose cluster from the host (standard library
only; scripts/container-test.sh runs it):

1. an account made through instance A signs in through B;
2. a message sent through A reaches an event stream on B within 1 s;
3. writers post to A while A is killed with SIGKILL: every write A
   acknowledged is read back, intact, through B.

Usage: container_e2e.py URL_A URL_B KILL_COMMAND...
Exits non-zero on the first failed check; prints what it measured.
"""

import http.client
import json
import queue
import secrets
import subprocess
import sys
import threading
import time
import urllib.parse

PASSWORD = "correct horse battery staple"


def fail(message):
    print(f"FAILED: {message}", file=sys.stderr)
    sys.exit(1)


class Api:
    """One keep-alive connection to one instance."""

    def __init__(self, base, timeout=10):
        url = urllib.parse.urlsplit(base)
        self.host, self.port = url.hostname, url.port
        self.timeout = timeout
        self.conn = None

    def call(self, method, path, body=None, token=None):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        headers = {}
        if body is not None:
            headers["content-type"] = "application/json"
            body = json.dumps(body)
        if token:
            headers["authorization"] = f"Bearer {token}"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except Exception:
            self.conn.close()
            self.conn = None
            raise
        return response.status, (json.loads(data) if data else None)


def expect(result, status, what):
    if result[0] != status:
        fail(f"{what}: expected {status}, got {result[0]} {result[1]}")
    return result[1]


def stream(base, token, events, ready):
    """Reads `base`'s event stream into `events` as (time, event, data)."""
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.request("GET", "/v1/events", headers={"authorization": f"Bearer {token}"})
    response = conn.getresponse()
    if response.status != 200:
        events.put((time.monotonic(), "error", str(response.status)))
        ready.set()
        return
    ready.set()
    event, data = None, []
    while True:
        line = response.fp.readline()
        if not line:
            return
        line = line.decode().rstrip("\r\n")
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif line == "":
            if data:
                # An event without an `event:` field is a "message" (SSE).
                events.put((time.monotonic(), event or "message", "\n".join(data)))
            event, data = None, []


def main():
    if len(sys.argv) < 4:
        fail("usage: container_e2e.py URL_A URL_B KILL_COMMAND...")
    url_a, url_b, kill = sys.argv[1], sys.argv[2], sys.argv[3:]
    a, b = Api(url_a), Api(url_b)
    tag = secrets.token_hex(4)

    # 1. Made through A, signed in through B.
    alice, bob = f"alice-{tag}", f"bob-{tag}"
    for name in (alice, bob):
        expect(a.call("POST", "/v1/accounts", {"username": name, "password": PASSWORD}), 201, f"create {name} on A")
    alice_token = expect(b.call("POST", "/v1/sessions", {"username": alice, "password": PASSWORD}), 201, "alice signs in on B")["access_token"]
    bob_token = expect(b.call("POST", "/v1/sessions", {"username": bob, "password": PASSWORD}), 201, "bob signs in on B")["access_token"]
    print(f"ok: {alice} made through A signed in through B")

    # 2. Sent through A, seen on a stream on B.
    events, ready = queue.Queue(), threading.Event()
    threading.Thread(target=stream, args=(url_b, bob_token, events, ready), daemon=True).start()
    if not ready.wait(10):
        fail("the stream on B did not open")
    text = f"hello through the cluster {tag}"
    sent = time.monotonic()
    record = expect(a.call("POST", f"/v1/users/{bob}/messages", {"message": text}, alice_token), 201, "send through A")
    deadline = sent + 5
    latency = None
    while latency is None:
        try:
            at, event, data = events.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            fail("the message sent through A never reached the stream on B")
        if event == "error":
            fail(f"the stream on B answered {data}")
        if event == "message" and (record.get("id", "\0") in data or text in data):
            latency = at - sent
    if latency >= 1.0:
        fail(f"the message took {latency * 1000:.0f} ms to reach B (limit 1000 ms)")
    print(f"ok: a message sent through A reached a stream on B in {latency * 1000:.1f} ms")

    # 3. Writers on A, A killed, every acknowledged write read through B.
    writers = []
    for i in range(4):
        name = f"writer{i}-{tag}"
        expect(a.call("POST", "/v1/accounts", {"username": name, "password": PASSWORD}), 201, f"create {name}")
        token = expect(b.call("POST", "/v1/sessions", {"username": name, "password": PASSWORD}), 201, f"{name} signs in")["access_token"]
        writers.append(token)
    acked, lock, refused = [], threading.Lock(), [0]

    def write(token, lane):
        api, n = Api(url_a, timeout=5), 0
        while True:
            text = f"{lane}-{n}-{secrets.token_hex(8)}"
            n += 1
            try:
                status, body = api.call("POST", "/v1/messages", {"message": text, "ttl_seconds": 3600}, token)
            except Exception:
                return  # A is gone: the write in flight was never acknowledged
            if status == 201:
                with lock:
                    acked.append((token, body["id"], text))
            elif status == 429:
                with lock:
                    refused[0] += 1
                time.sleep(0.05)
            else:
                fail(f"a write to A answered {status} {body}")

    threads = [threading.Thread(target=write, args=(writers[i % 4], i), daemon=True) for i in range(8)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    with lock:
        before_kill = len(acked)
    started = time.monotonic()
    subprocess.run(kill, check=True, stdout=subprocess.DEVNULL)
    for t in threads:
        t.join(15)
        if t.is_alive():
            fail("a writer to A was still running 15 s after A was killed")
    if before_kill == 0:
        fail("no write was acknowledged before A was killed")
    lost = 0
    for token, record_id, text in acked:
        status, body = b.call("GET", f"/v1/messages/{urllib.parse.quote(record_id)}", token=token)
        if status != 200 or body.get("message") != text:
            lost += 1
            print(f"lost: {record_id} answered {status}", file=sys.stderr)
    if lost:
        fail(f"{lost} of {len(acked)} acknowledged writes were not read back through B")
    print(
        f"ok: A killed with SIGKILL during writes ({before_kill} acknowledged before the kill, "
        f"{len(acked)} in all, {refused[0]} refused by the rate limit); all {len(acked)} read back "
        f"through B, 0 lost (writers stopped {time.monotonic() - started:.1f} s after the kill)"
    )


if __name__ == "__main__":
    main()
