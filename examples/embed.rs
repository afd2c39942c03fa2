//! Mounts the Strongroom API under `/vault` inside a host poem application
//! that has a route of its own.
//!
//! Run: `cargo run --example embed`, then open http://127.0.0.1:8081/vault/docs
//! and http://127.0.0.1:8081/hello.

use poem::listener::TcpListener;
use poem::{Endpoint, Route, Server, get, handler};
use strongroom::engine::Engine;
use strongroom::facade::{ApiConfig, api};

#[handler]
fn hello() -> &'static str {
    "hello from the host application"
}

/// The host application: its own `/hello`, and Strongroom under `/vault`.
pub(crate) fn host_app(engine: Engine) -> impl Endpoint {
    let config = ApiConfig {
        server_url: Some("/vault".to_owned()),
        ..ApiConfig::default()
    };
    Route::new()
        .at("/hello", get(hello))
        .nest("/vault", api(engine, config))
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::Path::new("./strongroom-embed-data");
    std::fs::create_dir_all(dir)?;
    let (master, _) = strongroom::datadir::keyfile::load_or_create(&dir.join("master.key"))?;
    let engine = Engine::builder(master).open(dir.join("strongroom.redb"))?;
    println!(
        "host app on http://127.0.0.1:8081/hello, Strongroom at http://127.0.0.1:8081/vault/docs"
    );
    Server::new(TcpListener::bind("127.0.0.1:8081"))
        .run(host_app(engine))
        .await?;
    Ok(())
}
