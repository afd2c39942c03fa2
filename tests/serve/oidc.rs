//! Sign-in through a real OpenID Connect provider: the npm package
//! `oidc-provider` (a certified implementation), run with Node from
//! `tests/oidc/` (`npm ci` there first, if needed). The whole flow over
//! HTTP — the login redirect, the provider's login and consent
//! interactions, the callback, the cookie session, `/v1/me` — then a
//! replayed `state`, a tampered ID token, a wrong `nonce` and a wrong
//! audience refused without a session, a key rotation at the provider
//! picked up, and an identity linked to a password account. Skipped
//! loudly only when Node is missing.

use crate::common;

use common::binary::Binary;
use serde_json::{Value, json};
use strongroom_testkit::free_port;
use strongroom_testkit::oidc::{CLIENT_ID, CLIENT_SECRET, Provider};

fn provider(port: u16, redirect: &str, kid: &str) -> Option<Provider> {
    Provider::start("oidc", port, redirect, kid)
}

/// A browser, as far as the flow needs one: follows redirects by hand,
/// keeps the provider's cookies, and answers its login and consent forms.
struct Browser {
    http: reqwest::Client,
    cookies: Vec<(String, String)>,
}

impl Browser {
    fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: Vec::new(),
        }
    }

    fn keep_cookies(&mut self, res: &reqwest::Response) {
        for value in res.headers().get_all("set-cookie") {
            let Some((name, rest)) = value.to_str().ok().and_then(|v| v.split_once('=')) else {
                continue;
            };
            let value = rest.split(';').next().unwrap_or_default().to_owned();
            self.cookies.retain(|(n, _)| n != name);
            self.cookies.push((name.to_owned(), value));
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Walks from `start` through the provider, signing in as `login`,
    /// until it is sent to a URL under `ours`; that URL.
    async fn through_provider(&mut self, start: &str, login: &str, ours: &str) -> String {
        let mut url = start.to_owned();
        let mut form: Option<Vec<(&str, String)>> = None;
        for _ in 0..20 {
            if url.starts_with(ours) {
                return url;
            }
            let req = match form.take() {
                Some(fields) => self.http.post(&url).form(&fields),
                None => self.http.get(&url),
            };
            let res = req
                .header("cookie", self.cookie_header())
                .send()
                .await
                .expect("provider");
            self.keep_cookies(&res);
            let base = res.url().clone();
            if let Some(location) = res.headers().get("location") {
                let location = location.to_str().expect("location");
                url = base.join(location).expect("url").to_string();
                continue;
            }
            let status = res.status();
            let page = res.text().await.expect("page");
            assert_eq!(status, 200, "the provider answered {status}: {page}");
            let action = page
                .split("action=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .expect("a form");
            url = base.join(action).expect("action").to_string();
            form = Some(if page.contains("name=\"prompt\" value=\"login\"") {
                vec![
                    ("prompt", "login".to_owned()),
                    ("login", login.to_owned()),
                    ("password", "any".to_owned()),
                ]
            } else {
                vec![("prompt", "consent".to_owned())]
            });
        }
        panic!("no way back from the provider");
    }
}

/// `GET url` without following redirects: status, `Location`, `Set-Cookie`.
async fn get(url: &str) -> (u16, Option<String>, Option<String>) {
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(url)
        .send()
        .await
        .expect("get");
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    (
        res.status().as_u16(),
        header("location"),
        header("set-cookie"),
    )
}

/// A full sign-in as `login`: the callback's status and session cookie.
async fn sign_in(base: &str, login: &str) -> (u16, Option<String>, String) {
    let (status, location, _) = get(&format!("{base}/v1/oidc/login")).await;
    assert_eq!(status, 302);
    let start = location.expect("to the provider");
    assert!(start.contains("code_challenge_method=S256"), "{start}");
    assert!(start.contains("nonce="), "{start}");
    let mut browser = Browser::new();
    let callback = browser.through_provider(&start, login, base).await;
    let (status, _, cookie) = get(&callback).await;
    (status, cookie, callback)
}

/// The account a session cookie signs in to.
async fn me(s: &Binary, set_cookie: &str) -> Value {
    let cookie = set_cookie.split(';').next().expect("cookie");
    let refreshed = s
        .api
        .send(
            s.api
                .http
                .post(s.url("/v1/sessions/refresh"))
                .header("cookie", cookie)
                .header("origin", s.url(""))
                .json(&json!({})),
        )
        .await;
    assert_eq!(refreshed.status, 201, "{}", refreshed.body);
    let access = refreshed.body["access_token"].as_str().expect("access");
    s.api.get("/v1/me", access).await.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_through_a_real_provider_and_refuse_every_bad_answer() {
    let (provider_port, port) = (free_port(), free_port());
    let base = format!("http://127.0.0.1:{port}");
    let redirect = format!("{base}/v1/oidc/callback");
    let Some(mut idp) = provider(provider_port, &redirect, "key-1") else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let secret = Provider::client_secret_file(dir.path());
    let issuer = idp.issuer.clone();
    let listen = format!("127.0.0.1:{port}");
    let s = Binary::start(
        &dir.path().join("data"),
        &[
            "--listen",
            &listen,
            "--public-url",
            &base,
            "--oidc-issuer",
            &issuer,
            "--oidc-client-id",
            CLIENT_ID,
            "--oidc-client-secret-file",
            &secret,
            "--oidc-name",
            "Test SSO",
        ],
        &[],
    );
    let options = s.api.get_anonymous("/v1/sign-in-options").await;
    assert_eq!(options.body["oidc"]["name"], "Test SSO");

    // The whole flow: a new account named after the verified email.
    let (status, cookie, callback) = sign_in(&base, "alice").await;
    assert_eq!(status, 302, "callback");
    let cookie = cookie.expect("a session cookie");
    assert!(cookie.starts_with("__Host-strongroom_refresh="), "{cookie}");
    assert_eq!(me(&s, &cookie).await["username"], "alice@example.com");
    // The same state twice: refused, no session.
    let (status, _, cookie) = get(&callback).await;
    assert_eq!((status, cookie), (400, None));

    // Bad ID tokens: refused, no session.
    let mode = |set: &'static str| {
        let url = format!("http://127.0.0.1:{provider_port}/test/mode?set={set}");
        async move {
            reqwest::Client::new().post(url).send().await.expect("mode");
        }
    };
    for bad in ["tamper", "nonce", "aud"] {
        mode(bad).await;
        let (status, cookie, _) = sign_in(&base, "alice").await;
        assert_eq!((status, cookie), (401, None), "{bad}");
    }
    mode("honest").await;

    // The provider rotates its key (a restart with a new one): picked up.
    drop(idp);
    idp = provider(provider_port, &redirect, "key-2").expect("the provider again");
    let (status, cookie, _) = sign_in(&base, "alice").await;
    assert_eq!(status, 302, "after a key rotation");
    assert_eq!(
        me(&s, &cookie.expect("cookie")).await["username"],
        "alice@example.com"
    );

    // A password account links an identity, which then signs in to it.
    let (bob, _) = s.api.account("bob").await;
    let link = s
        .api
        .post("/v1/me/identities/oidc", json!({}), Some(&bob))
        .await;
    assert_eq!(link.status, 201, "{}", link.body);
    let start = link.body["url"].as_str().expect("url").to_owned();
    let callback = Browser::new()
        .through_provider(&start, "bobby", &base)
        .await;
    let (status, location, _) = get(&callback).await;
    assert_eq!((status, location.as_deref()), (302, Some("/app")));
    let (status, cookie, _) = sign_in(&base, "bobby").await;
    assert_eq!(status, 302);
    assert_eq!(me(&s, &cookie.expect("cookie")).await["username"], "bob");
    let linked = s.api.get("/v1/me/identities", &bob).await;
    assert_eq!(linked.body["identities"][0]["subject"], "bobby");
    assert_eq!(linked.body["identities"][0]["issuer"], issuer);
    drop(idp);
    assert!(s.stop().status.success());

    // A provider that cannot be reached at start: one line, exit 1; with
    // --oidc-lazy the server starts and says so at the first sign-in.
    let nowhere = format!("http://127.0.0.1:{}", free_port());
    let args = [
        "--public-url",
        &base,
        "--oidc-issuer",
        &nowhere,
        "--oidc-client-id",
        CLIENT_ID,
        "--oidc-client-secret-file",
        &secret,
    ];
    let exited = common::binary::run_to_exit(&dir.path().join("data"), &args, &[]);
    assert_eq!(exited.status.code(), Some(1), "{}", exited.stderr);
    assert!(
        exited.error_line().contains("discovery document"),
        "{}",
        exited.stderr
    );
    assert!(!exited.stderr.contains(CLIENT_SECRET));
    let mut lazy = args.to_vec();
    lazy.push("--oidc-lazy");
    let s = Binary::start(&dir.path().join("data"), &lazy, &[]);
    let (status, _, _) = get(&s.url("/v1/oidc/login")).await;
    assert_eq!(status, 503);
    assert!(s.stop().status.success());
}
