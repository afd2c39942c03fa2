//! Login rate limits: attempts are counted (governor, GCRA) per client
//! address and per username before any hashing happens.
//!
//! Limits (defaults; see [`LoginLimits`]):
//! - per client address: 10 attempts, refilled one every 6 s (10/min);
//!   also covers account creation, which hashes too;
//! - per username: 30 attempts, refilled one every 2 s (30/min), counted
//!   only for usernames that are valid (so nobody can grow the limiter
//!   with made-up keys);
//! - refreshes per client address: 30, refilled one every 2 s;
//! - anonymous share links per client address (when allowed): 5, refilled
//!   one a minute;
//! - passphrase attempts on share links (each costs an Argon2id hash, and
//!   anyone with a link can make them): per client address 10, refilled
//!   one every 6 s, and per share 10, refilled one every 6 s (the fifth
//!   wrong passphrase destroys a share anyway, so the per-share budget
//!   bounds right ones, which many-view shares and many addresses could
//!   otherwise repeat).
//!
//! Addresses are counted per IPv4 address or per IPv6 /64. Entries back at
//! full budget are forgotten once a minute.
//!
//! Avoiding malicious lockout: limits throttle, they never lock an
//! account, and the wait is at most a few seconds per attempt (`Retry-After`).
//! One address can spend at most 10 attempts a minute, a third of a
//! username's budget, so a single attacker cannot throttle someone else's
//! account; it takes several addresses sending continuously, and the
//! throttle lifts seconds after they stop.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// How often entries back at full budget are forgotten.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Rate-limit settings for logins and account creation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginLimits {
    /// Attempts one client address may make in a burst.
    pub per_address_burst: u32,
    /// One more attempt per address is allowed every this long.
    pub per_address_refill: Duration,
    /// Attempts on one username in a burst.
    pub per_username_burst: u32,
    /// One more attempt per username is allowed every this long.
    pub per_username_refill: Duration,
    /// Token refreshes one client address may make in a burst.
    pub refresh_burst: u32,
    /// One more refresh per address is allowed every this long.
    pub refresh_refill: Duration,
    /// Anonymous share links one client address may create in a burst
    /// (with `anonymous_shares`).
    pub anonymous_share_burst: u32,
    /// One more anonymous share per address is allowed every this long.
    pub anonymous_share_refill: Duration,
    /// Share passphrase attempts one client address may make in a burst.
    pub passphrase_burst: u32,
    /// One more passphrase attempt per address is allowed every this long.
    pub passphrase_refill: Duration,
    /// Passphrase attempts on one share in a burst.
    pub passphrase_per_share_burst: u32,
    /// One more passphrase attempt per share is allowed every this long.
    pub passphrase_per_share_refill: Duration,
    /// Wrong second factors (TOTP or recovery codes) one username may get
    /// in a window before further ones are refused: a six-digit code must
    /// not be guessable at login rates.
    pub second_factor_failures: u32,
    /// The window wrong second factors are counted in.
    pub second_factor_window: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            per_address_burst: 10,
            per_address_refill: Duration::from_secs(6),
            per_username_burst: 30,
            per_username_refill: Duration::from_secs(2),
            refresh_burst: 30,
            refresh_refill: Duration::from_secs(2),
            anonymous_share_burst: 5,
            anonymous_share_refill: Duration::from_secs(60),
            passphrase_burst: 10,
            passphrase_refill: Duration::from_secs(6),
            passphrase_per_share_burst: 10,
            passphrase_per_share_refill: Duration::from_secs(6),
            second_factor_failures: 5,
            second_factor_window: Duration::from_secs(300),
        }
    }
}

/// A refused attempt: retry after this many seconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Throttled(pub(crate) u64);

/// The limiters of one API instance.
pub(crate) struct RateLimits {
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    per_username: DefaultKeyedRateLimiter<String>,
    refresh: DefaultKeyedRateLimiter<IpAddr>,
    anonymous_shares: DefaultKeyedRateLimiter<IpAddr>,
    passphrase: DefaultKeyedRateLimiter<IpAddr>,
    /// Keyed by a digest of the share's token, never the token.
    passphrase_per_share: DefaultKeyedRateLimiter<[u8; 16]>,
    /// Wrong second factors per canonical username: (count, window start).
    second_factor: Mutex<HashMap<String, (u32, Instant)>>,
    second_factor_limits: (u32, Duration),
    pruned: Mutex<Instant>,
}

