#!/usr/bin/env python3
"""Mixed concurrent load: many clients doing everything an account can
do, to the same few accounts at once, while the accounts come and go.

Threads pick random operations (messages, sends, files, shares of
messages and of files, opening them, API keys, TOTP and passkey setup,
end-to-end keys, credits, event streams, password changes, sign-out,
deleting the account) for six accounts, and, given an admin token, two more threads
change those accounts' roles, quotas, credits and passwords, disable,
end the sessions of and delete them. Requests race one another on
purpose: a deletion overtakes a share, a file goes while it is copied.

Every answer must be a status below 500 and every connection must hold:
prints the count per (operation, status) and each failure, and exits 1
if there was any. The store's own checks (`strongroom verify --deep`)
come after, in scripts/mixed_load.sh.

Standard library only. Each request carries a random X-Forwarded-For
(the server trusts 127.0.0.1 as a proxy), so the per-address sign-in
limits do not turn the run into 429s.

Usage: mixed_load.py BASE_URL SECONDS [ADMIN_TOKEN]
"""

import base64
import collections
import http.client
import json
import os
import random
import sys
import threading
import time
import urllib.parse

BASE = sys.argv[1]
SECONDS = float(sys.argv[2])
ADMIN = sys.argv[3] if len(sys.argv) > 3 else None
PASSWORD = "correct horse battery staple"
NAMES = [f"mixed{i}" for i in range(6)]
THREADS = 12

stats = collections.Counter()
failures = []
lock = threading.Lock()
tokens = {}


class Reply:
    def __init__(self, status, body):
        self.status = status
        self.body = body

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return {}


class Client:
    """One keep-alive HTTP/1.1 connection, reopened when the server
    closes it (as it does after answering before reading a body)."""

    def __init__(self, rnd):
        url = urllib.parse.urlsplit(BASE)
        self.host, self.port = url.hostname, url.port
        self.rnd = rnd
        self.conn = None
        self.last = None

    def call(self, method, path, token=None, body=None, raw=None, headers=None):
        h = dict(headers or {})
        h["X-Forwarded-For"] = "10.%d.%d.%d" % tuple(self.rnd.randrange(256) for _ in range(3))
        if token:
            h["Authorization"] = f"Bearer {token}"
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        self.last = f"{method} {path.split('?')[0]}"
        try:
            self.conn.request(method, path, body=data, headers=h)
            response = self.conn.getresponse()
            reply = Reply(response.status, response.read())
            if response.will_close:
                self.conn.close()
                self.conn = None
            return reply
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            raise


# On PostgreSQL a write that kept conflicting through every retry is
# answered 503 with Retry-After (docs/api.md): counted, not a failure.
BUSY_ALLOWED = os.environ.get("MIXED_LOAD_ALLOW_BUSY") == "1"


def note(op, reply):
    with lock:
        stats[(op, reply.status)] += 1
        busy = reply.status == 503 and b"busy with conflicting writes" in reply.body
        if reply.status >= 500 and not (busy and BUSY_ALLOWED):
            failures.append((op, reply.status, reply.body[:300]))


def b64(n):
    return base64.urlsafe_b64encode(os.urandom(n)).rstrip(b"=").decode()


def sign_in(client, name):
    """A token for `name`, making the account first if it is gone; None
    (after a pause, when refused for a while) if there is none now."""
    credentials = {"username": name, "password": PASSWORD}
    reply = client.call("POST", "/v1/sessions", body=credentials)
    note("sign-in", reply)
    if reply.status == 401:
        note("create-account", client.call("POST", "/v1/accounts", body=credentials))
        reply = client.call("POST", "/v1/sessions", body=credentials)
        note("sign-in", reply)
    if reply.status in (403, 429):
        # Disabled by the admin, or signing in too often: wait a little.
        time.sleep(0.2)
    return reply.json().get("access_token") if reply.status == 201 else None


