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
//! blocking threads. Size, ttl and page bounds are the engine's
//! ([`strongroom_engine::Limits`]), enforced and documented as configured.
//!
//! Modules: handlers (`accounts_api`, `messages_api`, `events_api`,
//! `health`) speak the types in `wire`; `stream` assembles an SSE stream
//! from storage and the `hub`'s live fan-out; `problem` renders every error.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod access_log;
mod accounts_api;
mod auth;
mod body_limit;
mod events_api;
mod hashing;
mod health;
mod hub;
mod messages_api;
mod problem;
mod rate_limit;
mod reaper;
mod secret_field;
mod spec;
mod state;
mod stream;
mod tags;
mod text;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use poem::endpoint::make_sync;
use poem::web::{Html, Json};
use poem::{Endpoint, EndpointExt, IntoEndpoint, Route, get};
use strongroom_engine::{Engine, Limits};

pub use messages_api::DEFAULT_PAGE;
pub use problem::{PROBLEM_JSON, Problem};
pub use rate_limit::LoginLimits;
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

fn apis() -> Apis {
    (
        accounts_api::AccountsApi,
        messages_api::MessagesApi,
        events_api::EventsApi,
        health::HealthApi,
    )
}

/// The API as a poem endpoint: the operations, Swagger UI at `/docs` and the
/// spec at `/openapi.json`, every error rendered as problem+json.
pub fn api(engine: Engine, config: ApiConfig) -> impl Endpoint + 'static {
    let hub = hub::Hub::new(config.stream_queue);
    let listener_hub = hub.clone();
    engine.add_listener(move |notice| listener_hub.on_notice(notice));
    let service = spec::service(&config);
    let generated = service.spec();
    let document = spec::document(&generated, engine.limits());
    let docs = service.swagger_ui_html().replacen(&generated, &document, 1);
    let state = state::State {
        engine,
        rate_limits: Arc::new(rate_limit::RateLimits::new(config.login_limits)),
        hashing: Arc::new(hashing::HashingPool::new()),
        config: Arc::new(config),
        hub,
    };
    let max_body = state.config.max_body;
    let spec_json: serde_json::Value = serde_json::from_str(&document).unwrap_or_default();
    Route::new()
        .nest("/", service)
        .at("/docs", get(make_sync(move |_| Html(docs.clone()))))
        .at(
            "/openapi.json",
            get(make_sync(move |_| Json(spec_json.clone()))),
        )
        .data(state)
        .with(body_limit::BodyLimit(max_body))
        .catch_all_error(problem::from_error)
        .with(access_log::AccessLog)
        .into_endpoint()
}

/// The OpenAPI document (JSON) of an API over an engine with default
/// limits, as served at `/openapi.json`.
pub fn openapi_json() -> String {
    let generated = spec::service(&ApiConfig::default()).spec();
    spec::document(&generated, &Limits::default())
}
