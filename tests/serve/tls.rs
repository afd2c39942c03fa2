//! TLS end to end over real sockets: a client trusting a test CA talks
//! HTTPS to `strongroom serve --tls-cert --tls-key`, gets HTTP/2 by ALPN
//! (HTTP/1.1 still works) and HSTS; after the files change, SIGHUP makes new
//! connections get the new certificate while the old connection keeps
//! working; `--tls-self-signed` prints the fingerprint it serves.
#![cfg(unix)]

use crate::common;

use std::path::Path;
use std::time::{Duration, Instant};

use crate::ca::Ca;
use common::binary::Binary;

fn write_leaf(dir: &Path, leaf: &(String, String, Vec<u8>)) {
    std::fs::write(dir.join("cert.pem"), &leaf.0).expect("cert");
    std::fs::write(dir.join("key.pem"), &leaf.1).expect("key");
}

fn client(ca: &Ca, http1_only: bool) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.pem().as_bytes()).expect("ca"))
        .tls_info(true)
        .resolve("localhost", "127.0.0.1:0".parse().expect("addr"));
    if http1_only {
        builder = builder.http1_only();
    }
    builder.build().expect("client")
}

fn local_url(server: &Binary, path: &str) -> String {
    let port = server.addr.rsplit(':').next().expect("port");
    format!("https://localhost:{port}{path}")
}

fn peer_certificate(res: &reqwest::Response) -> Vec<u8> {
    res.extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .expect("peer certificate")
        .to_vec()
}

#[tokio::test]
async fn https_with_h2_hsts_and_a_certificate_reloaded_on_sighup() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = Ca::new();
    let first = ca.leaf();
    write_leaf(dir.path(), &first);
    let cert = dir.path().join("cert.pem").display().to_string();
    let key = dir.path().join("key.pem").display().to_string();
    let server = Binary::start(
        &dir.path().join("data"),
        &["--tls-cert", &cert, "--tls-key", &key],
        &[],
    );
    assert!(server.base.starts_with("https://"), "{}", server.base);

    let h2 = client(&ca, false);
    let res = h2
        .get(local_url(&server, "/healthz"))
        .send()
        .await
        .expect("https");
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.version(),
        reqwest::Version::HTTP_2,
        "h2 negotiated by ALPN"
    );
    assert!(
        res.headers()["strict-transport-security"]
            .to_str()
            .expect("hsts")
            .starts_with("max-age="),
    );
    assert_eq!(peer_certificate(&res), first.2);

    let h1 = client(&ca, true);
    let res = h1
        .get(local_url(&server, "/healthz"))
        .send()
        .await
        .expect("https/1.1");
    assert_eq!(res.status(), 200);
    assert_eq!(res.version(), reqwest::Version::HTTP_11);

    // Plain HTTP to the TLS port gets nowhere.
    let plain = reqwest::Client::new()
        .get(format!("http://{}/healthz", server.addr))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(plain.is_err() || plain.is_ok_and(|r| r.status() != 200));

    let second = ca.leaf();
    write_leaf(dir.path(), &second);
    server.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // A fresh client: a new connection, so a new handshake.
        let res = client(&ca, false)
            .get(local_url(&server, "/healthz"))
            .send()
            .await
            .expect("https after reload");
        if peer_certificate(&res) == second.2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new certificate was not served"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The connection opened before the reload still works.
    let res = h2
        .get(local_url(&server, "/healthz"))
        .send()
        .await
        .expect("old connection");
    assert_eq!(res.status(), 200);
    let exited = server.stop_async().await;
    assert!(
        exited.stderr.contains("TLS certificate reloaded"),
        "{}",
        exited.stderr
    );
}

#[tokio::test]
async fn a_bad_key_file_is_a_clear_start_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = Ca::new();
    let leaf = ca.leaf();
    let other = ca.leaf();
    std::fs::write(dir.path().join("cert.pem"), &leaf.0).expect("cert");
    std::fs::write(dir.path().join("key.pem"), &other.1).expect("key");
    let cert = dir.path().join("cert.pem").display().to_string();
    let key = dir.path().join("key.pem").display().to_string();
    let data = dir.path().join("data");
    let exited = common::binary::run_to_exit(&data, &["--tls-cert", &cert, "--tls-key", &key], &[]);
    assert!(!exited.status.success());
    assert!(
        exited
            .stderr
            .contains("key and certificate do not go together"),
        "{}",
        exited.stderr
    );
    assert!(!data.exists());
}

#[tokio::test]
async fn a_self_signed_certificate_is_announced_by_its_fingerprint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Binary::start(&dir.path().join("data"), &["--tls-self-signed"], &[]);
    let printed = server
        .stdout()
        .lines()
        .find_map(|l| {
            l.strip_prefix("Self-signed certificate SHA-256: ")
                .map(str::to_owned)
        })
        .expect("fingerprint printed");
    // The client pins by fingerprint instead of trusting a CA.
    let res = reqwest::Client::builder()
        .use_rustls_tls()
        .danger_accept_invalid_certs(true)
        .tls_info(true)
        .build()
        .expect("client")
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("https");
    assert_eq!(
        strongroom::serve::fingerprint(&peer_certificate(&res)),
        printed
    );
    let exited = server.stop_async().await;
    assert!(exited.stderr.contains("SELF-SIGNED"), "{}", exited.stderr);
}
