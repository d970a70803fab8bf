//! One shard: a read snapshot with its index of new keys, the lock that serialises the writers
//! that add keys or replace the snapshot, and the counters that decide when to merge or compact.
//!
//! The module docs of [`raw`](super) describe the protocol, its invariants and the argument that
//! it is linearizable.

use std::cmp;

use super::entry::{value_of, Computed, LoadOrStore, Pending, Revival};
use super::fresh::Fresh;
use super::node::{EntryPtr, OwnedEntry};
use super::reclaim::{retire_snapshot, retire_value, seal_if_large, Unlinked};
use super::slot::Slot;
use super::table::{Indexed, Snapshot, Table};
use super::{entry, must_compact, MERGE_FLOOR};
use crate::compute::{Compute, Operation};
use crate::stats::Stats;
use crate::sync::epoch::{Atomic, Guard, Owned, Shared};
use crate::sync::Ordering::{AcqRel, Acquire, Relaxed, SeqCst};
use crate::sync::{injected, AtomicU64, AtomicUsize, Mutex, MutexGuard};

/// A shard, laid out over two cache lines: the one readers load (the snapshot pointer) never
/// shares a line with the counters and the lock that writers update.
#[repr(C, align(128))]
pub(crate) struct Shard<K, V> {
    read: ReadSide<K, V>,
    write: WriteSide,
}

#[repr(align(64))]
struct ReadSide<K, V> {
    /// The read snapshot; null while the shard holds no entry at all.
    snapshot: Atomic<Snapshot<K, V>>,
}

#[repr(align(64))]
struct WriteSide {
    locked: Mutex<Locked>,
    /// Live linked entries and deleted (not expunged) ones, tombstones, as [`Counts`]: one word,
    /// so that a removal or a revival changes both with one read-modify-write and sees the two
    /// together (see invariants 5 and 6).
    counts: AtomicU64,
    /// Lookups that found their key in the index rather than the table, since the snapshot was
    /// published.
    misses: AtomicUsize,
}

/// A shard's live entries and tombstones.
///
/// Packed into one word as `live * 2^32 + dead`, modulo `2^64`: each count is a wrapping 32-bit
/// number that may dip below zero while writes are in flight (a removal's decrement may come
/// before the increment of the store it follows), so the low half is read as signed, and the
/// high half from what remains. Both stay far below `2^31` in magnitude: an insert refuses to
/// link more than [`MAX_LINKED`] entries in one shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) live: isize,
    pub(crate) dead: isize,
}

/// The most entries (live or deleted) one shard links.
pub(crate) const MAX_LINKED: isize = (1 << 30) - 1;

impl Counts {
    fn pack(self) -> u64 {
        ((self.live as u64) << 32).wrapping_add(self.dead as u64)
    }

    fn unpack(packed: u64) -> Self {
        let dead = packed as u32 as i32;
        let live = (packed.wrapping_sub(dead as u64) >> 32) as u32 as i32;
        Counts {
            live: live as isize,
            dead: dead as isize,
        }
    }
}

/// What the lock guards besides the right to add entries and publish snapshots.
struct Locked {
    /// Capacity requested at construction (this shard's share), used by its first dirty index.
    capacity_hint: usize,
    promotions: u64,
    dirty_builds: u64,
    compactions: u64,
}

/// What a lock-free look saw: enough to tell, once the lock is held, whether anything was added
/// to the shard since (the snapshot and the length of its index only change under the lock).
struct Seen<K, V> {
    snapshot: *const Snapshot<K, V>,
    fresh_len: usize,
}

impl<K, V> Seen<K, V> {
    fn of(snapshot: Option<&Snapshot<K, V>>, fresh: Option<&Fresh<K, V>>) -> Self {
        Seen {
            snapshot: snapshot.map_or(std::ptr::null(), std::ptr::from_ref),
            fresh_len: fresh.map_or(0, Fresh::len),
        }
    }
}

impl<K, V> PartialEq for Seen<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.snapshot == other.snapshot && self.fresh_len == other.fresh_len
    }
}

impl<K, V> Shard<K, V> {
    pub(crate) fn new(capacity_hint: usize) -> Self {
        Shard {
            read: ReadSide {
                snapshot: Atomic::null(),
            },
            write: WriteSide {
                locked: Mutex::new(Locked {
                    capacity_hint,
                    promotions: 0,
                    dirty_builds: 0,
                    compactions: 0,
                }),
                counts: AtomicU64::new(0),
                misses: AtomicUsize::new(0),
            },
        }
    }

