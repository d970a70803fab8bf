//! The map's protocol, independent of hashing: an immutable read snapshot reached through an
//! epoch-protected pointer, a mutex-guarded dirty table, miss-count promotion, tombstone
//! compaction, and the epoch retirement of everything a writer unlinks.
//!
//! # Invariants
//!
//! 1. A published snapshot's table never changes; only its entries' value pointers do.
//! 2. The dirty table, when it exists, indexes every non-expunged entry of the read snapshot
//!    plus entries for keys the snapshot lacks (at least one); the snapshot is `amended` exactly
//!    while the dirty table exists. Without a dirty table no entry of the snapshot is expunged.
//! 3. Deleted → expunged and expunged → deleted happen only under the mutex.
//! 4. A key has at most one *linked* entry (one that the snapshot or the dirty table indexes).
//!    An entry that no table indexes any more is expunged, stays expunged, and is retired
//!    through the epoch exactly once, by the thread that unlinked it. Values are retired by the
//!    thread whose compare-and-swap replaced them.
//! 5. Once no write is in flight, `live` is the number of live linked entries and `dead` is at
//!    least the number of deleted or expunged linked entries (it may overcount, never under).
//!
//! Every public operation reduces to: find the key's entry (lock-free in the snapshot, or under
//! the lock in the dirty table when the snapshot is amended), then change its value pointer with
//! a compare-and-swap. Only stores that must create or revive an expunged entry hold the lock
//! while they store.

mod check;
mod entry;
mod reclaim;
mod slot;
mod table;
#[cfg(test)]
mod tests;

use std::cmp;

use self::entry::{value_of, Entry, LoadOrStore, Pending};
use self::reclaim::{drop_all, retire_snapshot, retire_value};
use self::slot::{Slot, SlotBox};
use self::table::{EntryPtr, Snapshot, Table};
use crate::stats::Stats;
use crate::sync::epoch::{self, Atomic, Guard, Owned, Shared};
use crate::sync::Ordering::{AcqRel, Acquire, Relaxed, Release};
use crate::sync::{injected, AtomicUsize, Mutex};

/// Fewest tombstones that make a compaction worthwhile, whatever the map's size.
///
/// Loom models use a floor of 2 (a tighter bound than the one promised), so that a handful of
/// removals reaches a compaction.
const MIN_TOMBSTONES: usize = if cfg!(loom) { 2 } else { 64 };

/// The tombstone count above which the deleting thread compacts the snapshot.
fn compaction_threshold(len: usize) -> usize {
    cmp::max(MIN_TOMBSTONES, len)
}

/// Reads a wrapping counter that may dip below zero while writes are in flight.
fn signed(count: usize) -> isize {
    count as isize
}

pub(crate) struct RawMap<K, V> {
    /// The read snapshot; never null.
    read: Atomic<Snapshot<K, V>>,
    locked: Mutex<Locked<K, V>>,
    /// Live entries (wrapping; see invariant 5).
    live: AtomicUsize,
    /// An upper bound on deleted and expunged linked entries (wrapping; see invariant 5).
    dead: AtomicUsize,
}

/// What the mutex guards.
struct Locked<K, V> {
    dirty: Option<Table<K, V>>,
    /// The snapshot entries expunged by the dirty build: once the dirty table is promoted, those
    /// still expunged are indexed by no table and are retired with the old snapshot.
    expunged: Vec<EntryPtr<K, V>>,
    misses: usize,
    /// Capacity requested at construction, used by the first dirty build.
    capacity_hint: usize,
    promotions: u64,
    dirty_builds: u64,
    compactions: u64,
}

impl<K, V> Locked<K, V> {
    fn dirty_mut(&mut self) -> &mut Table<K, V> {
        self.dirty
            .as_mut()
            .expect("an expunged or dirty-only entry implies a dirty table")
    }
}

// SAFETY: the raw pointers inside (entries, values, snapshots) are owned by the map, which hands
// out only shared references to keys and values (`K, V: Sync`) and moves or drops keys and values
// on whichever thread removes or reclaims them (`K, V: Send`).
unsafe impl<K: Send + Sync, V: Send + Sync> Send for RawMap<K, V> {}

