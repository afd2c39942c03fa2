//! What the API holds: an engine handle, its settings, the limiters, the
//! hashing pool and the stream hub.

use std::sync::Arc;

use poem::http::StatusCode;
use strongroom_engine::audit::Origin;
use strongroom_engine::records::{QueuedWrite, Receipt, Turn};
use strongroom_engine::{Engine, RecordError};

use crate::ApiConfig;
use crate::fanout::Hub;
use crate::http::hashing::{HashingPool, Lane};
use crate::http::problem::{self, ApiError, Problem};
use crate::http::rate_limit::RateLimits;
use crate::http::write_limit::WriteLimits;

/// Shared by every request of one API instance. poem hands each request
/// its own copy, so a copy is one reference count (on a line the cores
/// share), not one per part.
#[derive(Clone)]
pub(crate) struct State(Arc<Parts>);

/// What [`State`] holds.
#[derive(Clone)]
pub(crate) struct Parts {
    pub(crate) engine: Engine,
    pub(crate) config: Arc<ApiConfig>,
    pub(crate) rate_limits: Arc<RateLimits>,
    pub(crate) hashing: Arc<HashingPool>,
    pub(crate) hub: Arc<Hub>,
    pub(crate) write_limits: Arc<WriteLimits>,
}

impl std::ops::Deref for State {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.0
    }
}

impl State {
    pub(crate) fn new(parts: Parts) -> Self {
        Self(Arc::new(parts))
    }

    /// This state with an engine handle that records `origin` as acting.
    pub(crate) fn acting(&self, origin: Origin) -> State {
        State::new(Parts {
            engine: self.engine.acting(origin),
            ..Parts::clone(self)
        })
    }

    /// Runs password work (Argon2) in the hashing pool.
    pub(crate) async fn hashing<T: Send + 'static>(
        &self,
        lane: Lane,
        work: impl FnOnce(&Engine) -> T + Send + 'static,
    ) -> poem::Result<T> {
        let engine = self.engine.clone();
        self.hashing
            .run(lane, move || work(&engine))
            .await
            .ok_or_else(|| unavailable().into())
    }

    /// Runs a read: here on the async worker when the engine's reads do
    /// not wait on the network (the embedded store: a lookup and a
    /// decryption, microseconds), else on a blocking thread.
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Engine) -> T + Send + 'static,
    ) -> poem::Result<T> {
        if self.engine.reads_block() {
            self.blocking(work).await
        } else {
            Ok(work(&self.engine))
        }
    }

    /// Waits for a queued write's group commit without holding a thread;
    /// only when this request must commit the queue does it take a
    /// blocking thread to do so, which goes on committing while writes
    /// keep coming (`QueuedWrite::lead_on`) after it answers this one.
    pub(crate) async fn commit(
        &self,
        mut queued: QueuedWrite,
    ) -> poem::Result<Result<Receipt, RecordError>> {
        match std::future::poll_fn(|cx| queued.poll_turn(cx)).await {
            Turn::Done(result) => Ok(result),
            Turn::Lead => {
                let (tell, told) = tokio::sync::oneshot::channel();
                let leader = tokio::task::spawn_blocking(move || {
                    queued.lead_on(|result| {
                        let _ = tell.send(result);
                    })
                });
                match told.await {
                    Ok(result) => Ok(result),
                    // Never answered: the thread panicked, or never ran
                    // (the runtime is shutting down).
                    Err(_) => Err(match leader.await {
                        Err(e) => not_joined(e),
                        Ok(()) => unavailable(),
                    }
                    .into()),
                }
            }
        }
    }

    /// Runs blocking engine work (durable commits) on a blocking thread,
    /// off the async workers.
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Engine) -> T + Send + 'static,
    ) -> poem::Result<T> {
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || work(&engine))
            .await
            .map_err(|e| not_joined(e).into())
    }
}

/// Why blocking work gave no result: it panicked (a bug: 500, and the
/// panic hook has reported it), or it was cancelled as the runtime shuts
/// down (503).
fn not_joined(e: tokio::task::JoinError) -> ApiError {
    if e.is_panic() {
        ApiError(problem::internal("blocking work", &"it panicked"))
    } else {
        unavailable()
    }
}

fn unavailable() -> ApiError {
    ApiError(Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "shutting down",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn blocking_work_that_panicked_is_a_500_and_cancelled_work_a_503() {
        let panicked = tokio::task::spawn_blocking(|| panic!("a bug (expected in this test)"))
            .await
            .expect_err("panicked");
        assert_eq!(not_joined(panicked).0.status, 500);
        let never = tokio::spawn(std::future::pending::<()>());
        never.abort();
        let cancelled = never.await.expect_err("cancelled");
        assert_eq!(not_joined(cancelled).0.status, 503);
    }
}
