//! The `strongroom` command line: every subcommand's arguments, their
//! environment variables, and what they become for the library (a
//! [`ServeConfig`], a [`StoreArgs`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{ArgMatches, Parser, Subcommand, ValueEnum};
use strongroom::datadir::keyfile::MASTER_KEY_ENV;
use strongroom::datadir::{DatabaseUrl, KeySource, SharedDatabase, StoreArgs};
use strongroom::engine::SecretString;
use strongroom::engine::accounts::Quota;
use strongroom::engine::credits::{
    Chargeable, CreditsConfig, DEFAULT_INITIAL_CREDITS, DEFAULT_LOW_CREDITS, PriceList,
};
use strongroom::facade::{ApiConfig, BroadcastCaps, IpNet};
use strongroom::serve::{OidcSettings, ServeConfig, StripeSettings, Timeouts, TlsSource};

const SERVE_ENVIRONMENT: &str = "\
Environment:
  STRONGROOM_LISTEN, STRONGROOM_DATA_DIR, STRONGROOM_MASTER_KEY_FILE and the
  other STRONGROOM_* variables named above set their flags; a flag given on
  the command line wins over its variable.
  STRONGROOM_MASTER_KEY   the master key itself (base64); used unless
                          --master-key-file is given on the command line
  STRONGROOM_LOG          log filter (tracing syntax, e.g. info or
                          strongroom_facade=debug); default info; an invalid
                          filter is an error
  STRONGROOM_LOG_FORMAT   text or json (as --log-format)
  NO_COLOR                any value: no colour in logs (colour is used only
                          when stderr is a terminal)";

#[derive(Parser)]
#[command(
    name = "strongroom",
    version,
    about = "Encrypted, expiring, per-user message store"
)]
pub(crate) struct Cli {
    /// Log lines as human-readable text or as one JSON object per line.
    #[arg(long, env = "STRONGROOM_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub(crate) log_format: LogFormat,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Run the HTTP API (Swagger UI at /docs).
    #[command(after_help = SERVE_ENVIRONMENT)]
    Serve(Box<ServeArgs>),
    /// Print the OpenAPI document (JSON).
    Openapi,
    /// Ask a running server whether it is ready (GET /readyz): exit 0 when
    /// it answers 2xx, 1 otherwise. A container's HEALTHCHECK runs this.
    Healthcheck {
        /// The readiness URL (plain http://).
        #[arg(
            long,
            env = "STRONGROOM_HEALTHCHECK_URL",
            default_value = "http://127.0.0.1:8080/readyz"
        )]
        url: String,
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 5, value_parser = within::<u64>(1..=LONGEST_WAIT))]
        timeout: u64,
    },
    /// Check the store: indexes agree; with --deep every envelope opens.
    /// Exit 0 when sound, 3 when problems were found, 1 on failure.
    Verify {
        #[command(flatten)]
        store: StoreOpts,
        /// Also open every record's envelope (reads everything).
        #[arg(long)]
        deep: bool,
        /// One JSON object instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Write a consistent, still encrypted backup to a new file (no server
    /// may be running; a running one takes SIGUSR1 instead).
    Backup {
        #[command(flatten)]
        store: StoreOpts,
        /// The backup file to create (never overwritten).
        #[arg(long)]
        to: PathBuf,
    },
    /// Make a backup the database of an empty data dir, after checking the
    /// master key and every envelope.
    Restore {
        #[command(flatten)]
        store: StoreOpts,
        /// The backup file.
        #[arg(long)]
        from: PathBuf,
        /// Restore a backup whose audit chain does not verify, recording
        /// the gap in the restored log (refused without it).
        #[arg(long)]
        accept_audit_gap: bool,
    },
    /// Compact the database file (no server may be running) and print its
    /// size before and after.
    Compact {
        #[command(flatten)]
        store: StoreOpts,
    },
    /// Manage accounts on the data dir (no server may be running).
    #[command(subcommand)]
    User(UserCommand),
    /// Check or sign the audit trail (no server may be running; a running
    /// one serves GET /v1/admin/audit/checkpoint).
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Fill a store with fake users, messages and broadcasts for trying
    /// Strongroom out (test data only). Creates the store if absent;
    /// refuses one that holds data unless --force.
    Seed {
        #[command(flatten)]
        store: StoreOpts,
        /// Accounts to create (they share one generated password), at
        /// most a million.
        #[arg(long, default_value_t = 100, value_parser = within::<usize>(0..=1_000_000))]
        users: usize,
        /// Messages, each from a random user to a random user, at most ten
        /// million.
        #[arg(long, default_value_t = 10_000, value_parser = within::<usize>(0..=10_000_000))]
        messages: usize,
        /// Broadcasts, at most a hundred thousand.
        #[arg(long, default_value_t = 10, value_parser = within::<usize>(0..=100_000))]
        broadcasts: usize,
        /// Where to write the usernames and password [default:
        /// DATA_DIR/seed-credentials.txt] (mode 0600).
        #[arg(long)]
        credentials: Option<PathBuf>,
        /// Seed a store that already holds data.
        #[arg(long)]
        force: bool,
    },
    /// Give every user (and the broadcasts) a new data key, then re-seal
    /// records older than --older-than days under it, in batches
    /// (resumable: run it again after an interruption). No server may run.
    RotateDataKeys {
        #[command(flatten)]
        store: StoreOpts,
        /// Re-seal records created more than this many days ago (0: all).
        #[arg(long, default_value_t = 0)]
        older_than: u64,
        /// Records per transaction.
        #[arg(long, default_value_t = 1_000, value_parser = at_least_one::<usize>())]
        batch: usize,
    },
    /// Copy a whole store into an empty one — a data dir into PostgreSQL,
    /// or back — without decrypting anything, then verify the copy deep.
    /// Exit 0 when the copy is sound, 3 when the check found problems, 1
    /// on failure (a target that holds a store is refused, untouched).
    #[command(
        group(clap::ArgGroup::new("from").required(true)),
        group(clap::ArgGroup::new("to").required(true))
    )]
    Migrate {
        /// The data dir to copy (no server may be running on it).
        #[arg(long, group = "from")]
        from_data_dir: Option<PathBuf>,
        /// The PostgreSQL database to copy.
        #[arg(long, group = "from", hide_env_values = true)]
        from_database_url: Option<String>,
        /// Read --from-database-url from this file.
        #[arg(long, group = "from")]
        from_database_url_file: Option<PathBuf>,
        /// The data dir to copy into (made if absent; must hold no store).
        #[arg(long, group = "to")]
        to_data_dir: Option<PathBuf>,
        /// The PostgreSQL database to copy into (its Strongroom tables
        /// must be absent or empty).
        #[arg(long, group = "to", hide_env_values = true)]
        to_database_url: Option<String>,
        /// Read --to-database-url from this file.
        #[arg(long, group = "to")]
        to_database_url_file: Option<PathBuf>,
        /// File holding the base64 master key [default:
        /// STRONGROOM_MASTER_KEY, else FROM_DATA_DIR/master.key]. The copy
        /// keeps it: serve the copy with the same key.
        #[arg(long, env = "STRONGROOM_MASTER_KEY_FILE")]
        master_key_file: Option<PathBuf>,
        /// Use files other users can read.
        #[arg(long, env = "STRONGROOM_ALLOW_INSECURE_PERMISSIONS")]
        allow_insecure_permissions: bool,
    },
    /// Re-wrap every data key under a new master key, in one transaction
    /// (no server may be running). Record ciphertexts are not touched;
    /// afterwards only the new key opens the store.
    RotateMasterKey {
        #[command(flatten)]
        store: StoreOpts,
        /// File holding the new base64 master key (mode 0600).
        #[arg(long)]
        new_key_file: PathBuf,
    },
}

