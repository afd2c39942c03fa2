//! Prometheus metrics on their own listener: the `metrics` facade records
//! (requests, streams, commits, reaper, logins, rate limits, connections),
//! `metrics-exporter-prometheus` renders; the database file size is read
//! at each scrape.

use std::path::PathBuf;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use poem::listener::TcpAcceptor;
use poem::{EndpointExt, Route, Server, get, handler, web::Data};
use tokio_util::sync::CancellationToken;

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
}

#[derive(Clone)]
struct Scrape {
    handle: PrometheusHandle,
    database: PathBuf,
}

#[handler]
fn render(Data(scrape): Data<&Scrape>) -> String {
    if let Ok(meta) = std::fs::metadata(&scrape.database) {
        metrics::gauge!("strongroom_database_bytes").set(meta.len() as f64);
    }
    scrape.handle.render()
}

/// Serves `GET /metrics` on `listener` until `stop`.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    handle: PrometheusHandle,
    database: PathBuf,
    stop: CancellationToken,
) {
    let app = Route::new()
        .at("/metrics", get(render))
        .data(Scrape { handle, database });
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