    /// Live entries and tombstones; either may be off (even negative) while writes are in
    /// flight.
    pub(crate) fn counts(&self) -> Counts {
        Counts::unpack(self.write.counts.load(SeqCst))
    }

    /// Live entries; may be off (even negative) while writes are in flight.
    pub(crate) fn live(&self) -> isize {
        self.counts().live
    }

    /// Adds `change` to the counts, and returns them as they are after it.
    fn count(&self, change: Counts) -> Counts {
        let packed = change.pack();
        Counts::unpack(
            self.write
                .counts
                .fetch_add(packed, SeqCst)
                .wrapping_add(packed),
        )
    }

    pub(crate) fn snapshot<'g>(&self, guard: &'g Guard) -> Option<&'g Snapshot<K, V>> {
        // SAFETY: a replaced snapshot is retired through the epoch, so the one loaded here stays
        // allocated (and its table unchanged) while `guard` is pinned.
        unsafe { self.read.snapshot.load(Acquire, guard).as_ref() }
    }

    fn lock(&self) -> MutexGuard<'_, Locked> {
        self.write.locked.lock()
    }

    /// Every entry linked in the shard, with exclusive access.
    fn take_snapshot(&mut self) -> Option<Box<Snapshot<K, V>>> {
        // SAFETY: `&mut self` excludes every other thread; nothing is retired through this guard.
        let guard = unsafe { crate::sync::epoch::unprotected() };
        let old = self.read.snapshot.swap(Shared::null(), Relaxed, guard);
        // SAFETY: a non-null snapshot came from an `Owned`; with exclusive access nothing else
        // can reach it now that it is swapped out.
        (!old.is_null()).then(|| unsafe { old.into_owned() }.into_box())
    }
}

