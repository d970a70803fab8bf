//! Entry nodes: a key, the entry's first value, and an atomic pointer to the current value (the
//! key's hash is kept in the table slots that index the entry).
//!
//! An entry's value pointer is in one of three states:
//!
//! - **live**: a non-null pointer to the current value: the first value, in the entry itself, or
//!   a separately allocated cell holding a value stored later;
//! - **deleted** (a tombstone): null; the key stays indexed and a store may revive it without the
//!   lock;
//! - **expunged**: null with the [`EXPUNGED`] tag: unlinked by a compaction or `clear`, indexed
//!   by no current table, and final (`clear` adds [`FIRST_OWNED`] when it expunges an entry whose
//!   first value was still current, so that the entry's destructor drops that value). A store
//!   that finds an expunged entry (through a snapshot it loaded before the entry was unlinked)
//!   must look the key up again in the current snapshot.
//!
//! Deleted → expunged and live → expunged happen only under the shard's mutex (the `_locked`
//! methods), at the moment the entry is left out of the snapshot that replaces the current one.
//! Every other transition is a compare-and-swap that any thread may attempt.
//!
//! An entry that no current table indexes is always expunged, and stays so: that is what makes a
//! stale entry pointer, found through an old snapshot, harmless to every operation.

use std::mem::ManuallyDrop;

use super::node::FIRST_OWNED;
use super::slot::{Slot, SlotBox};
use crate::compute::Operation;
use crate::sync::epoch::{Atomic, Guard, Shared};
use crate::sync::Ordering::{AcqRel, Acquire, Relaxed};
use crate::sync::{injected, UnsafeCell};

/// The tag that marks a null value pointer as expunged rather than deleted.
const EXPUNGED: usize = 1;

/// A value that may or may not have been put in its cell yet: stores allocate the cell only
/// when they are about to publish it, and hand the plain value back when they do not.
pub(crate) enum Pending<V> {
    Plain(V),
    Boxed(SlotBox<V>),
}

impl<V> Pending<V> {
    pub(crate) fn boxed(self) -> SlotBox<V> {
        match self {
            Pending::Plain(value) => SlotBox::new(value),
            Pending::Boxed(cell) => cell,
        }
    }

    pub(crate) fn into_value(self) -> V {
        match self {
            Pending::Plain(value) => value,
            Pending::Boxed(cell) => cell.into_value(),
        }
    }
}

/// A shard's accounting around a store into a deleted entry (a *revival*): the entry is counted
/// live before the compare-and-swap that revives it, and the count is taken back if that
/// compare-and-swap fails, so that no count of live entries ever misses an entry a returned store
/// made live (invariant 7 in the module docs of [`raw`](super)).
pub(crate) trait Revival {
    /// Called just before a compare-and-swap that would revive the entry.
    fn before(&mut self);
    /// Called when that compare-and-swap failed: takes back what [`before`](Self::before)
    /// counted.
    fn failed(&mut self);
}

/// The outcome of [`Entry::load_or_store`].
pub(crate) enum LoadOrStore<'g, V> {
    /// The entry was deleted and now holds the given value.
    Stored(&'g V),
    /// The entry already held a value; the given one comes back.
    Loaded(&'g V, Pending<V>),
    /// The entry is expunged: only a store holding the lock may revive it.
    Expunged(Pending<V>),
}

/// The effect of [`Entry::compute`].
pub(crate) enum Computed<'g, V, T> {
    /// A value was stored in place of `old` (null: the entry was deleted).
    Stored {
        old: Shared<'g, Slot<V>>,
        new: &'g V,
    },
    /// The live value `0` was removed.
    Removed(Shared<'g, Slot<V>>),
    /// Removal of a deleted entry: nothing to do.
    Unchanged,
    Aborted(T),
    /// The entry is expunged: the key must be looked up again in the current snapshot. Carries
    /// back the value of an `Insert` that lost a race.
    Expunged(Option<V>),
}

/// A key, its first value and its value pointer, allocated and freed as one block by
/// [`EntryPtr`](super::node::EntryPtr) (which holds the argument for when the block is freed).
///
/// The first value comes first, so that its address is the block's: no value cell can have it
/// while the entry is allocated, even when `V` is zero-sized. Once replaced it is never stored
/// again, so a compare-and-swap that expects it cannot succeed after it was unlinked.
///
/// The key sits in the switched [`UnsafeCell`] only so that a loom model checks every read of it
/// against the entry's creation: an entry reached through a table slot that was not published
/// with release ordering is reported (in a normal build the cell is a plain `UnsafeCell`).
#[repr(C)]
pub(crate) struct Entry<K, V> {
    pub(super) first: ManuallyDrop<Slot<V>>,
    pub(super) value: Atomic<Slot<V>>,
    pub(super) key: UnsafeCell<K>,
}

/// Reads the value behind a live pointer.
pub(crate) fn value_of<'g, V>(ptr: Shared<'g, Slot<V>>) -> Option<&'g V> {
    // Every non-null value pointer was loaded from an entry under the guard that `'g` borrows;
    // a first value lives in its entry's block, which outlives it (see `node`).
    // SAFETY: a value is retired (never freed directly) once it is unlinked, so it stays
    // allocated and unchanged until that guard is dropped.
    unsafe { ptr.as_ref() }.map(Slot::value)
}

