//! What every authenticated operation checks before it acts: the scope it
//! needs and, for writes, the caller's write rate. What passes is an
//! engine handle that records the caller in the audit log.

use strongroom_engine::{Scope, UserId};

use crate::http::auth::Caller;
use crate::http::problem::Problem;
use crate::http::state::State;
use crate::http::write_limit::Kind;

/// Checks `scope`; the caller's account and a state acting for them.
pub(crate) fn reader(
    state: &State,
    caller: &Caller,
    scope: Scope,
) -> Result<(UserId, State), Problem> {
    let user = caller.require(scope)?;
    Ok((user, state.acting(caller.origin())))
}

/// Checks `scope` and takes one write from the caller's per-minute
/// quota (429 with `Retry-After` when it is spent).
pub(crate) async fn writer(
    state: &State,
    caller: &Caller,
    scope: Scope,
) -> poem::Result<Result<(UserId, State), Problem>> {
    let (user, acting) = match reader(state, caller, scope) {
        Ok(pair) => pair,
        Err(p) => return Ok(Err(p)),
    };
    Ok(spend(state, user).await?.map(|()| (user, acting)))
}

/// For what a signed-in session alone may do (API keys, end-to-end keys):
/// checks the credential is one, and takes one write from the caller's
/// per-minute quota like every other durable write.
pub(crate) async fn session_writer(
    state: &State,
    caller: &Caller,
) -> poem::Result<Result<(UserId, State), Problem>> {
    let user = match caller.signed_in() {
        Ok(user) => user,
        Err(p) => return Ok(Err(p)),
    };
    Ok(spend(state, user)
        .await?
        .map(|()| (user, state.acting(caller.origin()))))
}

/// Takes one write from `user`'s per-minute quota.
pub(crate) async fn spend(state: &State, user: UserId) -> poem::Result<Result<(), Problem>> {
    let per_minute = state
        .read(move |e| e.accounts().writes_per_minute(user))
        .await?;
    let per_minute = per_minute.unwrap_or(u32::MAX);
    Ok(take(state, user, Kind::Write, per_minute))
}

/// Takes one from `user`'s bucket of `kind`.
pub(crate) fn take(
    state: &State,
    user: UserId,
    kind: Kind,
    per_minute: u32,
) -> Result<(), Problem> {
    let now = state.engine.clock().now();
    state
        .write_limits
        .take(user, kind, per_minute, now)
        .map_err(|wait| {
            metrics::counter!("strongroom_rate_limited_total", "route" => "writes").increment(1);
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            let what = match kind {
                Kind::Write => "writes",
                Kind::Broadcast => "broadcasts",
                Kind::KeyLookup => "key lookups",
            };
            Problem::throttled(
                secs,
                format!("too many {what}: at most {per_minute} a minute; retry in {secs} s"),
            )
        })
}