impl<K, V> Shard<K, V>
where
    K: Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    /// Finds the key's linked entry without a lock: in the table, then in the index (counting a
    /// miss toward the next promotion).
    ///
    /// The table's probe is kept small enough to inline into every read; the index's, which
    /// only keys added since the last promotion need, is a call.
    #[inline]
    pub(crate) fn find(
        &self,
        hash: u64,
        mut eq: impl FnMut(&K) -> bool,
        guard: &Guard,
    ) -> Option<EntryPtr<K, V>> {
        let snapshot = self.snapshot(guard)?;
        match snapshot.table.find(hash, &mut eq) {
            Some(ptr) => Some(ptr),
            None => self.find_fresh(snapshot, hash, eq, guard),
        }
    }

    /// The part of [`find`](Self::find) after the table missed.
    #[inline(never)]
    fn find_fresh(
        &self,
        snapshot: &Snapshot<K, V>,
        hash: u64,
        eq: impl FnMut(&K) -> bool,
        guard: &Guard,
    ) -> Option<EntryPtr<K, V>> {
        let found = snapshot.fresh(guard)?.find(hash, eq);
        if found.is_some() {
            self.missed(snapshot, guard);
        }
        found
    }

    /// [`find`](Self::find) for a writer, also saying what it saw; a miss prepares the slot an
    /// insert of the key would take (see [`Fresh::find_before_insert`]).
    fn look(
        &self,
        hash: u64,
        mut eq: impl FnMut(&K) -> bool,
        guard: &Guard,
    ) -> (Option<EntryPtr<K, V>>, Seen<K, V>) {
        let Some(snapshot) = self.snapshot(guard) else {
            return (None, Seen::of(None, None));
        };
        if let Some(fresh) = snapshot.fresh(guard) {
            fresh.prepare_insert(hash);
        }
        if let Some(ptr) = snapshot.table.find(hash, &mut eq) {
            return (Some(ptr), Seen::of(Some(snapshot), None));
        }
        let fresh = snapshot.fresh(guard);
        // The length is read before the probe: everything it counts, the probe finds.
        let seen = Seen::of(Some(snapshot), fresh);
        let found = fresh.and_then(|fresh| fresh.find_before_insert(hash, eq));
        if found.is_some() {
            self.missed(snapshot, guard);
        }
        (found, seen)
    }

    /// The key's entry in the current snapshot, by the lock holder: looks again only if the shard
    /// changed since `seen`.
    fn find_locked(
        &self,
        seen: &Seen<K, V>,
        hash: u64,
        mut eq: impl FnMut(&K) -> bool,
        guard: &Guard,
    ) -> Option<EntryPtr<K, V>> {
        let snapshot = self.snapshot(guard);
        let fresh = snapshot.and_then(|snapshot| snapshot.fresh(guard));
        if *seen == Seen::of(snapshot, fresh) || injected!("skip_locked_recheck") {
            return None;
        }
        snapshot?
            .table
            .find(hash, &mut eq)
            .or_else(|| fresh?.find(hash, eq))
    }

    /// Counts a lookup that the table missed and the index answered; once as many have been
    /// counted as the shard has entries, merges the index into a new table (Go's promotion),
    /// unless another thread holds the lock.
    fn missed(&self, snapshot: &Snapshot<K, V>, guard: &Guard) {
        let misses = self.write.misses.fetch_add(1, Relaxed) + 1;
        if misses < snapshot.len(guard) {
            return;
        }
        if let Some(mut locked) = self.write.locked.try_lock() {
            if let Some(current) = self.snapshot(guard) {
                let due = self.write.misses.load(Relaxed) >= current.len(guard);
                if due && current.fresh(guard).is_some() {
                    self.merge_locked(&mut locked, current, None, guard);
                }
            }
        }
    }

    /// Go's `Swap`: stores the value and returns the previous one.
    pub(crate) fn insert<'g>(
        &'g self,
        hash: u64,
        key: K,
        value: V,
        shards: usize,
        guard: &'g Guard,
    ) -> Option<&'g V>
    where
        K: Eq,
    {
        let mut eq = |stored: &K| *stored == key;
        let mut value = Pending::Plain(value);
        let (found, seen) = self.look(hash, &mut eq, guard);
        if let Some(found) = found {
            let mut revival = self.revival(shards);
            let swapped = entry(found, guard).swap_unless_expunged(value, &mut revival, guard);
            revival.settle(guard);
            match swapped {
                Ok(previous) => return self.replaced(found, previous, guard),
                Err(back) => value = back,
            }
        }

        let mut locked = self.lock();
        if let Some(found) = self.find_locked(&seen, hash, &mut eq, guard) {
            // A linked entry is never expunged while the lock is held.
            let mut revival = self.revival(shards);
            let previous = entry(found, guard).swap_locked(value.boxed(), &mut revival, guard);
            revival.settle_locked(&mut locked, guard);
            drop(locked);
            return self.replaced(found, previous, guard);
        }
        self.insert_new_locked(&mut locked, hash, key, value.into_value(), guard);
        None
    }

    /// Go's `LoadOrStore`: returns the current value, or stores this one if the key is absent.
    pub(crate) fn try_insert<'g>(
        &'g self,
        hash: u64,
        key: K,
        value: V,
        shards: usize,
        guard: &'g Guard,
    ) -> Result<&'g V, (&'g V, V)>
    where
        K: Eq,
    {
        let mut eq = |stored: &K| *stored == key;
        let mut value = Pending::Plain(value);
        let (found, seen) = self.look(hash, &mut eq, guard);
        if let Some(found) = found {
            let mut revival = self.revival(shards);
            let outcome = entry(found, guard).load_or_store(value, &mut revival, guard);
            revival.settle(guard);
            match outcome {
                LoadOrStore::Expunged(back) => value = back,
                outcome => return loaded_or_stored(outcome),
            }
        }

        let mut locked = self.lock();
        if let Some(found) = self.find_locked(&seen, hash, &mut eq, guard) {
            let mut revival = self.revival(shards);
            let outcome = entry(found, guard).load_or_store(value, &mut revival, guard);
            revival.settle_locked(&mut locked, guard);
            drop(locked);
            return loaded_or_stored(outcome);
        }
        Ok(self.insert_new_locked(&mut locked, hash, key, value.into_value(), guard))
    }

    /// The accounting of revivals for a store into this shard (one of `shards`).
    fn revival(&self, shards: usize) -> Reviving<'_, K, V> {
        Reviving {
            shard: self,
            shards,
            compact: false,
        }
    }

    /// Retires the value a store replaced in `found` (`previous`: live, or null for a tombstone,
    /// whose revival was counted before the store's compare-and-swap).
    fn replaced<'g>(
        &self,
        found: EntryPtr<K, V>,
        previous: Shared<'g, Slot<V>>,
        guard: &'g Guard,
    ) -> Option<&'g V> {
        let value = value_of(previous)?;
        // SAFETY: this thread's swap unlinked `previous` from `found`; nothing links it any more.
        unsafe { retire_value(found, previous, guard) };
        Some(value)
    }

    /// Adds an entry for a key that the current snapshot lacks: into the index, or into the
    /// shard's first table, or by merging a full index and the table into a new one.
    fn insert_new_locked<'g>(
        &self,
        locked: &mut Locked,
        hash: u64,
        key: K,
        value: V,
        guard: &'g Guard,
    ) -> &'g V {
        // Only the lock holder changes the sum: a removal or a revival moves one entry between
        // the two counts with one read-modify-write.
        let Counts { live, dead } = self.counts();
        assert!(
            live + dead < MAX_LINKED,
            "snapmap: a shard holds at most {MAX_LINKED} entries; build the map with more shards"
        );
        let slot = Indexed {
            hash,
            entry: EntryPtr::new(key, value),
        };
        self.count(Counts { live: 1, dead: 0 });
        match self.snapshot(guard) {
            None => {
                let mut table = Table::with_capacity(1);
                table.insert_unique(slot);
                self.publish_locked(locked, table, Unlinked::none(), Vec::new(), guard);
            }
            Some(snapshot) => match snapshot.fresh(guard) {
                Some(fresh) if fresh.has_room() => fresh.insert(slot),
                Some(fresh) if fresh.len() >= cmp::max(MERGE_FLOOR, snapshot.table.len()) => {
                    self.merge_locked(locked, snapshot, Some(slot), guard);
                }
                fresh => {
                    let grown = match fresh {
                        Some(fresh) => fresh.grown(),
                        // The shard's first index has room for the capacity the map was
                        // built with: the keys then arrive without a copy, and the first
                        // merge builds a table of that size.
                        None => {
                            locked.dirty_builds += 1;
                            Fresh::with_room_for(std::mem::take(&mut locked.capacity_hint))
                        }
                    };
                    grown.insert(slot);
                    let old = snapshot.fresh.swap(Owned::new(grown), AcqRel, guard);
                    if !old.is_null() {
                        // SAFETY: `old` is retired only below, so it is still allocated.
                        let retired = unsafe { old.deref() }.len();
                        // SAFETY: the swap, made under the lock, unlinked the old index; readers
                        // that loaded it did so under guards the epoch waits for.
                        unsafe { guard.defer_destroy(old) };
                        seal_if_large(retired, guard);
                    }
                }
            },
        }
        // Not a load of the value pointer: once published, the entry may already have been
        // overwritten or removed by another thread.
        entry(slot.entry, guard).first_value()
    }

    /// Publishes a table holding every entry of `snapshot` (and `extra`), which must be current.
    fn merge_locked(
        &self,
        locked: &mut Locked,
        snapshot: &Snapshot<K, V>,
        extra: Option<Indexed<K, V>>,
        guard: &Guard,
    ) {
        let mut table = Table::with_capacity(snapshot.len(guard) + usize::from(extra.is_some()));
        for slot in snapshot.slots(guard).chain(extra) {
            table.insert_unique(slot);
        }
        self.publish_locked(locked, table, Unlinked::none(), Vec::new(), guard);
        locked.promotions += 1;
    }

    /// Replaces the snapshot with one built on `table` (none if it is empty), and retires the old
    /// snapshot together with the `unlinked` entries and `values` only it reached.
    ///
    /// `_locked` is the proof that the caller holds the lock.
    fn publish_locked(
        &self,
        _locked: &mut Locked,
        table: Table<K, V>,
        unlinked: Unlinked<K, V>,
        values: Vec<Shared<'_, Slot<V>>>,
        guard: &Guard,
    ) {
        self.write.misses.store(0, Relaxed);
        let new = if table.len() == 0 {
            Shared::null()
        } else {
            Owned::new(Snapshot::new(table)).into_shared(guard)
        };
        let old = self.read.snapshot.swap(new, AcqRel, guard);
        if old.is_null() {
            debug_assert!(unlinked.is_none() && values.is_empty());
            return;
        }
        // SAFETY: `old` is retired only below, so it stays allocated while `guard` is pinned.
        let retired = unsafe { old.deref() }.len(guard);
        // SAFETY: `old` was the snapshot until the swap above, made under the lock; `unlinked`
        // are entries this thread expunged, which no table indexes any more, and `values` the
        // values it took out of them, each listed once.
        unsafe { retire_snapshot(old, unlinked, values, guard) };
        seal_if_large(retired, guard);
    }

    /// Removes the value if `pred` accepts it (Go's `LoadAndDelete` and `CompareAndDelete`).
    pub(crate) fn remove<'g>(
        &'g self,
        hash: u64,
        eq: impl FnMut(&K) -> bool,
        pred: impl FnMut(&V) -> bool,
        shards: usize,
        guard: &'g Guard,
    ) -> Option<&'g V> {
        let found = self.find(hash, eq, guard)?;
        let removed = entry(found, guard).delete_if(pred, guard)?;
        Some(self.removed(found, removed, shards, guard))
    }

    /// Accounts for a removal that unlinked `removed`, and compacts if tombstones pile up.
    ///
    /// The decision is made from the value the increment returned and a load of `live` after it
    /// (both sequentially consistent): the removal that brings the count over the bound sees it,
    /// whatever other writers do meanwhile (see invariant 6 in the module docs).
    pub(crate) fn removed<'g>(
        &self,
        found: EntryPtr<K, V>,
        removed: Shared<'g, Slot<V>>,
        shards: usize,
        guard: &'g Guard,
    ) -> &'g V {
        let Counts { live, dead } = self.count(Counts { live: -1, dead: 1 });
        let value = value_of(removed).expect("a removed value is live");
        // SAFETY: this thread's compare-and-swap unlinked `removed` from `found`.
        unsafe { retire_value(found, removed, guard) };
        if must_compact(dead, live, shards) {
            self.compact_locked(&mut self.lock(), shards, false, guard);
        }
        value
    }

    /// Applies `decide`'s last decision about the key atomically (see [`Entry::compute`]): to its
    /// entry by compare-and-swap, or, for an insert of an absent key, under the lock after
    /// checking that it is still absent.
    pub(crate) fn compute<'g, T>(
        &'g self,
        hash: u64,
        key: K,
        mut decide: impl FnMut(Option<&'g V>, Option<V>) -> Operation<V, T>,
        shards: usize,
        guard: &'g Guard,
    ) -> Compute<'g, V, T>
    where
        K: Eq,
    {
        let mut eq = |stored: &K| *stored == key;
        let mut rejected = None;
        loop {
            let (found, seen) = self.look(hash, &mut eq, guard);
            if let Some(found) = found {
                let mut revival = self.revival(shards);
                let computed =
                    entry(found, guard).compute(&mut decide, rejected.take(), &mut revival, guard);
                revival.settle(guard);
                match computed {
                    Computed::Stored { old, new } => {
                        return match value_of(old) {
                            None => Compute::Inserted(new),
                            Some(old_value) => {
                                // SAFETY: this thread's compare-and-swap unlinked `old`.
                                unsafe { retire_value(found, old, guard) };
                                Compute::Updated {
                                    old: old_value,
                                    new,
                                }
                            }
                        };
                    }
                    Computed::Removed(old) => {
                        return Compute::Removed(self.removed(found, old, shards, guard));
                    }
                    Computed::Unchanged => return Compute::Unchanged,
                    Computed::Aborted(aborted) => return Compute::Aborted(aborted),
                    // Found through a snapshot that has been replaced since. The lock holder
                    // that expunged the entry published the new snapshot before unlocking:
                    // taking the lock orders this thread after that publication, so the next
                    // look sees it (looking again at once could read the old pointer again).
                    Computed::Expunged(back) => {
                        rejected = back;
                        drop(self.lock());
                        continue;
                    }
                }
            }
            let value = match decide(None, rejected.take()) {
                Operation::Abort(aborted) => return Compute::Aborted(aborted),
                Operation::Remove => return Compute::Unchanged,
                Operation::Insert(value) => value,
            };
            let mut locked = self.lock();
            if self.find_locked(&seen, hash, &mut eq, guard).is_some() {
                // Inserted meanwhile: decide again on its value.
                rejected = Some(value);
                continue;
            }
            let stored = self.insert_new_locked(&mut locked, hash, key, value, guard);
            return Compute::Inserted(stored);
        }
    }

    /// Removes the key; returns its entry's key and the removed value.
    pub(crate) fn remove_entry<'g>(
        &'g self,
        hash: u64,
        eq: impl FnMut(&K) -> bool,
        shards: usize,
        guard: &'g Guard,
    ) -> Option<(&'g K, &'g V)> {
        let found = self.find(hash, eq, guard)?;
        let removed = entry(found, guard).delete_if(|_| true, guard)?;
        Some((found.key(), self.removed(found, removed, shards, guard)))
    }

    /// Go's `CompareAndSwap`, generalized to a predicate.
    ///
    /// Inlined, like `Entry::compare_exchange`, so that the entry's answer reaches the caller in
    /// registers.
    #[inline]
    pub(crate) fn compare_exchange<'g>(
        &'g self,
        hash: u64,
        eq: impl FnMut(&K) -> bool,
        matches: impl FnMut(&V) -> bool,
        new: V,
        guard: &'g Guard,
    ) -> Result<&'g V, (Option<&'g V>, V)> {
        let Some(found) = self.find(hash, eq, guard) else {
            return Err((None, new));
        };
        let previous = entry(found, guard).compare_exchange(matches, new, guard)?;
        // SAFETY: this thread's compare-and-swap unlinked `previous`.
        unsafe { retire_value(found, previous, guard) };
        Ok(value_of(previous).expect("a replaced value is live"))
    }

    /// Replaces the value `v` with `f(v)`; returns the new value.
    pub(crate) fn update<'g>(
        &'g self,
        hash: u64,
        eq: impl FnMut(&K) -> bool,
        f: impl Fn(&V) -> V,
        guard: &'g Guard,
    ) -> Option<&'g V> {
        let found = self.find(hash, eq, guard)?;
        let (previous, new) = entry(found, guard).update(f, guard)?;
        // SAFETY: this thread's compare-and-swap unlinked `previous`.
        unsafe { retire_value(found, previous, guard) };
        Some(new)
    }

    /// Merges the index into the table, if there is one, so that every key is one probe away.
    pub(crate) fn promote(&self, guard: &Guard) {
        let has_fresh = |guard| {
            self.snapshot(guard)
                .is_some_and(|snapshot| snapshot.fresh(guard).is_some())
        };
        if has_fresh(guard) {
            let mut locked = self.lock();
            if let Some(snapshot) = self.snapshot(guard).filter(|_| has_fresh(guard)) {
                self.merge_locked(&mut locked, snapshot, None, guard);
            }
        }
    }

    /// Rebuilds the snapshot from the live entries only, if tombstones exceed the shard's bound
    /// (or `force`).
    fn compact_locked(&self, locked: &mut Locked, shards: usize, force: bool, guard: &Guard) {
        let Some(snapshot) = self.snapshot(guard) else {
            return;
        };
        let Counts { live, dead } = self.counts();
        if !force && !must_compact(dead, live, shards) {
            return; // another thread compacted while this one waited for the lock
        }
        let mut unlinked = Vec::with_capacity(cmp::max(dead, 0) as usize);
        let mut table = Table::with_capacity(cmp::max(live, 0) as usize);
        for_each_warmed(snapshot.slots(guard), guard, |slot| {
            if entry(slot.entry, guard).try_expunge_locked(guard) {
                unlinked.push(slot.entry);
            } else {
                table.insert_unique(slot);
            }
        });
        self.count(Counts {
            live: 0,
            dead: -(unlinked.len() as isize),
        });
        let unlinked = Unlinked::Listed(unlinked.into_boxed_slice());
        self.publish_locked(locked, table, unlinked, Vec::new(), guard);
        locked.compactions += 1;
    }

    /// Removes every entry: in place, as removals do, if so few are left that their tombstones
    /// stay within the shard's bound; otherwise by publishing an empty snapshot (`O(n)` under the
    /// lock, but off the readers' path). A shard that counts no live entry is left alone.
    pub(crate) fn clear(&self, shards: usize, guard: &Guard) {
        let Some(snapshot) = self.snapshot(guard) else {
            return; // nothing to clear, and no lock taken
        };
        let Counts { live, dead } = self.counts();
        if live <= 0 {
            // Only tombstones, or keys whose stores or removals run concurrently with this
            // `clear`: a key stored before it began and not written since is counted
            // (invariant 7).
            return;
        }
        if !must_compact(dead + live, 0, shards) {
            // Driven by the walk's own fold, which a `for` loop over the chained table and index
            // would not use.
            snapshot.slots(guard).for_each(|slot| {
                if let Some(removed) = entry(slot.entry, guard).delete_if(|_| true, guard) {
                    self.removed(slot.entry, removed, shards, guard);
                }
            });
            return;
        }
        let mut locked = self.lock();
        let Some(snapshot) = self.snapshot(guard) else {
            return;
        };
        // Every entry the snapshot indexes is expunged, so the old snapshot is the list of what
        // to release; only values stored after an entry's first one need a list of their own.
        let mut values = Vec::new();
        let (mut entries, mut live) = (0, 0);
        for_each_warmed(snapshot.slots(guard), guard, |slot| {
            let previous = entry(slot.entry, guard).expunge_locked(guard);
            if !previous.is_null() {
                live += 1;
                // A first value is dropped with its entry.
                if !slot.entry.is_first(previous) {
                    values.push(previous);
                }
            }
            entries += 1;
        });
        self.count(Counts {
            live: -live,
            dead: live - entries,
        });
        self.publish_locked(
            &mut locked,
            Table::with_capacity(0),
            Unlinked::All,
            values,
            guard,
        );
    }

    /// Compacts unconditionally (with exclusive access, so retired memory is freed at once).
    pub(crate) fn shrink_to_fit(&mut self) {
        // SAFETY: `&mut self` means no other thread can reach the shard, so nothing retired here
        // can still be in use and the unprotected guard may free it immediately.
        let guard = unsafe { crate::sync::epoch::unprotected() };
        self.compact_locked(&mut self.lock(), 1, true, guard);
    }

    /// Adds this shard's figures to `stats`.
    pub(crate) fn add_stats(&self, stats: &mut Stats, guard: &Guard) {
        let locked = self.lock();
        if let Some(snapshot) = self.snapshot(guard) {
            let fresh_len = snapshot.fresh(guard).map_or(0, Fresh::len);
            stats.read_slots += snapshot.table.len();
            stats.dirty_len += fresh_len;
            stats.amended |= fresh_len > 0;
            stats.tombstones += snapshot
                .slots(guard)
                .filter(|slot| !entry(slot.entry, guard).is_live(guard))
                .count();
        }
        stats.misses += self.write.misses.load(Relaxed);
        stats.promotions += locked.promotions;
        stats.dirty_builds += locked.dirty_builds;
        stats.compactions += locked.compactions;
    }
}

