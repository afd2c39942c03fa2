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
//! Inside, one folder per feature holds its routes and wire types
//! (`accounts`, `messages`, `files`, `events`, `shares`, `e2e`, `admin`, `pages`,
//! and `health`) over the shared `http` folder (bearer checks, guards,
//! problems, limits, the request layers, per-request state), the `fanout`
//! of live events and the `wire` basics; `docs/architecture.md` in the
//! repository draws the map.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod accounts;
mod admin;
mod credits;
mod e2e;
mod events;
mod fanout;
mod files;
mod health;
mod http;
mod messages;
mod oidc;
mod pages;
mod passkeys;
mod reaper;
mod shares;
mod spec;

mod tags;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use poem::endpoint::{BoxEndpoint, make_sync};
use poem::http::header;
use poem::middleware::{Compression, SetHeader};
use poem::web::{Json, Redirect};
use poem::{EndpointExt, IntoEndpoint, get};
use strongroom_engine::{Engine, Limits};

pub use admin::audit::CheckpointJson;
pub use credits::stripe::{StripeConfig, sign as stripe_signature};
pub use fanout::remote::{Remote, RemoteStreams};
pub use http::cors::origin_of;
pub use http::paging::DEFAULT_PAGE;
pub use http::problem::{PROBLEM_JSON, Problem};
pub use http::rate_limit::LoginLimits;
pub use ipnet::IpNet;
pub use oidc::provider::{Oidc, OidcConfig, OidcError};
pub use passkeys::Passkeys;
pub use reaper::{ReaperConfig, spawn_reaper};

/// Largest accepted request body: 1 MiB.
pub const MAX_BODY: usize = 1024 * 1024;

/// Settings of one API instance.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// Login, registration and refresh rate limits.
    pub login_limits: LoginLimits,
    /// Largest accepted request body, in bytes (default 1 MiB).
    pub max_body: usize,
    /// How long a client may take to send a request body (default 30 s).
    pub body_timeout: Duration,
    /// Server URL written into the OpenAPI document (default: relative).
    pub server_url: Option<String>,
    /// Interval of keep-alive comments on event streams (default 15 s).
    pub keep_alive: Duration,
    /// Events queued per stream before a slow stream is closed (default 256).
    pub stream_queue: usize,
    /// Event streams one user may hold open at once (default 8).
    pub streams_per_user: usize,
    /// Longest an idle stream goes without checking whether its token
    /// expired (default 60 s). It also checks when the token expires by
    /// the engine's clock, so with the system clock a stream ends on time
    /// whatever this is; a shorter one notices a clock moved by hand. An
    /// event is never delivered past the expiry either way.
    pub stream_check: Duration,
    /// Origins allowed to call the API from a browser (CORS); none by
    /// default.
    pub cors_origins: Vec<String>,
    /// Proxies whose `X-Forwarded-For`/`Forwarded` headers name the client;
    /// none by default (the TCP peer is the client).
    pub trusted_proxies: Vec<IpNet>,
    /// The server's public base URL (e.g. `https://vault.example.com`),
    /// for the links share creation returns; default: the request's scheme
    /// and `Host`.
    pub public_url: Option<String>,
    /// Whether share links may be created without an account (under a
    /// stricter per-address limit). Off by default.
    pub anonymous_shares: bool,
    /// Whether anyone may create an account (`POST /v1/accounts`); when
    /// closed only admins create accounts. Open by default (development).
    pub open_registration: bool,
    /// Caps on broadcasts, beyond those on every message.
    pub broadcast: BroadcastCaps,
    /// Writes an online backup for `POST /v1/admin/backups` (the server
    /// writes into its backup directory); `None`: that operation answers
    /// 409.
    pub backup: Option<BackupHook>,
    /// Whether every response carries `Strict-Transport-Security` (one
    /// year, subdomains included): set it when serving over TLS. Off by
    /// default.
    pub hsts: bool,
    /// Where a request for `/` is sent (303 See Other), e.g. `/app`, the
    /// web client; `None` (the default): `/` is not found.
    pub root_redirect: Option<String>,
    /// Sign-in through an OpenID Connect provider; `None` (the default):
    /// its routes answer 404.
    pub oidc: Option<Arc<Oidc>>,
    /// Purchases through Stripe's signed webhook; `None` (the default):
    /// `POST /v1/billing/stripe` answers 404.
    pub stripe: Option<Arc<StripeConfig>>,
    /// The passkey relying party; `None` (the default): one for
    /// `public_url`'s host, else for `localhost` on any port.
    pub passkeys: Option<Arc<Passkeys>>,
}

