//! # strongroom-testkit
//!
//! Everything Strongroom's tests, examples and benchmarks share and the
//! library itself does not need: the test master keys and clock, a
//! fault-injecting in-memory disk ([`memory`]), throwaway PostgreSQL,
//! NATS and Chromium ([`postgres`], [`nats`], [`browser`]), engines on
//! either backend ([`store`]), raw access to stored tables behind the
//! engine's back ([`raw`]), an HTTP client and an in-process API server
//! ([`http`]), and a Server-Sent Events client ([`sse`]).
//!
//! A dev-dependency only; never published with the engine.
#![forbid(unsafe_code)]

pub mod binary;
pub mod browser;
pub mod http;
pub mod memory;
pub mod nats;
pub mod postgres;
pub mod raw;
pub mod sse;
pub mod store;

use std::io::Write as _;
use std::path::PathBuf;

use strongroom_engine::{ManualClock, MasterKey, SecretString, Timestamp};

/// A fixed test master key (base64 of bytes 0..32).
pub const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// Another fixed test master key (base64 of bytes 32..64).
pub const KEY_B: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
/// The password test accounts get.
pub const PASSWORD: &str = "correct horse battery";

/// The master key written as `text` (base64).
pub fn master(text: &str) -> MasterKey {
    MasterKey::from_base64(&SecretString::from(text)).expect("test key")
}

/// A manual clock at a fixed start (2023-11-14), for tests that move time.
pub fn clock() -> ManualClock {
    ManualClock::new(Timestamp::from_unix_millis(1_700_000_000_000))
}

/// The first of `names` found on `PATH`.
pub fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// Says loudly, past the test harness's capture, that `test` is skipped
/// because `missing` is not installed (`install` says how). `.ci/run`
/// installs every package and fails when it sees this.
pub fn skip(test: &str, missing: &str, install: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "\n**********\nSKIPPED {test}: {missing} is not installed ({install}); \
         .ci/run installs it.\n**********\n"
    );
}
