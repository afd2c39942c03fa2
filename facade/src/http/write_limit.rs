//! Write rates per account: each account's `writes_per_minute` quota (and,
//! for broadcasts, the server's broadcast rate; for key lookups a fixed
//! budget) as a token bucket of that many writes, refilled evenly over a
//! minute. Time is the engine's clock,
//! so tests move it instead of sleeping. Counted per server instance.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use strongroom_engine::{Timestamp, UserId};

/// What is being counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// Stores, sends, deletes, broadcasts, share links.
    Write,
    /// Broadcasts (besides counting as writes).
    Broadcast,
    /// Lookups of other users' end-to-end keys: a fixed budget, so names
    /// cannot be probed by the thousand.
    KeyLookup,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// Writes available.
    tokens: f64,
    at: Timestamp,
}

/// Buckets kept before those back at full budget are forgotten.
const PRUNE_AT: usize = 100_000;

/// Token buckets per (account, kind).
#[derive(Default)]
pub(crate) struct WriteLimits(Mutex<HashMap<(UserId, Kind), Bucket>>);

impl WriteLimits {
    /// Takes one write from `user`'s bucket of `per_minute`; if it is
    /// empty, how long until it holds one.
    pub(crate) fn take(
        &self,
        user: UserId,
        kind: Kind,
        per_minute: u32,
        now: Timestamp,
    ) -> Result<(), Duration> {
        if per_minute == u32::MAX {
            return Ok(());
        }
        let full = f64::from(per_minute);
        let mut buckets = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= PRUNE_AT {
            buckets.retain(|_, b| b.tokens < full);
        }
        let bucket = buckets.entry((user, kind)).or_insert(Bucket {
            tokens: full,
            at: now,
        });
        let per_second = full / 60.0;
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = full.min(bucket.tokens + elapsed * per_second);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        if per_minute == 0 {
            return Err(Duration::from_secs(60));
        }
        Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_empties_and_refills_over_a_minute() {
        let limits = WriteLimits::default();
        let alice = UserId::from_u128(1);
        let t0 = Timestamp::from_unix_millis(1_000_000);
        for _ in 0..3 {
            assert!(limits.take(alice, Kind::Write, 3, t0).is_ok());
        }
        let wait = limits.take(alice, Kind::Write, 3, t0).expect_err("empty");
        assert_eq!(wait.as_millis(), 20_000);
        // Other accounts and kinds have their own buckets.
        assert!(
            limits
                .take(UserId::from_u128(2), Kind::Write, 3, t0)
                .is_ok()
        );
        assert!(limits.take(alice, Kind::Broadcast, 3, t0).is_ok());
        let later = t0.saturating_add(Duration::from_secs(20));
        assert!(limits.take(alice, Kind::Write, 3, later).is_ok());
        assert!(limits.take(alice, Kind::Write, 3, later).is_err());
        assert!(limits.take(alice, Kind::Write, u32::MAX, later).is_ok());
    }
}
