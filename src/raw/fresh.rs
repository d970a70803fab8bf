//! The index of a snapshot's new keys: an open-addressing table that one writer (the holder of
//! the shard's lock) fills and any number of readers probe without a lock.
//!
//! A slot goes from empty to holding an entry exactly once and never changes again: the writer
//! stores the hash, then publishes the entry pointer with a release store; a reader that
//! acquires a non-null pointer therefore also sees the hash written before it. Nothing is ever
//! removed (a removed key stays as a tombstone in its entry), and the writer keeps at most half
//! the slots full, so every probe sequence reaches an empty slot and ends.
//!
//! When the index is half full the writer builds a copy twice the size, publishes it in the
//! snapshot with a release store and retires the old one through the epoch. A reader still
//! probing the old copy sees everything it held when it was replaced, which is everything
//! inserted before the replacement; anything inserted afterwards goes into the new copy.
//!
//! `len` counts the entries and only grows. The writer stores it (release) after each slot, so a
//! thread that reads `len` (acquire) and then probes finds every one of the first `len` entries;
//! the shard uses this to know, once it holds the lock, that no entry was added since a
//! lock-free look (see `Shard::insert`).

use super::entry::Entry;
use super::node::EntryPtr;
use super::table::Indexed;
use crate::sync::Ordering::{Acquire, Relaxed, Release};
use crate::sync::{injected, AtomicPtr, AtomicU64, AtomicUsize};

/// Slots in a new shard's first index.
const FIRST_CAPACITY: usize = 8;

struct Slot<K, V> {
    hash: AtomicU64,
    entry: AtomicPtr<Entry<K, V>>,
}

/// A single-writer, lock-free-read index of entries.
pub(crate) struct Fresh<K, V> {
    len: AtomicUsize,
    slots: Box<[Slot<K, V>]>,
}

impl<K, V> Fresh<K, V> {
    /// An empty index with room for `entries` (at least [`FIRST_CAPACITY`] slots).
    pub(crate) fn with_room_for(entries: usize) -> Self {
        let capacity = entries
            .saturating_mul(2)
            .checked_next_power_of_two()
            .expect("capacity overflow")
            .max(FIRST_CAPACITY);
        Fresh {
            len: AtomicUsize::new(0),
            slots: (0..capacity)
                .map(|_| Slot {
                    hash: AtomicU64::new(0),
                    entry: AtomicPtr::new(std::ptr::null_mut()),
                })
                .collect(),
        }
    }

    /// The number of entries (acquire: probes made after this load find all of them).
    pub(crate) fn len(&self) -> usize {
        self.len.load(Acquire)
    }

    /// Whether one more entry keeps the index at most half full.
    pub(crate) fn has_room(&self) -> bool {
        (self.len.load(Relaxed) + 1) * 2 <= self.slots.len()
    }

    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// Finds the entry whose key satisfies `eq` among those with this hash; lock-free.
    pub(crate) fn find(&self, hash: u64, mut eq: impl FnMut(&K) -> bool) -> Option<EntryPtr<K, V>> {
        let mut i = hash as usize & self.mask();
        loop {
            let slot = &self.slots[i];
            let ptr = slot.entry.load(Acquire);
            if ptr.is_null() {
                return None;
            }
            // The slot was published (release, acquired above) after the entry was initialised,
            // and an index's entries are retired only after the snapshot owning it is replaced,
            // so they outlive the guard under which the caller loaded this index.
            // SAFETY: non-null, and every pointer stored here came from `EntryPtr::as_ptr`.
            let entry = unsafe { EntryPtr::from_ptr(ptr) };
            if slot.hash.load(Relaxed) == hash && eq(entry.key()) {
                return Some(entry);
            }
            i = (i + 1) & self.mask();
        }
    }

    /// Adds an entry whose key the index (and its snapshot's table) lacks. Only the holder of the
    /// shard's lock calls this, and only when [`has_room`](Self::has_room) says so.
    pub(crate) fn insert(&self, slot: Indexed<K, V>) {
        debug_assert!(self.has_room());
        let mut i = slot.hash as usize & self.mask();
        while !self.slots[i].entry.load(Relaxed).is_null() {
            i = (i + 1) & self.mask();
        }
        self.slots[i].hash.store(slot.hash, Relaxed);
        let publish = if injected!("relaxed_index_publish") {
            Relaxed
        } else {
            Release
        };
        self.slots[i].entry.store(slot.entry.as_ptr(), publish);
        self.len.store(self.len.load(Relaxed) + 1, Release);
    }

    /// A copy of this index with twice the room (by the lock holder).
    pub(crate) fn grown(&self) -> Self {
        let len = self.len.load(Relaxed);
        let grown = Fresh::with_room_for(len * 2);
        for slot in self.slots() {
            grown.insert(slot);
        }
        grown
    }

    /// Every entry in the index (a concurrent insert may or may not be seen).
    pub(crate) fn slots(&self) -> FreshSlots<'_, K, V> {
        FreshSlots(self.slots.iter())
    }
}

/// The entries of an index, in slot order.
pub(crate) struct FreshSlots<'a, K, V>(std::slice::Iter<'a, Slot<K, V>>);

impl<K, V> Iterator for FreshSlots<'_, K, V> {
    type Item = Indexed<K, V>;

    fn next(&mut self) -> Option<Indexed<K, V>> {
        self.0.find_map(|slot| {
            let ptr = slot.entry.load(Acquire);
            (!ptr.is_null()).then(|| Indexed {
                hash: slot.hash.load(Relaxed),
                // SAFETY: non-null, and every pointer stored here came from `EntryPtr::as_ptr`.
                entry: unsafe { EntryPtr::from_ptr(ptr) },
            })
        })
    }
}
