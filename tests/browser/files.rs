//! Files in the web client, in a real headless Chromium: a person picks a
//! file, watches it upload, finds it in the list with its size and expiry,
//! downloads exactly its bytes, sends one to another user (who is told on
//! their live stream) and deletes one.

use crate::common;

use std::time::Duration;

use common::browser::{click, fill, sign_in, text, wait_for};
use common::start;
use fantoccini::{Client, Locator};

const WAIT: Duration = Duration::from_secs(20);

/// Picks the file at `path` in the upload form and submits it.
async fn upload(client: &Client, path: &std::path::Path, to: &str) {
    common::browser::reveal(client, "#file-input").await;
    client
        .find(Locator::Css("#file-input"))
        .await
        .expect("file input")
        .send_keys(path.to_str().expect("utf-8 path"))
        .await
        .expect("pick file");
    fill(client, "#file-to", to).await;
    click(client, "#file-upload").await;
}

/// Waits until the status under the upload form says `what`.
async fn noted(client: &Client, what: &str) -> String {
    for _ in 0..200 {
        let note = text(client, "#file-note").await;
        if note.contains(what) {
            return note;
        }
        if note.contains("failed") {
            panic!("{note}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the upload never said {what:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_uploads_lists_downloads_sends_and_deletes_files() {
    let Some(browser) = common::browser::launch("browser_files").await else {
        return;
    };
    let client = &browser.client;
    let s = start().await;
    let (bob, _) = s.account("bob").await;
    let dir = tempfile::tempdir().expect("tempdir");
    // A bit over three segments, so the browser's bytes cross several.
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let path = dir.path().join("plan été.bin");
    std::fs::write(&path, &content).expect("write file");

    common::browser::keeping_screenshots("browser_files", &[("alice", client)], async {
        sign_in(client, &s.base, "alice", true, WAIT).await;
        click(client, "#nav-files").await;
        assert_eq!(text(client, "#files-empty").await, "No files yet.");

        upload(client, &path, "").await;
        noted(client, "Stored plan été.bin (200 kB)").await;
        let item = wait_for(client, "#files li", WAIT).await;
        let facts = item.text().await.expect("text");
        assert!(facts.contains("plan été.bin") && facts.contains("200 kB"), "{facts}");
        assert!(facts.contains("expires"), "{facts}");
        assert!(!client
            .find(Locator::Css("#files-empty"))
            .await
            .expect("empty note")
            .is_displayed()
            .await
            .expect("displayed"));

        // The download hands the browser exactly the uploaded bytes.
        client
            .execute(
                "window.__blobs = []; const make = URL.createObjectURL; \
                 URL.createObjectURL = (b) => { window.__blobs.push(b); return make(b); }",
                vec![],
            )
            .await
            .expect("watch downloads");
        click(client, "#files li button:first-of-type").await;
        let mut got = serde_json::Value::Null;
        for _ in 0..100 {
            got = client
                .execute_async(
                    "const done = arguments[0]; const b = window.__blobs[0]; \
                     if (!b) { done(null); } else { b.arrayBuffer().then((a) => done(Array.from(new Uint8Array(a)))); }",
                    vec![],
                )
                .await
                .expect("read blob");
            if !got.is_null() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let bytes: Vec<u8> = serde_json::from_value(got).expect("downloaded bytes");
        assert_eq!(bytes, content, "the download differs from the upload");

        // Sent to bob: he holds it, alice's list does not.
        upload(client, &path, "bob").await;
        noted(client, "Sent plan été.bin to bob").await;
        let bobs = s.get("/v1/files", &bob).await;
        assert_eq!(bobs.body["files"][0]["name"], "plan été.bin");
        assert_eq!(bobs.body["files"][0]["sender"], "alice");
        assert_eq!(
            client.find_all(Locator::Css("#files li")).await.expect("items").len(),
            1
        );

        // Deleting asks first, then the file is gone here and on the server.
        client
            .execute("window.confirm = () => true", vec![])
            .await
            .expect("confirm");
        // A share link to the file, for someone without an account.
        click(client, "#files li button:nth-of-type(2)").await;
        let link = wait_for(client, "#share-result:not([hidden]) #share-link", WAIT)
            .await
            .prop("value")
            .await
            .expect("value")
            .unwrap_or_default();
        assert!(link.contains("/s/"), "{link}");
        let preview = s
            .send(s.http.get(&link).header("accept", "application/json"))
            .await;
        assert_eq!(preview.body["file"]["name"], "plan été.bin");
        click(client, "#files li button:nth-of-type(3)").await;
        wait_for(client, "#files-empty:not([hidden])", WAIT).await;
        let alice = s.engine.accounts().find("alice").expect("find").expect("alice");
        assert!(s.engine.files().list(alice, None, 10).expect("list").files.is_empty());
        let errors = common::browser::console_errors(client).await;
        assert!(errors.is_empty(), "the console: {errors:#?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_sent_to_you_arrives_live_with_a_download_button() {
    let Some(browser) = common::browser::launch("browser_files_live").await else {
        return;
    };
    let client = &browser.client;
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    common::browser::keeping_screenshots("browser_files_live", &[("bob", client)], async {
        sign_in(client, &s.base, "bob", true, WAIT).await;
        let sent = s
            .send(
                s.http
                    .post(s.url("/v1/users/bob/files"))
                    .bearer_auth(&alice)
                    .header("X-File-Name", "notes.txt")
                    .header("Content-Type", "text/plain")
                    .body("see you at noon"),
            )
            .await;
        assert_eq!(sent.status, 201, "{}", sent.body);
        let notice = wait_for(client, "#inbox li.file", WAIT).await;
        let said = notice.text().await.expect("text");
        assert!(
            said.contains("alice sent you notes.txt (15 bytes)"),
            "{said}"
        );
        assert!(said.contains("Download"), "{said}");
        // The file list follows.
        click(client, "#nav-files").await;
        let listed = wait_for(client, "#files li", WAIT).await;
        assert!(listed.text().await.expect("text").contains("from alice"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_file_is_named_before_and_downloaded_once_on_the_share_page() {
    let Some(browser) = common::browser::launch("browser_files_share").await else {
        return;
    };
    let client = &browser.client;
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let content: Vec<u8> = (0..150_000u32).map(|i| (i % 239) as u8).collect();
    let stored = s
        .send(
            s.http
                .post(s.url("/v1/files"))
                .bearer_auth(&alice)
                .header("X-File-Name", "report%20Q3.pdf")
                .header("Content-Type", "application/pdf")
                .body(content.clone()),
        )
        .await;
    assert_eq!(stored.status, 201, "{}", stored.body);
    let shared = s
        .post(
            "/v1/shares",
            serde_json::json!({"file_id": stored.body["id"]}),
            Some(&alice),
        )
        .await;
    assert_eq!(shared.status, 201, "{}", shared.body);
    let url = shared.body["url"].as_str().expect("url").to_owned();
    common::browser::keeping_screenshots("browser_files_share", &[("visitor", client)], async {
        client.goto(&url).await.expect("page");
        assert_eq!(text(client, "h1").await, "Someone shared a file with you");
        assert_eq!(text(client, "#file-name").await, "report Q3.pdf");
        let preview = s
            .send(s.http.get(&url).header("accept", "application/json"))
            .await;
        assert_eq!(preview.body["views_left"], 1, "loading consumed nothing");
        client
            .execute(
                "window.__blobs = []; const make = URL.createObjectURL; \
                 URL.createObjectURL = (b) => { window.__blobs.push(b); return make(b); }",
                vec![],
            )
            .await
            .expect("watch downloads");
        click(client, "#reveal").await;
        let after = wait_for(client, "#after:not([hidden])", WAIT).await;
        let said = after.text().await.expect("text");
        assert!(said.contains("report Q3.pdf was downloaded"), "{said}");
        assert!(said.contains("last view"), "{said}");
        let got = client
            .execute_async(
                "const done = arguments[0]; \
                 window.__blobs[0].arrayBuffer().then((a) => done(Array.from(new Uint8Array(a))));",
                vec![],
            )
            .await
            .expect("read blob");
        let bytes: Vec<u8> = serde_json::from_value(got).expect("bytes");
        assert_eq!(bytes, content);
        let again = s
            .send(s.http.get(&url).header("accept", "application/json"))
            .await;
        assert_eq!(again.status, 410);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_encrypted_in_one_browser_opens_in_rust_and_one_sealed_in_rust_opens_in_the_page() {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use strongroom::engine::SecretString;
    use strongroom::engine::shares::client;

    let Some(browser) = common::browser::launch("browser_files_client").await else {
        return;
    };
    let client = &browser.client;
    let s = start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let content: Vec<u8> = (0..140_000u32).map(|i| (i % 241) as u8).collect();
    let path = dir.path().join("secret plan.bin");
    std::fs::write(&path, &content).expect("write file");
    common::browser::keeping_screenshots("browser_files_client", &[("alice", client)], async {
        // The web client seals it; the server never sees the key.
        sign_in(client, &s.base, "alice", true, WAIT).await;
        click(client, "#file-link").await;
        upload(client, &path, "").await;
        noted(
            client,
            "Link to secret plan.bin ready (encrypted in this browser)",
        )
        .await;
        let link = wait_for(client, "#share-result:not([hidden]) #share-link", WAIT)
            .await
            .prop("value")
            .await
            .expect("value")
            .unwrap_or_default();
        let (url, key) = link.split_once('#').expect("a key in the fragment");
        let alice = s
            .engine
            .accounts()
            .find("alice")
            .expect("find")
            .expect("alice");
        assert!(
            s.engine
                .files()
                .list(alice, None, 10)
                .expect("list")
                .files
                .is_empty(),
            "the sealed upload is deleted once the share holds its copy"
        );
        let preview = s
            .send(s.http.get(url).header("accept", "application/json"))
            .await;
        let label = STANDARD
            .decode(preview.body["file_label"].as_str().expect("label"))
            .expect("base64");
        let key = SecretString::from(key);
        let named = client::open_label(&label, &key).expect("Rust opens the browser's label");
        assert_eq!(named.0, "secret plan.bin");
        assert_eq!(named.2, content.len() as u64);
        let token = url.rsplit('/').next().expect("token");
        let stream = s
            .http
            .post(s.url(&format!("/v1/shares/{token}/open")))
            .json(&serde_json::json!({}))
            .send()
            .await
            .expect("open")
            .bytes()
            .await
            .expect("bytes");
        let opened = client::open_file(&stream, &key).expect("Rust opens the browser's stream");
        assert_eq!(opened.as_slice(), content.as_slice());

        // Sealed in Rust; the share page names it and decrypts it.
        let sealed = client::seal_file(&content, "from rust.bin", "application/octet-stream");
        let (token, _) = s.account("bob").await;
        let stored = s
            .send(
                s.http
                    .post(s.url("/v1/files"))
                    .bearer_auth(&token)
                    .header("X-File-Name", "sealed.bin")
                    .body(sealed.stream.clone()),
            )
            .await;
        let shared = s
            .post(
                "/v1/shares",
                serde_json::json!({
                    "file_id": stored.body["id"],
                    "client_encrypted": true,
                    "file_label": STANDARD.encode(&sealed.label),
                }),
                Some(&token),
            )
            .await;
        assert_eq!(shared.status, 201, "{}", shared.body);
        let url = shared.body["url"].as_str().expect("url");
        let key = strongroom::engine::secrecy::ExposeSecret::expose_secret(&sealed.key).to_owned();
        client.goto(&format!("{url}#{key}")).await.expect("page");
        let named = wait_for(client, "#file-name", WAIT).await;
        assert!(
            named
                .text()
                .await
                .expect("text")
                .starts_with("from rust.bin")
        );
        client
            .execute(
                "window.__blobs = []; const make = URL.createObjectURL; \
                 URL.createObjectURL = (b) => { window.__blobs.push(b); return make(b); }",
                vec![],
            )
            .await
            .expect("watch downloads");
        click(client, "#reveal").await;
        let after = wait_for(client, "#after:not([hidden])", WAIT).await;
        assert!(
            after
                .text()
                .await
                .expect("text")
                .contains("from rust.bin was downloaded")
        );
        let got = client
            .execute_async(
                "const done = arguments[0]; \
                 window.__blobs[0].arrayBuffer().then((a) => done(Array.from(new Uint8Array(a))));",
                vec![],
            )
            .await
            .expect("read blob");
        let bytes: Vec<u8> = serde_json::from_value(got).expect("bytes");
        assert_eq!(bytes, content, "the page decrypted the stream");
        let gone = client.current_url().await.expect("url");
        assert!(gone.fragment().is_none(), "the key left the address bar");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_dropped_on_the_upload_area_uploads() {
    let Some(browser) = common::browser::launch("browser_files_drop").await else {
        return;
    };
    let client = &browser.client;
    let s = start().await;
    common::browser::keeping_screenshots("browser_files_drop", &[("alice", client)], async {
        sign_in(client, &s.base, "alice", true, WAIT).await;
        click(client, "#nav-files").await;
        // What a drag from the desktop delivers: a drop event carrying files.
        client
            .execute(
                "const dt = new DataTransfer(); \
                 dt.items.add(new File(['dropped bytes'], 'dropped.txt', { type: 'text/plain' })); \
                 const area = document.getElementById('drop'); \
                 area.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true })); \
                 area.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));",
                vec![],
            )
            .await
            .expect("drop");
        noted(client, "Ready to upload dropped.txt").await;
        click(client, "#file-upload").await;
        noted(client, "Stored dropped.txt (13 bytes)").await;
        let alice = s.engine.accounts().find("alice").expect("find").expect("alice");
        let files = s.engine.files().list(alice, None, 10).expect("list").files;
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].label.media_type, "text/plain");
    })
    .await;
}