fn is_expunged<V>(ptr: Shared<'_, Slot<V>>) -> bool {
    ptr.is_null() && ptr.tag() & EXPUNGED != 0
}

impl<K, V> Entry<K, V> {
    /// Whether `value` points to this entry's first value.
    pub(crate) fn is_first(&self, value: Shared<'_, Slot<V>>) -> bool {
        std::ptr::eq(value.as_raw(), &*self.first)
    }

    /// The entry's first value, current or not: it stays readable for as long as the guard
    /// under which the entry was reached (it is retired through the epoch once replaced).
    pub(crate) fn first_value(&self) -> &V {
        self.first.value()
    }

    /// The key, which never changes.
    pub(crate) fn key(&self) -> &K {
        // SAFETY: the key is written only when the entry is created, before it is published,
        // and moved out only by the entry's exclusive owner (`into_parts`).
        self.key.with(|key| unsafe { &*key })
    }

    /// The raw value pointer: live, deleted or expunged.
    pub(crate) fn load_ptr<'g>(&self, guard: &'g Guard) -> Shared<'g, Slot<V>> {
        self.value.load(Acquire, guard)
    }

    /// The current value, or `None` when the entry is deleted or expunged.
    pub(crate) fn load<'g>(&self, guard: &'g Guard) -> Option<&'g V> {
        value_of(self.load_ptr(guard))
    }

    /// Loads the value pointer only to bring the entry into the cache (nothing under loom, which
    /// would explore the extra load).
    pub(crate) fn warm(&self) {
        if !cfg!(loom) {
            // SAFETY: the pointer loaded is never dereferenced, so no guard needs to protect it.
            let guard = unsafe { crate::sync::epoch::unprotected() };
            std::hint::black_box(self.value.load(Relaxed, guard));
        }
    }

    pub(crate) fn is_live(&self, guard: &Guard) -> bool {
        !self.load_ptr(guard).is_null()
    }

    pub(crate) fn is_expunged(&self, guard: &Guard) -> bool {
        is_expunged(self.load_ptr(guard))
    }

    /// Publishes `new` in place of `current`. On failure, returns the pointer found instead and
    /// hands `new` back, still owned by the caller.
    fn publish<'g>(
        &self,
        current: Shared<'g, Slot<V>>,
        new: SlotBox<V>,
        guard: &'g Guard,
    ) -> Result<&'g V, (Shared<'g, Slot<V>>, SlotBox<V>)> {
        // Release publishes the new cell's contents; Acquire takes the replaced one's.
        let success = if injected!("relaxed_value_publish") {
            Relaxed
        } else {
            AcqRel
        };
        match self
            .value
            .compare_exchange(current, new.as_shared(), success, Acquire, guard)
        {
            Ok(_) => Ok(value_of(new.into_shared()).expect("a published cell is live")),
            Err(err) => Err((err.current, new)),
        }
    }

    /// [`publish`](Self::publish), with `revival` told around it when `current` is deleted.
    #[inline]
    fn publish_counted<'g>(
        &self,
        current: Shared<'g, Slot<V>>,
        new: SlotBox<V>,
        revival: &mut impl Revival,
        guard: &'g Guard,
    ) -> Result<&'g V, (Shared<'g, Slot<V>>, SlotBox<V>)> {
        debug_assert!(!is_expunged(current), "a store into an expunged entry");
        if current.is_null() {
            self.revive(current, new, revival, guard)
        } else {
            self.publish(current, new, guard)
        }
    }

    /// [`publish`](Self::publish) into a deleted entry, counted by `revival` before it (and
    /// taken back if it fails). Out of line, so that stores into live entries, the common case,
    /// carry none of it.
    #[inline(never)]
    fn revive<'g>(
        &self,
        current: Shared<'g, Slot<V>>,
        new: SlotBox<V>,
        revival: &mut impl Revival,
        guard: &'g Guard,
    ) -> Result<&'g V, (Shared<'g, Slot<V>>, SlotBox<V>)> {
        // Counting after the compare-and-swap (the old order) would let `clear` skip a shard
        // holding a live key.
        let late = injected!("revival_counted_after");
        if !late {
            revival.before();
        }
        let published = self.publish(current, new, guard);
        match published {
            Ok(_) if late => revival.before(),
            Err(_) if !late && !injected!("revival_not_taken_back") => revival.failed(),
            _ => {}
        }
        published
    }

    /// Replaces the value unless the entry is expunged; returns the previous pointer (live or
    /// deleted), or hands `new` back when the entry is expunged.
    pub(crate) fn swap_unless_expunged<'g>(
        &self,
        new: Pending<V>,
        revival: &mut impl Revival,
        guard: &'g Guard,
    ) -> Result<Shared<'g, Slot<V>>, Pending<V>> {
        let mut current = self.load_ptr(guard);
        if is_expunged(current) {
            return Err(new);
        }
        let mut new = new.boxed();
        loop {
            match self.publish_counted(current, new, revival, guard) {
                Ok(_) => return Ok(current),
                Err(failed) => (current, new) = failed,
            }
            // The lock holder may have expunged the entry meanwhile, and a value stored into an
            // expunged entry would be lost with it: check again before every retry.
            if is_expunged(current) && !injected!("skip_unexpunge_recheck") {
                return Err(Pending::Boxed(new));
            }
        }
    }

    /// Replaces the value of an entry that the caller, holding the lock, knows is not expunged;
    /// returns the previous pointer (live or deleted).
    ///
    /// A compare-and-swap loop rather than one swap: a revival must be counted before it.
    pub(crate) fn swap_locked<'g>(
        &self,
        new: SlotBox<V>,
        revival: &mut impl Revival,
        guard: &'g Guard,
    ) -> Shared<'g, Slot<V>> {
        let mut current = self.load_ptr(guard);
        let mut new = new;
        loop {
            match self.publish_counted(current, new, revival, guard) {
                Ok(_) => return current,
                Err(failed) => (current, new) = failed,
            }
        }
    }

    /// Go's `tryLoadOrStore`: returns the live value if there is one, otherwise stores `value`
    /// into a deleted entry; an expunged entry is left alone.
    pub(crate) fn load_or_store<'g>(
        &self,
        mut value: Pending<V>,
        revival: &mut impl Revival,
        guard: &'g Guard,
    ) -> LoadOrStore<'g, V> {
        let mut current = self.load_ptr(guard);
        loop {
            if let Some(existing) = value_of(current) {
                return LoadOrStore::Loaded(existing, value);
            }
            if is_expunged(current) {
                return LoadOrStore::Expunged(value);
            }
            match self.publish_counted(current, value.boxed(), revival, guard) {
                Ok(stored) => return LoadOrStore::Stored(stored),
                Err((found, cell)) => {
                    current = found;
                    value = Pending::Boxed(cell);
                }
            }
        }
    }

    /// Marks the live value `current` deleted, if it is still the current value.
    pub(crate) fn delete_exact(&self, current: Shared<'_, Slot<V>>, guard: &Guard) -> bool {
        self.value
            .compare_exchange(current, Shared::null(), AcqRel, Acquire, guard)
            .is_ok()
    }

    /// Deletes the live value if `pred` accepts it; returns the removed pointer.
    ///
    /// `pred` sees the value that is current at the time; under contention it may run again on
    /// a newer value.
    pub(crate) fn delete_if<'g>(
        &self,
        mut pred: impl FnMut(&V) -> bool,
        guard: &'g Guard,
    ) -> Option<Shared<'g, Slot<V>>> {
        let mut current = self.load_ptr(guard);
        loop {
            if !pred(value_of(current)?) {
                return None;
            }
            match self
                .value
                .compare_exchange(current, Shared::null(), AcqRel, Acquire, guard)
            {
                Ok(_) => return Some(current),
                Err(err) => current = err.current,
            }
        }
    }

    /// Replaces the live value with `new` if `matches` accepts it; returns the previous pointer,
    /// or the value seen (`None`: no live value) together with `new`.
    ///
    /// Inlined: out of line, its answer went back through the stack in two halves and was read
    /// as one, a store-forwarding stall that made a failed compare-and-swap (Go's
    /// CompareAndSwapValueNotEqual) take 1.4 times as long.
    #[inline]
    pub(crate) fn compare_exchange<'g>(
        &self,
        mut matches: impl FnMut(&V) -> bool,
        new: V,
        guard: &'g Guard,
    ) -> Result<Shared<'g, Slot<V>>, (Option<&'g V>, V)> {
        let mut current = self.load_ptr(guard);
        let mut new = Pending::Plain(new);
        loop {
            let Some(seen) = value_of(current) else {
                return Err((None, new.into_value()));
            };
            if !matches(seen) {
                return Err((Some(seen), new.into_value()));
            }
            match self.publish(current, new.boxed(), guard) {
                Ok(_) => return Ok(current),
                Err((found, cell)) => {
                    current = found;
                    new = Pending::Boxed(cell);
                }
            }
        }
    }

    /// Replaces the live value `v` with `f(v)`; returns the previous pointer and the new value.
    pub(crate) fn update<'g>(
        &self,
        f: impl Fn(&V) -> V,
        guard: &'g Guard,
    ) -> Option<(Shared<'g, Slot<V>>, &'g V)> {
        let mut current = self.load_ptr(guard);
        loop {
            match self.publish(current, SlotBox::new(f(value_of(current)?)), guard) {
                Ok(stored) => return Some((current, stored)),
                Err((found, _rejected)) => current = found,
            }
        }
    }

    /// Applies the decisions of `decide` to the value until one takes effect, by compare-and-swap.
    /// `decide` sees the current value (`None`: deleted) and the value of its previous `Insert`
    /// if that one lost a race (so that a caller can reuse it).
    pub(crate) fn compute<'g, T>(
        &self,
        decide: &mut impl FnMut(Option<&'g V>, Option<V>) -> Operation<V, T>,
        mut rejected: Option<V>,
        revival: &mut impl Revival,
        guard: &'g Guard,
    ) -> Computed<'g, V, T> {
        let mut current = self.load_ptr(guard);
        loop {
            if is_expunged(current) {
                return Computed::Expunged(rejected);
            }
            match decide(value_of(current), rejected.take()) {
                Operation::Abort(aborted) => return Computed::Aborted(aborted),
                Operation::Remove if current.is_null() => return Computed::Unchanged,
                Operation::Remove => match self.value.compare_exchange(
                    current,
                    Shared::null(),
                    AcqRel,
                    Acquire,
                    guard,
                ) {
                    Ok(_) => return Computed::Removed(current),
                    Err(err) => current = err.current,
                },
                Operation::Insert(value) => {
                    match self.publish_counted(current, SlotBox::new(value), revival, guard) {
                        Ok(new) => return Computed::Stored { old: current, new },
                        Err((found, cell)) => {
                            current = found;
                            rejected = Some(cell.into_value());
                        }
                    }
                }
            }
        }
    }

    /// Expunges a deleted entry (under the lock, when a compaction leaves it out of the new
    /// snapshot). Returns whether the entry is now expunged; a live entry is left alone.
    pub(crate) fn try_expunge_locked(&self, guard: &Guard) -> bool {
        let mut current = self.load_ptr(guard);
        while current.is_null() {
            if is_expunged(current) {
                return true;
            }
            let expunged = Shared::null().with_tag(EXPUNGED);
            match self
                .value
                .compare_exchange(current, expunged, AcqRel, Acquire, guard)
            {
                Ok(_) => return true,
                Err(err) => current = err.current,
            }
        }
        false
    }

    /// Expunges the entry whatever its state (under the lock, when `clear` unlinks it); returns
    /// the previous pointer (live, or null for a tombstone). A first value that was current is
    /// left to the entry's destructor ([`FIRST_OWNED`]); any other live value is the caller's to
    /// retire.
    pub(crate) fn expunge_locked<'g>(&self, guard: &'g Guard) -> Shared<'g, Slot<V>> {
        let mut current = self.load_ptr(guard);
        loop {
            let tag = if self.is_first(current) {
                EXPUNGED | FIRST_OWNED
            } else {
                EXPUNGED
            };
            let expunged = Shared::null().with_tag(tag);
            match self
                .value
                .compare_exchange(current, expunged, AcqRel, Acquire, guard)
            {
                Ok(_) => return current,
                Err(err) => current = err.current,
            }
        }
    }

    /// The live value of an entry the caller has exclusive access to.
    pub(crate) fn get_mut(&mut self) -> Option<&mut V> {
        // SAFETY: `&mut self` excludes every other access to the entry, so no other thread can
        // change the value pointer or retire what it points to.
        let guard = unsafe { crate::sync::epoch::unprotected() };
        let mut ptr = self.value.load(Acquire, guard);
        if self.is_first(ptr) {
            return Some(self.first.value_mut());
        }
        if ptr.is_null() {
            return None;
        }
        // SAFETY: as above; a non-null pointer points to a valid slot that this entry owns, and
        // the returned borrow is tied to `&mut self`.
        Some(unsafe { ptr.deref_mut() }.value_mut())
    }
}
