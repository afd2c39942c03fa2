//! Criterion benchmarks through HTTP: store and get one message through an
//! in-process server on a loopback port (client and server in one process).
//!
//! Run: `cargo bench --bench http`

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};

use strongroom_testkit::http::TestServer;

fn http(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // The end-to-end tests' server: a real engine on a temporary file, the
    // API on an ephemeral loopback port.
    let (server, token) = rt.block_on(async {
        let server = TestServer::start().await;
        let (token, _) = server.account("bench").await;
        (server, token)
    });
    let base = server.base.clone();
    let client = reqwest::Client::new();
    let body = json!({"message": "x".repeat(1024), "ttl_seconds": 3600});
    let store = || async {
        let r = client
            .post(format!("{base}/v1/messages"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .expect("store");
        assert_eq!(r.status(), 201);
        r.json::<Value>().await.expect("json")
    };
    let id = rt.block_on(store())["id"].as_str().expect("id").to_owned();

    let mut group = c.benchmark_group("http_1k");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("store", |b| b.to_async(&rt).iter(store));
    group.bench_function("get", |b| {
        b.to_async(&rt).iter(|| async {
            let r = client
                .get(format!("{base}/v1/messages/{id}"))
                .bearer_auth(&token)
                .send()
                .await
                .expect("get");
            assert_eq!(r.status(), 200);
            r.bytes().await.expect("body")
        })
    });
    group.finish();
}

criterion_group!(benches, http);
criterion_main!(benches);
