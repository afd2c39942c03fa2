//! # strongroom
//!
//! The umbrella crate: the storage engine ([`engine`]), the HTTP facade
//! ([`facade`]), the server the `strongroom` binary runs ([`server`]), the
//! operator commands ([`ops`]) and where it finds its master key
//! ([`keyfile`]).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod keyfile;
pub mod ops;
pub mod server;

pub use strongroom_engine as engine;
pub use strongroom_facade as facade;
