// Strongroom web client: plain ES modules, no inline code. The access
// token and the unwrapped end-to-end keys live in memory only; the refresh
// token is in an HttpOnly cookie this script never sees, so a reload
// restores the session and asks only for the password that unlocks the
// end-to-end keys. See docs/web-client.md.

import * as areas from "./areas.js";
import { N, t, plural, dateTime, size, translatePage, choose, current as language, LANGUAGES } from "./i18n.js";
import * as credits from "./credits.js";
import * as e2e from "./e2e.js";
import * as files from "./files.js";
import * as passkeys from "./passkeys.js";
import * as qr from "./qr.js";
import * as shareList from "./share_list.js";
import { sealForLink } from "./share_link.js";

const $ = (id) => document.getElementById(id);
const SECOND_FACTOR_REQUIRED = "tag:strongroom,2026:second-factor-required";
const state = {
  access: null, me: null, lastEventId: null, source: null, seen: new Set(), retry: null, attempts: 0,
  // The server's clock minus ours, in ms: expiry is counted on the server's.
  offset: 0, ticker: null,
  // End-to-end: private keys by key id, and our newest public key.
  ring: new Map(), ownKey: null,
};
const utf8 = { encode: (t) => new TextEncoder().encode(t), decode: (b) => new TextDecoder().decode(b) };

// Feedback goes beside what caused it: under the form (or section) the
// person is working in; `fail` styles it as an error, `say` as news.
function say(text, error = false) {
  const status = $("status");
  if (text) {
    const near = feedbackSpot();
    if (status.previousElementSibling !== near) near.after(status);
  }
  status.textContent = text || "";
  status.classList.toggle("error", Boolean(text) && error);
  status.classList.toggle("ok", Boolean(text) && !error);
}
function fail(text) { say(text, true); }

// What feedback follows: the form in view that has the focus; else the
// heading of the area in view (a button in a list, the stream); else the
// top of the page.
function feedbackSpot() {
  const active = document.activeElement;
  const near = active && active.closest ? active.closest("form, section") : null;
  if (near && !near.closest("[hidden]") && !near.matches(".area")) return near;
  const area = document.querySelector(".area:not([hidden])");
  if (area && !$("inbox-section").hidden) return area.firstElementChild;
  return $("offline");
}

// The banner while the server cannot be reached: nothing typed is lost,
// and the page keeps trying (its stream with growing pauses).
function offline(on, retryIn) {
  $("offline").hidden = !on;
  if (!on) return;
  const when = retryIn ? ` ${t("Trying again in {n} s.", { n: Math.ceil(retryIn / 1000) })}` : "";
  $("offline").textContent = `${t("Offline: the server cannot be reached.")}${when} ${t("Nothing you write is lost.")}`;
}

// A problem answer as an Error with its status and problem type.
function problem(res, data) {
  const error = new Error((data && data.detail) || `${res.status}`);
  error.status = res.status;
  error.type = data && data.type;
  return error;
}

async function call(method, path, body, retried) {
  const headers = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (state.access) headers.authorization = `Bearer ${state.access}`;
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    // A network failure, not an answer: say so, and nothing else.
    offline(true);
    const error = new Error(t("the server cannot be reached; nothing was changed, try again"));
    error.offline = true;
    throw error;
  }
  if (!state.source || state.source.readyState === EventSource.OPEN) offline(false);
  if (res.status === 401 && state.access && !retried && await refresh()) {
    return call(method, path, body, true);
  }
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  // What may have cost credits (or was refused for want of them) moves
  // the balance in the header.
  if (method !== "GET" || res.status === 402) credits.changed();
  if (!res.ok) throw problem(res, data);
  return data;
}

// A new access token from the session cookie (which the server rotates).
// Whether this browser may hold a session cookie (set when the page signs
// in, cleared when it signs out): without one, a visit asks nothing of the
// server (a refused refresh would be an error in every new visitor's
// console). The cookie itself is out of the page's reach.
const SIGNED_IN = "strongroom.signed-in";
function signedIn(on) {
  try {
    if (on === undefined) return localStorage.getItem(SIGNED_IN) === "1";
    if (on) localStorage.setItem(SIGNED_IN, "1"); else localStorage.removeItem(SIGNED_IN);
  } catch { /* storage off: every visit tries */ return on === undefined; }
  return on;
}

async function refresh() {
  try {
    const res = await fetch("/v1/sessions/refresh", {
      method: "POST", headers: { "content-type": "application/json" }, body: "{}",
    });
    if (!res.ok) return false;
    state.access = (await res.json()).access_token;
    return true;
  } catch { return false; }
}