// SAFETY: as for `Send`; all shared state is reached through atomics, the mutex and the epoch.
unsafe impl<K: Send + Sync, V: Send + Sync> Sync for RawMap<K, V> {}

/// Borrows an entry found through a table reachable under `guard`.
fn entry<K, V>(ptr: EntryPtr<K, V>, guard: &Guard) -> &Entry<K, V> {
    // SAFETY: every caller found `ptr` in the read snapshot loaded under `guard`, or in the dirty
    // table while holding the lock with `guard` pinned; entries are retired (never freed
    // directly) once unlinked, so they outlive `guard` (invariant 4).
    unsafe { ptr.get(guard) }
}

fn count_dead<K, V>(entries: impl IntoIterator<Item = EntryPtr<K, V>>, guard: &Guard) -> usize {
    entries
        .into_iter()
        .filter(|&ptr| !entry(ptr, guard).is_live(guard))
        .count()
}

impl<K, V> RawMap<K, V> {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        RawMap {
            read: Atomic::new(Snapshot::new(Table::new())),
            locked: Mutex::new(Locked {
                dirty: None,
                expunged: Vec::new(),
                misses: 0,
                capacity_hint: capacity,
                promotions: 0,
                dirty_builds: 0,
                compactions: 0,
            }),
            live: AtomicUsize::new(0),
            dead: AtomicUsize::new(0),
        }
    }

    pub(crate) fn len(&self) -> usize {
        signed(self.live.load(Relaxed)).max(0) as usize
    }

    fn snapshot<'g>(&self, guard: &'g Guard) -> &'g Snapshot<K, V> {
        // SAFETY: the read pointer is never null, and a replaced snapshot is retired through the
        // epoch, so the one loaded here stays allocated (and unchanged) while `guard` is pinned.
        unsafe { self.read.load(Acquire, guard).deref() }
    }

    /// The snapshot's entries followed by the dirty-only ones: every linked entry, exactly once
    /// (expects the lock, or exclusive access).
    fn linked<'a>(
        snapshot: &'a Snapshot<K, V>,
        dirty: Option<&'a Table<K, V>>,
        guard: &'a Guard,
    ) -> impl Iterator<Item = EntryPtr<K, V>> + 'a {
        let from_snapshot = snapshot
            .table
            .iter()
            .copied()
            .filter(move |&ptr| dirty.is_none() || entry(ptr, guard).is_expunged(guard));
        from_snapshot.chain(dirty.into_iter().flat_map(|table| table.iter().copied()))
    }
}

