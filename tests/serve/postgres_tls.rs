//! `--database-url` and TLS, against the Debian PostgreSQL started here
//! with `ssl = on`, a CA and server certificate made in the test, and a
//! `pg_hba.conf` that admits TCP connections over TLS only: libpq's
//! `sslmode` and `sslrootcert` are honoured (`verify-full` accepts the
//! server's certificate and refuses one from another CA or for another
//! host, each in one start-up error line; `verify-ca` does not compare
//! the name; `require` and the default `prefer` encrypt without
//! checking; `disable` is refused by the server), and a plain-text
//! connection to a host that is not loopback is warned about. Skipped
//! loudly when PostgreSQL is not installed.

use crate::ca::Ca;
use crate::common;

use common::binary::{Binary, run_to_exit};
use serde_json::json;
use strongroom::engine::secrecy::ExposeSecret;
use strongroom_testkit::postgres::{PgCluster, ServerTls};

/// Starts the server on `url` and makes an account through it: the store
/// answered over that connection.
async fn serves(url: &str) {
    let dir = tempfile::tempdir().expect("dir");
    let server = Binary::start(
        &dir.path().join("data"),
        &["--database-url", url],
        &[("STRONGROOM_MASTER_KEY", common::KEY)],
    );
    let name = format!("tls{}", rand::random::<u32>());
    let creds = json!({"username": name, "password": common::PASSWORD});
    let (status, body) = server
        .api
        .call("POST", "/v1/accounts", None, creds)
        .await
        .parts();
    assert_eq!(status, 201, "{url}: {body}");
    let stopped = server.stop();
    assert!(
        !stopped.stderr.contains("plain text"),
        "{url}: {}",
        stopped.stderr
    );
}

/// Starts the server on `url`, which must fail in one error line that
/// contains `reason`.
fn refused(url: &str, reason: &str) {
    let dir = tempfile::tempdir().expect("dir");
    let exited = run_to_exit(
        &dir.path().join("data"),
        &["--database-url", url],
        &[("STRONGROOM_MASTER_KEY", common::KEY)],
    );
    assert!(!exited.status.success(), "{url} started");
    let error = exited.error_line();
    assert!(error.contains(reason), "{url}: {error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_and_sslrootcert_are_honoured() {
    let ca = Ca::new();
    // For the address only: `localhost` is another host to verify-full.
    let leaf = ca.leaf_for(&["127.0.0.1"]);
    let tls = ServerTls {
        certificate_pem: leaf.0.clone(),
        key_pem: leaf.1.clone(),
    };
    let made = PgCluster::start_off_runtime(
        move || PgCluster::start_tls("postgres_tls", &tls),
        |c| c.database("tls"),
    );
    let Some((cluster, url)) = made.await else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let root = dir.path().join("ca.pem");
    std::fs::write(&root, ca.pem()).expect("ca");
    let other_root = dir.path().join("other-ca.pem");
    std::fs::write(&other_root, Ca::new().pem()).expect("other ca");
    let (root, other_root) = (root.display(), other_root.display());
    let url = url.expose_secret();
    let by_name = format!("postgres://postgres@localhost:{}/tls", cluster.port());

    serves(&format!("{url}?sslmode=verify-full&sslrootcert={root}")).await;
    serves(&format!(
        "host=127.0.0.1 port={} user=postgres dbname=tls sslmode=verify-full sslrootcert='{root}'",
        cluster.port()
    ))
    .await;
    serves(&format!("{by_name}?sslmode=verify-ca&sslrootcert={root}")).await;
    serves(&format!("{url}?sslmode=require")).await;
    serves(url).await;

    refused(
        &format!("{url}?sslmode=verify-full&sslrootcert={other_root}"),
        "invalid peer certificate: UnknownIssuer",
    );
    refused(
        &format!("{by_name}?sslmode=verify-full&sslrootcert={root}"),
        "invalid peer certificate: certificate not valid for name \"localhost\"",
    );
    // libpq's rule: require with a root file verifies the chain.
    refused(
        &format!("{url}?sslmode=require&sslrootcert={other_root}"),
        "UnknownIssuer",
    );
    refused(
        &format!("{url}?sslmode=disable"),
        "no pg_hba.conf entry for host \"127.0.0.1\", user \"postgres\", database \"tls\", no encryption",
    );
    refused(
        &format!("{url}?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"),
        "sslrootcert /nonexistent/ca.pem: ",
    );
    refused(
        &format!("{url}?sslmode=verify"),
        "sslmode \"verify\" is not one of",
    );
}

#[test]
fn plain_text_to_a_host_that_is_not_loopback_is_warned_about() {
    // 0.0.0.0 is not loopback, and nothing listens there: the start fails
    // at once, after the warning.
    let dir = tempfile::tempdir().expect("dir");
    let port = strongroom_testkit::free_port();
    for (url, warned) in [
        (format!("postgres://u:secret@0.0.0.0:{port}/db"), true),
        (
            format!("postgres://u:secret@0.0.0.0:{port}/db?sslmode=disable"),
            true,
        ),
        (
            format!("postgres://u:secret@0.0.0.0:{port}/db?sslmode=require"),
            false,
        ),
        (format!("postgres://u:secret@127.0.0.1:{port}/db"), false),
    ] {
        let exited = run_to_exit(
            &dir.path().join("data"),
            &["--database-url", &url],
            &[("STRONGROOM_MASTER_KEY", common::KEY)],
        );
        assert!(!exited.status.success());
        assert_eq!(
            exited.stderr.contains("may travel in plain text"),
            warned,
            "{url}: {}",
            exited.stderr
        );
        assert!(!exited.stderr.contains("secret"), "{}", exited.stderr);
    }
}