def user_op(client, rnd, name, token, mine):
    """One random operation of `name`'s; returns (label, reply) or None."""
    ids = lambda kind: [i for k, i in mine if k == kind]
    op = rnd.choice([
        "store", "send", "delete-message", "list", "upload", "send-file", "delete-file",
        "list-files", "download", "share", "share-file", "open-share", "revoke-share",
        "delete-account", "api-key", "revoke-api-key", "me", "password", "totp", "e2e-key",
        "credits", "ledger", "ticket", "passkey", "passphrase-share", "sign-out", "stream",
    ])
    call = lambda method, path, **kw: client.call(method, path, token=token, **kw)
    if op == "store":
        r = call("POST", "/v1/messages", body={"message": "x" * rnd.randint(1, 3000), "ttl_seconds": 600})
        if r.status == 201:
            mine.append(("message", r.json()["id"]))
    elif op == "send":
        r = call("POST", f"/v1/users/{rnd.choice(NAMES)}/messages", body={"message": "hi"})
    elif op == "delete-message":
        if not ids("message"):
            return None
        r = call("DELETE", f"/v1/messages/{rnd.choice(ids('message'))}")
    elif op == "list":
        r = call("GET", "/v1/messages?limit=20")
    elif op in ("upload", "send-file"):
        path = "/v1/files" if op == "upload" else f"/v1/users/{rnd.choice(NAMES)}/files"
        r = call("POST", path, raw=os.urandom(rnd.choice([10, 70_000, 300_000])),
                 headers={"Content-Type": "application/octet-stream", "X-File-Name": "f.bin"})
        if r.status == 201 and op == "upload":
            mine.append(("file", r.json()["id"]))
    elif op == "delete-file":
        if not ids("file"):
            return None
        r = call("DELETE", f"/v1/files/{rnd.choice(ids('file'))}")
    elif op == "list-files":
        r = call("GET", "/v1/files")
    elif op == "download":
        if not ids("file"):
            return None
        r = call("GET", f"/v1/files/{rnd.choice(ids('file'))}")
    elif op in ("share", "share-file"):
        if op == "share-file" and not ids("file"):
            return None
        body = {"message": "s", "max_views": 2} if op == "share" else {"file_id": rnd.choice(ids("file"))}
        r = call("POST", "/v1/shares", body=body)
        if r.status == 201:
            mine.append(("link", r.json()["url"].rsplit("/", 1)[1]))
            mine.append(("share", r.json()["id"]))
    elif op == "open-share":
        links = [t for n in list(MINE.values()) for k, t in list(n) if k == "link"]
        if not links:
            return None
        r = client.call("POST", f"/v1/shares/{rnd.choice(links)}/open", body={})
    elif op == "revoke-share":
        if not ids("share"):
            return None
        r = call("DELETE", f"/v1/shares/{rnd.choice(ids('share'))}")
    elif op == "delete-account":
        if rnd.random() > 0.15:
            return None
        r = call("DELETE", "/v1/me", body={"password": PASSWORD})
    elif op == "api-key":
        r = call("POST", "/v1/api-keys", body={"name": "k", "scopes": ["messages:read"]})
    elif op == "revoke-api-key":
        listed = call("GET", "/v1/api-keys")
        note("list-api-keys", listed)
        keys = listed.json().get("keys") if listed.status == 200 else None
        if not keys:
            return None
        r = call("DELETE", f"/v1/api-keys/{keys[0]['id']}")
    elif op == "me":
        r = call("GET", "/v1/me")
    elif op == "password":
        r = call("PUT", "/v1/me/password", body={"current_password": PASSWORD, "new_password": PASSWORD + "!"})
        if r.status == 204:
            back = call("PUT", "/v1/me/password", body={"current_password": PASSWORD + "!", "new_password": PASSWORD})
            note("password-back", back)
    elif op == "totp":
        r = call("POST", "/v1/me/totp", body={})
    elif op == "e2e-key":
        r = call("PUT", "/v1/keys", body={"public_key": b64(32), "wrapped_private_key": b64(60),
                                          "salt": b64(16), "iterations": 600000})
    elif op == "credits":
        r = call("GET", "/v1/me/credits")
    elif op == "ledger":
        r = call("GET", "/v1/me/credits/ledger")
    elif op == "ticket":
        r = call("POST", "/v1/events/tickets")
    elif op == "passkey":
        r = call("POST", "/v1/me/passkeys/registration/start", body={"name": "k"})
    elif op == "passphrase-share":
        r = call("POST", "/v1/shares", body={"message": "s", "passphrase": "open sesame"})
        if r.status == 201:
            link = r.json()["url"].rsplit("/", 1)[1]
            opened = client.call("POST", f"/v1/shares/{link}/open",
                                 body={"passphrase": rnd.choice(["open sesame", "wrong"])})
            note("open-with-passphrase", opened)
    elif op == "stream":
        return "stream", read_stream(token, rnd)
    elif op == "sign-out":
        if rnd.random() > 0.1:
            return None
        r = call("DELETE", "/v1/sessions/current")
    return op, r