impl<K, V> RawMap<K, V>
where
    K: Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    /// Finds the key's linked entry: lock-free in the snapshot, else under the lock in the dirty
    /// table (counting a miss) when the snapshot is amended.
    pub(crate) fn find<'g>(
        &'g self,
        hash: u64,
        mut eq: impl FnMut(&K) -> bool,
        guard: &'g Guard,
    ) -> Option<&'g Entry<K, V>> {
        let snapshot = self.snapshot(guard);
        if let Some(ptr) = snapshot.table.find(hash, &mut eq) {
            return Some(entry(ptr, guard));
        }
        if !snapshot.amended.load(Acquire) {
            return None;
        }
        self.find_locked(hash, eq, guard)
    }

    #[cold]
    fn find_locked<'g>(
        &'g self,
        hash: u64,
        mut eq: impl FnMut(&K) -> bool,
        guard: &'g Guard,
    ) -> Option<&'g Entry<K, V>> {
        let mut locked = self.locked.lock();
        // A promotion may have published the key since the lock-free look: look again.
        if !injected!("skip_locked_recheck") {
            if let Some(ptr) = self.snapshot(guard).table.find(hash, &mut eq) {
                return Some(entry(ptr, guard));
            }
        }
        let found = locked.dirty.as_ref()?.find(hash, eq);
        self.miss_locked(&mut locked, guard);
        found.map(|ptr| entry(ptr, guard))
    }

    /// Go's `Swap`: stores the value and returns the previous one.
    pub(crate) fn insert<'g>(
        &'g self,
        hash: u64,
        key: K,
        value: V,
        guard: &'g Guard,
    ) -> Option<&'g V>
    where
        K: Eq,
    {
        let mut eq = |stored: &K| *stored == key;
        let mut value = SlotBox::new(value);
        if let Some(ptr) = self.snapshot(guard).table.find(hash, &mut eq) {
            match entry(ptr, guard).swap_unless_expunged(value, guard) {
                Ok(previous) => return self.replaced(previous, guard),
                Err(back) => value = back,
            }
        }

        let mut locked = self.locked.lock();
        let snapshot = self.snapshot(guard);
        let previous = if let Some(ptr) = snapshot.table.find(hash, &mut eq) {
            let found = entry(ptr, guard);
            if found.unexpunge_locked(guard) {
                locked.dirty_mut().insert_unique(ptr);
            }
            found.swap_locked(value, guard)
        } else if let Some(ptr) = locked.dirty.as_ref().and_then(|d| d.find(hash, &mut eq)) {
            entry(ptr, guard).swap_locked(value, guard)
        } else {
            self.insert_new_locked(&mut locked, snapshot, hash, key, value, guard);
            return None;
        };
        drop(locked);
        self.replaced(previous, guard)
    }

    /// Go's `LoadOrStore`: returns the current value, or stores this one if the key is absent.
    pub(crate) fn try_insert<'g>(
        &'g self,
        hash: u64,
        key: K,
        value: V,
        guard: &'g Guard,
    ) -> Result<&'g V, (&'g V, V)>
    where
        K: Eq,
    {
        let mut eq = |stored: &K| *stored == key;
        let mut value = Pending::Plain(value);
        if let Some(ptr) = self.snapshot(guard).table.find(hash, &mut eq) {
            match entry(ptr, guard).load_or_store(value, guard) {
                LoadOrStore::Expunged(back) => value = back,
                outcome => return self.loaded_or_stored(outcome),
            }
        }

        let mut locked = self.locked.lock();
        let snapshot = self.snapshot(guard);
        let outcome = if let Some(ptr) = snapshot.table.find(hash, &mut eq) {
            let found = entry(ptr, guard);
            if found.unexpunge_locked(guard) {
                locked.dirty_mut().insert_unique(ptr);
            }
            found.load_or_store(value, guard)
        } else if let Some(ptr) = locked.dirty.as_ref().and_then(|d| d.find(hash, &mut eq)) {
            let outcome = entry(ptr, guard).load_or_store(value, guard);
            self.miss_locked(&mut locked, guard);
            outcome
        } else {
            let value = value.boxed();
            return Ok(self.insert_new_locked(&mut locked, snapshot, hash, key, value, guard));
        };
        drop(locked);
        self.loaded_or_stored(outcome)
    }

    fn loaded_or_stored<'g>(&self, outcome: LoadOrStore<'g, V>) -> Result<&'g V, (&'g V, V)> {
        match outcome {
            LoadOrStore::Stored(stored) => {
                self.live.fetch_add(1, Relaxed);
                Ok(stored)
            }
            LoadOrStore::Loaded(current, back) => Err((current, back.into_value())),
            LoadOrStore::Expunged(_) => {
                unreachable!("only the lock holder expunges, and it revived this entry first")
            }
        }
    }

    /// Accounts for a store that replaced `previous` (live or deleted).
    fn replaced<'g>(&self, previous: Shared<'g, Slot<V>>, guard: &'g Guard) -> Option<&'g V> {
        let Some(value) = value_of(previous) else {
            self.live.fetch_add(1, Relaxed);
            return None;
        };
        // SAFETY: this thread's swap unlinked `previous`; nothing links it any more.
        unsafe { retire_value(previous, guard) };
        Some(value)
    }

    /// Adds an entry for a key that neither table holds, building the dirty table first if the
    /// snapshot is not amended yet.
    fn insert_new_locked<'g>(
        &self,
        locked: &mut Locked<K, V>,
        snapshot: &Snapshot<K, V>,
        hash: u64,
        key: K,
        value: SlotBox<V>,
        guard: &'g Guard,
    ) -> &'g V {
        if locked.dirty.is_none() {
            self.build_dirty_locked(locked, snapshot, guard);
            snapshot.amended.store(true, Release);
        }
        let value = value.into_shared();
        let new = EntryPtr::allocate(Entry::new(hash, key, value));
        locked.dirty_mut().insert_unique(new);
        self.live.fetch_add(1, Relaxed);
        value_of(value).expect("a freshly stored value is live")
    }

    /// Copies the snapshot's entries into a new dirty table, expunging its tombstones on the way.
    fn build_dirty_locked(
        &self,
        locked: &mut Locked<K, V>,
        snapshot: &Snapshot<K, V>,
        guard: &Guard,
    ) {
        debug_assert!(locked.dirty.is_none() && locked.expunged.is_empty());
        let capacity = cmp::max(
            snapshot.table.len() + 1,
            std::mem::take(&mut locked.capacity_hint),
        );
        let mut dirty = Table::with_capacity(capacity);
        for &ptr in snapshot.table.iter() {
            if entry(ptr, guard).try_expunge_locked(guard) {
                locked.expunged.push(ptr);
            } else {
                dirty.insert_unique(ptr);
            }
        }
        locked.dirty = Some(dirty);
        locked.dirty_builds += 1;
    }

    fn miss_locked(&self, locked: &mut Locked<K, V>, guard: &Guard) {
        locked.misses += 1;
        if locked.misses >= locked.dirty.as_ref().map_or(0, Table::len) {
            self.promote_locked(locked, guard);
        }
    }

    /// Publishes the dirty table as the new snapshot (if there is one).
    fn promote_locked(&self, locked: &mut Locked<K, V>, guard: &Guard) {
        let Some(dirty) = locked.dirty.take() else {
            return;
        };
        let unlinked: Vec<_> = locked
            .expunged
            .drain(..)
            .filter(|&ptr| entry(ptr, guard).is_expunged(guard))
            .collect();
        self.dead.fetch_sub(unlinked.len(), Relaxed);
        self.publish_locked(locked, dirty, unlinked, guard);
        locked.promotions += 1;
    }

    /// Replaces the snapshot with one built on `table` (the dirty table must be gone), and
    /// retires the old snapshot together with the `unlinked` entries only it indexed.
    fn publish_locked(
        &self,
        locked: &mut Locked<K, V>,
        table: Table<K, V>,
        unlinked: Vec<EntryPtr<K, V>>,
        guard: &Guard,
    ) {
        debug_assert!(locked.dirty.is_none());
        locked.misses = 0;
        locked.expunged.clear();
        let old = self
            .read
            .swap(Owned::new(Snapshot::new(table)), AcqRel, guard);
        // SAFETY: `old` was the snapshot until the swap above, made under the lock; `unlinked`
        // are expunged entries that no table indexes any more, each listed once.
        unsafe { retire_snapshot(old, unlinked, guard) };
    }

    /// Removes the value if `pred` accepts it (Go's `LoadAndDelete` and `CompareAndDelete`).
    pub(crate) fn remove<'g>(
        &'g self,
        hash: u64,
        eq: impl FnMut(&K) -> bool,
        pred: impl FnMut(&V) -> bool,
        guard: &'g Guard,
    ) -> Option<&'g V> {
        let removed = self.find(hash, eq, guard)?.delete_if(pred, guard)?;
        Some(self.removed(removed, guard))
    }

    /// Accounts for a removal that unlinked `removed`, and compacts if tombstones pile up.
    fn removed<'g>(&self, removed: Shared<'g, Slot<V>>, guard: &'g Guard) -> &'g V {
        self.live.fetch_sub(1, Relaxed);
        self.dead.fetch_add(1, Release);
        let value = value_of(removed).expect("a removed value is live");
        // SAFETY: this thread's compare-and-swap unlinked `removed`.
        unsafe { retire_value(removed, guard) };
        if signed(self.dead.load(Relaxed)) > compaction_threshold(self.len()) as isize {
            self.compact_locked(&mut self.locked.lock(), false, guard);
        }
        value
    }

    /// Go's `CompareAndSwap`, generalized to a predicate.
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
        let previous = found.compare_exchange(matches, new, guard)?;
        // SAFETY: this thread's compare-and-swap unlinked `previous`.
        unsafe { retire_value(previous, guard) };
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
        let (previous, new) = self.find(hash, eq, guard)?.update(f, guard)?;
        // SAFETY: this thread's compare-and-swap unlinked `previous`.
        unsafe { retire_value(previous, guard) };
        Some(new)
    }

    /// A snapshot that holds every key present when it was loaded: promotes the dirty table
    /// first if the current snapshot is amended.
    pub(crate) fn full_snapshot<'g>(&self, guard: &'g Guard) -> &'g Snapshot<K, V> {
        let snapshot = self.snapshot(guard);
        if !snapshot.amended.load(Acquire) {
            return snapshot;
        }
        let mut locked = self.locked.lock();
        self.promote_locked(&mut locked, guard);
        self.snapshot(guard)
    }

    /// Iterates over a snapshot holding every key present at the start (see `full_snapshot`).
    pub(crate) fn iter<'g>(&'g self, guard: &'g Guard) -> SnapshotIter<'g, K, V> {
        SnapshotIter {
            entries: self.full_snapshot(guard).table.iter(),
            guard,
        }
    }

    /// Removes every entry whose key and value `keep` rejects, unless its value changed after
    /// `keep` saw it.
    pub(crate) fn retain(&self, mut keep: impl FnMut(&K, &V) -> bool, guard: &Guard) {
        for &ptr in self.full_snapshot(guard).table.iter() {
            let found = entry(ptr, guard);
            let current = found.load_ptr(guard);
            let Some(value) = value_of(current) else {
                continue;
            };
            if !keep(&found.key, value) && found.delete_exact(current, guard) {
                self.removed(current, guard);
            }
        }
    }

    /// Rebuilds the snapshot from the live entries only, if tombstones justify it (or `force`).
    ///
    /// The decision counts exactly, which costs a pass over the entries; compacting already when
    /// more than half the threshold is dead keeps those passes amortized over many removals.
    fn compact_locked(&self, locked: &mut Locked<K, V>, force: bool, guard: &Guard) {
        let threshold = compaction_threshold(self.len());
        if !force && signed(self.dead.load(Relaxed)) <= threshold as isize {
            return; // another thread compacted while this one waited for the lock
        }
        // From here on, every removal either is seen by the passes below or adds itself to the
        // fresh count (its increment comes after this swap, which acquires earlier ones).
        self.dead.swap(0, Acquire);
        let snapshot = self.snapshot(guard);
        let dirty = locked.dirty.take();
        let dead = count_dead(Self::linked(snapshot, dirty.as_ref(), guard), guard);
        if !force && dead * 2 <= threshold {
            locked.dirty = dirty;
            self.dead.fetch_add(dead, Relaxed);
            return;
        }

        let mut unlinked: Vec<_> = locked
            .expunged
            .iter()
            .copied()
            .filter(|&ptr| entry(ptr, guard).is_expunged(guard))
            .collect();
        let source = dirty.as_ref().unwrap_or(&snapshot.table);
        let mut table = Table::with_capacity(source.len().saturating_sub(dead));
        for &ptr in source.iter() {
            if entry(ptr, guard).try_expunge_locked(guard) {
                unlinked.push(ptr);
            } else {
                table.insert_unique(ptr);
            }
        }
        drop(dirty);
        self.publish_locked(locked, table, unlinked, guard);
        locked.compactions += 1;
    }

    /// Removes every entry.
    pub(crate) fn clear(&self, guard: &Guard) {
        let mut locked = self.locked.lock();
        let dirty = locked.dirty.take();
        let unlinked: Vec<_> = Self::linked(self.snapshot(guard), dirty.as_ref(), guard).collect();
        drop(dirty);
        let mut removed = 0;
        for &ptr in &unlinked {
            let previous = entry(ptr, guard).expunge_locked(guard);
            if !previous.is_null() {
                removed += 1;
                // SAFETY: the swap above unlinked `previous`.
                unsafe { retire_value(previous, guard) };
            }
        }
        self.live.fetch_sub(removed, Relaxed);
        self.dead.store(0, Relaxed);
        self.publish_locked(&mut locked, Table::new(), unlinked, guard);
    }

    /// Compacts unconditionally (with exclusive access, so retired memory is freed at once).
    pub(crate) fn shrink_to_fit(&mut self) {
        // SAFETY: `&mut self` means no other thread can reach the map, so nothing retired here
        // can still be in use and the unprotected guard may free it immediately.
        let guard = unsafe { epoch::unprotected() };
        self.compact_locked(&mut self.locked.lock(), true, guard);
    }

    pub(crate) fn stats(&self, guard: &Guard) -> Stats {
        let locked = self.locked.lock();
        let snapshot = self.snapshot(guard);
        Stats {
            len: self.len(),
            read_slots: snapshot.table.len(),
            tombstones: count_dead(snapshot.table.iter().copied(), guard),
            dirty_len: locked.dirty.as_ref().map_or(0, Table::len),
            amended: locked.dirty.is_some(),
            misses: locked.misses,
            promotions: locked.promotions,
            dirty_builds: locked.dirty_builds,
            compactions: locked.compactions,
        }
    }
}

