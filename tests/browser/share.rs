//! The share page in a real headless Chromium: loading it (scripts and
//! all) consumes nothing; the button releases the secret once; a
//! client-encrypted secret sealed in Rust is decrypted by the page with the
//! key from the URL fragment (WebCrypto), which then leaves the address
//! bar; a wrong passphrase is reported and costs no view. A link made in
//! the web client (`/app`) carries a browser-sealed secret that Rust opens
//! with the key from its fragment, and the share page opens it too.

use crate::common;

use std::time::Duration;

use common::browser::{click, fill, sign_in, text, wait_for};
use strongroom::engine::SecretString;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{TestServer, start};
use fantoccini::{Client, Locator};
use serde_json::json;
use strongroom::engine::secrecy::ExposeSecret;
use strongroom::engine::shares::client;

async fn views_left(s: &TestServer, url: &str) -> (u16, serde_json::Value) {
    let r = s
        .send(s.http.get(url).header("accept", "application/json"))
        .await;
    (r.status, r.body["views_left"].clone())
}

async fn shown(client: &Client, css: &str) -> String {
    let within = Duration::from_secs(20);
    wait_for(client, &format!("{css}:not([hidden])"), within)
        .await
        .text()
        .await
        .expect("text")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_share_page_reveals_once_and_decrypts_in_the_browser() {
    let Some(browser) = common::browser::launch("browser_share").await else {
        return;
    };
    let client = &browser.client;
    let s = start().await;
    let (alice, _) = s.account("alice").await;

    // Sealed in Rust; only the page, with the fragment, can read it.
    let (blob, key) = client::seal("sealed in Rust, opened in Chromium".as_bytes());
    let created = s
        .post(
            "/v1/shares",
            json!({"message": STANDARD.encode(&blob), "client_encrypted": true}),
            Some(&alice),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let url = created.body["url"].as_str().expect("url").to_owned();
    client
        .goto(&format!("{url}#{}", key.expose_secret()))
        .await
        .expect("page loads");
    let heading = text(client, "h1").await;
    assert_eq!(heading, "Someone shared a secret with you");
    assert_eq!(
        views_left(&s, &url).await,
        (200, json!(1)),
        "loading consumed nothing"
    );

    click(client, "#reveal").await;
    assert_eq!(
        shown(client, "#secret").await,
        "sealed in Rust, opened in Chromium"
    );
    let after = client.current_url().await.expect("url");
    assert!(
        after.fragment().is_none(),
        "key left in the address bar: {after}"
    );
    assert_eq!(views_left(&s, &url).await.0, 410);
    client.refresh().await.expect("reload");
    let gone = client.source().await.expect("source");
    assert!(gone.contains("no longer available"), "{gone}");

    // A passphrase: a wrong one is reported and costs nothing.
    let created = s
        .post(
            "/v1/shares",
            json!({"message": "behind a passphrase", "passphrase": "open sesame"}),
            Some(&alice),
        )
        .await;
    let url = created.body["url"].as_str().expect("url").to_owned();
    client.goto(&url).await.expect("page loads");
    fill(client, "#passphrase", "open says me").await;
    click(client, "#reveal").await;
    assert!(shown(client, "#error").await.contains("Wrong passphrase"));
    assert_eq!(views_left(&s, &url).await, (200, json!(1)));
    fill(client, "#passphrase", "open sesame").await;
    click(client, "#reveal").await;
    assert_eq!(shown(client, "#secret").await, "behind a passphrase");
    browser.client.clone().close().await.expect("close");
}

/// Makes a share link of `secret` in the web client (with `views`, else
/// the form's default) and returns the link it shows.
async fn make_link(client: &Client, secret: &str, views: Option<&str>) -> String {
    fill(client, "#share-text", secret).await;
    if let Some(views) = views {
        fill(client, "#share-views", views).await;
    }
    click(client, "#share-create").await;
    wait_for(
        client,
        "#share-result:not([hidden])",
        Duration::from_secs(10),
    )
    .await;
    client
        .find(Locator::Id("share-link"))
        .await
        .expect("link")
        .prop("value")
        .await
        .expect("value")
        .expect("a link")
}

/// What the QR code the page drew for the link says: its SVG read back
/// into modules and decoded with rqrr.
async fn qr_code_says(client: &Client) -> String {
    let drawn = client
        .execute(
            "const svg = document.querySelector('#share-qr svg'); \
             return [svg.getAttribute('viewBox'), svg.querySelector('path').getAttribute('d')];",
            vec![],
        )
        .await
        .expect("a QR code");
    let [view_box, path]: [String; 2] = serde_json::from_value(drawn).expect("two strings");
    let pixel = 4; // the page draws 4 units a module
    let side: usize = view_box
        .split(' ')
        .nth(2)
        .and_then(|w| w.parse().ok())
        .expect("a width");
    let modules = side / pixel;
    let mut dark = vec![vec![false; modules]; modules];
    for square in path.split('M').skip(1) {
        let (at, _) = square.split_once('h').expect("a square");
        let (x, y) = at.split_once(',').expect("x,y");
        let (x, y): (usize, usize) = (x.parse().expect("x"), y.parse().expect("y"));
        dark[y / pixel][x / pixel] = true;
    }
    let (scale, margin) = (4, 4);
    let width = (modules + 2 * margin) * scale;
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, width, |x, y| {
        let (mx, my) = (x / scale, y / scale);
        let inside =
            (margin..modules + margin).contains(&mx) && (margin..modules + margin).contains(&my);
        if inside && dark[my - margin][mx - margin] {
            0
        } else {
            255
        }
    });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().expect("it decodes").1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_client_makes_links_the_server_cannot_read() {
    let Some(browser) = common::browser::launch("browser_share").await else {
        return;
    };
    let client = &browser.client;
    let s = start().await;
    sign_in(client, &s.base, "alice", true, Duration::from_secs(30)).await;

    let secret = "made in the web client";
    let link = make_link(client, secret, Some("2")).await;
    // Its QR code, drawn in the page, holds the whole link, key included.
    assert_eq!(qr_code_says(client).await, link);
    let (url, key) = link.split_once('#').expect("key in the fragment");
    assert_eq!(views_left(&s, url).await, (200, json!(2)));

    // The server hands out an opaque blob; the fragment's key opens it in Rust.
    let token = url.rsplit('/').next().expect("token");
    let opened = s
        .post(&format!("/v1/shares/{token}/open"), json!({}), None)
        .await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    assert_eq!(opened.body["client_encrypted"], json!(true));
    let blob = opened.body["message"].as_str().expect("blob");
    assert!(!blob.contains(secret));
    let blob = STANDARD.decode(blob).expect("standard base64");
    let plain = client::open(&blob, &SecretString::from(key.to_owned())).expect("opens");
    assert_eq!(plain.as_slice(), secret.as_bytes());

    // A link cut at the "#": the page asks for the key and consumes
    // nothing until it has a well-formed one; the pasted link opens it.
    client.goto(url).await.expect("share page without its key");
    wait_for(client, "#key-row:not([hidden])", Duration::from_secs(10)).await;
    click(client, "#reveal").await;
    wait_for(client, "#error:not([hidden])", Duration::from_secs(10)).await;
    fill(client, "#key", "not-a-key").await;
    click(client, "#reveal").await;
    assert_eq!(
        views_left(&s, url).await,
        (200, json!(1)),
        "nothing consumed"
    );
    fill(client, "#key", &link).await;
    click(client, "#reveal").await;
    assert_eq!(shown(client, "#secret").await, secret);
    assert_eq!(views_left(&s, url).await.0, 410);
    let errors = common::browser::console_errors(client).await;
    assert!(errors.is_empty(), "the console: {errors:#?}");
    browser.client.clone().close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_link_opens_without_asking_for_the_key() {
    let Some(browser) = common::browser::launch("browser_share").await else {
        return;
    };
    let client = &browser.client;
    let s = start().await;
    sign_in(client, &s.base, "alice", true, Duration::from_secs(30)).await;
    let secret = "opened from the full link";
    let link = make_link(client, secret, None).await;
    let (url, _) = link.split_once('#').expect("key in the fragment");
    // The share page opens the only view with the full link.
    client.goto(&link).await.expect("share page");
    assert!(
        client.find(Locator::Css("#key-row[hidden]")).await.is_ok(),
        "no key asked for"
    );
    click(client, "#reveal").await;
    assert_eq!(shown(client, "#secret").await, secret);
    assert_eq!(views_left(&s, url).await.0, 410);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_client_lists_ones_links_and_revokes_one() {
    let Some(browser) = common::browser::launch("browser_share_list").await else {
        return;
    };
    let client = &browser.client;
    let s = start().await;
    common::browser::keeping_screenshots("browser_share_list", &[("alice", client)], async {
        sign_in(client, &s.base, "alice", true, Duration::from_secs(20)).await;
        click(client, "#nav-shares").await;
        assert_eq!(text(client, "#shares-empty").await, "No links yet.");
        let link = make_link(client, "listed then revoked", Some("3")).await;
        let url = link.split('#').next().expect("url").to_owned();
        let item = wait_for(
            client,
            "#shares li[data-state=active]",
            Duration::from_secs(20),
        )
        .await;
        let said = item.text().await.expect("text");
        assert!(said.contains("Secret link · open"), "{said}");
        assert!(said.contains("3 of 3 views left"), "{said}");
        client
            .execute("window.confirm = () => true", vec![])
            .await
            .expect("confirm");
        click(client, "#shares li[data-state=active] button").await;
        let revoked = wait_for(
            client,
            "#shares li[data-state=revoked]",
            Duration::from_secs(20),
        )
        .await;
        assert!(revoked.text().await.expect("text").contains("revoked"));
        assert_eq!(
            views_left(&s, &url).await.0,
            410,
            "the link no longer opens"
        );
    })
    .await;
}

/// A secret longer than a message may be is refused in the page, in the
/// size a person typed (KiB of text), before anything is sealed or sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversize_secret_is_refused_in_the_size_a_person_typed() {
    let Some(browser) = common::browser::launch("browser_share_size").await else {
        return;
    };
    let client = &browser.client;
    let s = start().await;
    sign_in(client, &s.base, "alice", true, Duration::from_secs(30)).await;
    client
        .execute(
            "document.getElementById('share-text').value = 'x'.repeat(70 * 1024);",
            vec![],
        )
        .await
        .expect("a long secret");
    click(client, "#share-create").await;
    let said =
        common::browser::wait_for_text(client, "#status", "No link", Duration::from_secs(10)).await;
    assert_eq!(said, "No link: The secret is 70 KiB; the most is 64 KiB");
    // Beside the form that caused it, styled as an error.
    let placed = client
        .execute(
            "const s = document.getElementById('status'); \
             return [s.previousElementSibling.id, s.className];",
            vec![],
        )
        .await
        .expect("placement");
    assert_eq!(placed, json!(["share-form", "error"]));
    let token = s.login("alice", common::PASSWORD).await.0;
    assert_eq!(s.get("/v1/shares", &token).await.body["shares"], json!([]));
}
