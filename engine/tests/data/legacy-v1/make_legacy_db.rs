//! Writes engine/tests/data/legacy-v1/ with release 0.1.0 (commit 26e2640).
use std::sync::Arc;
use std::time::Duration;
use strongroom_engine::*;

fn main() {
    let out = std::path::Path::new("engine/tests/data/legacy-v1");
    let _ = std::fs::remove_file(out.join("strongroom.redb"));
    let clock = ManualClock::new(Timestamp::from_unix_millis(1_700_000_000_000));
    let key = MasterKey::from_base64(&SecretString::from("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")).unwrap();
    let engine = Engine::builder().master_key(key).clock(Arc::new(clock.clone()))
        .dek_rotation_after(3)
        .open(out.join("strongroom.redb")).unwrap();
    let pw = SecretString::from("correct horse battery");
    let alice = engine.accounts().create("alice", &pw).unwrap().id;
    let bob = engine.accounts().create("bob", &pw).unwrap().id;
    let carol = engine.accounts().create("carol", &pw).unwrap().id;
    let week = Some(Duration::from_secs(7 * 24 * 3600));
    let mut lines = Vec::new();
    for i in 0..5 {
        let r = engine.records().put(alice, format!("alice note {i}").as_bytes(), week).unwrap();
        lines.push(format!("{} alice alice alice note {i}", r.meta.id));
        clock.advance(Duration::from_millis(10));
    }
    let r = engine.records().send(bob, alice, b"from bob to alice", week).unwrap();
    lines.push(format!("{} alice bob from bob to alice", r.meta.id));
    let r = engine.events().broadcast(carol, b"hello everyone", week).unwrap();
    lines.push(format!("{} * carol hello everyone", r.meta.id));
    let r = engine.records().put(bob, b"bob private", week).unwrap();
    lines.push(format!("{} bob bob bob private", r.meta.id));
    let short = engine.records().put(bob, b"expires soon", Some(Duration::from_secs(60))).unwrap();
    lines.push(format!("{} bob bob expires soon (ttl 60 s)", short.meta.id));
    engine.admin().delete_user(carol).unwrap();
    let pair = engine.sessions().login("bob", &pw).unwrap();
    std::fs::write(out.join("refresh_token.txt"), pair.refresh_token.expose_secret()).unwrap();
    std::fs::write(out.join("records.txt"), lines.join("\n") + "\n").unwrap();
    println!("{}", engine.maintenance().check_integrity().unwrap().problems.len());
}
