//! # strongroom
//!
//! The umbrella crate: the storage engine ([`engine`]), the HTTP facade
//! ([`facade`]) and the server the `strongroom` binary runs ([`server`]).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod server;

pub use strongroom_engine as engine;
pub use strongroom_facade as facade;
