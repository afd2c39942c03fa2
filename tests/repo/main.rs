//! Checks of the repository itself: the layers import one way only, the
//! committed OpenAPI document is current, and the README and docs stay
//! true (links resolve, the layer map names every layer), the web
//! client's German catalogue is complete, and no file is silently ignored
//! (every Rust file is built, every proptest regression file is read).

mod architecture;
mod docs;
mod files;
mod openapi;
mod translations;

use std::path::{Path, PathBuf};

/// The repository's root (this crate's manifest folder).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}