/// Entries loaded together before any of them is expunged.
const WARM_AHEAD: usize = 16;

/// The answer of a `LoadOrStore` that found its key's entry.
fn loaded_or_stored<V>(outcome: LoadOrStore<'_, V>) -> Result<&V, (&V, V)> {
    match outcome {
        LoadOrStore::Stored(stored) => Ok(stored),
        LoadOrStore::Loaded(current, back) => Err((current, back.into_value())),
        LoadOrStore::Expunged(_) => {
            unreachable!("only the lock holder expunges, and only entries it unlinks")
        }
    }
}

/// A shard's side of a store's revivals (see [`Revival`]): a revival moves one entry from the
/// dead count to the live one before its compare-and-swap, and back if that fails.
///
/// Taking a revival back raises `dead` as a removal does, so it has to make the same check:
/// a removal that ran meanwhile saw the live count raised by the revival and may not have
/// compacted when the final counts need it (invariant 6). The check is made from the
/// read-modify-write's own result; the compaction follows once the entry's operation is done
/// ([`settle`](Self::settle)).
struct Reviving<'a, K, V> {
    shard: &'a Shard<K, V>,
    shards: usize,
    /// Whether a revival taken back found the shard over its tombstone bound.
    compact: bool,
}

impl<K, V> Revival for Reviving<'_, K, V> {
    fn before(&mut self) {
        self.shard.count(Counts { live: 1, dead: -1 });
    }

    fn failed(&mut self) {
        let Counts { live, dead } = self.shard.count(Counts { live: -1, dead: 1 });
        self.compact |= must_compact(dead, live, self.shards);
    }
}