impl<K, V> RawMap<K, V> {
    /// The live value of a key, with exclusive access.
    pub(crate) fn get_mut(&mut self, hash: u64, mut eq: impl FnMut(&K) -> bool) -> Option<&mut V> {
        // SAFETY: `&mut self` excludes every other thread, so nothing is retired meanwhile.
        let guard = unsafe { epoch::unprotected() };
        let snapshot = self.snapshot(guard);
        let dirty = self.locked.get_mut().dirty.as_ref();
        let ptr = snapshot
            .table
            .find(hash, &mut eq)
            .or_else(|| dirty?.find(hash, &mut eq))?;
        // SAFETY: `&mut self` gives exclusive access to the map, and `ptr` is indexed by it.
        unsafe { ptr.get_mut() }.get_mut()
    }

    /// Unlinks every entry, leaving `replacement` as the snapshot (null only while dropping).
    fn unlink_all(&mut self, replacement: Shared<'_, Snapshot<K, V>>) -> Vec<Box<Entry<K, V>>> {
        // SAFETY: `&mut self` excludes every other thread; nothing is retired through this guard.
        let guard = unsafe { epoch::unprotected() };
        let locked = self.locked.get_mut();
        let dirty = locked.dirty.take();
        locked.expunged.clear();
        locked.misses = 0;
        self.live.store(0, Relaxed);
        self.dead.store(0, Relaxed);
        let old = self.read.swap(replacement, Relaxed, guard);
        // SAFETY: the old snapshot came from an `Owned` and, with exclusive access, nothing else
        // can reach it now that it is swapped out.
        let old = unsafe { old.into_owned() };
        let linked: Vec<_> = Self::linked(&old, dirty.as_ref(), guard).collect();
        drop((old, dirty));
        // SAFETY: each linked entry is listed once, and no table or thread can reach it now.
        linked
            .into_iter()
            .map(|ptr| unsafe { ptr.into_box() })
            .collect()
    }

