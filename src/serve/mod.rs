//! Running the facade as a server: binding first (so a busy address fails
//! before anything is created), TLS, private files, the engine, the
//! reaper, metrics, and a shutdown that ends streams at once, lets
//! in-flight requests finish and exits as soon as nothing is left.

mod backup;
mod clock;
mod conn;
mod event_stream;
mod fanout;
mod head_timer;
mod http;
mod listen;
mod metrics;
mod requests;
mod sniff;
mod tls;
mod watch;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use poem::IntoEndpoint;
use poem::listener::AcceptorExt;
use strongroom_engine::accounts::Quota;
use strongroom_engine::credits::CreditsConfig;
use strongroom_engine::{EngineBuilder, SecretString};
use strongroom_facade::{
    ApiConfig, Oidc, OidcConfig, ReaperConfig, StripeConfig, api, spawn_reaper,
};
use tokio_util::sync::CancellationToken;

pub use http::Timeouts;
pub use listen::{BindError, ConnectionLimits};
pub use tls::{TlsError, TlsSource, fingerprint};

use crate::datadir::{self, DataDirError, KeySource, SharedDatabase};

/// Everything `strongroom serve` needs.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory of the database (and of the generated key file).
    pub data_dir: PathBuf,
    /// Where the master key comes from.
    pub master_key: KeySource,
    /// Reaper interval.
    pub reap_interval: Duration,
    /// How long in-flight requests may run after a shutdown signal.
    pub shutdown_grace: Duration,
    /// TLS, or plain HTTP.
    pub tls: Option<TlsSource>,
    /// The API's own settings (CORS, proxies, streams, bodies).
    pub api: ApiConfig,
    /// Per-connection time limits.
    pub timeouts: Timeouts,
    /// Connections open at once in all (`None`: 90% of the open-file limit).
    pub max_connections: Option<usize>,
    /// Connections open at once from one address.
    pub max_connections_per_address: usize,
    /// Where to serve Prometheus metrics (off when `None`).
    pub metrics_listen: Option<SocketAddr>,
    /// Use a data dir or files other users can read (not recommended).
    pub allow_insecure_permissions: bool,
    /// Where SIGUSR1 and `POST /v1/admin/backups` write online backups
    /// (default `DATA_DIR/backups`).
    pub backup_dir: Option<PathBuf>,
    /// The quota of accounts without their own.
    pub default_quota: Quota,
    /// Largest file, in bytes.
    pub max_file_bytes: u64,
    /// Page cache of the embedded database, in bytes.
    pub cache_bytes: usize,
    /// How long audit entries are kept.
    pub audit_retention: Duration,
    /// A PostgreSQL database to keep the store in instead of the embedded
    /// file, so several instances serve one store.
    pub database: Option<SharedDatabase>,
    /// NATS, through which instances on one database wake each other's
    /// streams.
    pub nats_url: Option<String>,
    /// Whether what the server prints on stdout is JSON lines (with
    /// `--log-format json`) rather than text.
    pub json_output: bool,
    /// Sign-in through an OpenID Connect provider.
    pub oidc: Option<OidcSettings>,
    /// Metering in credits.
    pub credits: CreditsConfig,
    /// Purchases through Stripe's signed webhook.
    pub stripe: Option<StripeSettings>,
}

/// Stripe's webhook, as the command line gave it.
#[derive(Clone, Debug)]
pub struct StripeSettings {
    /// A file holding the endpoint's signing secret.
    pub secret_file: PathBuf,
    /// Credits per unit of a Stripe price id.
    pub prices: std::collections::HashMap<String, u64>,
}

/// The OpenID Connect provider to offer, as the command line gave it.
#[derive(Clone, Debug)]
pub struct OidcSettings {
    /// The issuer URL.
    pub issuer: String,
    /// This server's client id there.
    pub client_id: String,
    /// A file holding the client secret (private, or a mounted secret).
    pub client_secret_file: PathBuf,
    /// The button's name.
    pub name: String,
    /// The scopes to ask for.
    pub scopes: Vec<String>,
    /// Read the discovery document at the first sign-in, not at start.
    pub lazy: bool,
}

