// Passkeys in the web client: sign in with one (no username: the browser
// offers the passkeys it holds for this site, after the device's screen
// lock or PIN), and in Settings add, list and remove them. The server
// speaks WebAuthn's JSON with binary fields in base64url.

import { t, dateTime } from "./i18n.js";

const $ = (id) => document.getElementById(id);
let api = null;

const b64u = {
  decode(text) {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  },
  encode(buffer) {
    const bytes = new Uint8Array(buffer);
    let bin = "";
    for (const b of bytes) bin += String.fromCharCode(b);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  },
};

const withIds = (list) => (list || []).map((c) => ({ ...c, id: b64u.decode(c.id) }));

function creationOptions(options) {
  const p = structuredClone(options.publicKey);
  p.challenge = b64u.decode(p.challenge);
  p.user.id = b64u.decode(p.user.id);
  p.excludeCredentials = withIds(p.excludeCredentials);
  return p;
}

function requestOptions(options) {
  const p = structuredClone(options.publicKey);
  p.challenge = b64u.decode(p.challenge);
  p.allowCredentials = withIds(p.allowCredentials);
  return p;
}

// A credential as the JSON the server reads.
function asJson(credential) {
  const r = credential.response;
  const response = { clientDataJSON: b64u.encode(r.clientDataJSON) };
  if (r.attestationObject) response.attestationObject = b64u.encode(r.attestationObject);
  if (r.authenticatorData) {
    response.authenticatorData = b64u.encode(r.authenticatorData);
    response.signature = b64u.encode(r.signature);
    response.userHandle = r.userHandle ? b64u.encode(r.userHandle) : null;
  }
  return {
    id: credential.id,
    rawId: b64u.encode(credential.rawId),
    type: credential.type,
    response,
    extensions: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
  };
}

function unsupported() {
  return !window.PublicKeyCredential || !navigator.credentials;
}

// Signs in with a passkey; the new session's tokens (the refresh token in
// the session cookie).
export async function signIn() {
  if (unsupported()) throw new Error(t("this browser does not support passkeys"));
  const start = await api.call("POST", "/v1/sessions/passkey/start", {});
  let credential;
  try {
    credential = await navigator.credentials.get({ publicKey: requestOptions(start.options) });
  } catch (e) {
    throw new Error(e.name === "NotAllowedError" ? t("no passkey was chosen") : e.message);
  }
  return api.call("POST", "/v1/sessions/passkey/finish", {
    challenge_id: start.challenge_id, credential: asJson(credential), cookie: true,
  });
}

function row(passkey) {
  const li = document.createElement("li");
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = passkey.name;
  const facts = document.createElement("span");
  facts.className = "facts";
  const used = passkey.last_used ? t("last used {when}", { when: dateTime(passkey.last_used) }) : t("not used yet");
  facts.textContent = `${t("added {when}", { when: dateTime(passkey.created_at) })} · ${used}`;
  const remove = document.createElement("button");
  remove.type = "button";
  remove.textContent = t("Remove");
  remove.setAttribute("aria-label", t("Remove the passkey {name}", { name: passkey.name }));
  remove.addEventListener("click", async () => {
    if (!window.confirm(t("Remove the passkey “{name}”? It will no longer sign you in.", { name: passkey.name }))) return;
    try {
      await api.call("DELETE", `/v1/me/passkeys/${passkey.id}`);
      api.say(t("Passkey {name} removed.", { name: passkey.name }));
      await list();
    } catch (e) { api.fail(t("Could not remove it: {why}", { why: e.message })); }
  });
  li.append(name, remove, facts);
  return li;
}

export async function list() {
  try {
    const { passkeys } = await api.call("GET", "/v1/me/passkeys");
    $("passkeys-list").replaceChildren(...passkeys.map(row));
    $("passkeys-empty").hidden = passkeys.length > 0;
  } catch (e) { api.fail(t("Could not list your passkeys: {why}", { why: e.message })); }
}

async function add(event) {
  event.preventDefault();
  if (unsupported()) return api.fail(t("This browser does not support passkeys."));
  const name = $("passkey-name").value.trim() || t("Passkey");
  try {
    const start = await api.call("POST", "/v1/me/passkeys/registration/start", { name });
    let credential;
    try {
      credential = await navigator.credentials.create({ publicKey: creationOptions(start.options) });
    } catch (e) {
      throw new Error(e.name === "NotAllowedError" ? t("the passkey was not created") : e.message);
    }
    await api.call("POST", "/v1/me/passkeys/registration/finish", {
      challenge_id: start.challenge_id, credential: asJson(credential),
    });
    $("passkey-form").reset();
    api.say(t("Passkey {name} added: you can sign in with it.", { name }));
    await list();
  } catch (e) { api.fail(t("No passkey: {why}", { why: e.message })); }
}

export function clear() {
  $("passkeys-list").replaceChildren();
  $("passkeys-empty").hidden = false;
}

export function init(context) {
  api = context;
  $("passkey-form").addEventListener("submit", add);
}