/// A count or a number of seconds that must be at least 1: zero is refused
/// at start (exit 2, naming the flag) rather than quietly taken as 1.
fn at_least_one<T>() -> clap::builder::RangedU64ValueParser<T>
where
    T: TryFrom<u64> + Clone + Send + Sync + 'static,
    <T as TryFrom<u64>>::Error: Send + Sync + 'static + std::error::Error + ToString,
{
    within(1..)
}

/// A count or a number of seconds in `range`: one outside it is refused at
/// start (exit 2, naming the flag and the range).
fn within<T>(range: impl std::ops::RangeBounds<u64>) -> clap::builder::RangedU64ValueParser<T>
where
    T: TryFrom<u64> + Clone + Send + Sync + 'static,
    <T as TryFrom<u64>>::Error: Send + Sync + 'static + std::error::Error + ToString,
{
    clap::builder::RangedU64ValueParser::<T>::new().range(range)
}

/// The longest timeout, grace or reap interval, in seconds: a day. A wait
/// of `u64::MAX` seconds overflows the clock it is added to.
const LONGEST_WAIT: u64 = 24 * 3600;

/// The longest audit retention, in days: a hundred years.
const LONGEST_RETENTION_DAYS: u64 = 36_500;

/// The most connections to the database: the pool makes room for all of
/// them up front, and PostgreSQL serves 100 by default.
const MOST_DATABASE_CONNECTIONS: u64 = 10_000;

/// The largest page cache, in MiB: 1 TiB.
const LARGEST_CACHE_MIB: u64 = 1 << 20;

