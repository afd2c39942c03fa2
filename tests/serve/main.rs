//! The `strongroom` binary as operators run it: `serve` with its flags,
//! limits, TLS and metrics, the operator commands, several instances on
//! PostgreSQL and NATS, the API nested in a host app, and one platform's
//! story end to end.

mod ca;
mod cli;
mod cluster;
mod embed;
mod limits;
mod metrics;
mod oidc;
mod ops;
mod ops_postgres;
mod postgres_outage;
mod postgres_tls;
mod story;
mod streams;
mod tls;

/// The test kit under the names these tests use.
mod common {
    pub(crate) use strongroom_testkit::http::{engine, serve};
    pub(crate) use strongroom_testkit::{KEY_A as KEY, PASSWORD};
    pub(crate) use strongroom_testkit::{binary, nats, sse};
}