impl<K, V> Reviving<'_, K, V>
where
    K: Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    /// Compacts, taking the lock, if a revival taken back asked for it.
    ///
    /// Inlined, with the compaction out of line: every store that found its key calls it.
    #[inline]
    fn settle(&mut self, guard: &Guard) {
        if std::mem::take(&mut self.compact) && !injected!("revival_taken_back_unchecked") {
            self.compact(None, guard);
        }
    }

    /// [`settle`](Self::settle) for a caller that holds the lock.
    #[inline]
    fn settle_locked(&mut self, locked: &mut Locked, guard: &Guard) {
        if std::mem::take(&mut self.compact) && !injected!("revival_taken_back_unchecked") {
            self.compact(Some(locked), guard);
        }
    }

    /// The compaction a revival taken back asked for, under the lock if the caller holds it.
    #[cold]
    #[inline(never)]
    fn compact(&self, locked: Option<&mut Locked>, guard: &Guard) {
        match locked {
            Some(locked) => self.shard.compact_locked(locked, self.shards, false, guard),
            None => self
                .shard
                .compact_locked(&mut self.shard.lock(), self.shards, false, guard),
        }
    }
}

/// Runs `f` on each slot, having loaded the entries of the next [`WARM_AHEAD`] slots together
/// before `f` sees any of them. Their cache misses then overlap, where the compare-and-swap
/// that `f` may make on one entry (a full barrier) would make every load wait for the one
/// before it.
fn for_each_warmed<K, V>(
    slots: impl Iterator<Item = Indexed<K, V>>,
    guard: &Guard,
    mut f: impl FnMut(Indexed<K, V>),
) {
    let mut slots = slots.fuse();
    // On the stack: a compaction or a `clear` of a small shard then allocates nothing for it.
    let mut chunk = [const { None }; WARM_AHEAD];
    loop {
        // `zip` asks `chunk` for a place first, so no slot is taken without one.
        let taken = chunk
            .iter_mut()
            .zip(slots.by_ref())
            .map(|(place, slot)| *place = Some(slot))
            .count();
        if taken == 0 {
            return;
        }
        let chunk = chunk[..taken].iter().flatten();
        for slot in chunk.clone() {
            entry(slot.entry, guard).warm();
        }
        chunk.for_each(|&slot| f(slot));
    }
}