#[derive(Subcommand)]
pub(crate) enum UserCommand {
    /// Create an account with a role (the first admin comes this way). The
    /// password is read without echo from the terminal, or from stdin.
    Add {
        #[command(flatten)]
        store: StoreOpts,
        /// The username (3-64 characters of a-z 0-9 _ . -).
        name: String,
        /// admin, user or service.
        #[arg(long, default_value = "user", value_parser = parse_role)]
        role: strongroom::engine::Role,
    },
}

#[derive(Subcommand)]
pub(crate) enum AuditCommand {
    /// Recompute the hash chain and report every modified, deleted or
    /// reordered entry; with --checkpoint, also a log truncated or rewritten
    /// since that checkpoint. Exit 0 when intact, 3 when not, 1 on failure.
    Verify {
        #[command(flatten)]
        store: StoreOpts,
        /// A checkpoint kept elsewhere (from `audit checkpoint` or the API).
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// One JSON object instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Print the chain head signed with the store's Ed25519 audit key
    /// (JSON), for a third party to keep.
    Checkpoint {
        #[command(flatten)]
        store: StoreOpts,
    },
}

fn parse_role(text: &str) -> Result<strongroom::engine::Role, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not a role (admin, user or service)"))
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Registration {
    /// Anyone may create an account.
    Open,
    /// Only admins create accounts.
    Closed,
}

#[derive(clap::Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on.
    #[arg(
        long,
        env = "STRONGROOM_LISTEN",
        default_value = "127.0.0.1:8080",
        value_parser = parse_listen
    )]
    listen: SocketAddr,
    /// Directory holding the database (and the generated key file).
    #[arg(long, env = "STRONGROOM_DATA_DIR", default_value = "./strongroom-data")]
    data_dir: PathBuf,
    /// File holding the base64 master key. Without it (or
    /// STRONGROOM_MASTER_KEY), DATA_DIR/master.key is created on first run.
    #[arg(long, env = "STRONGROOM_MASTER_KEY_FILE")]
    master_key_file: Option<PathBuf>,
    /// Seconds between purges of expired records and tokens.
    #[arg(long, env = "STRONGROOM_REAP_INTERVAL", default_value_t = 30, value_parser = within::<u64>(1..=LONGEST_WAIT))]
    reap_interval: u64,
    /// Seconds in-flight requests may run after SIGINT/SIGTERM.
    #[arg(long, env = "STRONGROOM_SHUTDOWN_GRACE", default_value_t = 10, value_parser = within::<u64>(0..=LONGEST_WAIT))]
    shutdown_grace: u64,
    /// TLS certificate chain (PEM); needs --tls-key. Reloaded on SIGHUP.
    #[arg(long, env = "STRONGROOM_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM); needs --tls-cert.
    #[arg(long, env = "STRONGROOM_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve TLS with a certificate for localhost made at start (development
    /// only: clients must pin the printed fingerprint).
    #[arg(long, env = "STRONGROOM_TLS_SELF_SIGNED", conflicts_with = "tls_cert")]
    tls_self_signed: bool,
    /// A proxy (an address, or a CIDR range) whose X-Forwarded-For/Forwarded
    /// headers name the client for rate limits and logs. Repeatable; none
    /// by default.
    #[arg(
        long = "trusted-proxy",
        env = "STRONGROOM_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_parser = parse_trusted_proxy
    )]
    trusted_proxies: Vec<IpNet>,
    /// A browser origin allowed to call the API (CORS), e.g.
    /// https://app.example.com. Repeatable; none by default.
    #[arg(
        long = "cors-origin",
        env = "STRONGROOM_CORS_ORIGINS",
        value_delimiter = ',',
        value_parser = parse_cors_origin
    )]
    cors_origins: Vec<String>,
    /// Seconds a client may take to send a request's headers (HTTP/1: also
    /// how long an idle kept-alive connection waits for its next request).
    #[arg(long, env = "STRONGROOM_HEADER_TIMEOUT", default_value_t = 10, value_parser = within::<u64>(1..=LONGEST_WAIT))]
    header_timeout: u64,
    /// Seconds a connection may carry no bytes at all before it is closed.
    #[arg(long, env = "STRONGROOM_IDLE_TIMEOUT", default_value_t = 60, value_parser = within::<u64>(1..=LONGEST_WAIT))]
    idle_timeout: u64,
    /// Seconds a client may take to send a request body.
    #[arg(long, env = "STRONGROOM_BODY_TIMEOUT", default_value_t = 30, value_parser = within::<u64>(1..=LONGEST_WAIT))]
    body_timeout: u64,
    /// Connections open at once [default: 90% of the open-file limit].
    #[arg(long, env = "STRONGROOM_MAX_CONNECTIONS", value_parser = at_least_one::<usize>())]
    max_connections: Option<usize>,
    /// Connections open at once from one client address (trusted proxies
    /// exempt).
    #[arg(
        long,
        env = "STRONGROOM_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 256,
        value_parser = at_least_one::<usize>()
    )]
    max_connections_per_address: usize,
    /// Requests one HTTP/2 connection may carry at once (event streams
    /// included); HTTP/1 carries one.
    #[arg(
        long,
        env = "STRONGROOM_MAX_STREAMS_PER_CONNECTION",
        default_value_t = 256,
        value_parser = at_least_one::<u32>()
    )]
    max_streams_per_connection: u32,
    /// Event streams one user may hold open at once.
    #[arg(long, env = "STRONGROOM_MAX_STREAMS_PER_USER", default_value_t = 8)]
    max_streams_per_user: usize,
    /// Serve Prometheus metrics at http://ADDR/metrics (off by default).
    #[arg(long, env = "STRONGROOM_METRICS_LISTEN", value_parser = parse_listen)]
    metrics_listen: Option<SocketAddr>,
    /// Use a data dir, database or key file that other users can read.
    #[arg(long, env = "STRONGROOM_ALLOW_INSECURE_PERMISSIONS")]
    allow_insecure_permissions: bool,
    /// The server's public base URL (e.g. https://vault.example.com), used
    /// in the links share creation returns [default: the request's scheme
    /// and Host].
    #[arg(long, env = "STRONGROOM_PUBLIC_URL", value_parser = parse_public_url)]
    public_url: Option<String>,
    /// Allow share links to be created without an account (5 per client
    /// address, then one a minute).
    #[arg(long, env = "STRONGROOM_ANONYMOUS_SHARES")]
    anonymous_shares: bool,
    /// Whether anyone may create an account (open, for development) or only
    /// admins (closed).
    #[arg(long, env = "STRONGROOM_REGISTRATION", value_enum, default_value_t = Registration::Open)]
    registration: Registration,
    /// Where SIGUSR1 and POST /v1/admin/backups write online backups
    /// [default: DATA_DIR/backups].
    #[arg(long, env = "STRONGROOM_BACKUP_DIR")]
    backup_dir: Option<PathBuf>,
    /// Default quota: bytes of stored messages and files per account (sealed size;
    /// an admin may set another per account).
    #[arg(long, env = "STRONGROOM_QUOTA_BYTES", default_value_t = 100 * 1024 * 1024)]
    quota_bytes: u64,
    /// Default quota: stored messages per account.
    #[arg(long, env = "STRONGROOM_QUOTA_MESSAGES", default_value_t = 100_000)]
    quota_messages: u64,
    /// Default quota: writes per minute per account (stores, sends,
    /// deletes, broadcasts, share links; counted per server instance).
    #[arg(
        long,
        env = "STRONGROOM_QUOTA_WRITES_PER_MINUTE",
        default_value_t = 600
    )]
    quota_writes_per_minute: u32,
    /// Largest file, in bytes (uploads past it answer 413 and keep
    /// nothing).
    #[arg(long, env = "STRONGROOM_MAX_FILE_BYTES", default_value_t = 100 * 1024 * 1024)]
    max_file_bytes: u64,
    /// Page cache of the embedded database, in MiB: the most its pages
    /// add to the server's memory (the OS page cache holds the file
    /// beneath it). Ignored on PostgreSQL.
    #[arg(long, env = "STRONGROOM_CACHE_MIB", default_value_t = 32, value_parser = within::<usize>(1..=LARGEST_CACHE_MIB))]
    cache_mib: usize,
    /// Largest broadcast, in bytes.
    #[arg(long, env = "STRONGROOM_BROADCAST_MAX_BYTES", default_value_t = 16 * 1024)]
    broadcast_max_bytes: usize,
    /// Longest broadcast ttl, in seconds.
    #[arg(long, env = "STRONGROOM_BROADCAST_MAX_TTL", default_value_t = 24 * 3600)]
    broadcast_max_ttl: u64,
    /// Broadcasts one sender may make per minute.
    #[arg(long, env = "STRONGROOM_BROADCASTS_PER_MINUTE", default_value_t = 10)]
    broadcasts_per_minute: u32,
    /// Days audit entries are kept before the reaper prunes them (a signed
    /// anchor keeps the rest verifiable); at least 1.
    #[arg(long, env = "STRONGROOM_AUDIT_RETENTION_DAYS", default_value_t = 365, value_parser = within::<u64>(1..=LONGEST_RETENTION_DAYS))]
    audit_retention_days: u64,
    #[command(flatten)]
    database: DatabaseOpts,
    /// Connections this instance keeps to --database-url.
    #[arg(long, env = "STRONGROOM_DATABASE_CONNECTIONS", default_value_t = 16, value_parser = within::<u32>(1..=MOST_DATABASE_CONNECTIONS))]
    database_connections: u32,
    /// NATS server through which instances on one --database-url wake each
    /// other's event streams (nats://HOST:PORT); without it a stream sees
    /// events committed on other instances only at its next reconnect.
    #[arg(long, env = "STRONGROOM_NATS_URL", requires = "database")]
    nats_url: Option<String>,
    /// Offer sign-in through this OpenID Connect provider (its issuer URL;
    /// the discovery document is read at start). Needs --public-url: the
    /// redirect URI is PUBLIC_URL/v1/oidc/callback.
    #[arg(
        long,
        env = "STRONGROOM_OIDC_ISSUER",
        requires_all = ["oidc_client_id", "oidc_client_secret_file", "public_url"]
    )]
    oidc_issuer: Option<String>,
    /// This server's client id at the provider.
    #[arg(long, env = "STRONGROOM_OIDC_CLIENT_ID", requires = "oidc_issuer")]
    oidc_client_id: Option<String>,
    /// A file holding the client secret (private, or a mounted secret).
    #[arg(
        long,
        env = "STRONGROOM_OIDC_CLIENT_SECRET_FILE",
        requires = "oidc_issuer"
    )]
    oidc_client_secret_file: Option<PathBuf>,
    /// The name the sign-in button shows.
    #[arg(long, env = "STRONGROOM_OIDC_NAME", default_value = "single sign-on")]
    oidc_name: String,
    /// The scopes to ask for, space-separated (openid is always asked).
    #[arg(
        long,
        env = "STRONGROOM_OIDC_SCOPES",
        default_value = "openid email profile"
    )]
    oidc_scopes: String,
    /// Read the provider's discovery document at the first sign-in rather
    /// than at start (a provider that is down does not stop the server).
    #[arg(long, env = "STRONGROOM_OIDC_LAZY")]
    oidc_lazy: bool,
    /// Meter actions in credits: every account is granted
    /// --credits-initial once, and actions cost their --credit-cost.
    #[arg(long, env = "STRONGROOM_CREDITS")]
    credits: bool,
    /// Credits granted to each account once (when it is created, or when
    /// --credits is first turned on).
    #[arg(long, env = "STRONGROOM_CREDITS_INITIAL", default_value_t = DEFAULT_INITIAL_CREDITS)]
    credits_initial: u64,
    /// The price of an action, ACTION=N (repeatable): file-upload (10),
    /// share (5), file-download (2), service-call (3, any request with a
    /// service account's API key), store, send, broadcast (0). Reads and
    /// lists are free.
    #[arg(
        long = "credit-cost",
        env = "STRONGROOM_CREDIT_COST",
        value_delimiter = ',',
        value_parser = parse_credit_cost
    )]
    credit_cost: Vec<(Chargeable, u64)>,
    /// A charge taking the balance below this sends a `credits` event on
    /// the account's stream (once per crossing).
    #[arg(long, env = "STRONGROOM_CREDITS_LOW", default_value_t = DEFAULT_LOW_CREDITS)]
    credits_low: u64,
    /// A file holding the Stripe webhook endpoint's signing secret
    /// (`whsec_…`): POST /v1/billing/stripe then credits paid Checkout
    /// Sessions. Needs --credits.
    #[arg(
        long,
        env = "STRONGROOM_STRIPE_WEBHOOK_SECRET_FILE",
        requires = "credits"
    )]
    stripe_webhook_secret_file: Option<PathBuf>,
    /// Credits per unit of a Stripe price, PRICE_ID=CREDITS (repeatable),
    /// for sessions whose line items are given rather than
    /// metadata.credits.
    #[arg(
        long = "stripe-price",
        env = "STRONGROOM_STRIPE_PRICE",
        value_delimiter = ',',
        value_parser = parse_stripe_price,
        requires = "stripe_webhook_secret_file"
    )]
    stripe_price: Vec<(String, u64)>,
}

