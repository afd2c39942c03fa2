// Share links made in the browser with the key kept out of the server's
// reach: the format of the engine's `share_client` (engine/src/share_client.rs)
// and of the page that opens them (/s/<token>, facade/assets/share/share.js):
//
//   key   32 random bytes, only in the URL fragment (unpadded base64url)
//   blob  0x01 || nonce (12) || AES-256-GCM(key, nonce, text,
//         aad = "strongroom/share-client/v1"), sent as standard base64
//         with client_encrypted: true

import { standardBase64, toBase64 } from "./e2e.js";

const AAD = new TextEncoder().encode("strongroom/share-client/v1");

// The blob (standard base64) for POST /v1/shares, and the fragment key.
export async function sealForLink(text) {
  const raw = globalThis.crypto.getRandomValues(new Uint8Array(32));
  const nonce = globalThis.crypto.getRandomValues(new Uint8Array(12));
  try {
    const key = await globalThis.crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt"]);
    const sealed = new Uint8Array(await globalThis.crypto.subtle.encrypt(
      { name: "AES-GCM", iv: nonce, additionalData: AAD }, key, new TextEncoder().encode(text)));
    const blob = new Uint8Array(1 + 12 + sealed.length);
    blob[0] = 1;
    blob.set(nonce, 1);
    blob.set(sealed, 13);
    return { message: standardBase64(blob), fragment: toBase64(raw) };
  } finally {
    raw.fill(0);
  }
}
