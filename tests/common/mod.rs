//! A real server on an ephemeral loopback port, with a manual clock.
#![allow(dead_code, unreachable_pub)]

pub mod binary;
pub mod browser;
pub mod nats;
pub mod sse;

use std::sync::Arc;
use std::time::Duration;

use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{Endpoint, Route, Server};
use serde_json::{Value, json};
use std::net::SocketAddr;
use strongroom::engine::{Engine, ManualClock, MasterKey, SecretString, Timestamp};
use strongroom::facade::{ApiConfig, api};

pub const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
pub const PASSWORD: &str = "correct horse battery";

pub struct TestServer {
    pub base: String,
    pub clock: ManualClock,
    pub engine: Engine,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn start() -> TestServer {
    start_with(ApiConfig::default(), "").await
}

/// A fresh engine on a temporary file, with a manual clock.
pub fn engine() -> (tempfile::TempDir, ManualClock, Engine) {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::new(Timestamp::from_unix_millis(1_700_000_000_000));
    let engine = Engine::builder(MasterKey::from_base64(&SecretString::from(KEY)).expect("key"))
        .clock(Arc::new(clock.clone()))
        .open(dir.path().join("db.redb"))
        .expect("engine");
    (dir, clock, engine)
}

/// Serves `app` on an ephemeral loopback port.
pub async fn serve(app: impl Endpoint + 'static) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let acceptor = TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .expect("bind");
    let addr = acceptor.local_addr()[0]
        .as_socket_addr()
        .copied()
        .expect("tcp address");
    let task = tokio::spawn(async move {
        let _ = Server::new_with_acceptor(acceptor).run(app).await;
    });
    (addr, task)
}

/// Starts the API nested under `prefix` ("" for the root).
pub async fn start_with(config: ApiConfig, prefix: &str) -> TestServer {
    let (dir, clock, engine) = engine();
    let app = Route::new().nest(
        if prefix.is_empty() { "/" } else { prefix },
        api(engine.clone(), config),
    );
    let (addr, task) = serve(app).await;
    TestServer {
        base: format!("http://{addr}{prefix}"),
        clock,
        engine,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client"),
        _dir: dir,
        task,
    }
}

/// A response's status and JSON body (`Null` when empty), plus content type.
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Value,
    pub retry_after: Option<String>,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let header = |name: &str| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header("content-type").unwrap_or_default();
        let retry_after = header("retry-after");
        let text = res.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply {
            status,
            content_type,
            body,
            retry_after,
        }
    }

    pub async fn post(&self, path: &str, body: Value, token: Option<&str>) -> Reply {
        let mut req = self.http.post(self.url(path)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.send(self.http.get(self.url(path)).bearer_auth(token))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.send(self.http.delete(self.url(path)).bearer_auth(token))
            .await
    }

    /// Registers `name` and logs in; returns (access, refresh) tokens.
    pub async fn account(&self, name: &str) -> (String, String) {
        let r = self
            .post(
                "/v1/accounts",
                json!({"username": name, "password": PASSWORD}),
                None,
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let r = self
            .post(
                "/v1/sessions",
                json!({"username": name, "password": PASSWORD}),
                None,
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let access = r.body["access_token"].as_str().expect("access").to_owned();
        let refresh = r.body["refresh_token"]
            .as_str()
            .expect("refresh")
            .to_owned();
        (access, refresh)
    }

    /// Makes `name` an admin (broadcasting needs it). Do it before opening
    /// their streams: a role change ends them.
    pub fn promote(&self, name: &str) {
        let id = self.engine.user_id(name).expect("lookup").expect("user");
        self.engine
            .set_role(id, strongroom::engine::Role::Admin)
            .expect("promoted");
    }

    pub fn advance(&self, d: Duration) {
        self.clock.advance(d);
    }

    pub fn clock_now(&self) -> Timestamp {
        strongroom::engine::Clock::now(&self.clock)
    }

    /// `method` on `path` with an optional bearer token and JSON body
    /// (ignored for GET and DELETE).
    pub async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Value) -> Reply {
        let url = self.url(path);
        let mut req = match method {
            "GET" => self.http.get(url),
            "POST" => self.http.post(url).json(&body),
            "PUT" => self.http.put(url).json(&body),
            _ => self.http.delete(url),
        };
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    /// An account with `role`, logged in; returns its token and id.
    pub async fn with_role(&self, name: &str, role: strongroom::engine::Role) -> (String, String) {
        let (token, _) = self.account(name).await;
        let id = self.engine.user_id(name).expect("lookup").expect("user");
        if role != strongroom::engine::Role::User {
            self.engine.set_role(id, role).expect("role");
        }
        (token, id.to_string())
    }

    pub async fn get_anonymous(&self, path: &str) -> Reply {
        self.send(self.http.get(self.url(path))).await
    }
}

/// Asserts a problem+json answer with this status.
pub fn assert_problem(r: &Reply, status: u16) {
    assert_eq!(r.status, status, "{}", r.body);
    assert!(
        r.content_type.starts_with("application/problem+json"),
        "content type {}",
        r.content_type
    );
    assert_eq!(r.body["status"], status, "{}", r.body);
    assert!(
        r.body["type"].is_string() && r.body["title"].is_string() && r.body["detail"].is_string(),
        "{}",
        r.body
    );
}
