//! Credits in the web client, in a real headless Chromium: the balance in
//! the header, the price beside an action before it is taken, a link
//! refused for want of credits, the low-balance notice from the live
//! stream, the ledger, and an admin's top-up by name.

use crate::common;

use std::time::Duration;

use common::browser::{click, fill, sign_in, text, wait_for, wait_for_text};
use common::http::TestServer;
use strongroom_engine::Role;
use strongroom_engine::credits::{Chargeable, CreditsConfig};
use strongroom_facade::ApiConfig;

const WAIT: Duration = Duration::from_secs(20);

async fn make_link(client: &fantoccini::Client, secret: &str) {
    fill(client, "#share-text", secret).await;
    click(client, "#share-create").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_sees_prices_and_balance_runs_low_and_an_admin_tops_up() {
    let Some(browser) = common::browser::launch("browser_credits").await else {
        return;
    };
    let client = &browser.client;
    let mut credits = CreditsConfig::enabled();
    credits.initial = 12;
    credits.low = 10;
    credits.prices.set(Chargeable::Share, 5);
    let s = TestServer::start_tuned(ApiConfig::default(), "", move |b| {
        b.credits(credits);
    })
    .await;
    s.with_role("root", Role::Admin).await;

    common::browser::keeping_screenshots("browser_credits", &[("root", client)], async {
        sign_in(client, &s.base, "root", false, WAIT).await;
        wait_for_text(client, "#balance", "12 credits", WAIT).await;
        click(client, "#nav-shares").await;
        assert_eq!(text(client, "[data-price=share]").await, "costs 5 credits");
        click(client, "#nav-files").await;
        assert_eq!(
            text(client, "[data-price=file-upload]").await,
            "costs 10 credits"
        );

        make_link(client, "first secret").await;
        // 12 → 7 crosses the threshold of 10: the stream says so.
        wait_for_text(client, "#credits-low", "running low: 7 left", WAIT).await;
        wait_for_text(client, "#balance", "7 credits", WAIT).await;
        make_link(client, "second secret").await;
        wait_for_text(client, "#balance", "2 credits", WAIT).await;
        make_link(client, "third secret").await;
        wait_for_text(
            client,
            "#status",
            "not enough credits: the balance is 2, this costs 5",
            WAIT,
        )
        .await;
        wait_for_text(client, "#balance", "2 credits", WAIT).await;

        click(client, "#nav-credits").await;
        wait_for(client, "#ledger li:nth-child(3)", WAIT).await;
        let ledger = text(client, "#ledger").await;
        assert!(
            ledger.contains("grant") && ledger.contains("+12"),
            "{ledger}"
        );
        assert!(
            ledger.contains("charge: share") && ledger.contains("-5"),
            "{ledger}"
        );
        assert!(ledger.contains("balance 2"), "{ledger}");

        fill(client, "#topup-user", "root").await;
        fill(client, "#topup-amount", "100").await;
        fill(client, "#topup-reason", "welcome").await;
        click(client, "#topup").await;
        wait_for_text(client, "#status", "root now has 102 credits", WAIT).await;
        wait_for_text(client, "#balance", "102 credits", WAIT).await;
        assert!(
            !client
                .find(fantoccini::Locator::Css("#credits-low"))
                .await
                .expect("notice")
                .is_displayed()
                .await
                .expect("displayed"),
            "the notice goes once the balance is lifted"
        );
        wait_for_text(client, "#ledger", "welcome", WAIT).await;
        make_link(client, "now it works").await;
        wait_for_text(client, "#balance", "97 credits", WAIT).await;
    })
    .await;
}
