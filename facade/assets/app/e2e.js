// End-to-end encryption in the browser, byte for byte the format of the
// engine's `strongroom_engine::e2e` (engine/src/e2e.rs), so a message
// sealed here opens in Rust and the other way round:
//
//   "e2e1." + base64url(0x01 || key id (8) || enc (32) || ciphertext)
//
// HPKE base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM
// (@hpke/core on WebCrypto), info "strongroom e2e v1", the 9-byte header
// as associated data; the key id is the first 8 bytes of SHA-256 of the
// recipient's public key.
//
// The private key leaves the browser only wrapped: AES-256-GCM under a key
// derived from the password with PBKDF2-SHA256 (600 000 iterations, a
// random 16-byte salt), as nonce (12) || ciphertext, the public key as
// associated data (so a wrapped key cannot be paired with another public
// key). Unwrapped keys are non-extractable CryptoKeys held in memory.

import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from "./hpke.js";

const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });
const subtle = globalThis.crypto.subtle;
const utf8 = new TextEncoder();
const INFO = utf8.encode("strongroom e2e v1");
const PREFIX = "e2e1.";
const VERSION = 1;
const HEADER = 9;
const ENC = 32;
export const ITERATIONS = 600000;

// Standard base64 (what the API takes for a client-encrypted share).
export function standardBase64(bytes) {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}

// Unpadded base64url (keys, sealed messages).
export function toBase64(bytes) {
  return standardBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromBase64(text) {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const random = (n) => globalThis.crypto.getRandomValues(new Uint8Array(n));

async function keyId(publicRaw) {
  return new Uint8Array(await subtle.digest("SHA-256", publicRaw)).slice(0, 8);
}

async function passwordKey(password, salt, iterations) {
  const base = await subtle.importKey("raw", utf8.encode(password), "PBKDF2", false, ["deriveKey"]);
  return subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    base, { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"],
  );
}

// The X25519 private key as a non-extractable CryptoKey, with its public key.
async function importPair(privateRaw, publicRaw) {
  const pkcs8 = new Uint8Array(48);
  pkcs8.set([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20]);
  pkcs8.set(privateRaw, 16);
  try {
    const privateKey = await subtle.importKey("pkcs8", pkcs8, { name: "X25519" }, false, ["deriveBits"]);
    const publicKey = await subtle.importKey("raw", publicRaw, { name: "X25519" }, true, []);
    return { privateKey, publicKey };
  } finally {
    pkcs8.fill(0);
  }
}

// A fresh key pair: what to PUT /v1/keys, and the pair for the key ring.
export async function createKey(password) {
  const pair = await subtle.generateKey({ name: "X25519" }, true, ["deriveBits"]);
  const publicRaw = new Uint8Array(await subtle.exportKey("raw", pair.publicKey));
  const pkcs8 = new Uint8Array(await subtle.exportKey("pkcs8", pair.privateKey));
  const privateRaw = pkcs8.slice(16);
  pkcs8.fill(0);
  try {
    const wrapping = await wrap(password, privateRaw, publicRaw);
    const id = hex(await keyId(publicRaw));
    const upload = { public_key: toBase64(publicRaw), ...wrapping };
    return { upload, id, pair: await importPair(privateRaw, publicRaw) };
  } finally {
    privateRaw.fill(0);
  }
}

// The private key wrapped under `password` with a fresh salt and nonce:
// the fields of an upload.
async function wrap(password, privateRaw, publicRaw) {
  const salt = random(16);
  const nonce = random(12);
  const wrapping = await passwordKey(password, salt, ITERATIONS);
  const sealed = new Uint8Array(await subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData: publicRaw }, wrapping, privateRaw));
  const wrapped = new Uint8Array(12 + sealed.length);
  wrapped.set(nonce);
  wrapped.set(sealed, 12);
  return { wrapped_private_key: toBase64(wrapped), salt: toBase64(salt), iterations: ITERATIONS };
}

// The raw private key of version `v`, unwrapped with `password` (throws
// when the password is not the one it is wrapped under).
async function unwrapRaw(password, v) {
  const wrapped = fromBase64(v.wrapped_private_key);
  const wrapping = await passwordKey(password, fromBase64(v.salt), v.iterations);
  return new Uint8Array(await subtle.decrypt({ name: "AES-GCM", iv: wrapped.slice(0, 12), additionalData: fromBase64(v.public_key) }, wrapping, wrapped.slice(12)));
}

// Every version from GET /v1/keys unwrapped with the current password and
// wrapped again under the new one: the `e2e_keys` of PUT /v1/me/password.
// Throws if a version does not unwrap (the current password is wrong).
export async function rewrapKeys(current, next, versions) {
  const out = [];
  for (const v of versions) {
    let privateRaw = null;
    try {
      privateRaw = await unwrapRaw(current, v);
      out.push({ version: v.version, ...(await wrap(next, privateRaw, fromBase64(v.public_key))) });
    } catch {
      throw new Error(`end-to-end key version ${v.version} does not unlock with the current password`);
    } finally {
      if (privateRaw) privateRaw.fill(0);
    }
  }
  return out;
}

// Every version from GET /v1/keys this password unwraps, by key id (hex);
// `failed` counts the ones it does not (wrapped under an older password).
export async function unwrapKeys(password, versions) {
  const ring = new Map();
  let failed = 0;
  for (const v of versions) {
    let privateRaw = null;
    try {
      privateRaw = await unwrapRaw(password, v);
      ring.set(v.key_id, await importPair(privateRaw, fromBase64(v.public_key)));
    } catch {
      failed += 1;
    } finally {
      if (privateRaw) privateRaw.fill(0);
    }
  }
  return { ring, failed };
}

export function isSealed(text) {
  return typeof text === "string" && text.startsWith(PREFIX);
}

// Seals `plaintext` (bytes) to a base64url X25519 public key.
export async function seal(publicKeyText, plaintext) {
  const publicRaw = fromBase64(publicKeyText);
  const header = new Uint8Array(HEADER);
  header[0] = VERSION;
  header.set(await keyId(publicRaw), 1);
  const recipientPublicKey = await suite.kem.deserializePublicKey(publicRaw);
  const { ct, enc } = await suite.seal({ recipientPublicKey, info: INFO }, plaintext, header);
  const out = new Uint8Array(HEADER + ENC + ct.byteLength);
  out.set(header);
  out.set(new Uint8Array(enc), HEADER);
  out.set(new Uint8Array(ct), HEADER + ENC);
  return PREFIX + toBase64(out);
}

// The plaintext bytes, or null when no key in the ring opens it.
export async function open(ring, text) {
  if (!isSealed(text)) return null;
  let raw;
  try { raw = fromBase64(text.slice(PREFIX.length)); } catch { return null; }
  if (raw.length < HEADER + ENC + 16 || raw[0] !== VERSION) return null;
  const pair = ring.get(hex(raw.slice(1, HEADER)));
  if (!pair) return null;
  try {
    const params = { recipientKey: pair, enc: raw.slice(HEADER, HEADER + ENC), info: INFO };
    return new Uint8Array(await suite.open(params, raw.slice(HEADER + ENC), raw.slice(0, HEADER)));
  } catch {
    return null;
  }
}
