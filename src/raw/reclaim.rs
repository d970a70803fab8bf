//! Handing unlinked memory to the epoch collector, and freeing what the map owns outright.
//!
//! Deferred destructors run inside crossbeam-epoch's collection, on whichever thread happens to
//! collect. A panic from a user's `Drop` must not unwind through the collector (it would leave
//! the rest of the deferred batch unfreed), so each destructor runs under `catch_unwind` and a
//! panic there is discarded; the memory is freed all the same.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use super::node::EntryPtr;
use super::slot::{Slot, SlotBox};
use super::table::Snapshot;
use crate::sync::epoch::{Guard, Owned, Shared};

fn drop_quietly<T>(value: T) {
    let _ = catch_unwind(AssertUnwindSafe(move || drop(value)));
}

/// Drops every item, even when some destructors panic; the first panic is resumed at the end.
pub(crate) fn drop_all<T>(items: impl IntoIterator<Item = T>) {
    let mut first_panic = None;
    for item in items {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(item))) {
            first_panic.get_or_insert(payload);
        }
    }
    if let Some(payload) = first_panic {
        resume_unwind(payload);
    }
}

/// Retires a value unlinked from `entry`: it is dropped once no guard can still see it.
///
/// # Safety
///
/// `value` must be non-null, must have been unlinked from `entry` by this thread (so that it is
/// retired exactly once) under `guard`, and no new reference to it may be created from now on.
pub(crate) unsafe fn retire_value<K, V>(
    entry: EntryPtr<K, V>,
    value: Shared<'_, Slot<V>>,
    guard: &Guard,
) where
    K: Send + 'static,
    V: Send + 'static,
{
    debug_assert!(!value.is_null());
    if entry.is_first(value) {
        // SAFETY: as the caller guarantees, for the first value.
        unsafe { entry.retire_first(guard) };
        return;
    }
    if crate::sync::injected!("free_value_now") {
        // The injected bug: freed at once, while other threads' guards may still reach it.
        // SAFETY: none; this exists only to show that the loom models catch it.
        drop_quietly(unsafe { SlotBox::from_shared(value) });
        return;
    }
    let raw = value.as_raw();
    let destroy = move || {
        // SAFETY: a value other than an entry's first was published by `SlotBox::into_shared`
        // and the caller retired it exactly once; this runs only when no guard can reach it.
        drop_quietly(unsafe { SlotBox::from_shared(Shared::from(raw)) });
    };
    // SAFETY: the epoch runs `destroy` only after every guard that could have loaded `value`
    // has been dropped; `V: Send + 'static` makes running it on another thread, later, sound.
    unsafe { guard.defer_unchecked(destroy) };
}

/// Retires a snapshot that has been replaced, together with the entries that only it indexed
/// and the values that were taken out of them.
///
/// # Safety
///
/// `snapshot` must have just been replaced as the shard's read snapshot by this thread (holding
/// the lock); `entries` must be expunged, indexed by no table other than the old snapshot, and
/// retired by nobody else; `values` must be non-null cells (not first values, which their entries
/// drop), unlinked from their entries by this thread, and retired by nobody else.
pub(crate) unsafe fn retire_snapshot<K, V>(
    snapshot: Shared<'_, Snapshot<K, V>>,
    entries: Vec<EntryPtr<K, V>>,
    values: Vec<Shared<'_, Slot<V>>>,
    guard: &Guard,
) where
    K: Send + 'static,
    V: Send + 'static,
{
    let raw = snapshot.as_raw().cast_mut();
    let values: Vec<_> = values.into_iter().map(|value| value.as_raw()).collect();
    let destroy = move || {
        for value in values {
            // SAFETY: the caller guarantees each value was unlinked and is retired once here;
            // this runs only when no guard can reach it any more.
            drop_quietly(unsafe { SlotBox::from_shared(Shared::from(value)) });
        }
        for entry in entries {
            // SAFETY: the caller guarantees these entries are unlinked and retired once, and
            // this runs only when no guard can reach them any more.
            let _ = unsafe { entry.release() };
        }
        // SAFETY: `raw` came from an `Owned` and was unlinked by the caller; as above.
        drop_quietly(unsafe { Owned::from_raw(raw) });
    };
    // SAFETY: readers reach the snapshot and those entries only through the snapshot pointer
    // they loaded under a guard; the epoch runs `destroy` once all such guards are gone.
    // `K, V: Send + 'static` make dropping them on another thread, later, sound.
    unsafe { guard.defer_unchecked(destroy) };
}