function credentials() {
  return { username: $("username").value.trim(), password: $("password").value };
}

// A typed code: six digits from the app, or a recovery code.
function secondFactor(text) {
  const code = text.trim();
  if (!code) return {};
  return /^\d{6}$/.test(code) ? { totp: code } : { recovery_code: code };
}

async function login(event) {
  event.preventDefault();
  try {
    const { username, password } = credentials();
    const body = { username, password, cookie: true, ...secondFactor($("code").value) };
    let tokens;
    try { tokens = await call("POST", "/v1/sessions", body); }
    catch (e) {
      if (e.type !== SECOND_FACTOR_REQUIRED) throw e;
      $("code-row").hidden = false;
      $("code").focus();
      return say(t("Enter the code from your authenticator app (or a recovery code)."));
    }
    state.access = tokens.access_token;
    signedIn(true);
    $("password").value = "";
    $("code").value = "";
    $("code-row").hidden = true;
    say(t("Unlocking your end-to-end key…"));
    await unlockKeys(password);
    await enter();
  } catch (e) { fail(t("Log in failed: {why}", { why: e.message })); }
}

// After a reload: the cookie still holds the session. The account is
// known; only the password that unlocks the end-to-end keys is asked for.
async function restore() {
  if (!signedIn()) return;
  if (!await refresh()) { signedIn(false); return; }
  try {
    state.me = await call("GET", "/v1/me");
    $("locked-who").textContent = state.me.username;
    $("signin").hidden = true;
    $("locked").hidden = false;
    $("unlock-password").focus();
  } catch { state.access = null; }
}

// A passkey signs the person in (no username, no password); the
// end-to-end keys still need the password, asked for as after a reload.
async function passkeyLogin() {
  try {
    const tokens = await passkeys.signIn();
    state.access = tokens.access_token;
    signedIn(true);
    state.me = await call("GET", "/v1/me");
    $("locked-who").textContent = state.me.username;
    $("signin").hidden = true;
    $("locked").hidden = false;
    $("unlock-password").focus();
    say(t("Signed in with your passkey. Enter your password to open end-to-end messages, or continue without."));
  } catch (e) { fail(t("Passkey sign-in failed: {why}", { why: e.message })); }
}

// Accounts made through a provider have no password to wrap keys with:
// they go on without end-to-end keys (sealed messages stay closed).
async function skipUnlock() {
  $("locked").hidden = true;
  try { await enter(); say(t("End-to-end keys are locked: sealed messages cannot be read on this page.")); }
  catch (e) { fail(t("Could not continue: {why}", { why: e.message })); }
}

// Sign-in options beyond the password: an OpenID Connect provider.
async function signInOptions() {
  try {
    const options = await (await fetch("/v1/sign-in-options")).json();
    state.oidc = options.oidc || null;
    if (!state.oidc) return;
    $("oidc-login").href = state.oidc.login_url;
    $("oidc-row").hidden = false;
    labels();
  } catch { /* the password is enough */ }
}

async function showIdentities() {
  if (!state.oidc) return;
  $("identities-area").hidden = false;
  try {
    const { identities } = await call("GET", "/v1/me/identities");
    $("identities-list").replaceChildren(...identities.map((i) => {
      const li = document.createElement("li");
      li.textContent = `${i.subject} at ${i.issuer}`;
      return li;
    }));
  } catch { /* shown empty */ }
}

async function linkIdentity() {
  try { location.assign((await call("POST", "/v1/me/identities/oidc")).url); }
  catch (e) { fail(t("Cannot link: {why}", { why: e.message })); }
}

async function unlock(event) {
  event.preventDefault();
  const password = $("unlock-password").value;
  $("unlock-password").value = "";
  try {
    say(t("Unlocking your end-to-end key…"));
    const versions = (await call("GET", "/v1/keys")).keys;
    if (versions.length > 0) {
      const { ring } = await e2e.unwrapKeys(password, versions);
      if (ring.size === 0) return fail(t("That password does not unlock your end-to-end keys. If an admin reset your password, your old keys cannot be unlocked: sign in, then make a new key pair."));
    }
    await unlockKeys(password);
    $("locked").hidden = true;
    await enter();
  } catch (e) { fail(t("Not unlocked: {why}", { why: e.message })); }
}

// The strength estimator (zxcvbn-ts), loaded the first time it is needed.
let estimator = null;
async function strengthOf(password, username) {
  estimator ??= import("./zxcvbn.js");
  const { strength } = await estimator;
  return strength(password, [username]);
}
const ROLES = { admin: N("admin"), user: N("user"), service: N("service") };
const STRENGTH = [N("very weak"), N("weak"), N("fair"), N("strong"), N("very strong")];

