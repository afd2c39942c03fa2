//! Listeners: callbacks told about durable changes, in commit order, on the
//! committing thread. They get the [`Notice`] only (events carry what a
//! subscriber needs), never the engine, so they cannot do I/O on the
//! commit path by accident.
//!
//! A listener that panics is skipped for that notice: the panic hook has
//! reported it, the change it was told about stands, and the other
//! listeners are still told. Unwound through the commit instead, it would
//! tell the callers of a durable write that it failed, and leave the
//! group-commit queue without a leader, so that no write would ever
//! commit again.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, RwLock};

use crate::model::Notice;

type Listener = Arc<dyn Fn(&Notice<'_>) + Send + Sync>;

/// The registered listeners.
#[derive(Default)]
pub(crate) struct Listeners(RwLock<Vec<Listener>>);

impl Listeners {
    pub(crate) fn add(&self, listener: impl Fn(&Notice<'_>) + Send + Sync + 'static) {
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::new(listener));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.read().unwrap_or_else(|e| e.into_inner()).is_empty()
    }

    pub(crate) fn notify(&self, notice: &Notice<'_>) {
        let listeners = self.0.read().unwrap_or_else(|e| e.into_inner()).clone();
        for listener in listeners {
            // Nothing of ours is left half-changed by a listener's panic:
            // it sees the notice only.
            let _ = catch_unwind(AssertUnwindSafe(|| listener(notice)));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::ids::UserId;

    #[test]
    fn a_listener_that_panics_does_not_stop_the_others_or_its_caller() {
        let listeners = Listeners::default();
        let told = Arc::new(AtomicUsize::new(0));
        listeners.add(|_| panic!("a listener's bug"));
        let count = told.clone();
        listeners.add(move |_| {
            count.fetch_add(1, Ordering::SeqCst);
        });
        let user = UserId::generate();
        listeners.notify(&Notice::AccountChanged(user));
        listeners.notify(&Notice::AccountChanged(user));
        assert_eq!(told.load(Ordering::SeqCst), 2);
    }
}
