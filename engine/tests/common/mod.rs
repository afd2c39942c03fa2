//! Helpers shared by the engine's integration tests: the test master keys,
//! a manual clock at a fixed start, and engines on temporary files.
#![allow(dead_code, unreachable_pub)]

use std::path::Path;
use std::sync::Arc;

use strongroom_engine::{
    Engine, EngineBuilder, ManualClock, MasterKey, SecretString, Timestamp, UserId,
};

/// A fixed test master key (base64 of bytes 0..32).
pub const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// Another test master key.
pub const KEY_B: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
/// The password every test user gets.
pub const PASSWORD: &str = "correct horse battery";

pub fn master(key: &str) -> MasterKey {
    MasterKey::from_base64(&SecretString::from(key)).expect("test key")
}

pub fn start() -> ManualClock {
    ManualClock::new(Timestamp::from_unix_millis(1_700_000_000_000))
}

/// A builder with key A and `clock`.
pub fn builder(clock: &ManualClock) -> EngineBuilder {
    let mut builder = Engine::builder(master(KEY_A));
    builder.clock(Arc::new(clock.clone()));
    builder
}

pub fn open(path: &Path, clock: &ManualClock) -> Engine {
    builder(clock).open(path).expect("engine opens")
}

/// A fresh engine on a temporary file.
pub fn engine() -> (tempfile::TempDir, ManualClock, Engine) {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = start();
    let engine = open(&dir.path().join("db.redb"), &clock);
    (dir, clock, engine)
}

pub fn password(text: &str) -> SecretString {
    SecretString::from(text)
}

pub fn user(engine: &Engine, name: &str) -> UserId {
    engine
        .create_user(name, &password(PASSWORD))
        .expect("user created")
        .id
}