// While signing up: how guessable the password is, as it is typed.
async function rate() {
  if ($("register-extra").hidden) return;
  const { username, password } = credentials();
  if (!password) { $("strength").value = 0; $("strength-text").textContent = ""; return; }
  const s = await strengthOf(password, username);
  $("strength").value = s.score;
  const advice = s.warning || (s.score < 3 ? s.suggestions[0] : "");
  const rating = t(STRENGTH[s.score]) + (password.length < 12 ? t(", and under 12 characters") : "");
  // zxcvbn-ts's advice is in English; other languages get the rating.
  $("strength-text").textContent = advice && language() === "en" ? `${rating}: ${advice}` : rating;
}

// Create account: the first press opens the sign-up fields (the rules,
// the password again, its strength); the next one creates the account if
// both passwords match and it is not easy to guess.
// Signing up or in: Enter in a field presses the form's first submit
// button, so the mode's own button is the one that submits.
function signUpMode(on) {
  $("register-extra").hidden = !on;
  $("register").type = on ? "submit" : "button";
  $("login").type = on ? "button" : "submit";
  $("password").autocomplete = on ? "new-password" : "current-password";
  labels();
}

async function register() {
  if ($("register-extra").hidden) {
    signUpMode(true);
    await rate();
    $($("username").value ? "password-again" : "username").focus();
    return say(t("Type your password twice, then press Create my account."));
  }
  if (!$("login-form").reportValidity()) return;
  const { username, password } = credentials();
  if (password !== $("password-again").value) return fail(t("The two passwords differ: type the same one twice."));
  const s = await strengthOf(password, username);
  if (s.score < 3) {
    return fail(t("Choose a harder password: {why}", { why: (language() === "en" && (s.warning || s.suggestions[0])) || t("this one is easy to guess") }));
  }
  try {
    await call("POST", "/v1/accounts", credentials());
    say(t("Account created."));
    $("password-again").value = "";
    signUpMode(false);
    await login(new Event("submit"));
  } catch (e) { fail(t("Could not create the account: {why}", { why: e.message })); }
}

// A text's size as the server counts it (UTF-8 bytes), and the refusal
// of one that is too long, in sizes a person can act on.
const bytesOf = (text) => utf8.encode(text).length;
const kib = (bytes) => `${new Intl.NumberFormat(language(), { maximumFractionDigits: bytes % 1024 ? 1 : 0 }).format(bytes / 1024)} KiB`;
// `what` names the text with {size} and {most} in it.
function tooLong(what, bytes, most) {
  return new Error(t(what, { size: kib(bytes), most: kib(most) }));
}

// Time as the server counts it.
const serverNow = () => Date.now() + state.offset;

// "4 min", "2 h": how long until `ms` from now.
function timeLeft(ms) {
  const s = Math.ceil(ms / 1000);
  if (s < 60) return t("{n} s", { n: s });
  if (s < 3600) return t("{n} min", { n: Math.ceil(s / 60) });
  if (s < 86400) return t("{n} h", { n: Math.round(s / 3600) });
  return plural(Math.round(s / 86400), "{n} day", "{n} days");
}

// The empty inbox says so.
function emptyInbox() {
  $("inbox-empty").hidden = $("inbox").children.length > 0;
}

// Messages that arrived while the inbox was not looked at: counted in the
// title and beside the Inbox link until it is.
function unread(more) {
  state.unread = more ? (state.unread || 0) + more : 0;
  document.title = state.unread ? `(${state.unread}) Strongroom` : "Strongroom";
  $("unread").textContent = state.unread ? String(state.unread) : "";
  $("unread").hidden = !state.unread;
  $("unread").setAttribute("aria-label", `${state.unread} unread`);
}
const lookingAtInbox = () => !document.hidden && document.hasFocus() && areas.current() === "inbox";
document.addEventListener("visibilitychange", () => { if (lookingAtInbox()) unread(0); });
window.addEventListener("focus", () => { if (lookingAtInbox()) unread(0); });

// An area was opened: what it shows is read fresh where that matters.
function opened(name) {
  if (name === "inbox") unread(0);
  if (name === "credits") credits.opened();
}

// Reply: the Send area, addressed to the sender.
function reply(to) {
  areas.go("send");
  $("to").value = to;
  $("text").focus();
}

