// The share page: nothing is fetched or consumed until the button is
// pressed (link previews and crawlers never run this). Opening POSTs to the
// API; a client-encrypted secret is decrypted here with the key from the
// URL fragment, which the browser never sends to the server.
"use strict";

const AAD = new TextEncoder().encode("strongroom/share-client/v1");

function fromBase64(text) {
  const bin = atob(text);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

function fromBase64Url(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return fromBase64(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
}

async function decryptBlob(blob, fragmentKey) {
  const raw = fromBase64Url(fragmentKey);
  if (raw.length !== 32 || blob.length < 29 || blob[0] !== 1) throw new Error("bad key or blob");
  const key = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["decrypt"]);
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: blob.slice(1, 13), additionalData: AAD },
    key,
    blob.slice(13),
  );
  return new TextDecoder().decode(plain);
}

// The 32-byte key of a link's fragment (43 base64url characters), or
// null: from a full link, a bare key, or nothing usable.
function wellFormedKey(text) {
  const key = (text.includes("#") ? text.slice(text.indexOf("#") + 1) : text).trim();
  if (!/^[A-Za-z0-9_-]{43}$/.test(key)) return null;
  try { return fromBase64Url(key).length === 32 ? key : null; } catch { return null; }
}

const clientEncrypted = document.getElementById("share").dataset.clientEncrypted === "true";
const holdsFile = document.getElementById("share").dataset.file === "true";

// A file sealed in the sender's browser: the file stream format v1 under
// the link's key (see facade/assets/app/file_link.js).
const SEALED_SEGMENT = 64 * 1024 + 16;

async function streamKeys(raw, header) {
  const base = await crypto.subtle.importKey("raw", raw, "HKDF", false, ["deriveKey"]);
  const salt = header.slice(5, 37);
  const derive = (label) => {
    const text = new TextEncoder().encode(label);
    const info = new Uint8Array(text.length + 32);
    info.set(text);
    return crypto.subtle.deriveKey({ name: "HKDF", hash: "SHA-256", salt, info },
      base, { name: "AES-GCM", length: 256 }, false, ["decrypt"]);
  };
  return { seg: await derive("strongroom/file-segments/v1"), meta: await derive("strongroom/file-metadata/v1") };
}

function segmentNonce(prefix, index, last) {
  const n = new Uint8Array(12);
  n.set(prefix, 0);
  new DataView(n.buffer).setUint32(7, index);
  n[11] = last ? 1 : 0;
  return n;
}

// The name, type and size a label holds.
async function openLabel(label, fragmentKey) {
  const header = label.slice(0, 44);
  if (label.length < 44 + 12 + 16 || header[0] !== 1) throw new Error("not a label");
  const keys = await streamKeys(fromBase64Url(fragmentKey), header);
  const plain = new Uint8Array(await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: label.slice(44, 56), additionalData: header }, keys.meta, label.slice(56)));
  const view = new DataView(plain.buffer);
  const size = Number(view.getBigUint64(0));
  const nameLength = view.getUint32(8);
  const name = new TextDecoder().decode(plain.slice(12, 12 + nameLength));
  const typeLength = view.getUint32(12 + nameLength);
  const type = new TextDecoder().decode(plain.slice(16 + nameLength, 16 + nameLength + typeLength));
  return { name, type, size };
}

// Decrypts a downloaded stream segment by segment; a Blob of the file.
async function openStream(bytes, fragmentKey, type) {
  const header = bytes.slice(0, 44);
  if (bytes.length < 44 + 16 || header[0] !== 1) throw new Error("not a file stream");
  const keys = await streamKeys(fromBase64Url(fragmentKey), header);
  const prefix = header.slice(37, 44);
  const body = bytes.subarray(44);
  const count = Math.max(1, Math.ceil(body.length / SEALED_SEGMENT));
  const parts = [];
  for (let i = 0; i < count; i += 1) {
    const segment = body.subarray(i * SEALED_SEGMENT, Math.min(body.length, (i + 1) * SEALED_SEGMENT));
    parts.push(new Uint8Array(await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: segmentNonce(prefix, i, i === count - 1), additionalData: header },
      keys.seg, segment)));
  }
  return new Blob(parts, { type });
}

