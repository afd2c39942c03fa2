//! The HTTP API over a real TCP port, served in-process over a fresh
//! engine with a manual clock: one module per area of the API.

mod access;
mod admin;
mod client_address;
mod credits;
mod cross_origin;
mod e2e;
mod errors;
mod events;
mod files;
mod identity;
mod log_secrets;
mod messages;
mod pages;
mod passkeys;
mod sessions;
mod shares;

/// The test kit under the names these tests use.
mod common {
    pub(crate) use strongroom_testkit::http::{Reply, TestServer, assert_problem};
    pub(crate) use strongroom_testkit::sse;
    pub(crate) use strongroom_testkit::{KEY_A as KEY, PASSWORD};

    /// The API with default settings, in-process.
    pub(crate) async fn start() -> TestServer {
        TestServer::start().await
    }

    /// The API with `config` under `prefix`, in-process.
    pub(crate) async fn start_with(
        config: strongroom_facade::ApiConfig,
        prefix: &str,
    ) -> TestServer {
        TestServer::start_with(config, prefix).await
    }
}