// Every second: each item's time left, and expired items go.
function tick() {
  const now = serverNow();
  for (const li of document.querySelectorAll("#inbox li[data-expires]")) {
    const left = Number(li.dataset.expires) - now;
    if (left <= 0) { li.remove(); emptyInbox(); continue; }
    const label = li.querySelector(".left");
    if (label) label.textContent = t("disappears in {time}", { time: timeLeft(left) });
  }
}

// The send form's lifetimes: the common ones up to the server's longest,
// its default among them and chosen.
function lifetimes() {
  const { default_ttl_seconds: fallback, max_ttl_seconds: longest } = state.me;
  const choices = [[300, t("5 minutes")], [3600, t("1 hour")], [86400, t("1 day")], [604800, t("7 days")]]
    .filter(([secs]) => secs <= longest);
  if (!choices.some(([secs]) => secs === fallback)) choices.push([fallback, timeLeft(fallback * 1000)]);
  choices.sort((a, b) => a[0] - b[0]);
  $("ttl").replaceChildren(...choices.map(([secs, name]) => {
    const option = document.createElement("option");
    option.value = String(secs);
    option.textContent = secs === fallback ? t("{name} (default)", { name }) : name;
    option.selected = secs === fallback;
    return option;
  }));
}

async function enter() {
  state.me = await call("GET", "/v1/me");
  state.offset = Date.parse(state.me.server_time) - Date.now();
  lifetimes();
  clearInterval(state.ticker);
  state.ticker = setInterval(tick, 1000);
  showTwoFactor();
  showIdentities();
  passkeys.list();
  labels();
  $("whoami").hidden = false;
  $("logout").hidden = false;
  $("signin").hidden = true;
  $("inbox-section").hidden = false;
  areas.settle();
  $("broadcast").hidden = !state.me.scopes.includes("broadcast");
  say("");
  await loadInbox();
  await files.list();
  await shareList.list();
  await credits.show();
  await connect();
}

// The newest messages, shown afresh.
async function loadInbox() {
  const page = await call("GET", "/v1/messages?limit=50");
  state.seen.clear();
  $("inbox").replaceChildren();
  for (const m of page.messages.reverse()) show(m, "message");
  emptyInbox();
}

// Unwraps every published key version with the password, or creates and
// publishes the first key pair. Old versions stay usable, so changing the
// key pair keeps old messages readable.
async function unlockKeys(password) {
  const versions = (await call("GET", "/v1/keys")).keys;
  if (versions.length === 0) return publishKey(password);
  const { ring, failed } = await e2e.unwrapKeys(password, versions);
  state.ring = ring;
  const newest = versions[versions.length - 1];
  state.ownKey = ring.has(newest.key_id) ? newest.public_key : null;
  if (failed > 0) fail(t("{n} of your end-to-end keys did not unlock with this password; messages sealed to them cannot be read here.", { n: failed }));
}

async function publishKey(password) {
  const key = await e2e.createKey(password);
  await call("PUT", "/v1/keys", key.upload);
  state.ring.set(key.id, key.pair);
  state.ownKey = key.upload.public_key;
}

// A new key pair, wrapped under the password (checked by unwrapping the
// current one first). Messages sealed to the old pair still open.
async function replaceKey(event) {
  event.preventDefault();
  const password = $("key-password").value;
  $("key-password").value = "";
  try {
    const versions = (await call("GET", "/v1/keys")).keys;
    if (versions.length > 0) {
      const { ring } = await e2e.unwrapKeys(password, versions.slice(-1));
      if (ring.size === 0) return fail(t("That is not the password your key is wrapped with."));
    }
    await publishKey(password);
    say(t("New end-to-end key published; older messages still open."));
  } catch (e) { fail(t("No new key: {why}", { why: e.message })); }
}

// What an end-to-end message says: the sealed JSON {to, text} the client
// writes, or any other UTF-8 (e.g. from a Rust application).
function unsealed(bytes) {
  const text = utf8.decode(bytes);
  try {
    const v = JSON.parse(text);
    if (v && typeof v.text === "string") return { to: typeof v.to === "string" ? v.to : null, text: v.text };
  } catch { /* plain text */ }
  return { to: null, text };
}

