//! The hashing pool: Argon2 runs on blocking threads behind a semaphore
//! sized to the cores, so a login flood never occupies more threads than
//! there are cores and never runs on the async workers.

use std::sync::Arc;

use tokio::sync::Semaphore;

pub(crate) struct HashingPool {
    permits: Arc<Semaphore>,
}

impl HashingPool {
    /// One permit per core.
    pub(crate) fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            permits: Arc::new(Semaphore::new(cores)),
        }
    }

    /// Runs `work` on a blocking thread once a permit is free; `None` if
    /// the runtime is shutting down.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let _permit = self.permits.clone().acquire_owned().await.ok()?;
        tokio::task::spawn_blocking(work).await.ok()
    }
}