/// `ACTION=N`, an action the price list knows.
fn parse_credit_cost(text: &str) -> Result<(Chargeable, u64), String> {
    let names = || Chargeable::ALL.map(Chargeable::as_str).join(", ");
    let (name, price) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not ACTION=N (actions: {})", names()))?;
    let action = Chargeable::from_name(name.trim())
        .ok_or_else(|| format!("unknown action {name:?}: valid actions are {}", names()))?;
    let price = price
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|p| *p <= 1_000_000_000)
        .ok_or_else(|| format!("the price in {text:?} must be a whole number 0 to 1000000000"))?;
    Ok((action, price))
}

/// `PRICE_ID=CREDITS`.
fn parse_stripe_price(text: &str) -> Result<(String, u64), String> {
    let (id, credits) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not PRICE_ID=CREDITS"))?;
    let credits = credits
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|c| (1..=1_000_000_000).contains(c))
        .ok_or_else(|| format!("the credits in {text:?} must be 1 to 1000000000"))?;
    let id = id.trim();
    if id.is_empty() {
        return Err(format!("{text:?} names no price"));
    }
    Ok((id.to_owned(), credits))
}

/// `text` as an http:// or https:// URL with a host and without user info
/// or a fragment, or `None`. (`Uri` drops a fragment and keeps user info in
/// the authority: both would end up in whatever is built on the URL.)
fn web_url(text: &str) -> Option<poem::http::Uri> {
    let uri: poem::http::Uri = text.parse().ok()?;
    let web = matches!(uri.scheme_str(), Some("http" | "https"));
    let user_info = uri.authority()?.as_str().contains('@');
    (web && !user_info && !text.contains('#')).then_some(uri)
}

