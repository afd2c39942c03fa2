//! The `strongroom serve` binary: creates its data directory and a 0600 key
//! file on first run, serves the API and Swagger UI, and on SIGTERM
//! finishes, closes the database cleanly and exits 0; the data survives.
#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

async fn wait_healthy(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if http
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server did not become healthy");
}

fn serve(data_dir: &std::path::Path, port: u16) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_strongroom"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("STRONGROOM_DATA_DIR", data_dir)
        .env_remove("STRONGROOM_MASTER_KEY")
        .env_remove("STRONGROOM_MASTER_KEY_FILE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn strongroom serve")
}

fn terminate(child: &mut std::process::Child) -> (bool, String) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = child.wait().expect("wait");
    let mut log = String::new();
    for line in BufReader::new(child.stderr.take().expect("stderr")).lines() {
        log.push_str(&line.expect("line"));
        log.push('\n');
    }
    (exit.success(), log)
}

#[tokio::test]
async fn serve_starts_on_defaults_and_shuts_down_gracefully() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("strongroom-data");
    let http = reqwest::Client::new();
    let creds = json!({"username": "alice", "password": "correct horse battery"});

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = serve(&data, port);
    wait_healthy(&http, &base).await;
    let key_mode = std::fs::metadata(data.join("master.key"))
        .expect("key file")
        .permissions()
        .mode();
    assert_eq!(key_mode & 0o777, 0o600);
    assert_eq!(
        http.get(format!("{base}/docs"))
            .send()
            .await
            .expect("docs")
            .status(),
        200
    );
    assert_eq!(
        http.post(format!("{base}/v1/accounts"))
            .json(&creds)
            .send()
            .await
            .expect("create")
            .status(),
        201
    );
    let (clean, log) = terminate(&mut child);
    assert!(clean, "exit status; log:\n{log}");
    assert!(log.contains("created a new master key file"), "{log}");
    assert!(log.contains("open-file limit"), "{log}");
    assert!(log.contains("shut down cleanly"), "{log}");
    let mut stdout = String::new();
    for line in BufReader::new(child.stdout.take().expect("stdout")).lines() {
        stdout.push_str(&line.expect("line"));
    }
    assert!(
        stdout.contains(&format!("Swagger UI: http://127.0.0.1:{port}/docs")),
        "{stdout}"
    );

    // Second run on the same directory: same key, same data.
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = serve(&data, port);
    wait_healthy(&http, &base).await;
    let login = http
        .post(format!("{base}/v1/sessions"))
        .json(&creds)
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 201, "the account survived the restart");
    let (clean, log) = terminate(&mut child);
    assert!(clean, "{log}");
    assert!(!log.contains("created a new master key file"), "{log}");
}
