//! What the measurement loops share.

use std::path::Path;

use strongroom_engine::{Engine, MasterKey, SecretString, UserId};

/// An engine on a fresh store in `dir` (a new master key) and the one
/// account the loop writes as.
pub(crate) fn engine_with_account(dir: &Path) -> (Engine, UserId) {
    let engine = Engine::builder(MasterKey::generate().0)
        .open(dir.join("engine.redb"))
        .expect("open");
    let user = engine
        .accounts()
        .create("bench", &SecretString::from("correct horse battery"))
        .expect("account")
        .id;
    (engine, user)
}
