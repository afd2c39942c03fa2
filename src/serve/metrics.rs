//! Prometheus metrics on their own listener: the `metrics` facade records
//! (requests, streams, events, commits, reaper, logins, rate limits,
//! connections), `metrics-exporter-prometheus` renders. Read at each
//! scrape: the process (resident memory, CPU time, open files, from
//! `/proc/self`), the database file's size, the audit log's length and
//! the reaper's backlog. Every family is present from the start (at zero),
//! so dashboards and alerts see it before the first event.

use std::path::PathBuf;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use poem::listener::TcpAcceptor;
use poem::{EndpointExt, Route, Server, get, handler, web::Data};
use strongroom_engine::Engine;
use tokio_util::sync::CancellationToken;

/// The counters every scrape shows, by their label values, at zero until
/// something happens.
const COUNTERS: &[(&str, &[(&str, &str)])] = &[
    ("strongroom_connections_refused_total", &[]),
    ("strongroom_connections_idle_closed_total", &[]),
    ("strongroom_events_delivered_total", &[]),
    ("strongroom_stream_slow_drops_total", &[]),
    ("strongroom_login_failures_total", &[]),
    ("strongroom_logins_total", &[("outcome", "success")]),
    ("strongroom_logins_total", &[("outcome", "failure")]),
    ("strongroom_logins_total", &[("outcome", "throttled")]),
    ("strongroom_logins_total", &[("outcome", "disabled")]),
    ("strongroom_rate_limited_total", &[("route", "login")]),
    ("strongroom_rate_limited_total", &[("route", "accounts")]),
    ("strongroom_rate_limited_total", &[("route", "refresh")]),
    ("strongroom_rate_limited_total", &[("route", "shares")]),
    (
        "strongroom_rate_limited_total",
        &[("route", "share_passphrase")],
    ),
    ("strongroom_rate_limited_total", &[("route", "writes")]),
    ("strongroom_reaper_purged_total", &[("kind", "records")]),
    ("strongroom_reaper_purged_total", &[("kind", "tokens")]),
    ("strongroom_reaper_purged_total", &[("kind", "shares")]),
    ("strongroom_reaper_purged_total", &[("kind", "audit")]),
];

/// Installs the global recorder; `None` if one is installed already.
pub(crate) fn install() -> Result<PrometheusHandle, String> {
    let latency = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    ];
    let batch = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("seconds".into()), &latency)
        .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("records".into()), &batch))
        .map_err(|e| e.to_string())?
        .install_recorder()
        .map_err(|e| e.to_string())
        .inspect(|_| {
            for (name, labels) in COUNTERS {
                let labels: Vec<metrics::Label> = labels
                    .iter()
                    .map(|(k, v)| metrics::Label::new(*k, *v))
                    .collect();
                metrics::counter!(*name, labels).increment(0);
            }
            metrics::gauge!("strongroom_streams_open").increment(0.0);
            metrics::gauge!("strongroom_connections_open").increment(0.0);
        })
}

#[derive(Clone)]
struct Scrape {
    handle: PrometheusHandle,
    database: PathBuf,
    engine: Engine,
}

/// The reaper's backlog is counted up to this many of each kind.
const BACKLOG_CAP: usize = 100_000;

#[handler]
async fn render(Data(scrape): Data<&Scrape>) -> String {
    if let Ok(meta) = std::fs::metadata(&scrape.database) {
        metrics::gauge!("strongroom_database_bytes").set(meta.len() as f64);
    }
    process();
    // Reads of the store: off the async workers (PostgreSQL waits).
    let engine = scrape.engine.clone();
    let read = tokio::task::spawn_blocking(move || {
        let now = engine.clock().now();
        let backlog = engine.maintenance().expired_backlog(now, BACKLOG_CAP);
        let head = engine.audit().checkpoint().map(|c| c.seq);
        (backlog, head)
    })
    .await;
    if let Ok((backlog, head)) = read {
        if let Ok(backlog) = backlog {
            metrics::gauge!("strongroom_reaper_backlog").set(backlog as f64);
        }
        if let Ok(head) = head {
            metrics::gauge!("strongroom_audit_entries").set(head as f64);
        }
    }
    scrape.handle.render()
}

/// The process's own figures, from `/proc/self` (Linux), under the names
/// Prometheus client libraries use.
fn process() {
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        let kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok());
        if let Some(kib) = kib {
            metrics::gauge!("process_resident_memory_bytes").set(kib * 1024.0);
        }
    }
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
        // After the command name (which may hold spaces and parentheses):
        // utime and stime are the 12th and 13th fields, in clock ticks of
        // 1/100 s (Linux's USER_HZ).
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks = |n: usize| fields.get(n).and_then(|f| f.parse::<u64>().ok());
        if let (Some(user), Some(system)) = (ticks(11), ticks(12)) {
            let seconds = (user + system) as f64 / 100.0;
            metrics::gauge!("process_cpu_seconds_total").set(seconds);
        }
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        metrics::gauge!("process_open_fds").set(fds.count() as f64);
    }
    if let Ok((soft, _)) = rlimit::getrlimit(rlimit::Resource::NOFILE) {
        metrics::gauge!("process_max_fds").set(soft as f64);
    }
}

/// Serves `GET /metrics` on `listener` until `stop`.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    handle: PrometheusHandle,
    database: PathBuf,
    engine: Engine,
    stop: CancellationToken,
) {
    let app = Route::new().at("/metrics", get(render)).data(Scrape {
        handle,
        database,
        engine,
    });
    let acceptor = match TcpAcceptor::from_tokio(listener) {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "metrics listener failed");
            return;
        }
    };
    let result = Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(app, stop.cancelled_owned(), None)
        .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "metrics listener failed");
    }
}
