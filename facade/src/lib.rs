//! # strongroom-facade
//!
//! A documented HTTP API (poem + poem-openapi, Swagger UI) over a
//! [`strongroom_engine::Engine`]. [`api`] builds it as one poem endpoint,
//! mountable under any prefix of a host application with `Route::nest`:
//!
//! ```no_run
//! # fn demo(engine: strongroom_engine::Engine) {
//! use poem::{Route, get, handler};
//! use strongroom_facade::{ApiConfig, api};
//!
//! #[handler]
//! fn hello() -> &'static str { "host app" }
//!
//! let app = Route::new()
//!     .at("/hello", get(hello))
//!     .nest("/vault", api(engine, ApiConfig::default()));
//! # }
//! ```
//!
//! Errors are `application/problem+json`; the caller's identity comes only
//! from the bearer token; blocking work (Argon2, durable commits) runs on
//! blocking threads.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod access_log;
mod accounts_api;
mod auth;
mod body_limit;
mod convert;
mod events_api;
mod health;
mod hub;
mod limits;
mod messages_api;
mod problem;
mod reaper;
mod responses;
mod secret_field;
mod state;
mod tags;
mod text;

use std::sync::Arc;
use std::time::Duration;

use poem::{Endpoint, EndpointExt, IntoEndpoint, Route};
use poem_openapi::OpenApiService;
use strongroom_engine::Engine;

pub use limits::LoginLimits;
pub use messages_api::{DEFAULT_PAGE, MAX_PAGE};
pub use problem::{PROBLEM_JSON, Problem};
pub use reaper::{ReaperConfig, spawn_reaper};

/// Largest accepted request body: 1 MiB.
pub const MAX_BODY: usize = 1024 * 1024;

/// Settings of one API instance.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// Login and registration rate limits.
    pub login_limits: LoginLimits,
    /// Largest accepted request body, in bytes (default 1 MiB).
    pub max_body: usize,
    /// Server URL written into the OpenAPI document (default: relative).
    pub server_url: Option<String>,
    /// Interval of keep-alive comments on event streams (default 15 s).
    pub keep_alive: Duration,
    /// Events queued per stream before a slow stream is closed (default 256).
    pub stream_queue: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            login_limits: LoginLimits::default(),
            max_body: MAX_BODY,
            server_url: None,
            keep_alive: Duration::from_secs(15),
            stream_queue: 256,
        }
    }
}

type Apis = (
    accounts_api::AccountsApi,
    messages_api::MessagesApi,
    events_api::EventsApi,
    health::HealthApi,
);

fn service(server_url: Option<&str>) -> OpenApiService<Apis, ()> {
    let apis = (
        accounts_api::AccountsApi,
        messages_api::MessagesApi,
        events_api::EventsApi,
        health::HealthApi,
    );
    let service = OpenApiService::new(apis, "Strongroom", env!("CARGO_PKG_VERSION")).description(
        "Encrypted, expiring, per-user messages. Authenticate with \
         `POST /v1/sessions`, then send `Authorization: Bearer <access_token>`. \
         Errors are RFC 9457 `application/problem+json`.",
    );
    match server_url {
        Some(url) => service.server(url),
        None => service,
    }
}

/// The API as a poem endpoint: the operations, Swagger UI at `/docs` and the
/// spec at `/openapi.json`, every error rendered as problem+json.
pub fn api(engine: Engine, config: ApiConfig) -> impl Endpoint + 'static {
    let hub = hub::Hub::new(config.stream_queue);
    let listener_hub = hub.clone();
    engine.add_listener(move |engine, notice| listener_hub.on_notice(engine, notice));
    let state = state::State {
        engine,
        guards: Arc::new(limits::Guards::new(config.login_limits)),
        config: Arc::new(config),
        hub,
    };
    let service = service(state.config.server_url.as_deref());
    let docs = service.swagger_ui();
    let spec = service.spec_endpoint();
    let max_body = state.config.max_body;
    Route::new()
        .nest("/", service)
        .nest("/docs", docs)
        .at("/openapi.json", spec)
        .data(state)
        .with(body_limit::BodyLimit(max_body))
        .catch_all_error(problem::from_error)
        .with(access_log::AccessLog)
        .into_endpoint()
}

/// The OpenAPI document (JSON) of the API, as served at `/openapi.json`.
pub fn openapi_json() -> String {
    service(None).spec()
}
