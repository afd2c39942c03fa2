//! A real headless Chromium driven over WebDriver (chromedriver from the
//! `chromium-driver` package). When the packages are missing the test is
//! skipped with a loud message; `.ci/run` installs them, so CI never skips.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::find_program;

/// A browser session and the chromedriver process behind it.
pub struct Browser {
    pub client: Client,
    driver: Child,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // chromedriver leads its own process group, and Chromium (with its
        // renderers and crash handler) is in it: killing chromedriver alone
        // left every browser of a test run behind, orphaned.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Starts headless Chromium, or `None` (after saying so loudly) when the
/// packages are not installed.
pub async fn launch(test: &str) -> Option<Browser> {
    let driver = find_program(&["chromedriver"]);
    let chromium = find_program(&["chromium", "chromium-browser", "google-chrome"]);
    let (Some(driver), Some(chromium)) = (driver, chromium) else {
        let install = "apt-get install chromium chromium-driver";
        crate::skip(test, "Chromium or chromedriver", install);
        return None;
    };
    let port = crate::free_port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        }),
    );
    // The console, for `console_errors`.
    caps.insert("goog:loggingPrefs".to_owned(), json!({"browser": "ALL"}));
    // Both rustls providers are in the tree: name one (for the WebDriver
    // client; it speaks plain HTTP to chromedriver anyway).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        match ClientBuilder::rustls()
            .expect("tls roots")
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => {
                return Some(Browser {
                    client,
                    driver: child,
                });
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("chromedriver did not accept a session on {url}");
}

/// Types `text` into the field `css` (cleared first), opening the web
/// client's area that holds it first, as a person would.
pub async fn fill(client: &Client, css: &str, text: &str) {
    reveal(client, css).await;
    let field = element(client, css).await;
    field.clear().await.expect("clear");
    field.send_keys(text).await.expect("type");
}

/// The element `css`, which must exist now.
pub async fn element(client: &Client, css: &str) -> Element {
    client.find(Locator::Css(css)).await.expect(css)
}

