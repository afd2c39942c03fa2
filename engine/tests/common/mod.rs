//! Helpers shared by the engine's integration tests.
#![allow(dead_code, unreachable_pub)]

use std::path::Path;
use std::sync::Arc;

use strongroom_engine::{Engine, ManualClock, MasterKey, SecretString, Timestamp, UserId};

/// A fixed test master key (base64 of bytes 0..32).
pub const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// Another test master key.
pub const KEY_B: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

pub fn master(key: &str) -> MasterKey {
    MasterKey::from_base64(&SecretString::from(key)).expect("test key")
}

pub fn start() -> ManualClock {
    ManualClock::new(Timestamp::from_unix_millis(1_700_000_000_000))
}

pub fn open(path: &Path, clock: &ManualClock) -> Engine {
    Engine::builder()
        .master_key(master(KEY_A))
        .clock(Arc::new(clock.clone()))
        .open(path)
        .expect("engine opens")
}

pub fn password(text: &str) -> SecretString {
    SecretString::from(text)
}

pub fn user(engine: &Engine, name: &str) -> UserId {
    engine
        .create_user(name, &password("correct horse battery"))
        .expect("user created")
        .id
}
