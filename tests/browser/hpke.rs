//! The web client's HPKE (`/app/hpke.js`, `@hpke/core` on WebCrypto) in
//! real headless Chromium against RFC 9180's known-answer vector for the
//! suite it uses (base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
//! AES-256-GCM; provenance in `engine/tests/data/hpke/README.md`): key
//! derivation, every encryption sealed with the vector's ephemeral key and
//! opened in sequence, and the exports. The engine's side of the same
//! vector is `engine/tests/e2e.rs`.

use crate::common;

use common::start;
use serde_json::{Value, json};

const VECTOR: &str =
    include_str!("../../engine/tests/data/hpke/rfc9180-base-x25519-sha256-aes256gcm.json");

/// Runs in the page: imports the served module and works through the
/// vector; answers what it computed, in hex.
const SCRIPT: &str = r#"
const [v, done] = arguments;
(async () => {
  const { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } = await import("/app/hpke.js");
  const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });
  const bytes = (s) => Uint8Array.from(s.match(/../g) || [], (h) => parseInt(h, 16));
  const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");
  const info = bytes(v.info);
  const r = await suite.kem.deriveKeyPair(bytes(v.ikmR));
  const e = await suite.kem.deriveKeyPair(bytes(v.ikmE));
  const sender = await suite.createSenderContext({ recipientPublicKey: r.publicKey, info, ekm: e });
  const recipient = await suite.createRecipientContext({ recipientKey: r, enc: bytes(v.enc), info });
  const sealed = [], opened = [], exported = [];
  for (const x of v.encryptions) {
    sealed.push(hex(await sender.seal(bytes(x.pt), bytes(x.aad))));
    opened.push(hex(await recipient.open(bytes(x.ct), bytes(x.aad))));
  }
  for (const x of v.exports) exported.push(hex(await recipient.export(bytes(x.exporter_context), x.L)));
  done({
    pkRm: hex(await suite.kem.serializePublicKey(r.publicKey)),
    enc: hex(sender.enc),
    sealed, opened, exported,
  });
})().catch((err) => done({ error: String(err) }));
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_hpke_reproduces_the_rfc_9180_vector() {
    let Some(browser) = common::browser::launch("browser_hpke").await else {
        return;
    };
    let s = start().await;
    let client = &browser.client;
    client.goto(&s.url("/app")).await.expect("open /app");
    let v: Value = serde_json::from_str(VECTOR).expect("vector");
    let got = client
        .execute_async(SCRIPT, vec![v.clone()])
        .await
        .expect("script runs");
    assert!(got["error"].is_null(), "{}", got["error"]);
    assert_eq!(got["pkRm"], v["pkRm"]);
    assert_eq!(got["enc"], v["enc"]);
    let encryptions = v["encryptions"].as_array().expect("encryptions");
    assert_eq!(encryptions.len(), 257);
    let column = |field: &str| -> Value { encryptions.iter().map(|e| e[field].clone()).collect() };
    assert_eq!(
        got["sealed"],
        column("ct"),
        "sealing with the vector's ephemeral key"
    );
    assert_eq!(got["opened"], column("pt"), "opening in sequence");
    let exports: Value = v["exports"]
        .as_array()
        .expect("exports")
        .iter()
        .map(|x| x["exported_value"].clone())
        .collect();
    assert_eq!(got["exported"], exports);
    assert_ne!(exports, json!([]));
}