function show(m, kind, live) {
  if (state.seen.has(m.id)) return;
  state.seen.add(m.id);
  const li = document.createElement("li");
  li.className = kind;
  li.dataset.id = m.id;
  li.dataset.created = String(Date.parse(m.created_at));
  const meta = document.createElement("div");
  meta.className = "meta";
  const from = document.createElement("span");
  from.textContent = `${kind === "broadcast" ? t("Broadcast from {name}", { name: m.sender || "?" }) : t("From {name}", { name: m.sender || "?" })} · ${dateTime(m.created_at)}`;
  meta.append(from);
  const expires = Date.parse(m.expires_at);
  if (!Number.isNaN(expires)) {
    if (expires <= serverNow()) return;
    li.dataset.expires = String(expires);
    const left = document.createElement("span");
    left.className = "left";
    left.textContent = t("disappears in {time}", { time: timeLeft(expires - serverNow()) });
    meta.append(left);
  }
  if (kind === "message") {
    const del = document.createElement("button");
    del.type = "button";
    del.textContent = t("Delete");
    del.setAttribute("aria-label", t("Delete the message from {name}", { name: m.sender || "?" }));
    del.addEventListener("click", () => remove(m.id, li));
    meta.append(del);
  }
  if (kind !== "broadcast" && m.sender && state.me && m.sender !== state.me.username) {
    const back = document.createElement("button");
    back.type = "button";
    back.textContent = t("Reply");
    back.className = "reply";
    back.setAttribute("aria-label", t("Reply to {name}", { name: m.sender }));
    back.addEventListener("click", () => reply(m.sender));
    meta.append(back);
  }
  const body = document.createElement("p");
  body.className = "text";
  li.append(meta, body);
  $("inbox").prepend(li);
  emptyInbox();
  if (live && !lookingAtInbox()) unread(1);
  if (kind === "file" && m.file) {
    // A file sent to us: the notice says so, the button fetches it.
    body.textContent = t("{name} sent you {file} ({size})", { name: m.sender || t("Someone"), file: m.file.name, size: size(m.file.size) });
    const get = document.createElement("button");
    get.type = "button";
    get.textContent = t("Download");
    get.setAttribute("aria-label", `Download ${m.file.name}`);
    get.addEventListener("click", () => files.download(m.file.id, m.file.name));
    meta.append(get);
    return;
  }
  if (!e2e.isSealed(m.message)) {
    body.textContent = m.message;
    return;
  }
  li.classList.add("sealed");
  body.textContent = "…";
  e2e.open(state.ring, m.message).then((bytes) => {
    if (!bytes) {
      body.textContent = t("End-to-end message that no key on this device opens.");
      li.classList.add("unreadable");
      return;
    }
    const { to, text } = unsealed(bytes);
    body.textContent = text;
    const own = state.me && m.sender === state.me.username && to && to !== state.me.username;
    const badge = document.createElement("span");
    badge.className = "badge on";
    badge.textContent = t("end-to-end");
    from.textContent = `${own ? t("You to {name}", { name: to }) : t("From {name}", { name: m.sender || "?" })} · ${dateTime(m.created_at)} `;
    from.append(badge);
  });
}

async function remove(id, li) {
  if (!window.confirm(t("Delete this message? It cannot be brought back."))) return;
  try { await call("DELETE", `/v1/messages/${id}`); li.remove(); emptyInbox(); }
  catch (e) {
    // Already gone (expired, or deleted elsewhere): just remove it here.
    if (e.status === 404) { li.remove(); emptyInbox(); return; }
    fail(t("Delete failed: {why}", { why: e.message }));
  }
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
  const live = (on) => { $("live").textContent = on ? t("live") : t("offline"); $("live").classList.toggle("on", on); };
  source.onopen = () => { live(true); state.attempts = 0; offline(false); };
  const deliver = (kind) => (ev) => {
    state.lastEventId = ev.lastEventId || state.lastEventId;
    show(JSON.parse(ev.data), kind, true);
  };
  source.addEventListener("message", deliver("message"));
  source.addEventListener("broadcast", deliver("broadcast"));
  source.addEventListener("file", (ev) => { deliver("file")(ev); files.list(); });
  source.addEventListener("credits", (ev) => {
    state.lastEventId = ev.lastEventId || state.lastEventId;
    credits.low(JSON.parse(ev.data));
  });
  source.addEventListener("end", async (ev) => {
    source.close();
    live(false);
    const reason = JSON.parse(ev.data).reason;
    if (reason === "token_expired" && await refresh()) return connect();
    if (reason === "shutting_down" || reason === "account_changed") return reconnectSoon();
    signOut(t("Signed out ({why}).", { why: reason }));
  });
  source.onerror = () => { source.close(); live(false); reconnectSoon(); };
}

// Exponential backoff with jitter: 0.5–1 s, then 1–2 s, … up to 7.5–15 s,
// so a restarted server is not met by every page at the same instant.
function reconnectSoon() {
  clearTimeout(state.retry);
  const ceiling = Math.min(15000, 1000 * 2 ** state.attempts);
  const wait = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  state.attempts += 1;
  offline(true, wait);
  state.retry = setTimeout(connect, wait);
}

