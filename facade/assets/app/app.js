// Strongroom web client: plain ES module, no dependencies, no inline code.
// Tokens live in memory only (a reload signs out); see the README.

const $ = (id) => document.getElementById(id);
const state = { access: null, refresh: null, me: null, lastEventId: null, source: null, seen: new Set(), retry: null };

function say(text) { $("status").textContent = text || ""; }

async function call(method, path, body, retried) {
  const headers = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (state.access) headers.authorization = `Bearer ${state.access}`;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401 && state.refresh && !retried && await refresh()) {
    return call(method, path, body, true);
  }
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new Error((data && data.detail) || `${res.status}`);
  return data;
}

async function refresh() {
  try {
    const pair = await fetch("/v1/sessions/refresh", {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: state.refresh }),
    });
    if (!pair.ok) return false;
    const tokens = await pair.json();
    state.access = tokens.access_token;
    state.refresh = tokens.refresh_token;
    return true;
  } catch { return false; }
}

function credentials() {
  return { username: $("username").value.trim(), password: $("password").value };
}

async function login(event) {
  event.preventDefault();
  try {
    const tokens = await call("POST", "/v1/sessions", credentials());
    state.access = tokens.access_token;
    state.refresh = tokens.refresh_token;
    $("password").value = "";
    await enter();
  } catch (e) { say(`Log in failed: ${e.message}`); }
}

async function register() {
  if (!$("login-form").reportValidity()) return;
  try {
    await call("POST", "/v1/accounts", credentials());
    say("Account created.");
    await login(new Event("submit"));
  } catch (e) { say(`Could not create the account: ${e.message}`); }
}

async function enter() {
  state.me = await call("GET", "/v1/me");
  $("whoami").textContent = `${state.me.username} (${state.me.role})`;
  $("whoami").hidden = false;
  $("logout").hidden = false;
  $("signin").hidden = true;
  $("inbox-section").hidden = false;
  $("broadcast").hidden = !state.me.scopes.includes("broadcast");
  say("");
  const page = await call("GET", "/v1/messages?limit=50");
  for (const m of page.messages.reverse()) show(m, "message");
  await connect();
}

function show(m, kind) {
  if (state.seen.has(m.id)) return;
  state.seen.add(m.id);
  const li = document.createElement("li");
  li.className = kind;
  li.dataset.id = m.id;
  const meta = document.createElement("div");
  meta.className = "meta";
  const from = document.createElement("span");
  from.textContent = `${kind === "broadcast" ? "Broadcast from" : "From"} ${m.sender || "?"} · ${new Date(m.created_at).toLocaleString()}`;
  meta.append(from);
  if (kind === "message") {
    const del = document.createElement("button");
    del.type = "button";
    del.textContent = "Delete";
    del.setAttribute("aria-label", `Delete the message from ${m.sender || "?"}`);
    del.addEventListener("click", () => remove(m.id, li));
    meta.append(del);
  }
  const body = document.createElement("p");
  body.className = "text";
  body.textContent = m.message;
  li.append(meta, body);
  $("inbox").prepend(li);
}

async function remove(id, li) {
  try { await call("DELETE", `/v1/messages/${id}`); li.remove(); }
  catch (e) { say(`Delete failed: ${e.message}`); }
}

// A stream needs a fresh single-use ticket each time it (re)connects; the
// last event id it saw resumes it with no gap and no duplicate.
async function connect() {
  if (!state.access) return;
  clearTimeout(state.retry);
  let ticket;
  try { ticket = (await call("POST", "/v1/events/tickets")).ticket; }
  catch { return reconnectSoon(); }
  const query = new URLSearchParams({ ticket });
  if (state.lastEventId) query.set("last_event_id", state.lastEventId);
  const source = new EventSource(`/v1/events?${query}`);
  state.source = source;
  const live = (on) => { $("live").textContent = on ? "live" : "offline"; $("live").classList.toggle("on", on); };
  source.onopen = () => live(true);
  const deliver = (kind) => (ev) => {
    state.lastEventId = ev.lastEventId || state.lastEventId;
    show(JSON.parse(ev.data), kind);
  };
  source.addEventListener("message", deliver("message"));
  source.addEventListener("broadcast", deliver("broadcast"));
  source.addEventListener("end", async (ev) => {
    source.close();
    live(false);
    const reason = JSON.parse(ev.data).reason;
    if (reason === "token_expired" && await refresh()) return connect();
    if (reason === "shutting_down" || reason === "account_changed") return reconnectSoon();
    signOut(`Signed out (${reason}).`);
  });
  source.onerror = () => { source.close(); live(false); reconnectSoon(); };
}

function reconnectSoon() {
  clearTimeout(state.retry);
  state.retry = setTimeout(connect, 1000);
}

async function send(event) {
  event.preventDefault();
  const to = $("to").value.trim();
  try {
    await call("POST", `/v1/users/${encodeURIComponent(to)}/messages`, { message: $("text").value });
    $("text").value = "";
    say(`Sent to ${to}.`);
  } catch (e) { say(`Not sent: ${e.message}`); }
}

async function broadcast() {
  if (!$("text").value) return;
  try {
    await call("POST", "/v1/broadcasts", { message: $("text").value });
    $("text").value = "";
    say("Broadcast sent.");
  } catch (e) { say(`Not sent: ${e.message}`); }
}

function signOut(message) {
  if (state.source) state.source.close();
  clearTimeout(state.retry);
  Object.assign(state, { access: null, refresh: null, me: null, lastEventId: null, source: null });
  state.seen.clear();
  $("inbox").replaceChildren();
  $("signin").hidden = false;
  $("inbox-section").hidden = true;
  $("whoami").hidden = true;
  $("logout").hidden = true;
  say(message);
}

async function logout() {
  try { await call("DELETE", "/v1/sessions/current"); } catch { /* signed out either way */ }
  signOut("Logged out.");
}

$("login-form").addEventListener("submit", login);
$("register").addEventListener("click", register);
$("send-form").addEventListener("submit", send);
$("broadcast").addEventListener("click", broadcast);
$("logout").addEventListener("click", logout);