/// An absolute http(s) URL without user info, query or fragment: the base
/// every share link extends.
fn parse_public_url(text: &str) -> Result<String, String> {
    match web_url(text) {
        Some(uri) if uri.query().is_none() => Ok(text.trim_end_matches('/').to_owned()),
        _ => Err(format!(
            "{text:?} must be an absolute http:// or https:// URL without user info, a query or a fragment"
        )),
    }
}

/// An address to listen on: an IP address and a port. A host name is not
/// resolved (`localhost` may be either loopback), and the error says what
/// to write instead of clap's "invalid socket address syntax".
fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    text.trim().parse().map_err(|_| {
        format!(
            "{text:?} is not an IP address and a port (e.g. 127.0.0.1:8080, 0.0.0.0:8080 or [::]:8080)"
        )
    })
}

/// A trusted proxy: a CIDR range, or one address (its own range). Spaces
/// around it are dropped (`10.0.0.0/8, 10.1.0.1` in the variable).
fn parse_trusted_proxy(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| {
            format!("{text:?} is not an address or a CIDR range (e.g. 10.0.0.1 or 10.0.0.0/8)")
        })
}

/// A browser origin as browsers send it in `Origin` (scheme and host in
/// lower case, no default port, nothing after): the CORS layer compares
/// the two as text, so `https://App.example.com/` is taken as
/// `https://app.example.com`. `*` and `null` are refused: every origin
/// is not an origin, and `null` is what any sandboxed page sends.
fn parse_cors_origin(text: &str) -> Result<String, String> {
    let text = text.trim();
    let refused = || {
        format!(
            "{text:?} must be an origin: http:// or https://, a host and an optional port, \
             nothing after (e.g. https://app.example.com)"
        )
    };
    match web_url(text) {
        Some(uri) if matches!(uri.path(), "" | "/") && uri.query().is_none() => {
            strongroom_facade::origin_of(text).ok_or_else(refused)
        }
        _ => Err(refused()),
    }
}

