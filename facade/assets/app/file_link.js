// A file shared by link with the key kept out of the server's reach: the
// file stream format v1 (docs/files.md) under a random 32-byte key that
// travels only in the link's fragment, with zero owner and file ids —
// the format of the engine's `shares::client::seal_file`, and of the share
// page that opens it (facade/assets/share/share.js).
//
//   header    0x01 || key version 0 (4) || salt (32) || nonce prefix (7)
//   K_seg     HKDF-SHA256(key, salt, "strongroom/file-segments/v1" || 32 zero bytes)
//   K_meta    HKDF-SHA256(key, salt, "strongroom/file-metadata/v1" || 32 zero bytes)
//   segment i AES-256-GCM(K_seg, prefix || i (4, BE) || last (1), aad = header, 64 KiB)
//   label     header || nonce (12) || AES-256-GCM(K_meta, nonce, aad = header,
//             size (8, BE) || name length (4) || name || type length (4) || type)

import { toBase64 } from "./e2e.js";

const SEGMENT = 64 * 1024;
const subtle = globalThis.crypto.subtle;
const utf8 = (t) => new TextEncoder().encode(t);

function join(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

async function keys(raw, header) {
  const base = await subtle.importKey("raw", raw, "HKDF", false, ["deriveKey"]);
  const salt = header.slice(5, 37);
  const derive = (label) => subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt, info: join(utf8(label), new Uint8Array(32)) },
    base, { name: "AES-GCM", length: 256 }, false, ["encrypt"]);
  return { seg: await derive("strongroom/file-segments/v1"), meta: await derive("strongroom/file-metadata/v1") };
}

function nonce(prefix, index, last) {
  const n = new Uint8Array(12);
  n.set(prefix, 0);
  new DataView(n.buffer).setUint32(7, index);
  n[11] = last ? 1 : 0;
  return n;
}

function metadata(name, type, size) {
  const [n, t] = [utf8(name), utf8(type)];
  const out = new Uint8Array(16 + n.length + t.length);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(size));
  view.setUint32(8, n.length);
  out.set(n, 12);
  view.setUint32(12 + n.length, t.length);
  out.set(t, 16 + n.length);
  return out;
}

// Seals `file` (a File) segment by segment, reading it in 64 KiB slices:
// the sealed stream as a Blob, its label, and the key as fragment text.
export async function sealFile(file, onProgress) {
  const raw = globalThis.crypto.getRandomValues(new Uint8Array(32));
  try {
    const header = join(new Uint8Array([1, 0, 0, 0, 0]),
      globalThis.crypto.getRandomValues(new Uint8Array(32)),
      globalThis.crypto.getRandomValues(new Uint8Array(7)));
    const prefix = header.slice(37);
    const k = await keys(raw, header);
    const count = Math.max(1, Math.ceil(file.size / SEGMENT));
    const parts = [header];
    for (let i = 0; i < count; i += 1) {
      const plain = new Uint8Array(await file.slice(i * SEGMENT, (i + 1) * SEGMENT).arrayBuffer());
      const sealed = await subtle.encrypt(
        { name: "AES-GCM", iv: nonce(prefix, i, i === count - 1), additionalData: header }, k.seg, plain);
      parts.push(new Uint8Array(sealed));
      onProgress((i + 1) / count);
    }
    const iv = globalThis.crypto.getRandomValues(new Uint8Array(12));
    const meta = new Uint8Array(await subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: header }, k.meta,
      metadata(file.name, file.type || "application/octet-stream", file.size)));
    return {
      stream: new Blob(parts, { type: "application/octet-stream" }),
      label: join(header, iv, meta),
      fragment: toBase64(raw),
    };
  } finally {
    raw.fill(0);
  }
}
