//! Prometheus metrics on their own listener (`--metrics-listen`), scraped
//! and parsed after real traffic: requests by route and status with
//! latency, open streams, events fanned out, group-commit batches and
//! latency, logins failed, rate-limit rejections, the database size; and
//! `/readyz` beside `/healthz`.
#![cfg(unix)]

use crate::common;

use std::collections::HashMap;
use std::time::Duration;

use common::binary::Binary;
use common::sse::SseStream;
use prometheus_parse::{Sample, Scrape, Value};
use serde_json::json;

fn value(sample: &Sample) -> f64 {
    match &sample.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
        Value::Histogram(buckets) => buckets.last().map_or(0.0, |b| b.count),
        Value::Summary(_) => 0.0,
    }
}

/// The sum of a metric's samples whose labels include `labels`.
fn total(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let matching: Vec<&Sample> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .collect();
    (!matching.is_empty()).then(|| matching.iter().map(|s| value(s)).sum())
}

#[tokio::test]
async fn metrics_are_scraped_and_parsed_after_real_traffic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Binary::start(
        &dir.path().join("d"),
        &["--metrics-listen", "127.0.0.1:0"],
        &[],
    );
    let metrics_url = server
        .stdout()
        .lines()
        .find_map(|l| l.strip_prefix("Metrics: ").map(str::to_owned))
        .expect("metrics address printed");
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(server.url("/readyz"))
            .send()
            .await
            .expect("readyz")
            .status(),
        200
    );
    let token = server.api.account("alice").await.0;
    let token = token.as_str();
    let wrong = json!({"username": "alice", "password": "wrong password here"});
    for _ in 0..11 {
        http.post(server.url("/v1/sessions"))
            .json(&wrong)
            .send()
            .await
            .expect("login");
    }
    let mut stream = SseStream::open(&server.url("/v1/events"), token, None).await;
    for i in 0..3 {
        let r = http
            .post(server.url("/v1/messages"))
            .bearer_auth(token)
            .json(&json!({"message": format!("m{i}")}))
            .send()
            .await
            .expect("store");
        assert_eq!(r.status(), 201);
        stream.expect(Duration::from_secs(10)).await;
    }

    let text = http
        .get(&metrics_url)
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("text");
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text");
    let names: HashMap<&str, usize> = scrape.samples.iter().fold(HashMap::new(), |mut m, s| {
        *m.entry(s.metric.as_str()).or_default() += 1;
        m
    });
    let get = |name: &str, labels: &[(&str, &str)]| {
        total(&scrape, name, labels)
            .unwrap_or_else(|| panic!("no {name} {labels:?} in:\n{names:?}"))
    };
    assert_eq!(
        get(
            "strongroom_http_requests_total",
            &[
                ("route", "/v1/messages"),
                ("method", "POST"),
                ("status", "201")
            ]
        ),
        3.0
    );
    assert!(
        get(
            "strongroom_http_request_duration_seconds_count",
            &[("route", "/v1/messages")]
        ) >= 3.0
    );
    assert_eq!(get("strongroom_streams_open", &[]), 1.0);
    assert_eq!(get("strongroom_events_delivered_total", &[]), 3.0);
    assert!(get("strongroom_commit_batch_records_count", &[]) >= 3.0);
    assert!(get("strongroom_commit_seconds_count", &[]) >= 3.0);
    // The address's budget of 10 covers the sign-up, the login and 8 of
    // the 11 wrong passwords; the last 3 are throttled before hashing.
    assert_eq!(get("strongroom_login_failures_total", &[]), 8.0);
    assert_eq!(
        get("strongroom_rate_limited_total", &[("route", "login")]),
        3.0
    );
    assert!(get("strongroom_database_bytes", &[]) > 0.0);
    assert!(get("strongroom_connections_open", &[]) >= 1.0);
    // What operators graph beyond the request counters.
    assert_eq!(
        get("strongroom_logins_total", &[("outcome", "success")]),
        1.0
    );
    assert_eq!(
        get("strongroom_logins_total", &[("outcome", "failure")]),
        8.0
    );
    assert_eq!(
        get("strongroom_logins_total", &[("outcome", "throttled")]),
        3.0
    );
    assert_eq!(get("strongroom_stream_slow_drops_total", &[]), 0.0);
    assert_eq!(
        get("strongroom_rate_limited_total", &[("route", "writes")]),
        0.0
    );
    assert!(
        get("strongroom_audit_entries", &[]) >= 5.0,
        "sign-up, logins, writes"
    );
    assert_eq!(get("strongroom_reaper_backlog", &[]), 0.0);
    assert!(get("process_resident_memory_bytes", &[]) > 1e6);
    assert!(get("process_cpu_seconds_total", &[]) > 0.0);
    assert!(get("process_open_fds", &[]) >= 3.0);
    assert!(get("process_max_fds", &[]) >= get("process_open_fds", &[]));
    drop(stream);
    assert!(server.stop().status.success());
}