impl ServeArgs {
    pub(crate) fn config(self, matches: &ArgMatches, format: LogFormat) -> ServeConfig {
        let master_key = key_source(self.master_key_file, matches.subcommand_matches("serve"));
        let tls = match (self.tls_cert, self.tls_key, self.tls_self_signed) {
            (Some(cert), Some(key), _) => Some(TlsSource::Files { cert, key }),
            (_, _, true) => Some(TlsSource::SelfSigned),
            _ => None,
        };
        ServeConfig {
            listen: self.listen,
            data_dir: self.data_dir,
            master_key,
            reap_interval: Duration::from_secs(self.reap_interval),
            shutdown_grace: Duration::from_secs(self.shutdown_grace),
            tls,
            api: ApiConfig {
                body_timeout: Duration::from_secs(self.body_timeout),
                streams_per_user: self.max_streams_per_user,
                cors_origins: self.cors_origins,
                trusted_proxies: self.trusted_proxies,
                public_url: self.public_url,
                anonymous_shares: self.anonymous_shares,
                open_registration: self.registration == Registration::Open,
                broadcast: BroadcastCaps {
                    max_len: self.broadcast_max_bytes,
                    max_ttl: Duration::from_secs(self.broadcast_max_ttl.max(1)),
                    per_minute: self.broadcasts_per_minute,
                },
                ..ApiConfig::default()
            },
            timeouts: Timeouts {
                header: Duration::from_secs(self.header_timeout),
                max_streams: self.max_streams_per_connection,
                idle: Duration::from_secs(self.idle_timeout),
            },
            max_connections: self.max_connections,
            max_connections_per_address: self.max_connections_per_address,
            metrics_listen: self.metrics_listen,
            allow_insecure_permissions: self.allow_insecure_permissions,
            backup_dir: self.backup_dir,
            default_quota: Quota {
                max_bytes: self.quota_bytes,
                max_records: self.quota_messages,
                writes_per_minute: self.quota_writes_per_minute,
            },
            audit_retention: Duration::from_secs(self.audit_retention_days * 24 * 3600),
            max_file_bytes: self.max_file_bytes,
            cache_bytes: self.cache_mib << 20,
            database: self.database.shared(self.database_connections),
            nats_url: self.nats_url,
            json_output: format == LogFormat::Json,
            credits: {
                let mut prices = PriceList::default();
                for (action, price) in self.credit_cost {
                    prices.set(action, price);
                }
                CreditsConfig {
                    enabled: self.credits,
                    initial: self.credits_initial,
                    prices,
                    low: self.credits_low,
                }
            },
            stripe: self
                .stripe_webhook_secret_file
                .map(|secret_file| StripeSettings {
                    secret_file,
                    prices: self.stripe_price.into_iter().collect(),
                }),
            oidc: match (
                self.oidc_issuer,
                self.oidc_client_id,
                self.oidc_client_secret_file,
            ) {
                (Some(issuer), Some(client_id), Some(client_secret_file)) => Some(OidcSettings {
                    issuer,
                    client_id,
                    client_secret_file,
                    name: self.oidc_name,
                    scopes: self
                        .oidc_scopes
                        .split_whitespace()
                        .map(str::to_owned)
                        .collect(),
                    lazy: self.oidc_lazy,
                }),
                _ => None,
            },
        }
    }
}