impl<K, V> Shard<K, V> {
    /// The live value of a key, with exclusive access.
    pub(crate) fn get_mut(&mut self, hash: u64, mut eq: impl FnMut(&K) -> bool) -> Option<&mut V> {
        // SAFETY: `&mut self` excludes every other thread, so nothing is retired meanwhile.
        let guard = unsafe { crate::sync::epoch::unprotected() };
        let snapshot = self.snapshot(guard)?;
        let ptr = snapshot
            .table
            .find(hash, &mut eq)
            .or_else(|| snapshot.fresh(guard)?.find(hash, eq))?;
        // SAFETY: `&mut self` gives exclusive access to the shard, and `ptr` is indexed by it.
        unsafe { ptr.get_mut() }.get_mut()
    }

    /// Unlinks every entry and hands them over, with exclusive access.
    pub(crate) fn unlink_all(&mut self) -> Vec<OwnedEntry<K, V>> {
        self.write.counts.store(0, Relaxed);
        self.write.misses.store(0, Relaxed);
        let Some(snapshot) = self.take_snapshot() else {
            return Vec::new();
        };
        // SAFETY: exclusive access, as for `take_snapshot`.
        let guard = unsafe { crate::sync::epoch::unprotected() };
        let linked: Vec<_> = snapshot.slots(guard).map(|slot| slot.entry).collect();
        drop(snapshot);
        linked
            .into_iter()
            // SAFETY: each linked entry is listed once, and no table or thread can reach it now.
            .map(|ptr| unsafe { OwnedEntry::new(ptr) })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::{Counts, Shard, MAX_LINKED};
    use crate::sync::Ordering::Relaxed;

    #[test]
    #[should_panic(expected = "a shard holds at most")]
    fn a_shard_refuses_to_link_more_entries_than_its_counts_hold() {
        // A shard whose counts say it is full (a third of its entries deleted): the insert
        // panics before it allocates anything, so nothing leaks.
        let shard: Shard<u64, u64> = Shard::new(0);
        let full = Counts {
            live: MAX_LINKED - MAX_LINKED / 3,
            dead: MAX_LINKED / 3,
        };
        shard.write.counts.store(full.pack(), Relaxed);
        shard.insert(2, 2, 2, 1, &crate::sync::epoch::pin());
    }

    #[test]
    fn counts_add_up_through_the_packed_word_even_below_zero() {
        let changes = [
            (-1, 1), // a removal counted before the insert it follows
            (1, 0),
            (1, -1),
            (0, -3), // a compaction counted before the removals it expunged
            (-2, 2),
            (MAX_LINKED, 0),
            (-MAX_LINKED, MAX_LINKED),
            (0, -MAX_LINKED),
            (5, 2),
        ];
        let (mut packed, mut live, mut dead) = (0u64, 0, 0);
        for (change_live, change_dead) in changes {
            let change = Counts {
                live: change_live,
                dead: change_dead,
            };
            packed = packed.wrapping_add(change.pack());
            live += change_live;
            dead += change_dead;
            assert_eq!(Counts::unpack(packed), Counts { live, dead });
        }
    }
}