let label = null;
if (holdsFile && clientEncrypted) {
  const key = wellFormedKey(location.hash.slice(1));
  const sealed = document.getElementById("share").dataset.label;
  if (key && sealed) {
    openLabel(fromBase64(sealed), key).then((l) => {
      label = l;
      const facts = document.getElementById("file-facts");
      facts.textContent = `${l.name} (${l.size} bytes, ${l.type})`;
      facts.id = "file-name";
    }).catch(() => {
      document.getElementById("file-facts").textContent = "The key in this link does not open this file's name (was the part after # cut off?).";
    });
  }
}
// Without a well-formed key in the link, ask for one before anything is
// consumed (chat and mail often cut links at the "#").
if (clientEncrypted && !wellFormedKey(location.hash.slice(1))) {
  document.getElementById("key-row").hidden = false;
}

function show(id, text) {
  const el = document.getElementById(id);
  el.textContent = text;
  el.hidden = false;
}

async function reveal(event) {
  event.preventDefault();
  const root = document.getElementById("share");
  const token = root.dataset.token;
  let key = null;
  if (clientEncrypted) {
    key = wellFormedKey(location.hash.slice(1)) || wellFormedKey(document.getElementById("key").value);
    if (!key) {
      document.getElementById("key-row").hidden = false;
      return show("error", "Paste the full link or its key first: without it the secret cannot be opened, and nothing was consumed.");
    }
  }
  const body = {};
  const pass = document.getElementById("passphrase");
  if (pass && pass.value) body.passphrase = pass.value;
  document.getElementById("error").hidden = true;
  const button = document.getElementById("reveal");
  button.disabled = true;
  let response;
  try {
    response = await fetch(`/v1/shares/${encodeURIComponent(token)}/open`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      credentials: "omit",
      referrerPolicy: "no-referrer",
    });
  } catch {
    button.disabled = false;
    return show("error", "The server could not be reached. Nothing was consumed; try again.");
  }
  if (response.status === 401) {
    button.disabled = false;
    return show("error", "Wrong passphrase. Five wrong attempts destroy the secret.");
  }
  if (!response.ok) {
    document.getElementById("form").hidden = true;
    return show("error", response.status === 410
      ? "This secret is no longer available."
      : "There is no secret at this link.");
  }
  if (holdsFile && clientEncrypted) return saveSealedFile(response, key);
  if (holdsFile) return saveFile(response, root.dataset.name);
  const opened = await response.json();
  let text = opened.message;
  if (opened.client_encrypted) {
    try {
      text = await decryptBlob(fromBase64(opened.message), key);
    } catch {
      document.getElementById("form").hidden = true;
      return show("error", "The secret was released but the key in this link does not open it (was the part after # cut off?).");
    }
  }
  history.replaceState(null, "", location.pathname); // drop the key from the address bar
  document.getElementById("form").hidden = true;
  show("secret", text);
  show("after", opened.views_left === 0
    ? "This was the last view: the secret is now deleted from the server."
    : `Views left: ${opened.views_left}.`);
}

// A file sealed in the sender's browser: downloaded, decrypted here with
// the link's key, then handed to the browser under its sealed name.
async function saveSealedFile(response, key) {
  let blob;
  try {
    const bytes = new Uint8Array(await response.arrayBuffer());
    const facts = label || { name: "file", type: "application/octet-stream" };
    blob = await openStream(bytes, key, facts.type);
  } catch {
    document.getElementById("form").hidden = true;
    return show("error", "The file was released but the key in this link does not open it (was the part after # cut off?).");
  }
  history.replaceState(null, "", location.pathname);
  return offer(blob, (label && label.name) || "file", Number(response.headers.get("x-views-left")));
}

// A shared file: its bytes, handed to the browser as a download under its
// name (from the answer's Content-Disposition when the page did not know
// it, behind a passphrase).
async function saveFile(response, known) {
  const disposition = response.headers.get("content-disposition") || "";
  const encoded = /filename\*=UTF-8''([^;]+)/.exec(disposition);
  const name = encoded ? decodeURIComponent(encoded[1]) : known || "file";
  const views = Number(response.headers.get("x-views-left"));
  let blob;
  try {
    blob = await response.blob();
  } catch {
    document.getElementById("form").hidden = true;
    return show("error", "The download was cut off; the view it took is spent.");
  }
  return offer(blob, name, views);
}

function offer(blob, name, views) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.id = "saved";
  link.textContent = `Save ${name} again`;
  document.getElementById("form").hidden = true;
  show("after", views === 0
    ? `${name} was downloaded. This was the last view: the file is now deleted from the server.`
    : `${name} was downloaded. Views left: ${views}.`);
  document.getElementById("after").append(" ", link);
  link.click();
}

document.getElementById("form").addEventListener("submit", reveal);
