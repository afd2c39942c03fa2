//! Listeners: callbacks told about durable changes, in commit order, on the
//! committing thread. They get the [`Notice`] only (events carry what a
//! subscriber needs), never the engine, so they cannot do I/O on the
//! commit path by accident.

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
            listener(notice);
        }
    }
}