fn quota(burst: u32, refill: Duration) -> Quota {
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(refill.max(Duration::from_millis(1)))
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

impl RateLimits {
    pub(crate) fn new(limits: LoginLimits) -> Self {
        Self {
            per_address: RateLimiter::keyed(quota(
                limits.per_address_burst,
                limits.per_address_refill,
            )),
            per_username: RateLimiter::keyed(quota(
                limits.per_username_burst,
                limits.per_username_refill,
            )),
            refresh: RateLimiter::keyed(quota(limits.refresh_burst, limits.refresh_refill)),
            anonymous_shares: RateLimiter::keyed(quota(
                limits.anonymous_share_burst,
                limits.anonymous_share_refill,
            )),
            passphrase: RateLimiter::keyed(quota(
                limits.passphrase_burst,
                limits.passphrase_refill,
            )),
            passphrase_per_share: RateLimiter::keyed(quota(
                limits.passphrase_per_share_burst,
                limits.passphrase_per_share_refill,
            )),
            second_factor: Mutex::new(HashMap::new()),
            second_factor_limits: (
                limits.second_factor_failures.max(1),
                limits.second_factor_window,
            ),
            pruned: Mutex::new(Instant::now()),
        }
    }

    /// Forgets entries back at full budget, at most once a minute.
    fn prune(&self) {
        let mut last = self.pruned.lock().unwrap_or_else(|e| e.into_inner());
        if last.elapsed() >= PRUNE_EVERY {
            *last = Instant::now();
            self.per_address.retain_recent();
            self.per_username.retain_recent();
            self.refresh.retain_recent();
            self.anonymous_shares.retain_recent();
            self.passphrase.retain_recent();
            self.passphrase_per_share.retain_recent();
            let window = self.second_factor_limits.1;
            self.second_factor
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|_, (_, since)| since.elapsed() < window);
        }
    }

    /// Whether a second factor may be tried on `username` now: refused
    /// once it got the window's number of wrong ones (keyed on the
    /// canonical form; a string that is no username names no account to
    /// guess for).
    pub(crate) fn second_factor(&self, username: &str) -> Result<(), Throttled> {
        self.prune();
        let Ok(name) = strongroom_engine::accounts::canonical_username(username) else {
            return Ok(());
        };
        let (max, window) = self.second_factor_limits;
        let failures = self.second_factor.lock().unwrap_or_else(|e| e.into_inner());
        match failures.get(&name) {
            Some(&(count, since)) if count >= max && since.elapsed() < window => Err(Throttled(
                window.saturating_sub(since.elapsed()).as_secs().max(1),
            )),
            _ => Ok(()),
        }
    }

    /// Counts a wrong second factor on `username`.
    pub(crate) fn second_factor_failed(&self, username: &str) {
        let Ok(name) = strongroom_engine::accounts::canonical_username(username) else {
            return;
        };
        let window = self.second_factor_limits.1;
        let mut failures = self.second_factor.lock().unwrap_or_else(|e| e.into_inner());
        let entry = failures.entry(name).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= window {
            *entry = (0, Instant::now());
        }
        entry.0 = entry.0.saturating_add(1);
    }

    /// Counts one refresh from `address` (a rate key).
    pub(crate) fn refresh(&self, address: IpAddr) -> Result<(), Throttled> {
        self.prune();
        self.refresh.check_key(&address).map_err(wait)
    }

    /// Counts one anonymous share creation from `address` (a rate key).
    pub(crate) fn anonymous_share(&self, address: IpAddr) -> Result<(), Throttled> {
        self.prune();
        self.anonymous_shares.check_key(&address).map_err(wait)
    }

    /// Counts one passphrase attempt from `address` (a rate key) on the
    /// share whose token digests to `share`.
    pub(crate) fn passphrase(&self, address: IpAddr, share: [u8; 16]) -> Result<(), Throttled> {
        self.prune();
        self.passphrase.check_key(&address).map_err(wait)?;
        self.passphrase_per_share.check_key(&share).map_err(wait)
    }

    /// Entries held right now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.per_address.len() + self.per_username.len() + self.refresh.len()
    }

    /// Counts one attempt from `address` (and on `username`, if given and
    /// valid, so the limiter never keys on arbitrary input).
    pub(crate) fn attempt(&self, address: IpAddr, username: Option<&str>) -> Result<(), Throttled> {
        self.prune();
        self.per_address.check_key(&address).map_err(wait)?;
        // Keyed on the canonical form: `Alice` and `alice` share a budget.
        if let Some(name) =
            username.and_then(|n| strongroom_engine::accounts::canonical_username(n).ok())
        {
            self.per_username.check_key(&name).map_err(wait)?;
        }
        Ok(())
    }
}

fn wait(not_until: governor::NotUntil<governor::clock::QuantaInstant>) -> Throttled {
    let secs = not_until
        .wait_time_from(DefaultClock::default().now())
        .as_secs_f64();
    Throttled(secs.ceil().max(1.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_usernames_are_never_keyed() {
        let limits = RateLimits::new(LoginLimits::default());
        let address: IpAddr = "192.0.2.1".parse().expect("ip");
        let huge = "x".repeat(1 << 20);
        for name in [huge.as_str(), "Bad\nName", "ok-name"] {
            let _ = limits.attempt(address, Some(name));
        }
        // One address entry and the one valid username.
        assert_eq!(limits.len(), 2);
    }
}
