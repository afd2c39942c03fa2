//! End-to-end encryption in two real headless Chromium sessions against
//! the real `strongroom` binary on a fixed port:
//!
//! - both users register (each browser makes an X25519 key pair with
//!   WebCrypto and publishes it wrapped under the password); A's plain and
//!   end-to-end messages reach B's open inbox live, the sealed one
//!   decrypted in the page, while B's API answers only ciphertext;
//! - interop both ways: a message sealed in Rust (`strongroom_engine::e2e`)
//!   to B's browser-made key opens in B's page, and one the browser seals
//!   to a Rust-made key opens in Rust;
//! - the server restarts while B's page is open; the page resumes and
//!   receives the next message, once;
//! - B makes a new key pair; after logging in again every message opens,
//!   those sealed to the old pair too;
//! - the database file holds none of the texts.
//!
//! On a failure each page's screenshot is saved under
//! `target/tmp/browser_e2e/`.

use crate::common;

use std::path::Path;
use std::time::{Duration, Instant};
use strongroom_testkit::free_port;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use strongroom::engine::e2e;

use common::binary::Binary;
use common::browser::{click, element, fill, inbox, keeping_screenshots, wait_for};

const TEXTS: [&str; 6] = [
    "plain hello",
    "sealed hello",
    "sealed in rust",
    "for carol in rust",
    "after the restart",
    "to the new key",
];

/// Plain HTTP calls as a test client, each of which must succeed.
struct Calls(strongroom_testkit::http::Api);

impl Calls {
    /// The answer of a call that must succeed.
    async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Value) -> Value {
        let (status, value) = self.0.call(method, path, token, body).await.parts();
        assert!((200..300).contains(&status), "{path}: {status} {value}");
        value
    }

    async fn login(&self, name: &str) -> String {
        let creds = json!({"username": name, "password": common::PASSWORD});
        let tokens = self.call("POST", "/v1/sessions", None, creds).await;
        tokens["access_token"].as_str().expect("token").to_owned()
    }

    /// Registers `name` and logs in.
    async fn account_token(&self, name: &str) -> String {
        let creds = json!({"username": name, "password": common::PASSWORD});
        self.call("POST", "/v1/accounts", None, creds).await;
        self.login(name).await
    }

    async fn messages(&self, token: &str) -> Vec<String> {
        let page = self
            .call("GET", "/v1/messages?limit=100", Some(token), Value::Null)
            .await;
        page["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(|m| m["message"].as_str().expect("text").to_owned())
            .collect()
    }
}

/// Opens the client, signs in (creating the account first when asked) and
/// waits for its live stream.
async fn sign_in(base: &str, client: &Client, name: &str, create: bool) {
    common::browser::sign_in(client, base, name, create, Duration::from_secs(30)).await;
}

