//! Guards durability against a killed process: a child writing records
//! reports each acknowledged id, and is killed with SIGKILL at a random
//! moment, several times over the same file. Afterwards every acknowledged
//! record is present and readable, and the indexes agree.

use crate::common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use rand::RngExt;
use strongroom_engine::{RecordId, SystemClock};

const CHILD_ENV: &str = "STRONGROOM_CRASH_CHILD_DB";

fn open(path: &Path) -> strongroom_engine::Engine {
    strongroom_engine::Engine::builder(common::master(common::KEY_A))
        .clock(std::sync::Arc::new(SystemClock))
        .open(path)
        .expect("open")
}

/// The child: writes records forever, printing `ack <id> <round> <i>` after
/// each put returns Ok.
#[test]
fn child_writer() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return; // Only does something when the parent runs it.
    };
    let engine = open(Path::new(&path));
    let alice = match engine.accounts().find("alice").expect("lookup") {
        Some(id) => id,
        None => common::user(&engine, "alice"),
    };
    let round = std::env::var("STRONGROOM_CRASH_ROUND").unwrap_or_default();
    for i in 0u64.. {
        let payload = format!("{round}:{i}");
        let receipt = engine
            .records()
            .put(alice, payload.as_bytes(), Some(Duration::from_secs(3600)))
            .expect("put");
        println!("ack {} {payload}", receipt.meta.id);
    }
}

#[test]
fn acknowledged_records_survive_sigkill() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db.redb");
    let mut acked: HashMap<RecordId, String> = HashMap::new();
    let mut rng = rand::rng();
    for round in 0..5 {
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "crash_process::child_writer",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .env("STRONGROOM_CRASH_ROUND", round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Wait for the first acknowledgement, then kill at a random moment.
        let mut lines = Vec::new();
        while !lines.last().is_some_and(|l: &String| l.starts_with("ack ")) {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .expect("child acknowledges a write");
            lines.push(line);
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(20..300)));
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        reader.join().expect("reader");
        let mut count = 0;
        for line in lines.into_iter().chain(rx.try_iter()) {
            let mut parts = line.split_whitespace();
            if parts.next() != Some("ack") {
                continue;
            }
            let id: RecordId = parts.next().expect("id").parse().expect("record id");
            acked.insert(id, parts.next().expect("payload").to_owned());
            count += 1;
        }
        assert!(count > 0, "round {round} acknowledged nothing");
    }
    let engine = open(&path);
    let alice = engine
        .accounts()
        .find("alice")
        .expect("lookup")
        .expect("alice exists");
    for (id, payload) in &acked {
        let record = engine
            .records()
            .get(alice, *id)
            .unwrap_or_else(|e| panic!("acknowledged {id} lost: {e}"));
        assert_eq!(record.plaintext.as_slice(), payload.as_bytes());
    }
    let report = engine.maintenance().check_integrity().expect("check");
    assert!(report.is_sound(), "{:?}", report.problems);
    assert!(report.records as usize >= acked.len());
    println!(
        "{} acknowledged records over 5 kills, all present",
        acked.len()
    );
}
