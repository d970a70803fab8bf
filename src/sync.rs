//! The one place that imports synchronization primitives.
//!
//! Every atomic, the mutex and the epoch-based reclamation scheme used by the map come from here,
//! so that a model checker can swap all of them for instrumented versions in this single file.

pub(crate) use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

pub(crate) use parking_lot::Mutex;

/// Epoch-based memory reclamation: pointers, guards and the global collector.
pub(crate) use crossbeam_epoch as epoch;
