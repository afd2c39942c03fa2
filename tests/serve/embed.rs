//! The API mounts under a prefix of a host application (examples/embed.rs)
//! and both the host's route and the API answer side by side.

use crate::common;
#[path = "../../examples/embed.rs"]
mod host_app;

use serde_json::json;

#[tokio::test]
async fn host_route_and_nested_api_work_side_by_side() {
    let (_dir, _clock, engine) = common::engine();
    let (addr, server) = common::serve(host_app::host_app(engine)).await;
    let http = reqwest::Client::new();
    let base = format!("http://{addr}");

    let hello = http
        .get(format!("{base}/hello"))
        .send()
        .await
        .expect("hello");
    assert_eq!(
        hello.text().await.expect("text"),
        "hello from the host application"
    );

    let creds = json!({"username": "alice", "password": "correct horse battery"});
    let created = http
        .post(format!("{base}/vault/v1/accounts"))
        .json(&creds)
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), 201);
    let login: serde_json::Value = http
        .post(format!("{base}/vault/v1/sessions"))
        .json(&creds)
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let token = login["access_token"].as_str().expect("token");
    let stored = http
        .post(format!("{base}/vault/v1/messages"))
        .bearer_auth(token)
        .json(&json!({"message": "nested"}))
        .send()
        .await
        .expect("store");
    assert_eq!(stored.status(), 201);
    let docs = http
        .get(format!("{base}/vault/docs"))
        .send()
        .await
        .expect("docs");
    assert_eq!(docs.status(), 200);
    // The trailing-slash redirect is relative: it stays under the prefix.
    let slash = http
        .get(format!("{base}/vault/docs/"))
        .send()
        .await
        .expect("docs/");
    assert_eq!(slash.url().path(), "/vault/docs");
    assert_eq!(slash.status(), 200);
    let spec: serde_json::Value = http
        .get(format!("{base}/vault/openapi.json"))
        .send()
        .await
        .expect("spec")
        .json()
        .await
        .expect("json");
    assert_eq!(spec["servers"][0]["url"], "/vault");
    // The host's own namespace is untouched by the API's 404 handling.
    let missing = http
        .get(format!("{base}/vault/nope"))
        .send()
        .await
        .expect("missing");
    assert_eq!(missing.status(), 404);
    server.abort();
}