/// Why the server did not start or stopped. Every message is one line that
/// names the address or path concerned.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A listener could not bind.
    #[error(transparent)]
    Bind(#[from] BindError),
    /// The TLS certificate is unusable.
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
    /// The data dir, key or database did not open.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// NATS did not accept the connection or subscription.
    #[error("NATS at --nats-url: {0}")]
    Nats(String),
    /// Metrics could not be set up.
    #[error("metrics: {0}")]
    Metrics(String),
    /// The Stripe webhook secret could not be read.
    #[error("Stripe (--stripe-webhook-secret-file): {0}")]
    Stripe(String),
    /// The OpenID Connect provider could not be set up.
    #[error("OpenID Connect (--oidc-issuer): {0}")]
    Oidc(String),
    /// Something else went wrong with I/O.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Tells the operator something on stdout: `TEXT VALUE` as a line, or in
/// JSON mode one JSON object shaped like the JSON log lines
/// (`{"timestamp", "level", "fields": {"message", KEY: VALUE}, "target"}`),
/// so that every line of output parses.
fn say(json: bool, text: &str, key: &str, value: &str) {
    use std::io::Write as _;
    let line = if json {
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        serde_json::json!({
            "timestamp": now,
            "level": "INFO",
            "fields": { "message": text, key: value },
            "target": "strongroom::serve",
        })
        .to_string()
    } else {
        format!("{text} {value}")
    };
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// Runs the server until SIGINT or SIGTERM, then ends every event stream
/// (each gets a final `end` event), lets in-flight requests finish (up to
/// the grace period) and closes the database.
pub async fn serve(config: ServeConfig) -> Result<(), ServeError> {
    let file_limit = raise_open_file_limit();
    let listener = listen::bind(config.listen).await?;
    let metrics_listener = match config.metrics_listen {
        Some(addr) => Some(listen::bind(addr).await?),
        None => None,
    };
    let tls = config.tls.as_ref().map(tls::load).transpose()?;
    let backups = backup::Private {
        dir: config
            .backup_dir
            .clone()
            .unwrap_or_else(|| config.data_dir.join("backups")),
        allow_insecure: config.allow_insecure_permissions,
    };
    // An existing backup directory others can read is refused at start,
    // as the data dir is (a backup holds what the database holds).
    datadir::files::check_private(
        &backups.dir,
        datadir::files::Kind::Dir,
        backups.allow_insecure,
    )
    .map_err(DataDirError::from)?;

    let created_dir = !config.data_dir.exists();
    let (quota, retention) = (config.default_quota, config.audit_retention);
    let (max_file, cache) = (config.max_file_bytes, config.cache_bytes);
    let credits = config.credits;
    let tune = move |b: &mut EngineBuilder| {
        b.default_quota(Some(quota))
            .audit_retention(retention)
            .max_file_len(max_file)
            .cache_size(cache)
            .credits(credits);
    };
    let opened = match &config.database {
        Some(database) => {
            let (database, key, dir) = (
                database.clone(),
                config.master_key.clone(),
                config.data_dir.clone(),
            );
            let insecure = config.allow_insecure_permissions;
            // The PostgreSQL client blocks: off the async workers.
            tokio::task::spawn_blocking(move || {
                datadir::open_shared_engine(&database, &key, &dir, insecure, tune)
            })
            .await
            .map_err(|e| ServeError::Io(std::io::Error::other(e)))?
        }
        None => datadir::open_engine(
            &config.data_dir,
            &config.master_key,
            config.allow_insecure_permissions,
            tune,
        ),
    };
    let engine = match opened {
        Ok(engine) => engine,
        Err(e) => {
            // A failed start leaves nothing behind.
            if created_dir {
                let _ = std::fs::remove_dir_all(&config.data_dir);
            }
            return Err(e.into());
        }
    };
    let stop = CancellationToken::new();
    let metrics_task = match metrics_listener {
        Some(listener) => {
            let handle = metrics::install().map_err(ServeError::Metrics)?;
            let addr = listener.local_addr()?;
            say(
                config.json_output,
                "Metrics:",
                "url",
                &format!("http://{addr}/metrics"),
            );
            let db = config.data_dir.join(datadir::DATABASE_FILE);
            Some(tokio::spawn(metrics::serve(
                listener,
                handle,
                db,
                engine.clone(),
                stop.clone(),
            )))
        }
        None => None,
    };
    let reaper = spawn_reaper(
        engine.clone(),
        ReaperConfig {
            interval: config.reap_interval,
            ..ReaperConfig::default()
        },
    );
    let mut api_config = config.api.clone();
    if let Some(settings) = &config.oidc {
        let public = config.api.public_url.as_deref().ok_or_else(|| {
            ServeError::Oidc(
                "--oidc-issuer needs --public-url (the redirect URI is under it)".to_owned(),
            )
        })?;
        let secret = read_secret_file(
            &settings.client_secret_file,
            &config.data_dir,
            config.allow_insecure_permissions,
        )?;
        let oidc = Oidc::new(
            OidcConfig {
                issuer: settings.issuer.clone(),
                client_id: settings.client_id.clone(),
                client_secret: secret,
                name: settings.name.clone(),
                scopes: settings.scopes.clone(),
                redirect_uri: format!("{public}/v1/oidc/callback"),
            },
            settings.lazy,
        )
        .await
        .map_err(|e| ServeError::Oidc(e.to_string()))?;
        tracing::info!(issuer = %settings.issuer, name = %settings.name, "OpenID Connect sign-in on");
        api_config.oidc = Some(Arc::new(oidc));
    }
    if let Some(settings) = &config.stripe {
        let secret = datadir::files::read_secret(
            &settings.secret_file,
            &config.data_dir,
            config.allow_insecure_permissions,
        )
        .map_err(|e| ServeError::Stripe(e.to_string()))?;
        api_config.stripe = Some(Arc::new(StripeConfig {
            secret,
            prices: settings.prices.clone(),
        }));
        tracing::info!("Stripe webhook on at /v1/billing/stripe");
    }
    if config.credits.enabled {
        let prices: Vec<String> = config
            .credits
            .prices
            .iter()
            .map(|(action, price)| format!("{action}={price}"))
            .collect();
        tracing::info!(initial = config.credits.initial, prices = %prices.join(" "), "credits on");
    }
    api_config.backup = Some(backup::hook(backups.clone()));
    api_config.hsts = tls.is_some();
    api_config.root_redirect = Some("/app".to_owned());
    let api = api(engine.clone(), api_config);
    let streams = api.stream_closer();
    let fanout = match &config.nats_url {
        Some(url) => {
            let remote = api.remote_streams();
            let client = fanout::connect(url, remote.clone())
                .await
                .map_err(|e| ServeError::Nats(e.to_string()))?;
            fanout::run(client, &engine, remote, stop.clone())
                .await
                .map_err(|e| ServeError::Nats(e.to_string()))?
        }
        None => Vec::new(),
    };
    let app = Arc::new(api.into_endpoint());
    let limits = ConnectionLimits {
        total: config
            .max_connections
            .unwrap_or_else(|| (file_limit as usize).saturating_mul(9) / 10)
            .max(1),
        per_address: config.max_connections_per_address.max(1),
        trusted_proxies: config.api.trusted_proxies.clone(),
    };
    let local = listener.local_addr()?;
    let acceptor = listen::CappedAcceptor::new(listener, limits.clone())?;
    let signals = tokio::spawn(watch_signals(stop.clone()));
    let backups = tokio::spawn(backup::on_signal(engine.clone(), backups, stop.clone()));
    let tracker = match (tls, &config.tls) {
        (Some(loaded), Some(source)) => {
            if matches!(source, TlsSource::SelfSigned) {
                tracing::warn!(
                    "serving a SELF-SIGNED certificate for localhost: for development only; \
                     clients must pin its fingerprint"
                );
                let print = &loaded.fingerprint;
                say(
                    config.json_output,
                    "Self-signed certificate SHA-256:",
                    "sha256",
                    print,
                );
            }
            let (reloader, configs) = tls::Reloader::new(source.clone(), loaded);
            tokio::spawn(reload_on_hangup(reloader, stop.clone()));
            banner(config.json_output, "https", local, &limits);
            http::run(acceptor.rustls(configs), app, config.timeouts, stop.clone()).await
        }
        _ => {
            banner(config.json_output, "http", local, &limits);
            http::run(acceptor, app, config.timeouts, stop.clone()).await
        }
    };
    tracing::info!("shutdown signal received; ending streams, finishing in-flight requests");
    streams.close();
    let dropped = http::drain(tracker, config.shutdown_grace).await;
    if dropped > 0 {
        tracing::warn!(
            connections = dropped,
            "grace period over; closing what is left"
        );
    }
    reaper.abort();
    let _ = reaper.await;
    signals.abort();
    stop.cancel();
    // Bounded: the fan-out's tasks end at the stop, and the publisher's
    // last flush gives up after fanout::FLUSH, whatever NATS's state.
    for task in fanout {
        let abort = task.abort_handle();
        if tokio::time::timeout(fanout::FLUSH * 2, task).await.is_err() {
            abort.abort();
        }
    }
    backups.abort();
    let _ = backups.await;
    if let Some(task) = metrics_task {
        let _ = task.await;
    }
    drop(engine);
    tracing::info!("shut down cleanly");
    Ok(())
}

fn banner(json: bool, scheme: &str, local: SocketAddr, limits: &ConnectionLimits) {
    say(
        json,
        "Strongroom listening on",
        "url",
        &format!("{scheme}://{local}"),
    );
    say(
        json,
        "Swagger UI:",
        "url",
        &format!("{scheme}://{local}/docs"),
    );
    tracing::info!(
        max_connections = limits.total,
        per_address = limits.per_address,
        "accepting connections"
    );
}

/// Every event stream holds a socket: raise the soft open-file limit to the
/// hard limit where the platform allows; returns the limit in force.
pub fn raise_open_file_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => {
            tracing::info!(limit, "open-file limit");
            limit
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not raise the open-file limit");
            1024
        }
    }
}

