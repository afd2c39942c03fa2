//! The hashing pool: Argon2 runs on blocking threads, never on the async
//! workers, in two lanes. Logins and account creation share one permit
//! per core; share links with a passphrase (which anonymous clients can
//! make the server hash) have a lane of their own with a single permit,
//! so however many of them wait, logins never queue behind them and keep
//! most of the cores.

use std::sync::Arc;

use tokio::sync::Semaphore;

/// Which kind of hashing a request does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lane {
    /// Logins, registrations, password checks.
    Accounts,
    /// Share links with a passphrase: creating and opening them.
    Shares,
}

pub(crate) struct HashingPool {
    accounts: Arc<Semaphore>,
    shares: Arc<Semaphore>,
}

impl HashingPool {
    /// One account permit per core; one share permit.
    pub(crate) fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            accounts: Arc::new(Semaphore::new(cores)),
            shares: Arc::new(Semaphore::new(1)),
        }
    }

    /// Runs `work` on a blocking thread once a permit of `lane` is free;
    /// `None` if the runtime is shutting down.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        lane: Lane,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let permits = match lane {
            Lane::Accounts => &self.accounts,
            Lane::Shares => &self.shares,
        };
        let _permit = permits.clone().acquire_owned().await.ok()?;
        tokio::task::spawn_blocking(work).await.ok()
    }

    /// Permits of `lane` free now.
    #[cfg(test)]
    fn free(&self, lane: Lane) -> usize {
        match lane {
            Lane::Accounts => self.accounts.available_permits(),
            Lane::Shares => self.shares.available_permits(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_login_never_waits_behind_share_hashing() {
        let pool = Arc::new(HashingPool::new());
        // Many share opens hashing at once: one runs, the rest queue.
        let (release, held) = std::sync::mpsc::channel::<()>();
        let held = Arc::new(std::sync::Mutex::new(held));
        let mut shares = Vec::new();
        for _ in 0..8 {
            let (pool, held) = (pool.clone(), held.clone());
            shares.push(tokio::spawn(async move {
                pool.run(Lane::Shares, move || {
                    let _ = held.lock().map(|h| h.recv_timeout(Duration::from_secs(10)));
                })
                .await
            }));
        }
        while pool.free(Lane::Shares) > 0 {
            tokio::task::yield_now().await;
        }
        let login = tokio::time::timeout(
            Duration::from_secs(5),
            pool.run(Lane::Accounts, || "logged in"),
        )
        .await;
        assert_eq!(login.ok().flatten(), Some("logged in"));
        for _ in 0..8 {
            let _ = release.send(());
        }
        for share in shares {
            let _ = share.await;
        }
    }
}