async function send(event) {
  event.preventDefault();
  const to = $("to").value.trim();
  const text = $("text").value;
  const ttl = Number($("ttl").value);
  const path = `/v1/users/${encodeURIComponent(to)}/messages`;
  const most = state.me.max_message_bytes;
  try {
    if (bytesOf(text) > most) throw tooLong(N("The message is {size}; the most is {most}"), bytesOf(text), most);
    if (!$("e2e").checked) {
      await call("POST", path, { message: text, ttl_seconds: ttl });
      // Our own copy, sealed to our key (when unlocked): a record of what
      // we sent that only we can read.
      if (to !== state.me.username && state.ownKey) {
        const copy = utf8.encode(JSON.stringify({ to, text }));
        try { await call("POST", "/v1/messages", { message: await e2e.seal(state.ownKey, copy), ttl_seconds: ttl }); }
        catch (e) { $("text").value = ""; return fail(t("Sent to {name}, but your own copy was not kept: {why}", { name: to, why: e.message })); }
      }
    } else {
      // Sealed here to the recipient's key, and to ours for our own copy.
      if (!state.ownKey) throw new Error(t("your end-to-end key is not unlocked; log in again"));
      let theirs;
      try { theirs = (await call("GET", `/v1/users/${encodeURIComponent(to)}/key`)).public_key; }
      catch (e) {
        // Only the server's "no key" is a reason to offer sending readable.
        if (e.status === 404) throw new Error(t("{name} has no end-to-end key; untick End-to-end to send readable by the server", { name: to }));
        throw e;
      }
      const plain = utf8.encode(JSON.stringify({ to, text }));
      const sealed = await e2e.seal(theirs, plain);
      if (bytesOf(sealed) > most) {
        // Sealing adds its envelope and base64: say what fits as text.
        const fits = Math.floor((most * plain.length) / bytesOf(sealed)) - 64;
        throw tooLong(N("Sealed end-to-end, the message is {size}; the most is {most}"), bytesOf(text), Math.max(fits, 0));
      }
      await call("POST", path, { message: sealed, ttl_seconds: ttl });
      if (to !== state.me.username) try { await call("POST", "/v1/messages", { message: await e2e.seal(state.ownKey, plain), ttl_seconds: ttl }); }
      catch (e) { $("text").value = ""; return fail(t("Sent to {name}, but your own copy was not kept: {why}", { name: to, why: e.message })); }
    }
    $("text").value = "";
    say($("e2e").checked ? t("Sent to {name}, end-to-end.", { name: to }) : t("Sent to {name}.", { name: to }));
  } catch (e) { fail(t("Not sent: {why}", { why: e.message })); }
}

async function broadcast() {
  if (!$("text").value) return;
  try {
    await call("POST", "/v1/broadcasts", { message: $("text").value });
    $("text").value = "";
    say(t("Broadcast sent."));
  } catch (e) { fail(t("Not sent: {why}", { why: e.message })); }
}

// A share link whose text is encrypted here: the key goes only into the
// link's fragment, which browsers never send to the server.
async function createShare(event) {
  event.preventDefault();
  try {
    const secret = $("share-text").value;
    const most = state.me.max_message_bytes;
    if (bytesOf(secret) > most) throw tooLong(N("The secret is {size}; the most is {most}"), bytesOf(secret), most);
    const { message, fragment } = await sealForLink(secret);
    const body = {
      message, client_encrypted: true,
      ttl_seconds: Number($("share-ttl").value), max_views: Number($("share-views").value),
    };
    if ($("share-passphrase").value) body.passphrase = $("share-passphrase").value;
    const share = await call("POST", "/v1/shares", body);
    $("share-text").value = "";
    $("share-passphrase").value = "";
    $("share-link").value = `${share.url}#${fragment}`;
    $("share-result").hidden = false;
    await qr.draw($("share-qr"), $("share-link").value);
    say(plural(share.max_views, "Link ready: {n} view until {when}.", "Link ready: {n} views until {when}.", { when: dateTime(share.expires_at) }));
    await shareList.list();
  } catch (e) { fail(t("No link: {why}", { why: e.message })); }
}

async function copyShare() {
  try { await navigator.clipboard.writeText($("share-link").value); say(t("Link copied.")); }
  catch { $("share-link").select(); say(t("Select the link and copy it.")); }
}

