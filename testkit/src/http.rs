//! HTTP for tests: one client helper ([`Api`]: a base URL and a reqwest
//! client; every call answers a [`Reply`]), the problem+json check, and
//! an in-process API server ([`TestServer`]) on an ephemeral loopback port
//! over a fresh engine with a manual clock.

use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{Endpoint, Route, Server};
use serde_json::{Value, json};
use strongroom_engine::{Clock, Engine, ManualClock, Role, Timestamp};
use strongroom_facade::{ApiConfig, api};

use crate::{KEY_A, PASSWORD, clock, master};

/// A response's status, content type, `Retry-After` and JSON body (`Null`
/// when empty; a JSON string holding the text when it is not JSON).
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The `Content-Type` header (empty when absent).
    pub content_type: String,
    /// The body.
    pub body: Value,
    /// The `Retry-After` header, if any.
    pub retry_after: Option<String>,
}

impl Reply {
    /// The status and the body.
    pub fn parts(self) -> (u16, Value) {
        (self.status, self.body)
    }
}

/// A client of one server: its base URL (with any prefix the API is
/// nested under) and an HTTP client.
#[derive(Clone, Debug)]
pub struct Api {
    /// `http://127.0.0.1:PORT` plus the prefix, if any.
    pub base: String,
    /// The HTTP client (30 s timeout).
    pub http: reqwest::Client,
}

impl Api {
    /// A client of the server at `base`.
    pub fn new(base: impl Into<String>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        Self::with_client(base, http)
    }

    /// A client of the server at `base` through `http`.
    pub fn with_client(base: impl Into<String>, http: reqwest::Client) -> Self {
        Self {
            base: base.into(),
            http,
        }
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends `req` and reads the whole answer.
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

    /// `method` on `path` with an optional bearer token and a JSON body
    /// (`Null`: none).
    pub async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Value) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if !body.is_null() {
            req = req.json(&body);
        }
        self.send(req).await
    }

    /// `POST path` with a JSON body and an optional bearer token.
    pub async fn post(&self, path: &str, body: Value, token: Option<&str>) -> Reply {
        self.call("POST", path, token, body).await
    }

    /// `GET path` with a bearer token.
    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call("GET", path, Some(token), Value::Null).await
    }

    /// `GET path` without credentials.
    pub async fn get_anonymous(&self, path: &str) -> Reply {
        self.call("GET", path, None, Value::Null).await
    }

    /// `DELETE path` with a bearer token.
    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.call("DELETE", path, Some(token), Value::Null).await
    }

    /// Logs `name` in; its (access, refresh) tokens.
    pub async fn login(&self, name: &str, password: &str) -> (String, String) {
        let creds = json!({"username": name, "password": password});
        let r = self.post("/v1/sessions", creds, None).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let token = |field: &str| r.body[field].as_str().expect(field).to_owned();
        (token("access_token"), token("refresh_token"))
    }

    /// Registers `name` with [`PASSWORD`] and logs in; its (access,
    /// refresh) tokens.
    pub async fn account(&self, name: &str) -> (String, String) {
        let creds = json!({"username": name, "password": PASSWORD});
        let r = self.post("/v1/accounts", creds, None).await;
        assert_eq!(r.status, 201, "{}", r.body);
        self.login(name, PASSWORD).await
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

/// The API served in-process on an ephemeral loopback port, over a fresh
/// engine (key A, a manual clock, a temporary redb file). Dereferences to
/// its [`Api`] client.
pub struct TestServer {
    /// The client of this server.
    pub api: Api,
    /// The engine's clock: move time with it.
    pub clock: ManualClock,
    /// The engine behind the API.
    pub engine: Engine,
    _dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Deref for TestServer {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    /// The API with default settings at the root.
    pub async fn start() -> Self {
        Self::start_with(ApiConfig::default(), "").await
    }

    /// The API with `config`, nested under `prefix` ("" for the root).
    pub async fn start_with(config: ApiConfig, prefix: &str) -> Self {
        Self::start_tuned(config, prefix, |_| {}).await
    }

    /// [`TestServer::start_with`] over an engine whose builder `tune` set
    /// (limits, quotas).
    pub async fn start_tuned(
        config: ApiConfig,
        prefix: &str,
        tune: impl FnOnce(&mut strongroom_engine::EngineBuilder),
    ) -> Self {
        let (dir, clock, engine) = engine_tuned(tune);
        let api = api(engine.clone(), config);
        // At the root the API is served as the binary serves it, with no
        // router of a host app in front (poem's `Route` answers some bad
        // paths itself).
        let (addr, task) = if prefix.is_empty() {
            serve(poem::IntoEndpoint::into_endpoint(api)).await
        } else {
            serve(Route::new().nest(prefix, api)).await
        };
        TestServer {
            api: Api::new(format!("http://{addr}{prefix}")),
            clock,
            engine,
            _dir: dir,
            task,
        }
    }

    /// Makes `name` an admin (broadcasting needs it). Do it before opening
    /// their streams: a role change ends them.
    pub fn promote(&self, name: &str) {
        self.set_role(name, Role::Admin);
    }

    /// Gives `name` `role`; their id.
    pub fn set_role(&self, name: &str, role: Role) -> String {
        let id = self.engine.accounts().find(name).expect("lookup");
        let id = id.expect("user");
        self.engine.admin().set_role(id, role).expect("role set");
        id.to_string()
    }

    /// An account with `role`, logged in; its access token and id.
    pub async fn with_role(&self, name: &str, role: Role) -> (String, String) {
        let (token, _) = self.account(name).await;
        let id = self.set_role(name, role);
        (token, id)
    }

    /// Moves the engine's clock forward.
    pub fn advance(&self, d: Duration) {
        self.clock.advance(d);
    }

    /// The engine's time now.
    pub fn clock_now(&self) -> Timestamp {
        self.clock.now()
    }
}

/// A fresh engine on a temporary redb file, with key A and a manual clock.
pub fn engine() -> (tempfile::TempDir, ManualClock, Engine) {
    engine_tuned(|_| {})
}

/// [`engine`], with `tune` applied to its builder.
pub fn engine_tuned(
    tune: impl FnOnce(&mut strongroom_engine::EngineBuilder),
) -> (tempfile::TempDir, ManualClock, Engine) {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = clock();
    let mut builder = Engine::builder(master(KEY_A));
    builder.clock(Arc::new(clock.clone()));
    tune(&mut builder);
    let engine = builder.open(dir.path().join("db.redb")).expect("engine");
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
