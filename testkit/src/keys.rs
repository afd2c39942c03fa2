//! The test keys, the test clock, and finding and skipping installed
//! programs: what every module of the kit shares.

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

/// The six-digit code an authenticator app shows for the TOTP `secret`
/// (base32, as the server hands it out) at `unix_secs`: what a person
/// types, computed the way the app does.
pub fn totp_code(secret: &str, unix_secs: u64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret).expect("a base32 TOTP secret");
    totp_rs::Builder::new()
        .with_secret(secret)
        .build_noncompliant()
        .generate(unix_secs)
        .to_string()
}

/// A loopback port free right now (bound, then released): for a server a
/// test starts, or, left unused, a port nothing listens on.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
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
