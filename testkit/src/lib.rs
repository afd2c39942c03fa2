//! # strongroom-testkit
//!
//! Everything Strongroom's tests, examples and benchmarks share and the
//! library itself does not need: the test master keys and clock, a
//! fault-injecting in-memory disk ([`memory`]), throwaway PostgreSQL,
//! NATS, Chromium and an OpenID Connect provider ([`postgres`], [`nats`],
//! [`browser`], [`oidc`]), engines on
//! either backend ([`store`]), raw access to stored tables behind the
//! engine's back ([`raw`]), an HTTP client and an in-process API server
//! ([`http`]), HTTP/1.1 by hand on a socket ([`http1`]), a Server-Sent
//! Events client ([`sse`]), the server
//! process a load harness measures ([`process`]) and threads released
//! together to race each other ([`threads`]).
//!
//! A dev-dependency only; never published with the engine. Without its
//! default `full` feature it holds the fault-injecting disk alone.
#![forbid(unsafe_code)]

#[cfg(feature = "full")]
pub mod binary;
#[cfg(feature = "full")]
pub mod browser;
#[cfg(feature = "full")]
pub mod http;
#[cfg(feature = "full")]
pub mod http1;
pub mod memory;
#[cfg(feature = "full")]
pub mod nats;
#[cfg(feature = "full")]
pub mod oidc;
#[cfg(feature = "full")]
pub mod postgres;
#[cfg(feature = "full")]
pub mod process;
#[cfg(feature = "full")]
pub mod raw;
#[cfg(feature = "full")]
pub mod sse;
#[cfg(feature = "full")]
pub mod store;
pub mod threads;

#[cfg(feature = "full")]
mod keys;
#[cfg(feature = "full")]
pub use keys::{KEY_A, KEY_B, PASSWORD, clock, find_program, free_port, master, skip, totp_code};
