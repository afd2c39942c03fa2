//! The background reaper: purges expired records, tokens, share links,
//! files and stalled uploads, and audit entries past their retention, in bounded batches on a
//! blocking thread, at a fixed interval; and writes down when API keys
//! were last used. On a store several instances share, only the holder of
//! the engine's maintenance lease purges (no double work, no write
//! conflicts); another instance takes over when it stops renewing.

use std::time::Duration;

use strongroom_engine::Engine;
use tokio::task::JoinHandle;

/// How often and how much the reaper purges.
#[derive(Clone, Copy, Debug)]
pub struct ReaperConfig {
    /// Time between runs.
    pub interval: Duration,
    /// Most records (and tokens) deleted per transaction.
    pub batch: usize,
}

impl Default for ReaperConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(30),
            batch: 1000,
        }
    }
}

/// Runs the reaper until the returned task is aborted.
pub fn spawn_reaper(engine: Engine, config: ReaperConfig) -> JoinHandle<()> {
    let holder: u64 = rand::random();
    let lease = (config.interval * 3).max(Duration::from_secs(10));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(config.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let engine = engine.clone();
            let run = tokio::task::spawn_blocking(move || {
                match engine.maintenance().claim_lease(holder, lease) {
                    Ok(true) => purge_all(&engine, config.batch),
                    Ok(false) => Purged::default(), // another instance's turn
                    Err(e) => {
                        tracing::warn!(error = %e, "maintenance lease not claimed");
                        Purged::default()
                    }
                }
            })
            .await;
            match run {
                Ok(purged) if purged.total() > 0 => {
                    tracing::info!(
                        records = purged.records,
                        tokens = purged.tokens,
                        shares = purged.shares,
                        files = purged.files,
                        audit_entries = purged.audit,
                        "purged expired"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "reaper task failed"),
            }
        }
    })
}

/// How much one run removed.
#[derive(Clone, Copy, Debug, Default)]
struct Purged {
    records: usize,
    tokens: usize,
    shares: usize,
    files: usize,
    audit: usize,
}

impl Purged {
    fn total(self) -> usize {
        self.records + self.tokens + self.shares + self.files + self.audit
    }
}

/// Purges batch after batch until nothing expired is left.
fn purge_all(engine: &Engine, batch: usize) -> Purged {
    if let Err(e) = engine.api_keys().flush_usage() {
        tracing::error!(error = %e, "recording api key use failed");
    }
    let mut purged = Purged::default();
    loop {
        let now = engine.clock().now();
        let report = |what: &'static str,
                      result: Result<usize, strongroom_engine::StorageError>| {
            let n = result.unwrap_or_else(|e| {
                tracing::error!(error = %e, "{what} purge failed");
                0
            });
            metrics::counter!("strongroom_reaper_purged_total", "kind" => what).increment(n as u64);
            n
        };
        let r = report("records", engine.records().purge_expired(now, batch));
        let t = report("tokens", engine.sessions().purge_expired(now, batch));
        let s = report("shares", engine.shares().purge_expired(now, batch));
        let a = report("audit", engine.audit().prune(now, batch));
        // A file may hold thousands of segments: fewer per transaction.
        let file_batch = (batch / 16).max(1);
        let f = report("files", engine.files().purge_expired(now, file_batch));
        purged.records += r;
        purged.files += f;
        purged.tokens += t;
        purged.shares += s;
        purged.audit += a;
        if r < batch && t < batch && s < batch && a < batch && f < file_batch {
            return purged;
        }
    }
}