function signOut(message) {
  signedIn(false);
  if (state.source) state.source.close();
  clearTimeout(state.retry);
  clearInterval(state.ticker);
  Object.assign(state, { access: null, me: null, lastEventId: null, source: null, ring: new Map(), ownKey: null, attempts: 0, offset: 0, ticker: null });
  offline(false);
  state.seen.clear();
  $("inbox").replaceChildren();
  emptyInbox();
  unread(0);
  files.clear();
  shareList.clear();
  credits.clear();
  passkeys.clear();
  $("share-link").value = "";
  $("share-result").hidden = true;
  $("share-qr").replaceChildren();
  $("signin").hidden = false;
  $("locked").hidden = true;
  $("inbox-section").hidden = true;
  areas.clear();
  $("totp-setup").hidden = true;
  $("totp-recovery").hidden = true;
  $("recovery-list").replaceChildren();
  $("identities-list").replaceChildren();
  $("whoami").hidden = true;
  $("logout").hidden = true;
  say(message);
}

// What the page writes itself, in the current language.
function labels() {
  $("register").textContent = $("register-extra").hidden ? t("Create account") : t("Create my account");
  if (state.oidc) {
    $("oidc-login").textContent = t("Sign in with {name}", { name: state.oidc.name });
    $("identity-link").textContent = t("Link your {name} account", { name: state.oidc.name });
  } else {
    $("oidc-login").textContent = t("Sign in with single sign-on");
    $("identity-link").textContent = t("Link your single sign-on account");
  }
  $("live").textContent = $("live").classList.contains("on") ? t("live") : t("offline");
  if (state.me) $("whoami").textContent = `${state.me.username} (${t(ROLES[state.me.role] || state.me.role)})`;
}

// Another language: the page's words at once, and what it drew (messages,
// lists, dates) drawn again.
async function relabel(code) {
  choose(code);
  labels();
  say("");
  if (!state.me) return;
  showTwoFactor();
  lifetimes();
  try {
    await loadInbox();
    await Promise.all([files.list(), shareList.list(), passkeys.list(), credits.show()]);
  } catch (e) { fail(e.message); }
}

async function logout() {
  try { await call("DELETE", "/v1/sessions/current"); } catch { /* signed out either way */ }
  signOut(t("Logged out."));
}

// Settings: the password (end-to-end keys re-wrapped here under the new
// one, so nothing is lost), two-factor sign-in, deleting the account.
async function changePassword(event) {
  event.preventDefault();
  const current = $("current-password").value;
  const next = $("new-password").value;
  if (next !== $("new-password-again").value) return fail(t("The new passwords differ."));
  try {
    say(t("Wrapping your end-to-end keys under the new password…"));
    const versions = (await call("GET", "/v1/keys")).keys;
    const e2eKeys = await e2e.rewrapKeys(current, next, versions);
    await call("PUT", "/v1/me/password", { current_password: current, new_password: next, e2e_keys: e2eKeys });
    for (const id of ["current-password", "new-password", "new-password-again"]) $(id).value = "";
    say(t("Password changed. Your other sessions were signed out."));
  } catch (e) { fail(t("Password not changed: {why}", { why: e.message })); }
}

function showTwoFactor() {
  const on = Boolean(state.me && state.me.two_factor);
  $("totp-status").textContent = on
    ? t("On: signing in needs a code from your authenticator app.")
    : t("Off: your password alone signs you in.");
  $("totp-start").hidden = on;
  $("totp-off-form").hidden = !on;
  $("delete-code-row").hidden = !on;
}

async function startTotp() {
  try {
    const setup = await call("POST", "/v1/me/totp");
    const svg = new DOMParser().parseFromString(setup.qr_svg, "image/svg+xml").documentElement;
    $("totp-qr").replaceChildren(...(svg.nodeName.toLowerCase() === "svg" ? [document.importNode(svg, true)] : []));
    $("totp-secret").textContent = setup.secret;
    $("totp-setup").hidden = false;
    $("totp-code").focus();
    say(t("Add the account to your authenticator app, then enter the code it shows."));
  } catch (e) { fail(t("No setup: {why}", { why: e.message })); }
}

async function confirmTotp(event) {
  event.preventDefault();
  try {
    const done = await call("POST", "/v1/me/totp/confirm", { code: $("totp-code").value.trim() });
    $("totp-code").value = "";
    $("totp-setup").hidden = true;
    $("totp-qr").replaceChildren();
    $("totp-secret").textContent = "";
    $("recovery-list").replaceChildren(...done.recovery_codes.map((c) => {
      const li = document.createElement("li");
      li.textContent = c;
      return li;
    }));
    $("totp-recovery").hidden = false;
    state.me.two_factor = true;
    showTwoFactor();
    say(t("Two-factor sign-in is on. Save your recovery codes now: they are not shown again."));
  } catch (e) { fail(t("Not turned on: {why}", { why: e.message })); }
}