/// Which store: the same options (and variables) as `serve`.
#[derive(clap::Args)]
pub(crate) struct StoreOpts {
    /// Directory holding the database (and the key file, if generated).
    #[arg(long, env = "STRONGROOM_DATA_DIR", default_value = "./strongroom-data")]
    data_dir: PathBuf,
    /// File holding the base64 master key [default: STRONGROOM_MASTER_KEY,
    /// else DATA_DIR/master.key].
    #[arg(long, env = "STRONGROOM_MASTER_KEY_FILE")]
    master_key_file: Option<PathBuf>,
    /// Use a data dir, database or key file that other users can read.
    #[arg(long, env = "STRONGROOM_ALLOW_INSECURE_PERMISSIONS")]
    allow_insecure_permissions: bool,
    #[command(flatten)]
    database: DatabaseOpts,
}

/// A store kept in PostgreSQL, for `serve` and the operator commands.
#[derive(clap::Args)]
pub(crate) struct DatabaseOpts {
    /// Keep the store in this PostgreSQL database instead of DATA_DIR's
    /// embedded file, so several instances serve one store
    /// (postgres://USER:PASSWORD@HOST:PORT/DB or libpq's key=value form;
    /// TLS as its sslmode and sslrootcert say). Every instance, and every
    /// command on it, needs the master key given (--master-key-file or
    /// STRONGROOM_MASTER_KEY).
    #[arg(
        long,
        env = "STRONGROOM_DATABASE_URL",
        hide_env_values = true,
        group = "database"
    )]
    database_url: Option<String>,
    /// Read --database-url from this file instead (a mounted secret, say:
    /// the URL holds the database password).
    #[arg(long, env = "STRONGROOM_DATABASE_URL_FILE", group = "database")]
    database_url_file: Option<PathBuf>,
}

impl DatabaseOpts {
    /// The database named, kept with `connections` connections.
    fn shared(self, connections: u32) -> Option<SharedDatabase> {
        shared_database(self.database_url, self.database_url_file, connections)
    }
}

/// The two stores of `migrate`: from, then to. Each is a data dir or a
/// PostgreSQL database; the master key is the same for both.
pub(crate) fn migrate_stores(
    from: (Option<PathBuf>, Option<String>, Option<PathBuf>),
    to: (Option<PathBuf>, Option<String>, Option<PathBuf>),
    master_key_file: Option<PathBuf>,
    allow_insecure_permissions: bool,
    matches: Option<&ArgMatches>,
) -> (StoreArgs, StoreArgs) {
    let key = key_source(master_key_file, matches);
    let store = |(dir, url, file): (Option<PathBuf>, Option<String>, Option<PathBuf>)| StoreArgs {
        key: key.clone(),
        data_dir: dir.unwrap_or_else(|| PathBuf::from(".")),
        allow_insecure_permissions,
        database: shared_database(url, file, 4),
    };
    (store(from), store(to))
}

/// The PostgreSQL database a URL or URL file names, if any.
fn shared_database(
    url: Option<String>,
    file: Option<PathBuf>,
    connections: u32,
) -> Option<SharedDatabase> {
    url.map(|url| DatabaseUrl::Given(SecretString::from(url)))
        .or(file.map(DatabaseUrl::File))
        .map(|url| SharedDatabase {
            url,
            connections: connections.max(1),
        })
}

