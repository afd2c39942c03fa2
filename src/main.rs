//! The `strongroom` command line: parses the arguments (`cli`), sets up
//! logging, and runs the server or an operator command (`commands`).
#![forbid(unsafe_code)]

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{ArgMatches, CommandFactory, FromArgMatches};
use strongroom::ops::OpsError;
use strongroom::serve::serve;

mod cli;
mod commands;
mod healthcheck;

use cli::{AuditCommand, Cli, Command, LogFormat, UserCommand};

/// mimalloc: the server allocates per request (headers, JSON, buffers) and
/// glibc's malloc was a tenth of its CPU time under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Logging to stderr: the filter from `STRONGROOM_LOG` (an invalid one is an
/// error; default `info` for `serve`, `warn` for the one-shot commands, whose
/// output is their report), text with colour only on a terminal without
/// `NO_COLOR`, or JSON.
fn init_logging(format: LogFormat, default: &str) -> Result<(), String> {
    let filter = match std::env::var("STRONGROOM_LOG") {
        Ok(value) => tracing_subscriber::EnvFilter::try_new(&value)
            .map_err(|e| format!("STRONGROOM_LOG: invalid log filter {value:?}: {e}"))?,
        Err(std::env::VarError::NotPresent) => tracing_subscriber::EnvFilter::new(default),
        Err(e) => return Err(format!("STRONGROOM_LOG: {e}")),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => {
            let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            builder.with_ansi(colour).init();
        }
    }
    Ok(())
}

/// redb meets some damaged pages with a panic, which the engine catches
/// and answers as an error (`StorageError::Damaged`) where it was met:
/// such a panic is logged in one line, without the backtrace the default
/// hook would print over the error. Any other panic goes to that hook.
fn log_redb_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| match info.location() {
        Some(at) if at.file().contains("/redb-") => {
            tracing::warn!(at = %at, panic = %info.payload_as_str().unwrap_or("-"), "redb panicked on the database file");
        }
        _ => default(info),
    }));
}

/// The matches of the subcommand given.
fn sub(matches: &ArgMatches) -> Option<&ArgMatches> {
    matches.subcommand().map(|(_, m)| m)
}

/// An operator command's exit: its code, or 1 after a one-line error.
fn finish(result: Result<ExitCode, OpsError>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// [`finish`] for a command a running server also offers: when the
/// server holds the store, the error says how to ask it instead.
fn finish_or(result: Result<ExitCode, OpsError>, online: &str) -> ExitCode {
    match result {
        Err(e @ OpsError::InUse { .. }) => {
            eprintln!("error: {e}, or {online}");
            ExitCode::FAILURE
        }
        result => finish(result),
    }
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let default_level = match cli.command {
        Command::Serve(_) => "info",
        _ => "warn",
    };
    if let Err(e) = init_logging(cli.log_format, default_level) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    log_redb_panics();
    let result: Result<(), Box<dyn std::error::Error>> = match cli.command {
        Command::Serve(args) => {
            let config = args.config(&matches, cli.log_format);
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(Into::into)
                .and_then(|rt| rt.block_on(serve(config)).map_err(Into::into))
        }
        Command::Healthcheck { url, timeout } => {
            let timeout = std::time::Duration::from_secs(timeout.max(1));
            return match healthcheck::check(&url, timeout) {
                Ok(_) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("unhealthy: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        Command::Openapi => {
            println!("{}", strongroom::facade::openapi_json());
            Ok(())
        }
        Command::Verify { store, deep, json } => {
            return finish(commands::verify(&store.resolve(sub(&matches)), deep, json));
        }
        Command::Backup { store, to } => {
            return finish_or(
                strongroom::ops::backup(&store.resolve(sub(&matches)), &to).map(|done| {
                    println!("{done}");
                    ExitCode::SUCCESS
                }),
                "send it SIGUSR1 (or POST /v1/admin/backups) for an online backup",
            );
        }
        Command::Restore {
            store,
            from,
            accept_audit_gap,
        } => {
            let store = store.resolve(sub(&matches));
            return finish(
                strongroom::ops::restore(&store, &from, accept_audit_gap).map(|done| {
                    println!(
                        "restored {} records and {} users into {}",
                        done.report.records,
                        done.report.users,
                        done.path.display()
                    );
                    ExitCode::SUCCESS
                }),
            );
        }
        Command::Migrate {
            from_data_dir,
            from_database_url,
            from_database_url_file,
            to_data_dir,
            to_database_url,
            to_database_url_file,
            master_key_file,
            allow_insecure_permissions,
        } => {
            let (from, to) = cli::migrate_stores(
                (from_data_dir, from_database_url, from_database_url_file),
                (to_data_dir, to_database_url, to_database_url_file),
                master_key_file,
                allow_insecure_permissions,
                sub(&matches),
            );
            return finish(commands::migrate(&from, &to));
        }
        Command::Compact { store } => {
            return finish(commands::compact(&store.resolve(sub(&matches))));
        }
        Command::User(UserCommand::Add { store, name, role }) => {
            let store = store.resolve(
                matches
                    .subcommand()
                    .and_then(|(_, m)| m.subcommand())
                    .map(|(_, m)| m),
            );
            return finish_or(
                commands::add_user(&store, &name, role),
                "ask it as an admin: POST /v1/admin/users",
            );
        }
        Command::Audit(command) => {
            let matches = matches
                .subcommand()
                .and_then(|(_, m)| m.subcommand())
                .map(|(_, m)| m);
            return match command {
                AuditCommand::Verify {
                    store,
                    checkpoint,
                    json,
                } => finish(commands::audit_verify(
                    &store.resolve(matches),
                    checkpoint.as_deref(),
                    json,
                )),
                AuditCommand::Checkpoint { store } => finish_or(
                    strongroom::ops::audit_checkpoint(&store.resolve(matches)).map(|json| {
                        println!("{json}");
                        ExitCode::SUCCESS
                    }),
                    "ask it as an admin: GET /v1/admin/audit/checkpoint",
                ),
            };
        }
        Command::Seed {
            store,
            users,
            messages,
            broadcasts,
            credentials,
            force,
        } => {
            let plan = strongroom::ops::SeedPlan {
                users,
                messages,
                broadcasts,
                credentials,
                force,
            };
            return finish(commands::seed(&store.resolve(sub(&matches)), &plan));
        }
        Command::RotateDataKeys {
            store,
            older_than,
            batch,
        } => {
            return finish(commands::rotate_data_keys(
                &store.resolve(sub(&matches)),
                older_than,
                batch,
            ));
        }
        Command::RotateMasterKey {
            store,
            new_key_file,
        } => {
            return finish(commands::rotate_master_key(
                &store.resolve(sub(&matches)),
                &new_key_file,
            ));
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
