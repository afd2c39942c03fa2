//! The web client in the reader's language, in a real headless Chromium:
//! a browser that prefers German gets the page in German (words, the
//! `lang` attribute, times left, dates in the German format and local
//! time); the switch in Settings turns it to English at once, messages
//! already shown included, and the choice outlives a reload. The console
//! stays free of errors throughout.

use crate::common;

use std::time::Duration;

use common::browser::{
    cdp, click, element, fill, keeping_screenshots, sign_in, text, wait_for, wait_for_text,
};
use common::start;
use fantoccini::Client;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(20);

async fn page_language(client: &Client) -> String {
    let lang = client
        .execute("return document.documentElement.lang;", vec![])
        .await
        .expect("lang");
    lang.as_str().expect("a string").to_owned()
}

/// The date and time of the newest inbox item as the page wrote it, and
/// as the German and English formats write that moment in local time.
async fn dates(client: &Client) -> (String, String, String) {
    let found = client
        .execute(
            "const li = document.querySelector('#inbox li'); \
             const shown = li.querySelector('.meta span').textContent; \
             const when = new Date(Number(li.dataset.created)); \
             const format = (lang) => new Intl.DateTimeFormat(lang, \
               { dateStyle: 'medium', timeStyle: 'short' }).format(when); \
             return [shown, format('de'), format('en')];",
            vec![],
        )
        .await
        .expect("dates");
    serde_json::from_value(found).expect("three strings")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_german_browser_gets_german_and_the_switch_in_settings_keeps_english() {
    let Some(browser) = common::browser::launch("browser_language").await else {
        return;
    };
    let client = &browser.client;
    let s = start().await;
    // What a browser set to German reports, on every page it opens.
    cdp(
        client,
        "Page.addScriptToEvaluateOnNewDocument",
        json!({"source": "Object.defineProperty(navigator, 'languages', \
                          { get: () => ['de-DE', 'de', 'en'] });"}),
    )
    .await;
    keeping_screenshots("browser_language", &[("alice", client)], async {
        client.goto(&format!("{}/app", s.base)).await.expect("open");
        wait_for(client, "#signin-title", WAIT).await;
        assert_eq!(text(client, "#signin-title").await, "Anmelden");
        assert_eq!(text(client, "#register").await, "Konto anlegen");
        assert_eq!(page_language(client).await, "de");

        sign_in(client, &s.base, "alice", true, WAIT).await;
        assert_eq!(text(client, "#nav-inbox").await, "Posteingang");
        assert_eq!(text(client, "#live").await, "live");
        fill(client, "#to", "alice").await;
        fill(client, "#text", "Grüße an mich").await;
        click(client, "#send").await;
        wait_for_text(client, "#status", "An alice gesendet, Ende-zu-Ende.", WAIT).await;
        click(client, "#nav-inbox").await;
        let left = wait_for_text(client, "#inbox li .left", "verschwindet in", WAIT).await;
        assert_eq!(left, "verschwindet in 10 Min.");
        let (shown, german, english) = dates(client).await;
        assert!(shown.contains(&german), "{shown:?} lacks {german:?}");
        assert_ne!(german, english);

        // Settings → Language → English: at once, the message included.
        click(client, "#nav-settings").await;
        element(client, "#language")
            .await
            .select_by_value("en")
            .await
            .expect("choose English");
        wait_for_text(client, "#nav-inbox", "Inbox", WAIT).await;
        assert_eq!(text(client, "#settings-title").await, "Settings");
        assert_eq!(page_language(client).await, "en");
        click(client, "#nav-inbox").await;
        let left = wait_for_text(client, "#inbox li .left", "disappears in", WAIT).await;
        assert_eq!(left, "disappears in 10 min");
        let (shown, _, english) = dates(client).await;
        assert!(shown.contains(&english), "{shown:?} lacks {english:?}");

        // The choice outlives a reload, though the browser prefers German.
        client.refresh().await.expect("reload");
        wait_for(client, "#locked:not([hidden])", WAIT).await;
        assert_eq!(text(client, "#locked-title").await, "Unlock");
        assert_eq!(page_language(client).await, "en");

        // A walk with nothing going wrong leaves the console clean.
        let errors = common::browser::console_errors(client).await;
        assert!(errors.is_empty(), "{errors:#?}");
    })
    .await;
}
