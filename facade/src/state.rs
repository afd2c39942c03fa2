//! What the API holds: an engine handle, its settings and limiter state.

use std::sync::Arc;

use strongroom_engine::Engine;

use crate::ApiConfig;
use crate::hub::Hub;
use crate::limits::Guards;

/// Shared by every request of one API instance.
#[derive(Clone)]
pub(crate) struct State {
    pub(crate) engine: Engine,
    pub(crate) config: Arc<ApiConfig>,
    pub(crate) guards: Arc<Guards>,
    pub(crate) hub: Arc<Hub>,
}

impl State {
    /// Runs password hashing work (Argon2) on a blocking thread behind the
    /// hashing semaphore.
    pub(crate) async fn hashing<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Engine) -> T + Send + 'static,
    ) -> poem::Result<T> {
        let engine = self.engine.clone();
        self.guards
            .hash(move || work(&engine))
            .await
            .ok_or_else(|| {
                let problem = crate::problem::Problem::new(
                    poem::http::StatusCode::SERVICE_UNAVAILABLE,
                    "shutting down",
                );
                crate::responses::ApiError(problem).into()
            })
    }

    /// Runs blocking engine work (durable commits, decryption of pages) on
    /// a blocking thread, off the async workers.
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Engine) -> T + Send + 'static,
    ) -> poem::Result<T> {
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || work(&engine))
            .await
            .map_err(|_| {
                let problem = crate::problem::Problem::new(
                    poem::http::StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error",
                );
                crate::responses::ApiError(problem).into()
            })
    }
}
