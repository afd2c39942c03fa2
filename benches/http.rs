//! Criterion benchmarks through HTTP: store and get one message through an
//! in-process server on a loopback port (client and server in one process).
//!
//! Run: `cargo bench --bench http`

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{Route, Server};
use serde_json::{Value, json};
use strongroom::engine::{Engine, MasterKey, SecretString};
use strongroom::facade::{ApiConfig, api};

fn http(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let (base, token) = rt.block_on(async {
        let master = MasterKey::from_base64(&SecretString::from(
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        ))
        .expect("key");
        let engine = Engine::builder()
            .master_key(master)
            .open(dir.path().join("db.redb"))
            .expect("engine");
        let acceptor = TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .expect("bind");
        let addr = acceptor.local_addr()[0]
            .as_socket_addr()
            .copied()
            .expect("tcp");
        let app = Route::new().nest("/", api(engine, ApiConfig::default()));
        tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
        let base = format!("http://{addr}");
        let client = reqwest::Client::new();
        let creds = json!({"username": "bench", "password": "benchmark password"});
        client
            .post(format!("{base}/v1/accounts"))
            .json(&creds)
            .send()
            .await
            .expect("account");
        let tokens: Value = client
            .post(format!("{base}/v1/sessions"))
            .json(&creds)
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("json");
        (
            base,
            tokens["access_token"].as_str().expect("token").to_owned(),
        )
    });
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
