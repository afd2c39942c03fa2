//! The `strongroom` command line.
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use strongroom::server::{ServeConfig, serve};

#[derive(Parser)]
#[command(
    name = "strongroom",
    version,
    about = "Encrypted, expiring, per-user message store"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API (Swagger UI at /docs).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "STRONGROOM_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Directory holding the database (and the generated key file).
        #[arg(long, env = "STRONGROOM_DATA_DIR", default_value = "./strongroom-data")]
        data_dir: PathBuf,
        /// File holding the base64 master key. `STRONGROOM_MASTER_KEY` (the key
        /// itself) takes precedence; without either, DATA_DIR/master.key is
        /// created on first run.
        #[arg(long, env = "STRONGROOM_MASTER_KEY_FILE")]
        master_key_file: Option<PathBuf>,
        /// Seconds between purges of expired records and tokens.
        #[arg(long, env = "STRONGROOM_REAP_INTERVAL", default_value_t = 30)]
        reap_interval: u64,
        /// Seconds in-flight requests may run after SIGINT/SIGTERM.
        #[arg(long, env = "STRONGROOM_SHUTDOWN_GRACE", default_value_t = 10)]
        shutdown_grace: u64,
    },
    /// Print the OpenAPI document (JSON).
    Openapi,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("STRONGROOM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Serve {
            listen,
            data_dir,
            master_key_file,
            reap_interval,
            shutdown_grace,
        } => {
            let config = ServeConfig {
                listen,
                data_dir,
                master_key_file,
                reap_interval: Duration::from_secs(reap_interval.max(1)),
                shutdown_grace: Duration::from_secs(shutdown_grace),
            };
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(Into::into)
                .and_then(|rt| rt.block_on(serve(config)))
        }
        Command::Openapi => {
            println!("{}", strongroom::facade::openapi_json());
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
