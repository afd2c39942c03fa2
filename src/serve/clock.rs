//! The connections' clock: milliseconds on a monotonic clock, what their
//! activity stamps and timeouts are counted in.

use std::sync::OnceLock;
use std::time::Instant;

/// Milliseconds since this process first asked.
pub(super) fn now_millis() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}