/// Cancels `stop` on SIGINT or SIGTERM.
async fn watch_signals(stop: CancellationToken) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    stop.cancel();
}

/// Reloads the TLS certificate on every SIGHUP until `stop`.
async fn reload_on_hangup(reloader: tls::Reloader, stop: CancellationToken) {
    #[cfg(unix)]
    {
        let Ok(mut hangups) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            tracing::warn!("cannot watch SIGHUP; certificate reload disabled");
            return;
        };
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                Some(()) = hangups.recv() => match reloader.reload().await {
                    Ok(fingerprint) => tracing::info!(%fingerprint, "TLS certificate reloaded"),
                    Err(e) => tracing::error!(error = %e, "TLS certificate reload failed; keeping the current one"),
                },
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (reloader, stop);
    }
}

/// The OIDC client secret from its file (private, or a mounted secret);
/// a file that cannot be read is an OIDC start error.
fn read_secret_file(
    path: &std::path::Path,
    data_dir: &std::path::Path,
    allow_insecure: bool,
) -> Result<SecretString, ServeError> {
    datadir::files::read_secret(path, data_dir, allow_insecure).map_err(|e| match e {
        datadir::files::FileError::Io { .. } => ServeError::Oidc(e.to_string()),
        other => DataDirError::from(other).into(),
    })
}
