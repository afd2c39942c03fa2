//! Ceremonies under way — an OpenID Connect sign-in waiting for its
//! callback, a passkey challenge waiting for its answer: a value kept in
//! this instance's memory under a key for a fixed lifetime and taken at
//! most once. Bounded: past the most it holds, the oldest is dropped.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Values under way, each taken once within `lifetime`.
pub(crate) struct Ceremonies<T> {
    lifetime: Duration,
    max: usize,
    map: Mutex<HashMap<String, (Instant, T)>>,
}

impl<T> Ceremonies<T> {
    /// Holds at most `max` values, each for `lifetime`.
    pub(crate) fn new(lifetime: Duration, max: usize) -> Self {
        Self {
            lifetime,
            max,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Keeps `value` under `key` (dropping what expired, and the oldest
    /// when full).
    pub(crate) fn remember(&self, key: String, value: T) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, (at, _)| at.elapsed() < self.lifetime);
        if map.len() >= self.max
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert(key, (Instant::now(), value));
    }

    /// The value under `key`, once, if it has not expired.
    pub(crate) fn take(&self, key: &str) -> Option<T> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let (at, value) = map.remove(key)?;
        (at.elapsed() < self.lifetime).then_some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_taken_once_and_the_oldest_goes_when_full() {
        let held = Ceremonies::new(Duration::from_secs(60), 2);
        held.remember("a".to_owned(), 1);
        held.remember("b".to_owned(), 2);
        held.remember("c".to_owned(), 3);
        assert_eq!(held.take("a"), None, "the oldest was dropped");
        assert_eq!(held.take("b"), Some(2));
        assert_eq!(held.take("b"), None, "taken once");
        let expired = Ceremonies::new(Duration::ZERO, 2);
        expired.remember("x".to_owned(), 1);
        assert_eq!(expired.take("x"), None);
    }
}
