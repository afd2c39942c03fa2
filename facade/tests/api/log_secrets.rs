//! The log output of a full flow names events, users and ids, but never a
//! password, token, key or message plaintext.

use crate::common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::json;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A fresh access token for alice (her first one is still valid too).
async fn new_access(s: &common::TestServer) -> String {
    let r = s
        .post(
            "/v1/sessions",
            json!({"username": "alice", "password": common::PASSWORD}),
            None,
        )
        .await;
    r.body["access_token"].as_str().expect("access").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_flow_logs_no_secret() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let s = common::start().await;
    let (alice, alice_refresh) = s.account("alice").await;
    let (bob, _) = s.account("bob").await;
    let plaintext = "launch code 0000-SECRET-PLAINTEXT";
    let stored = s
        .post("/v1/messages", json!({"message": plaintext}), Some(&alice))
        .await;
    let id = stored.body["id"].as_str().expect("id").to_owned();
    s.post(
        "/v1/users/bob/messages",
        json!({"message": plaintext}),
        Some(&alice),
    )
    .await;
    s.get("/v1/messages", &alice).await;
    s.get(&format!("/v1/messages/{id}"), &alice).await;
    s.get("/v1/messages", &bob).await;
    let wrong_password = "wrong-password-SECRET";
    s.post(
        "/v1/sessions",
        json!({"username": "alice", "password": wrong_password}),
        None,
    )
    .await;
    let rotated = s
        .post(
            "/v1/sessions/refresh",
            json!({"refresh_token": alice_refresh}),
            None,
        )
        .await;
    let new_refresh = rotated.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    s.post(
        "/v1/sessions/refresh",
        json!({"refresh_token": alice_refresh}),
        None,
    )
    .await;
    s.delete(&format!("/v1/messages/{id}"), &bob).await;
    s.delete("/v1/sessions/current", &bob).await;
    s.get("/v1/messages", "garbage-token-SECRET").await;
    // Share links: the token is the path, the passphrase a body field.
    let shared = s
        .post(
            "/v1/shares",
            json!({"message": plaintext, "passphrase": "share-pass-SECRET", "max_views": 2}),
            Some(&new_access(&s).await),
        )
        .await;
    let share_url = shared.body["url"].as_str().expect("url").to_owned();
    let share_token = share_url.rsplit("/s/").next().expect("token").to_owned();
    s.get_anonymous(&format!("/s/{share_token}")).await;
    for passphrase in ["share-pass-SECRET", "wrong-share-pass-SECRET"] {
        s.post(
            &format!("/v1/shares/{share_token}/open"),
            json!({"passphrase": passphrase}),
            None,
        )
        .await;
    }

    // Requests refused before any handler runs still name only the route.
    let open_path = s.url(&format!("/v1/shares/{share_token}/open"));
    // (The server answers 413 from the declared length and may close the
    // connection while the client is still writing: either way it has
    // answered, and logged, the request.)
    let too_large = s
        .http
        .post(&open_path)
        .header("content-type", "application/json")
        .body(vec![b' '; 2 * 1024 * 1024])
        .send()
        .await;
    if let Ok(too_large) = too_large {
        assert_eq!(too_large.status(), 413);
    }
    let not_json = s
        .http
        .post(&open_path)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .expect("415");
    assert_eq!(not_json.status(), 415);
    let wrong_method = s.http.put(&open_path).send().await.expect("405");
    assert_eq!(wrong_method.status(), 405);
    let page = s
        .http
        .delete(s.url(&format!("/s/{share_token}")))
        .send()
        .await
        .expect("page");
    assert!(page.status().is_client_error(), "{}", page.status());

    // Accounts people keep: a password change, two-factor sign-in with
    // its secret and recovery codes, a web session's cookie, deletion (on
    // a second server: the flow above spent this address's login budget).
    let s = common::start().await;
    let (dave, _) = s.account("dave").await;
    let new_password = "new-password-SECRET";
    s.call(
        "PUT",
        "/v1/me/password",
        Some(&dave),
        json!({"current_password": common::PASSWORD, "new_password": new_password}),
    )
    .await;
    let setup = s.post("/v1/me/totp", json!({}), Some(&dave)).await;
    let totp_secret = setup.body["secret"].as_str().expect("secret").to_owned();
    let now = s.clock_now().as_unix_millis() / 1000;
    let confirmed = s
        .post(
            "/v1/me/totp/confirm",
            json!({"code": strongroom_testkit::totp_code(&totp_secret, now)}),
            Some(&dave),
        )
        .await;
    let recovery: Vec<String> = confirmed.body["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().expect("code").to_owned())
        .collect();
    let web = s
        .http
        .post(s.url("/v1/sessions"))
        .json(
            &json!({"username": "dave", "password": new_password, "cookie": true,
                      "recovery_code": recovery[0]}),
        )
        .send()
        .await
        .expect("login");
    let cookie = web
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .and_then(|v| v.split_once('='))
        .map(|(_, token)| token.to_owned())
        .expect("a session cookie");
    s.post(
        "/v1/sessions",
        json!({"username": "dave", "password": new_password, "recovery_code": recovery[0]}),
        None,
    )
    .await;
    s.call(
        "DELETE",
        "/v1/me",
        Some(&dave),
        json!({"password": new_password, "recovery_code": recovery[1]}),
    )
    .await;

    let log = String::from_utf8(capture.0.lock().expect("log").clone()).expect("utf8");
    for expected in [
        "status=413",
        "status=415",
        "status=405",
        "account created",
        "login succeeded",
        "login failed",
        "message stored",
        "message read",
        "token refreshed",
        "refresh token reuse detected",
        "token revoked",
        "share created",
        "password changed",
        "two-factor sign-in turned on",
        "account deleted by its owner",
    ] {
        assert!(
            log.contains(expected),
            "missing {expected:?} in log:\n{log}"
        );
    }
    assert!(log.contains(&id), "ids are logged");
    let secrets = [
        common::PASSWORD,
        wrong_password,
        plaintext,
        "SECRET",
        &alice,
        &alice_refresh,
        &bob,
        &new_refresh,
        common::KEY,
        &share_token,
        stored.body["ciphertext"].as_str().expect("ciphertext"),
        &dave,
        &totp_secret,
        &cookie,
    ];
    let secrets = secrets
        .into_iter()
        .chain(recovery.iter().map(String::as_str));
    for secret in secrets {
        let leaks: Vec<&str> = log.lines().filter(|l| l.contains(secret)).collect();
        assert!(
            leaks.is_empty(),
            "log leaks a secret in:\n{}",
            leaks.join("\n")
        );
    }
}