def read_stream(token, rnd):
    """Opens the account's event stream on a connection of its own, reads
    what arrives for up to half a second, and goes away."""
    url = urllib.parse.urlsplit(BASE)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        conn.request("GET", "/v1/events", headers={
            "Authorization": f"Bearer {token}",
            "Accept": "text/event-stream",
            "X-Forwarded-For": "10.%d.%d.%d" % tuple(rnd.randrange(256) for _ in range(3)),
        })
        # The socket as sent on: a response marked `Connection: close` (as
        # an event stream is) takes it from the connection.
        sock = conn.sock
        response = conn.getresponse()
        body = b""
        if response.status == 200:
            # Whatever arrives in half a second (keep-alive comments
            # alone, when nothing happens, would take minutes to fill it).
            sock.settimeout(0.5)
            try:
                body = response.read(4096)
            except TimeoutError:
                pass
        else:
            body = response.read()
        return Reply(response.status, body)
    finally:
        conn.close()


MINE = {name: [] for name in NAMES}
signing = set()


def user_thread(seed):
    rnd = random.Random(seed)
    client = Client(rnd)
    end = time.monotonic() + SECONDS
    while time.monotonic() < end:
        name = rnd.choice(NAMES)
        try:
            token = tokens.get(name)
            if token is None:
                # One thread signs an account in; the others use the others.
                with lock:
                    if name in signing:
                        continue
                    signing.add(name)
                try:
                    token = sign_in(client, name)
                finally:
                    with lock:
                        signing.discard(name)
                if token:
                    tokens[name] = token
                continue
            done = user_op(client, rnd, name, token, MINE[name])
            if done is None:
                continue
            op, reply = done
            note(op, reply)
            if reply.status == 401:
                tokens.pop(name, None)
            if op == "delete-account" and reply.status == 204:
                MINE[name].clear()
        except (OSError, http.client.HTTPException) as e:
            with lock:
                failures.append(("connection", client.last, type(e).__name__, str(e)[:200]))


def admin_thread(seed):
    rnd = random.Random(seed)
    client = Client(rnd)
    end = time.monotonic() + SECONDS
    while time.monotonic() < end:
        try:
            listed = client.call("GET", "/v1/admin/users?limit=50", token=ADMIN)
            note("admin-list", listed)
            users = [u["id"] for u in listed.json().get("users", []) if u["username"] in NAMES]
            if not users:
                time.sleep(0.05)
                continue
            user = f"/v1/admin/users/{rnd.choice(users)}"
            op, method, path, body = rnd.choice([
                ("role", "PUT", "/role", {"role": rnd.choice(["user", "service"])}),
                ("disable", "PUT", "/disabled", {"disabled": True}),
                ("enable", "PUT", "/disabled", {"disabled": False}),
                ("quota", "PUT", "/quota", {"max_bytes": 10**9, "max_records": 10**6, "writes_per_minute": 10**6}),
                ("default-quota", "DELETE", "/quota", None),
                ("adjust-credits", "POST", "/credits", {"amount": rnd.choice([5, -5, 100])}),
                ("reset-password", "POST", "/password", {"password": PASSWORD}),
                ("end-sessions", "DELETE", "/sessions", None),
                ("totp-off", "DELETE", "/totp", None),
                ("delete", "DELETE", "", None),
            ])
            # An admin acts now and then, not as fast as the threads that
            # use the accounts.
            time.sleep(0.3)
            if op == "delete" and rnd.random() > 0.2:
                continue
            note("admin-" + op, client.call(method, user + path, token=ADMIN, body=body))
        except (OSError, http.client.HTTPException) as e:
            with lock:
                failures.append(("connection", client.last, type(e).__name__, str(e)[:200]))


threads = [threading.Thread(target=user_thread, args=(i,)) for i in range(THREADS)]
if ADMIN:
    threads += [threading.Thread(target=admin_thread, args=(100 + i,)) for i in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
for (op, status), count in sorted(stats.items()):
    print(f"{op:24} {status}  {count}")
print(f"{sum(stats.values())} requests, {len(failures)} failures")
for failure in failures[:30]:
    print("FAILED", failure)
sys.exit(1 if failures else 0)
