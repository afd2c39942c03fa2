//! Running the facade as a server: configuration, master key resolution,
//! the reaper, and graceful shutdown.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use poem::listener::TcpListener;
use poem::{Route, Server};
use strongroom_engine::{Engine, MasterKey};
use strongroom_facade::{ApiConfig, ReaperConfig, api, spawn_reaper};

use crate::keyfile::{self, MASTER_KEY_ENV};

/// Everything `strongroom serve` needs.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory of the database (and of the generated key file).
    pub data_dir: PathBuf,
    /// Key file to read the master key from (base64). Without it, and
    /// without `STRONGROOM_MASTER_KEY`, `data_dir/master.key` is used and
    /// created on first run.
    pub master_key_file: Option<PathBuf>,
    /// Reaper interval.
    pub reap_interval: Duration,
    /// How long in-flight requests may run after a shutdown signal.
    pub shutdown_grace: Duration,
}

/// The master key: `STRONGROOM_MASTER_KEY`, else the given key file, else
/// `data_dir/master.key`, created (mode 0600) on first run with a warning.
pub fn resolve_master_key(
    key_file: Option<&Path>,
    data_dir: &Path,
) -> Result<MasterKey, Box<dyn std::error::Error>> {
    if let Some(key) = keyfile::from_env()? {
        tracing::info!("master key from {MASTER_KEY_ENV}");
        return Ok(key);
    }
    if let Some(path) = key_file {
        tracing::info!(path = %path.display(), "master key from key file");
        return Ok(keyfile::load(path)?);
    }
    let path = data_dir.join("master.key");
    let (key, created) = keyfile::load_or_create(&path)?;
    if created {
        tracing::warn!(
            path = %path.display(),
            "created a new master key file; in production supply your own key \
             ({MASTER_KEY_ENV} or --master-key-file) and keep it apart from the database"
        );
    } else {
        tracing::info!(path = %path.display(), "master key from generated key file");
    }
    Ok(key)
}

/// Opens the engine under `config.data_dir`.
pub fn open_engine(config: &ServeConfig) -> Result<Engine, Box<dyn std::error::Error>> {
    create_private_dir(&config.data_dir)?;
    let master = resolve_master_key(config.master_key_file.as_deref(), &config.data_dir)?;
    let path = config.data_dir.join("strongroom.redb");
    let engine = Engine::builder(master).open(&path)?;
    tracing::info!(path = %path.display(), "database open");
    Ok(engine)
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Runs the server until SIGINT or SIGTERM, then lets in-flight requests
/// finish (up to the grace period) and closes the database.
pub async fn serve(config: ServeConfig) -> Result<(), Box<dyn std::error::Error>> {
    raise_open_file_limit();
    let engine = open_engine(&config)?;
    let reaper = spawn_reaper(
        engine.clone(),
        ReaperConfig {
            interval: config.reap_interval,
            ..ReaperConfig::default()
        },
    );
    let api_config = ApiConfig {
        server_url: None,
        ..ApiConfig::default()
    };
    let app = Route::new().nest("/", api(engine.clone(), api_config));
    let listener = TcpListener::bind(config.listen);
    println!("Strongroom listening on http://{}", config.listen);
    println!("Swagger UI: http://{}/docs", config.listen);
    Server::new(listener)
        .run_with_graceful_shutdown(app, shutdown_signal(), Some(config.shutdown_grace))
        .await?;
    reaper.abort();
    let _ = reaper.await;
    drop(engine);
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Every event stream holds a socket: raise the soft open-file limit to the
/// hard limit where the platform allows, and log what we got.
pub fn raise_open_file_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::info!(limit, "open-file limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open-file limit"),
    }
}

async fn shutdown_signal() {
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
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
