//! Settings that can change while a client runs.

use arc_swap::ArcSwap;
use std::sync::Arc;

/// A shared, swappable setting (an `arc-swap` snapshot): the layers read it once per call, so
/// a change ([`set`](Self::set), or a configuration reload) applies from the next call on and
/// never half-way through one. Cheap to clone; clones share the value.
pub struct Live<T>(Arc<ArcSwap<T>>);

impl<T> Live<T> {
    /// A setting with this value.
    pub fn new(value: T) -> Self {
        Self(Arc::new(ArcSwap::from_pointee(value)))
    }

    /// The current value.
    pub fn load(&self) -> Arc<T> {
        self.0.load_full()
    }

    /// Reads the current value without taking a reference to it (the per-call fast path).
    pub fn with<R>(&self, read: impl FnOnce(&T) -> R) -> R {
        read(&self.0.load())
    }

    /// Replaces the value; the next call uses it.
    pub fn set(&self, value: T) {
        self.0.store(Arc::new(value));
    }
}

impl<T> Clone for Live<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Live<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Live").field(&*self.0.load()).finish()
    }
}

impl<T: Default> Default for Live<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}
