//! # strongroom
//!
//! The umbrella crate: the storage engine ([`engine`]), the HTTP facade
//! ([`facade`]), and what the `strongroom` binary runs: the data directory
//! and how stores open ([`datadir`]), the operator commands ([`ops`]) and
//! the server ([`serve`]). They import one way only: `serve` uses `ops`
//! (online backups) and `datadir`; `ops` uses `datadir`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod datadir;
pub mod ops;
pub mod serve;

pub use strongroom_engine as engine;
pub use strongroom_facade as facade;