/// Where an online backup went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupDone {
    /// The file written.
    pub path: std::path::PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Records in it.
    pub records: u64,
    /// Accounts in it.
    pub users: u64,
}

/// Writes an online backup with the engine handle it is given (which
/// records the admin who asked).
#[derive(Clone)]
pub struct BackupHook(pub Arc<BackupFn>);

/// The function behind a [`BackupHook`].
pub type BackupFn = dyn Fn(&Engine) -> Result<BackupDone, BackupFailed> + Send + Sync;

/// Why an online backup failed; nothing of it is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupFailed {
    /// What failed, for the log (never for the client).
    pub message: String,
    /// Whether a disk was full (the backup's, or the database's for the
    /// backup's audit entry): answered 507 rather than 500.
    pub disk_full: bool,
}

impl std::fmt::Debug for BackupHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BackupHook")
    }
}

/// Caps on broadcasts (every stream receives each one, so they cost far
/// more than a message).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BroadcastCaps {
    /// Largest broadcast, in bytes (default 16 KiB).
    pub max_len: usize,
    /// Longest ttl (default 1 day).
    pub max_ttl: Duration,
    /// Broadcasts one sender may make per minute (default 10).
    pub per_minute: u32,
}

impl Default for BroadcastCaps {
    fn default() -> Self {
        Self {
            max_len: 16 * 1024,
            max_ttl: Duration::from_secs(24 * 3600),
            per_minute: 10,
        }
    }
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            login_limits: LoginLimits::default(),
            max_body: MAX_BODY,
            body_timeout: Duration::from_secs(30),
            server_url: None,
            keep_alive: Duration::from_secs(15),
            stream_queue: 256,
            streams_per_user: 8,
            stream_check: Duration::from_secs(60),
            cors_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            public_url: None,
            anonymous_shares: false,
            open_registration: true,
            broadcast: BroadcastCaps::default(),
            backup: None,
            hsts: false,
            root_redirect: None,
            oidc: None,
            stripe: None,
            passkeys: None,
        }
    }
}

type Apis = (
    accounts::AccountsApi,
    accounts::me::AccessApi,
    accounts::two_factor::TwoFactorApi,
    oidc::OidcApi,
    messages::MessagesApi,
    files::FilesApi,
    events::EventsApi,
    shares::SharesApi,
    e2e::E2eApi,
    admin::AdminApi,
    admin::ops::AdminOpsApi,
    credits::CreditsApi,
    passkeys::PasskeysApi,
    health::HealthApi,
);

fn apis() -> Apis {
    (
        accounts::AccountsApi,
        accounts::me::AccessApi,
        accounts::two_factor::TwoFactorApi,
        oidc::OidcApi,
        messages::MessagesApi,
        files::FilesApi,
        events::EventsApi,
        shares::SharesApi,
        e2e::E2eApi,
        admin::AdminApi,
        admin::ops::AdminOpsApi,
        credits::CreditsApi,
        passkeys::PasskeysApi,
        health::HealthApi,
    )
}

/// The API: a poem endpoint (nest it with `Route::nest`, or serve it) and
/// a handle on its live streams.
pub struct Api {
    endpoint: BoxEndpoint<'static>,
    streams: StreamCloser,
}

/// Ends every open event stream (each gets a final `end` event) and
/// refuses new ones: the first step of a graceful shutdown.
#[derive(Clone)]
pub struct StreamCloser(Arc<fanout::Hub>);

impl StreamCloser {
    /// Ends every stream and refuses new ones.
    pub fn close(&self) {
        self.0.close();
    }
}