/// A key file named on the command line beats `STRONGROOM_MASTER_KEY`,
/// which beats one named in `STRONGROOM_MASTER_KEY_FILE`.
pub(crate) fn key_source(file: Option<PathBuf>, matches: Option<&ArgMatches>) -> KeySource {
    let from_cli = matches
        .and_then(|m| m.value_source("master_key_file"))
        .is_some_and(|s| s == ValueSource::CommandLine);
    let env_key = std::env::var_os(MASTER_KEY_ENV).is_some();
    match file {
        Some(path) if from_cli => KeySource::File(path),
        _ if env_key => KeySource::Env,
        Some(path) => KeySource::File(path),
        None => KeySource::DataDir,
    }
}

impl StoreOpts {
    pub(crate) fn resolve(self, matches: Option<&ArgMatches>) -> StoreArgs {
        StoreArgs {
            key: key_source(self.master_key_file, matches),
            data_dir: self.data_dir,
            allow_insecure_permissions: self.allow_insecure_permissions,
            database: self.database.shared(4),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_cors_origin, parse_listen, parse_public_url, parse_trusted_proxy};

    #[test]
    fn a_listen_address_that_is_not_one_says_what_to_write() {
        assert_eq!(
            parse_listen("[::]:8080").map(|a| a.to_string()).as_deref(),
            Ok("[::]:8080")
        );
        for refused in ["localhost:8080", ":8080", "0.0.0.0:99999", "8080"] {
            let error = parse_listen(refused).expect_err(refused);
            assert!(error.contains("e.g. 127.0.0.1:8080"), "{error}");
        }
    }

    #[test]
    fn a_trusted_proxy_is_a_range_or_one_address() {
        // A bare address was refused as "invalid IP address syntax", and
        // so was every entry after ", " in STRONGROOM_TRUSTED_PROXIES.
        for (given, taken) in [
            ("10.0.0.0/8", "10.0.0.0/8"),
            ("10.0.0.1", "10.0.0.1/32"),
            (" 192.168.0.0/16", "192.168.0.0/16"),
            ("fd00::1", "fd00::1/128"),
            ("2001:db8::/32", "2001:db8::/32"),
        ] {
            let proxy = parse_trusted_proxy(given).map(|net| net.to_string());
            assert_eq!(proxy.as_deref(), Ok(taken), "{given}");
        }
        for refused in ["proxy.example.com", "10.0.0.0/33", "*"] {
            let error = parse_trusted_proxy(refused).expect_err(refused);
            assert!(error.contains("not an address or a CIDR range"), "{error}");
        }
        assert_eq!(
            parse_cors_origin(" https://app.example.com").as_deref(),
            Ok("https://app.example.com")
        );
    }

    #[test]
    fn a_cors_origin_is_taken_as_browsers_send_it() {
        // The CORS layer compares origins as text: a trailing slash or a
        // capital letter would never match, and nothing said so.
        for (given, taken) in [
            ("https://app.example.com", "https://app.example.com"),
            ("https://app.example.com/", "https://app.example.com"),
            ("HTTPS://App.Example.COM", "https://app.example.com"),
            ("https://app.example.com:443", "https://app.example.com"),
            ("http://localhost:5173", "http://localhost:5173"),
            ("http://[::1]:8080", "http://[::1]:8080"),
        ] {
            assert_eq!(parse_cors_origin(given).as_deref(), Ok(taken), "{given}");
        }
        for refused in [
            "*",
            "null",
            "app.example.com",
            "https://app.example.com/path",
            "https://app.example.com/?a=1",
            "https://app.example.com#top",
            "https://user@app.example.com",
            "ftp://app.example.com",
        ] {
            let error = parse_cors_origin(refused).expect_err(refused);
            assert!(error.contains("must be an origin"), "{error}");
        }
    }

    #[test]
    fn a_public_url_is_a_base_that_links_can_extend() {
        assert_eq!(
            parse_public_url("https://vault.example.com/").as_deref(),
            Ok("https://vault.example.com")
        );
        assert_eq!(
            parse_public_url("https://example.com/vault").as_deref(),
            Ok("https://example.com/vault")
        );
        // A share link is this base and `/s/<token>`: behind a fragment the
        // token would never reach the server, and user info would put a
        // password into every link handed out.
        for refused in [
            "https://vault.example.com#top",
            "https://user:password@vault.example.com",
            "https://user@vault.example.com",
            "https://vault.example.com/?a=1",
            "ftp://vault.example.com",
            "vault.example.com",
        ] {
            let error = parse_public_url(refused).expect_err(refused);
            assert!(
                error.contains("without user info, a query or a fragment"),
                "{error}"
            );
        }
    }
}