    /// Moves every live key and value out, leaving the map empty.
    pub(crate) fn drain(&mut self) -> Vec<(K, V)> {
        // SAFETY: exclusive access, as for `unlink_all`.
        let guard = unsafe { epoch::unprotected() };
        let empty = Owned::new(Snapshot::new(Table::new())).into_shared(guard);
        self.unlink_all(empty)
            .into_iter()
            .filter_map(|entry| match entry.into_parts() {
                (key, Some(value)) => Some((key, value)),
                (_, None) => None,
            })
            .collect()
    }
}

/// The live entries of a snapshot, as key and value references valid for the guard's lifetime.
pub(crate) struct SnapshotIter<'g, K, V> {
    entries: hashbrown::hash_table::Iter<'g, EntryPtr<K, V>>,
    guard: &'g Guard,
}

impl<'g, K, V> Iterator for SnapshotIter<'g, K, V> {
    type Item = (&'g K, &'g V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let found = entry(*self.entries.next()?, self.guard);
            if let Some(value) = found.load(self.guard) {
                return Some((&found.key, value));
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, self.entries.size_hint().1)
    }
}

impl<K, V> Drop for RawMap<K, V> {
    fn drop(&mut self) {
        let entries = self.unlink_all(Shared::null());
        drop_all(entries);
    }
}
