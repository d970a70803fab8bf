//! One shard's entries, iterated on a thread that does not own the guard protecting them: the
//! workers of a parallel iteration (cargo feature `rayon`).
//!
//! A `Guard` is bound to the thread that pinned it, so the caller of a parallel iteration cannot
//! lend its guard to the workers. It does not need to: everything a worker loads is reached from
//! a shard's snapshot pointer while the caller's guard is pinned, and is retired, if ever, only
//! after it was unlinked, which is after the worker's load, so after the caller pinned. The
//! epoch frees it only once every guard pinned before its retirement is gone, the caller's
//! included; and the caller's guard stays pinned until the parallel iteration has returned and
//! every worker's reads happen before that return (rayon joins its jobs). So the workers' loads
//! need no guard of their own, and what they hand out stays valid for the caller's guard's
//! lifetime, as a sequential iteration's does.
//!
//! [`Pinned`] is the proof a worker carries: it can only be made from a borrow of the caller's
//! guard, which can neither be dropped nor repinned while the borrow lasts.

use std::marker::PhantomData;

use super::{RawMap, SnapshotIter};
use crate::sync::epoch::{self, Guard};

/// Evidence that a guard of the global collector stays pinned on some thread for `'g`.
///
/// Unlike `&'g Guard`, it may be sent to other threads.
#[derive(Clone, Copy)]
pub(crate) struct Pinned<'g>(PhantomData<fn() -> &'g ()>);

impl<'g> Pinned<'g> {
    /// The caller must have checked that `guard` belongs to the global collector.
    pub(crate) fn new(guard: &'g Guard) -> Self {
        debug_assert!(guard.collector() == Some(epoch::default_collector()));
        Pinned(PhantomData)
    }
}

impl<K, V> RawMap<K, V> {
    /// The live entries of shard `shard`, for any thread, valid for as long as `'g`.
    pub(crate) fn shard_iter<'g>(
        &'g self,
        shard: usize,
        _pinned: Pinned<'g>,
    ) -> SnapshotIter<'g, K, V> {
        // The iterator only loads through this guard (the snapshot, index and value pointers)
        // and never retires or frees anything with it.
        // SAFETY: what it loads stays allocated for `'g`: the caller's guard, pinned for all of
        // `'g` (`Pinned`), was pinned before each load (see the module docs).
        let guard: &'g Guard = unsafe { epoch::unprotected() };
        SnapshotIter::new(self.shards[shard..=shard].iter(), guard)
    }
}