/// Clicks `css`, opening the web client's area that holds it first, once
/// it is shown (a view the page is still switching to may hold it hidden
/// for a moment: up to 10 s).
pub async fn click(client: &Client, css: &str) {
    reveal(client, css).await;
    let button = element(client, css).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !button.is_displayed().await.expect("displayed") {
        assert!(
            std::time::Instant::now() < deadline,
            "{css} was never shown to click"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    button.click().await.expect("click");
}

/// When `css` is in one of the web client's areas (Inbox, Send, Files,
/// Shares, Credits, Settings) that is not shown, clicks that area's link
/// in the navigation.
pub async fn reveal(client: &Client, css: &str) {
    let hidden_area = client
        .execute(
            "const area = document.querySelector(arguments[0])?.closest('.area'); \
             return area && area.hidden ? area.id.replace('area-', '') : null;",
            vec![serde_json::json!(css)],
        )
        .await
        .expect("find the element's area");
    if let Some(name) = hidden_area.as_str() {
        element(client, &format!("#nav-{name}"))
            .await
            .click()
            .await
            .expect("open the area");
    }
}

/// The element `css`, once it exists (panics after `within`).
pub async fn wait_for(client: &Client, css: &str, within: Duration) -> Element {
    client
        .wait()
        .at_most(within)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} never appeared: {e}"))
}

/// Waits up to `within` until the element `css` says `what`; its text
/// then (panics, naming what it says instead, when it never does).
pub async fn wait_for_text(client: &Client, css: &str, what: &str, within: Duration) -> String {
    let deadline = std::time::Instant::now() + within;
    loop {
        let now = text(client, css).await;
        if now.contains(what) {
            return now;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{css} says {now:?}, never {what:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The text of the element `css`, as it is now.
pub async fn text(client: &Client, css: &str) -> String {
    element(client, css).await.text().await.expect("text")
}

/// Opens the web client at `base`, signs `name` in (creating the account
/// first when `create`), and waits up to `within` for its live stream.
pub async fn sign_in(client: &Client, base: &str, name: &str, create: bool, within: Duration) {
    client
        .goto(&format!("{base}/app"))
        .await
        .expect("open /app");
    fill(client, "#username", name).await;
    fill(client, "#password", crate::PASSWORD).await;
    if create {
        // The first press opens the sign-up fields; the second creates.
        click(client, "#register").await;
        fill(client, "#password-again", crate::PASSWORD).await;
    }
    click(client, if create { "#register" } else { "#login" }).await;
    wait_for(client, "#live.on", within).await;
}

/// The texts of the web client's inbox, newest first, read in one script
/// run: the page may re-render between two WebDriver calls (a resumed
/// stream, an opened end-to-end message), which would make an element
/// found by one call stale for the next.
pub async fn inbox(client: &Client) -> Vec<String> {
    let texts = client
        .execute(
            "return Array.from(document.querySelectorAll('#inbox li .text'), (e) => e.innerText);",
            vec![],
        )
        .await
        .expect("inbox texts");
    serde_json::from_value(texts).expect("a list of texts")
}

/// Runs `scenario`; if it panics, saves each named page's screenshot under
/// `target/tmp/TEST/` (for whoever reads the failure) and panics on.
pub async fn keeping_screenshots<F: std::future::Future<Output = ()>>(
    test: &str,
    pages: &[(&str, &Client)],
    scenario: F,
) {
    use futures_util::FutureExt;
    let run = std::panic::AssertUnwindSafe(scenario).catch_unwind().await;
    if let Err(panic) = run {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../target/tmp")
            .join(test);
        let _ = std::fs::create_dir_all(&dir);
        for (name, client) in pages {
            if let Ok(png) = client.screenshot().await {
                let path = dir.join(format!("{name}.png"));
                if std::fs::write(&path, png).is_ok() {
                    eprintln!("screenshot of {name}'s page: {}", path.display());
                }
            }
        }
        std::panic::resume_unwind(panic);
    }
}

/// What the page's console said at error level (script errors, failed
/// loads, `console.error`) since the last call.
pub async fn console_errors(client: &Client) -> Vec<String> {
    let entries = client
        .issue_cmd(DriverPost {
            path: "se/log",
            body: json!({"type": "browser"}),
        })
        .await
        .unwrap_or_else(|e| panic!("browser log: {e}"));
    entries
        .as_array()
        .expect("log entries")
        .iter()
        .filter(|e| e["level"] == "SEVERE")
        .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// One of chromedriver's own commands: a POST to `session/{id}/{path}`
/// (`se/log` for the console kept by `goog:loggingPrefs`,
/// `goog/cdp/execute` for a DevTools command).
#[derive(Debug)]
struct DriverPost {
    path: &'static str,
    body: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for DriverPost {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/{}",
            session_id.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

/// Runs the DevTools command `cmd` with `params`; its result.
pub async fn cdp(
    client: &Client,
    cmd: &'static str,
    params: serde_json::Value,
) -> serde_json::Value {
    client
        .issue_cmd(DriverPost {
            path: "goog/cdp/execute",
            body: json!({"cmd": cmd, "params": params}),
        })
        .await
        .unwrap_or_else(|e| panic!("DevTools {cmd}: {e}"))
}

/// Gives the page a virtual platform authenticator (CTAP2, internal,
/// resident keys, user verification that always succeeds, presence
/// simulated): WebAuthn calls then create and use passkeys without a
/// person. Returns the authenticator's id.
pub async fn virtual_authenticator(client: &Client) -> String {
    cdp(client, "WebAuthn.enable", json!({})).await;
    let added = cdp(
        client,
        "WebAuthn.addVirtualAuthenticator",
        json!({"options": {
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserVerified": true,
            "automaticPresenceSimulation": true
        }}),
    )
    .await;
    added["authenticatorId"]
        .as_str()
        .expect("an authenticator id")
        .to_owned()
}