/// Sends from the page, end-to-end or not, and waits for the status line.
async fn send(client: &Client, to: &str, text: &str, sealed: bool) {
    fill(client, "#to", to).await;
    fill(client, "#text", text).await;
    let tick = element(client, "#e2e").await;
    if tick.is_selected().await.expect("checked") != sealed {
        tick.click().await.expect("tick");
    }
    click(client, "#send").await;
    let wanted = if sealed {
        format!("Sent to {to}, end-to-end.")
    } else {
        format!("Sent to {to}.")
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = common::browser::text(client, "#status").await;
        if status == wanted {
            return;
        }
        assert!(Instant::now() < deadline, "sending said {status:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends `text` end-to-end to `to` from the page and returns the status
/// line once it says anything but "Sent".
async fn said_after(client: &Client, to: &str, text: &str) -> String {
    fill(client, "#to", to).await;
    fill(client, "#text", text).await;
    let tick = element(client, "#e2e").await;
    if !tick.is_selected().await.expect("checked") {
        tick.click().await.expect("tick");
    }
    click(client, "#send").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let status = common::browser::text(client, "#status").await;
        if status.starts_with("Not sent") {
            return status;
        }
        assert!(Instant::now() < deadline, "sending said {status:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the page's inbox is exactly `want` (newest first).
async fn inbox_becomes(client: &Client, want: &[&str], within: Duration) {
    let started = Instant::now();
    loop {
        let now = inbox(client).await;
        if now == want {
            return;
        }
        assert!(started.elapsed() < within, "inbox is {now:?}, not {want:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every byte of every file under `dir`.
fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            bytes.extend(all_bytes(&path));
        } else {
            bytes.extend(std::fs::read(&path).expect("read file"));
        }
    }
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_seal_and_open_end_to_end_across_a_restart_and_a_key_change() {
    let Some(a) = common::browser::launch("browser_e2e").await else {
        return;
    };
    let Some(b) = common::browser::launch("browser_e2e").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (alice, bob) = (&a.client, &b.client);
    let pages = [("alice", alice), ("bob", bob)];
    let data = dir.path().join("data"); // made 0700 by the server
    keeping_screenshots("browser_e2e", &pages, scenario(&data, alice, bob)).await;
}

async fn scenario(dir: &Path, alice: &Client, bob: &Client) {
    let listen = format!("127.0.0.1:{}", free_port());
    let server = Binary::start(dir, &["--listen", &listen], &[]);
    let base = server.base.clone();
    let api = Calls(server.api.clone());
    sign_in(&base, bob, "bob", true).await;
    sign_in(&base, alice, "alice", true).await;

    // Plain, then end-to-end: both live, over bob's open stream, the
    // sealed one decrypted by bob's page (how fast is the load harness's
    // to say, not a timed test's).
    send(alice, "bob", TEXTS[0], false).await;
    inbox_becomes(bob, &TEXTS[..1], Duration::from_secs(5)).await;
    send(alice, "bob", TEXTS[1], true).await;
    inbox_becomes(bob, &[TEXTS[1], TEXTS[0]], Duration::from_secs(5)).await;
    wait_for(bob, "#inbox li.sealed", Duration::from_secs(1)).await;
    // Alice keeps her own sealed copy, readable in her page.
    // (and of the plain one, sealed to herself).
    inbox_becomes(alice, &[TEXTS[1], TEXTS[0]], Duration::from_secs(5)).await;

    // The server hands bob only ciphertext, sealed to his published key.
    let bob_token = api.login("bob").await;
    let stored = api.messages(&bob_token).await;
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert!(stored.contains(&TEXTS[0].to_owned()));
    let sealed = stored
        .iter()
        .find(|t| t.starts_with("e2e1."))
        .expect("sealed");
    assert!(!sealed.contains(TEXTS[1]));
    let carol = api.account_token("carol").await;
    let bob_key = api
        .call("GET", "/v1/users/bob/key", Some(&carol), Value::Null)
        .await;
    let bob_public = e2e::PublicKey::from_base64(bob_key["public_key"].as_str().expect("key"))
        .expect("an X25519 key");
    assert_eq!(e2e::key_id_of(sealed), Some(bob_public.key_id()));

    // Rust seals to bob's browser-made key: his page opens it.
    let from_rust = e2e::seal(&bob_public, TEXTS[2].as_bytes());
    api.call(
        "POST",
        "/v1/users/bob/messages",
        Some(&carol),
        json!({"message": from_rust}),
    )
    .await;
    inbox_becomes(bob, &[TEXTS[2], TEXTS[1], TEXTS[0]], Duration::from_secs(5)).await;

    // A recipient the server says has no key: only then is sending
    // readable offered.
    let keyless = said_after(alice, "nobody-here", "for no one").await;
    assert!(keyless.contains("has no end-to-end key"), "{keyless}");
    assert!(keyless.contains("untick"), "{keyless}");

    // The browser seals to a Rust-made key: Rust opens it.
    let (carol_secret, carol_public) = e2e::generate_keypair();
    let wrapped = URL_SAFE_NO_PAD.encode([7u8; 60]); // never unwrapped here
    let salt = URL_SAFE_NO_PAD.encode([9u8; 16]);
    api.call(
        "PUT",
        "/v1/keys",
        Some(&carol),
        json!({"public_key": carol_public.to_base64(), "wrapped_private_key": wrapped,
               "salt": salt, "iterations": 600_000}),
    )
    .await;
    send(alice, "carol", TEXTS[3], true).await;
    let carols = api.messages(&carol).await;
    assert_eq!(carols.len(), 1);
    let opened = e2e::open(&carol_secret, &carols[0]).expect("opens in Rust");
    let opened: Value = serde_json::from_slice(&opened).expect("the client's JSON");
    assert_eq!(opened, json!({"to": "carol", "text": TEXTS[3]}));

    // Restart while both pages are open: bob's stream ends, the page
    // reconnects to the new process and receives the next message once.
    let exited = server.stop();
    assert!(exited.status.success(), "{}", exited.stderr);
    wait_for(bob, "#live:not(.on)", Duration::from_secs(5)).await;
    // Both pages say they are offline, and keep trying.
    let banner = wait_for(bob, "#offline:not([hidden])", Duration::from_secs(5)).await;
    let said = banner.text().await.expect("banner");
    assert!(
        said.contains("Offline") && said.contains("Trying again"),
        "{said}"
    );
    // Sending while the server is down: reported as a network failure,
    // never as a reason to turn end-to-end encryption off; the draft stays.
    let down = said_after(alice, "bob", "written while the server is down").await;
    assert!(down.contains("cannot be reached"), "{down}");
    assert!(!down.contains("untick"), "{down}");
    assert_eq!(
        element(alice, "#text")
            .await
            .prop("value")
            .await
            .expect("draft")
            .as_deref(),
        Some("written while the server is down")
    );
    let server = Binary::start(dir, &["--listen", &listen], &[]);
    wait_for(bob, "#live.on", Duration::from_secs(20)).await;
    wait_for(bob, "#offline[hidden]", Duration::from_secs(5)).await;
    send(alice, "bob", TEXTS[4], true).await;
    let before = [TEXTS[4], TEXTS[2], TEXTS[1], TEXTS[0]];
    inbox_becomes(bob, &before, Duration::from_secs(5)).await;

    // A new key pair for bob; what was sealed to the old one still opens
    // after he logs in again.
    click(bob, "#nav-settings").await;
    fill(bob, "#key-password", common::PASSWORD).await;
    click(bob, "#new-key").await;
    let published = Instant::now() + Duration::from_secs(30);
    loop {
        let keys = api
            .call("GET", "/v1/keys", Some(&bob_token), Value::Null)
            .await;
        if keys["keys"].as_array().expect("keys").len() == 2 {
            break;
        }
        assert!(Instant::now() < published, "no second key version");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    send(alice, "bob", TEXTS[5], true).await;
    let all = [TEXTS[5], TEXTS[4], TEXTS[2], TEXTS[1], TEXTS[0]];
    inbox_becomes(bob, &all, Duration::from_secs(5)).await;
    click(bob, "#logout").await;
    wait_for(bob, "#signin:not([hidden])", Duration::from_secs(5)).await;
    sign_in(&base, bob, "bob", false).await;
    inbox_becomes(bob, &all, Duration::from_secs(10)).await;
    let unreadable = bob
        .find_all(Locator::Css("#inbox li.unreadable"))
        .await
        .expect("items");
    assert!(unreadable.is_empty());

    // The database holds none of the texts (nor the password).
    let exited = server.stop();
    assert!(exited.status.success(), "{}", exited.stderr);
    let bytes = all_bytes(dir);
    assert!(bytes.len() > 4096, "the database is in {}", dir.display());
    for needle in TEXTS.iter().chain([&common::PASSWORD]) {
        let found = bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
        assert!(!found, "{needle:?} is in the data directory");
    }
}