impl Api {
    /// The handle that ends the API's streams.
    pub fn stream_closer(&self) -> StreamCloser {
        self.streams.clone()
    }

    /// The handle through which other instances' notices reach this
    /// instance's streams (several instances on one shared store).
    pub fn remote_streams(&self) -> RemoteStreams {
        RemoteStreams(self.streams.0.clone())
    }
}

impl IntoEndpoint for Api {
    type Endpoint = BoxEndpoint<'static>;

    fn into_endpoint(self) -> Self::Endpoint {
        self.endpoint
    }
}

/// The API over `engine`: the operations, Swagger UI at `/docs` and the
/// spec at `/openapi.json`, every error rendered as problem+json.
pub fn api(engine: Engine, mut config: ApiConfig) -> Api {
    let hub = fanout::Hub::new(
        config.stream_queue,
        config.streams_per_user,
        events::wire::prepare,
    );
    let listener_hub = hub.clone();
    engine
        .events()
        .add_listener(move |notice| listener_hub.on_notice(notice));
    let service = spec::service(&config);
    let generated = service.spec();
    let document = spec::document(&generated, engine.limits(), &config.broadcast);
    let docs = service.swagger_ui_html().replacen(&generated, &document, 1);
    let spec_json: serde_json::Value = serde_json::from_str(&document).unwrap_or_default();
    let cross_origin =
        http::cors::CrossOrigin::new(&config.cors_origins, config.public_url.as_deref());
    let frame = http::frame::Frame {
        trusted: Arc::new(config.trusted_proxies.clone()),
        routes: http::headers::routes(&spec_json),
        hsts: config.hsts,
    };
    let root_redirect = config.root_redirect.clone();
    let body = http::body_limit::BodyLimit {
        max: config.max_body,
        timeout: config.body_timeout,
    };
    if config.passkeys.is_none() {
        let rp = passkeys::Passkeys::new(config.public_url.as_deref()).or_else(|e| {
            tracing::error!(error = %e, "passkeys fall back to http://localhost");
            passkeys::Passkeys::new(None)
        });
        config.passkeys = rp.ok().map(Arc::new);
    }
    let state = http::state::State::new(http::state::Parts {
        engine,
        rate_limits: Arc::new(http::rate_limit::RateLimits::new(config.login_limits)),
        hashing: Arc::new(http::hashing::HashingPool::new()),
        config: Arc::new(config),
        hub: hub.clone(),
        write_limits: Arc::default(),
    });
    let operations = service.into_endpoint();
    let cached = || SetHeader::new().overriding(header::CACHE_CONTROL, "public, max-age=300");
    let docs = pages::docs::DocsPage::new(docs);
    let docs = get(make_sync(move |_| docs.response()))
        .with(Compression::new())
        .with(cached());
    let spec = get(make_sync(move |_| Json(spec_json.clone())))
        .with(Compression::new())
        .with(cached());
    let mut pages = http::dispatch::Pages::new()
        .at("/docs", docs)
        // Relative, so it holds when the API is mounted under a prefix.
        .at("/docs/", get(make_sync(|_| Redirect::permanent("../docs"))))
        .at("/openapi.json", spec)
        .below("/s", pages::share::SharePages)
        .nest("/app", pages::app::routes().with(Compression::new()))
        .at("/favicon.ico", get(pages::app::favicon));
    if let Some(home) = root_redirect {
        pages = pages.at("/", make_sync(move |_| Redirect::see_other(&home)));
    }
    let dispatch = http::dispatch::Dispatch {
        state,
        pages,
        body,
        operations,
    };
    let endpoint = match cross_origin {
        Some(cross_origin) => dispatch.with(cross_origin).with(frame).boxed(),
        None => dispatch.with(frame).boxed(),
    };
    Api {
        endpoint,
        streams: StreamCloser(hub),
    }
}

/// The OpenAPI document (JSON) of an API over an engine with default
/// limits, as served at `/openapi.json`.
pub fn openapi_json() -> String {
    let generated = spec::service(&ApiConfig::default()).spec();
    spec::document(&generated, &Limits::default(), &BroadcastCaps::default())
}
