//! The web client and the share page in a real headless Chromium, driven
//! over WebDriver: what a person does, end to end.

mod accessibility;
mod account;
mod app;
mod credits;
mod e2e;
mod files;
mod hpke;
mod language;
mod oidc;
mod passkeys;
mod share;

/// The test kit under the names these tests use.
mod common {
    pub(crate) use strongroom_testkit::PASSWORD;
    pub(crate) use strongroom_testkit::http::TestServer;
    pub(crate) use strongroom_testkit::{binary, browser, http};

    /// The API with default settings, in-process.
    pub(crate) async fn start() -> TestServer {
        TestServer::start().await
    }
}
