//! The baseline for `scripts/http_load.sh`: a bare poem server answering
//! `GET /` with "hello", on the same runtime and build as the real one.
//!
//! Run: `cargo run --release --example hello_world -- 127.0.0.1:8081`

use poem::listener::TcpListener;
use poem::{Route, Server, get, handler};

#[handler]
fn hello() -> &'static str {
    "hello"
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8081".to_owned());
    println!("hello world on http://{addr}/");
    Server::new(TcpListener::bind(addr))
        .run(Route::new().at("/", get(hello)))
        .await
}
