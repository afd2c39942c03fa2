//! The background reaper: purges expired records and tokens in bounded
//! batches on a blocking thread, at a fixed interval.

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
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(config.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let engine = engine.clone();
            let run = tokio::task::spawn_blocking(move || purge_all(&engine, config.batch)).await;
            match run {
                Ok((records, tokens)) if records + tokens > 0 => {
                    tracing::info!(records, tokens, "purged expired");
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "reaper task failed"),
            }
        }
    })
}

/// Purges batch after batch until nothing expired is left.
fn purge_all(engine: &Engine, batch: usize) -> (usize, usize) {
    let (mut records, mut tokens) = (0, 0);
    loop {
        let now = engine.clock().now();
        let r = engine.purge_expired(now, batch).unwrap_or_else(|e| {
            tracing::error!(error = %e, "record purge failed");
            0
        });
        let t = engine.purge_expired_tokens(now, batch).unwrap_or_else(|e| {
            tracing::error!(error = %e, "token purge failed");
            0
        });
        records += r;
        tokens += t;
        metrics::counter!("strongroom_reaper_purged_total", "kind" => "records")
            .increment(r as u64);
        metrics::counter!("strongroom_reaper_purged_total", "kind" => "tokens").increment(t as u64);
        if r < batch && t < batch {
            return (records, tokens);
        }
    }
}
