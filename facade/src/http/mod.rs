//! What every route shares: the bearer check (`auth`) and the per-operation
//! guard (`guard`: scope and write rate), problem answers (`problem`), the
//! layers around every request (`frame` outside: client address, fixed
//! headers, metrics, the access log; `cors` when origins are configured;
//! `dispatch` inside: state, body limit, pages or operations, errors as
//! problems), the limits (`body_limit`,
//! `rate_limit` for logins, `write_limit` per account), the client address
//! (`client`), the Argon2 pool (`hashing`), log-safe text (`log_text`),
//! ceremonies under way (`ceremonies`: OIDC states, passkey challenges),
//! the toll of service calls (`metering`), the `limit`/`cursor` of
//! listings (`paging`) and secrets taken out of a path before routing
//! (`secret_path`).

pub(crate) mod auth;
pub(crate) mod body_limit;
pub(crate) mod ceremonies;
pub(crate) mod client;
pub(crate) mod cors;
pub(crate) mod dispatch;
pub(crate) mod frame;
pub(crate) mod guard;
pub(crate) mod hashing;
pub(crate) mod headers;
pub(crate) mod log_text;
pub(crate) mod metering;
pub(crate) mod paging;
pub(crate) mod problem;
pub(crate) mod rate_limit;
pub(crate) mod secret_path;
pub(crate) mod state;
pub(crate) mod write_limit;