function recoveryText() {
  return Array.from($("recovery-list").children, (li) => li.textContent).join("\n") + "\n";
}

async function copyRecovery() {
  try { await navigator.clipboard.writeText(recoveryText()); say(t("Recovery codes copied.")); }
  catch { say(t("Select the codes and copy them.")); }
}

function downloadRecovery() {
  const url = URL.createObjectURL(new Blob([recoveryText()], { type: "text/plain" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = "strongroom-recovery-codes.txt";
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function recoverySaved() {
  $("totp-recovery").hidden = true;
  $("recovery-list").replaceChildren();
  say("");
}

async function turnOffTotp(event) {
  event.preventDefault();
  try {
    await call("DELETE", "/v1/me/totp", { code: $("totp-off-code").value.trim() });
    $("totp-off-code").value = "";
    state.me.two_factor = false;
    showTwoFactor();
    say(t("Two-factor sign-in is off."));
  } catch (e) { fail(t("Still on: {why}", { why: e.message })); }
}

async function deleteAccount(event) {
  event.preventDefault();
  if (!$("delete-confirm").checked) return;
  try {
    await call("DELETE", "/v1/me", { password: $("delete-password").value, ...secondFactor($("delete-code").value) });
    $("delete-password").value = "";
    $("delete-code").value = "";
    $("delete-confirm").checked = false;
    signOut(t("Your account is deleted."));
  } catch (e) { fail(t("Not deleted: {why}", { why: e.message })); }
}

$("login-form").addEventListener("submit", (event) => {
  if ($("register-extra").hidden) return login(event);
  event.preventDefault();
  return register();
});
// Log in while signing up: back to signing in, and in.
$("login").addEventListener("click", (event) => {
  if ($("register-extra").hidden) return;
  event.preventDefault();
  signUpMode(false);
  $("login-form").requestSubmit();
});
$("password").addEventListener("input", rate);
$("username").addEventListener("input", rate);
$("passkey-login").addEventListener("click", passkeyLogin);
$("code-passkey").addEventListener("click", passkeyLogin);
$("unlock-form").addEventListener("submit", unlock);
$("locked-logout").addEventListener("click", logout);
$("skip-unlock").addEventListener("click", skipUnlock);
$("identity-link").addEventListener("click", linkIdentity);
// Back from the provider, the page looks for the session it set.
$("oidc-login").addEventListener("click", () => signedIn(true));
$("password-form").addEventListener("submit", changePassword);
$("totp-start").addEventListener("click", startTotp);
$("totp-confirm-form").addEventListener("submit", confirmTotp);
$("recovery-copy").addEventListener("click", copyRecovery);
$("recovery-download").addEventListener("click", downloadRecovery);
$("recovery-done").addEventListener("click", recoverySaved);
$("totp-off-form").addEventListener("submit", turnOffTotp);
$("delete-form").addEventListener("submit", deleteAccount);
// Create account opens the sign-up fields; once open it submits the form.
$("register").addEventListener("click", (event) => {
  if (!$("register-extra").hidden) return;
  event.preventDefault();
  register();
});
$("send-form").addEventListener("submit", send);
// Ctrl+Enter (Cmd+Enter on a Mac) in the text sends, as in mail clients.
$("text").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("send-form").requestSubmit();
});
$("broadcast").addEventListener("click", broadcast);
$("logout").addEventListener("click", logout);
$("key-form").addEventListener("submit", replaceKey);
$("share-form").addEventListener("submit", createShare);
$("share-copy").addEventListener("click", copyShare);
files.init({ call, refresh, say, fail, token: () => state.access, me: () => state.me, linksChanged: () => shareList.list(), creditsChanged: () => credits.changed() });
shareList.init({ call, say, fail });
areas.init({ onShow: opened });
credits.init({ call, say, fail, me: () => state.me, areaChanged: () => areas.settle() });
passkeys.init({ call, say, fail });
// The page in the reader's language, and the switch in Settings.
translatePage();
$("language").replaceChildren(...Object.entries(LANGUAGES).map(([code, name]) => {
  const option = new Option(name, code, false, code === language());
  option.lang = code;
  return option;
}));
$("language").addEventListener("change", () => relabel($("language").value));
labels();
signInOptions();
restore();
