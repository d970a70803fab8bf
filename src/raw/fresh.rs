//! The index of a snapshot's new keys: an open-addressing table that one writer (the holder of
//! the shard's lock) fills and any number of readers probe without a lock.
//!
//! Slots come in groups of eight, and each group has one atomic word of eight tag bytes beside
//! them: a tag is zero while its slot is empty and, once the slot is filled, the top seven bits
//! of the key's hash with the high bit set. A probe reads one tag word per group, one byte per
//! slot rather than sixteen, so a lookup of an absent key costs a load from an array a sixteenth
//! the size of the slots, and only slots whose tag matches are read.
//!
//! A slot goes from empty to holding an entry exactly once and never changes again: the writer
//! stores the hash and the entry pointer, then publishes them by storing the group's tag word
//! with the new tag set (release); a reader that acquires the word therefore also sees the slot
//! written before it. Probing goes from the group the hash selects to the next, and the writer
//! fills the first group on that path with an empty byte, so the groups a key's path crosses
//! before its own were full when it was inserted, and stay full. Nothing is ever removed (a
//! removed key stays as a tombstone in its entry), and the writer keeps at most three quarters
//! of the slots full, so every path reaches a group with an empty byte and ends.
//!
//! The number of groups is what the entries need, not a power of two: the group is the low 32
//! bits of the hash scaled to it, so an index sized for a map's capacity takes no more than it.
//! (Probing goes to the next group, not by growing steps, so the load stays at three quarters:
//! at seven eighths the groups' runs would grow to several on average for an absent key.)
//!
//! When the index is three quarters full the writer builds a copy twice the size, publishes it
//! in the snapshot with a release store and retires the old one through the epoch. A reader still
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

/// Slots per group: the tag bytes in one `u64`.
const GROUP: usize = 8;

/// The index is kept at most this full: `LOAD_NUMERATOR / LOAD_DENOMINATOR`.
const LOAD_NUMERATOR: usize = 3;
const LOAD_DENOMINATOR: usize = 4;

/// Slots in a new shard's first index: one group.
const FIRST_CAPACITY: usize = GROUP;

/// The high bit of every tag byte: set exactly in the bytes of filled slots.
const FULL: u64 = 0x8080_8080_8080_8080;

/// The low bit of every byte.
const LOW: u64 = 0x0101_0101_0101_0101;

/// The tag of a filled slot: the hash's top seven bits (which neither the group nor the shard
/// is chosen by) with the high bit set, so never zero.
fn tag_of(hash: u64) -> u64 {
    0x80 | (hash >> 57)
}

/// The bytes of `word` that may equal `tag`, as their high bits: every byte that does, and
/// perhaps some other filled byte above one that does (a borrow), which the caller rejects by
/// its hash. Never an empty byte: its xor with the tag keeps the high bit that `!x` clears.
fn candidates(word: u64, tag: u64) -> u64 {
    let x = word ^ (tag * LOW);
    x.wrapping_sub(LOW) & !x & FULL
}

/// Asks the processor to bring `target`'s cache line in, ready to be written if `for_write`;
/// a hint only, which changes nothing a program can observe.
#[cfg(all(target_arch = "x86_64", not(miri), not(loom)))]
#[inline(always)]
fn prefetch<T>(target: &T, for_write: bool) {
    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_ET0, _MM_HINT_T0};
    let line = std::ptr::from_ref(target).cast();
    // `prefetch` and `prefetchw` only require SSE, which every x86-64 processor has (one without
    // the prefetch-for-write extension runs `prefetchw` as a no-op); a prefetch neither reads
    // nor writes memory as the program sees it, and `line` comes from a valid reference anyway.
    if for_write {
        // SAFETY: SSE is always there on x86-64, and a prefetch changes no memory (see above).
        unsafe { _mm_prefetch::<_MM_HINT_ET0>(line) };
    } else {
        // SAFETY: as for the prefetch for writing.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(line) };
    }
}

/// Elsewhere (and under Miri and loom) a prefetch is nothing.
#[cfg(not(all(target_arch = "x86_64", not(miri), not(loom))))]
#[inline(always)]
fn prefetch<T>(_target: &T, _for_write: bool) {}

/// [`prefetch`] for writing.
fn prefetch_for_write<T>(target: &T) {
    prefetch(target, true);
}

struct Slot<K, V> {
    hash: AtomicU64,
    entry: AtomicPtr<Entry<K, V>>,
}

/// A single-writer, lock-free-read index of entries.
pub(crate) struct Fresh<K, V> {
    len: AtomicUsize,
    /// One word of tag bytes per group of [`GROUP`] slots.
    tags: Box<[AtomicU64]>,
    slots: Box<[Slot<K, V>]>,
}

impl<K, V> Fresh<K, V> {
    /// An empty index with room for `entries` at the most load it takes (at least
    /// [`FIRST_CAPACITY`] slots).
    pub(crate) fn with_room_for(entries: usize) -> Self {
        let groups = entries
            .checked_mul(LOAD_DENOMINATOR)
            .map(|scaled| scaled.div_ceil(LOAD_NUMERATOR * GROUP))
            .filter(|&groups| groups <= u32::MAX as usize)
            .expect("capacity overflow");
        let capacity = (groups * GROUP).max(FIRST_CAPACITY);
        Fresh {
            len: AtomicUsize::new(0),
            tags: (0..capacity / GROUP).map(|_| AtomicU64::new(0)).collect(),
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

    /// Whether one more entry keeps the index at most three quarters full.
    pub(crate) fn has_room(&self) -> bool {
        (self.len.load(Relaxed) + 1) * LOAD_DENOMINATOR <= self.slots.len() * LOAD_NUMERATOR
    }

    /// The group a probe for `hash` starts at.
    fn first_group(&self, hash: u64) -> usize {
        // The low 32 bits of the hash, scaled to the number of groups (which need not be a
        // power of two): neither the tag nor the shard is chosen by them.
        ((u64::from(hash as u32) * self.tags.len() as u64) >> 32) as usize
    }

    /// The group after `group`, wrapping around.
    fn next_group(&self, group: usize) -> usize {
        if group + 1 == self.tags.len() {
            0
        } else {
            group + 1
        }
    }

    /// Finds the entry whose key satisfies `eq` among those with this hash; lock-free.
    pub(crate) fn find(&self, hash: u64, eq: impl FnMut(&K) -> bool) -> Option<EntryPtr<K, V>> {
        self.probe(hash, eq, false)
    }

    /// [`find`](Self::find) for a writer that will add the key if it is absent: a miss also
    /// asks the processor to fetch, for writing, the slot the key would go to, so that the
    /// insert made under the lock does not wait for it. (A reader must not: taking the line for
    /// writing takes it away from the other readers' caches.)
    pub(crate) fn find_before_insert(
        &self,
        hash: u64,
        eq: impl FnMut(&K) -> bool,
    ) -> Option<EntryPtr<K, V>> {
        self.probe(hash, eq, true)
    }

    /// Asks the processor, before a writer's lookup, to bring in the tag word of the group the
    /// hash selects and, for writing, that group's slots: an insert of a new key usually takes
    /// one of them, and their misses then overlap the table's probe instead of following it.
    pub(crate) fn prepare_insert(&self, hash: u64) {
        let group = self.first_group(hash);
        prefetch(&self.tags[group], false);
        let slots = &self.slots[group * GROUP..][..GROUP];
        prefetch_for_write(&slots[0]);
        prefetch_for_write(&slots[GROUP / 2]);
    }

    fn probe(
        &self,
        hash: u64,
        mut eq: impl FnMut(&K) -> bool,
        prefetch: bool,
    ) -> Option<EntryPtr<K, V>> {
        let tag = tag_of(hash);
        let mut group = self.first_group(hash);
        loop {
            let word = self.tags[group].load(Acquire);
            let mut candidates = candidates(word, tag);
            while candidates != 0 {
                let byte = candidates.trailing_zeros() as usize / 8;
                candidates &= candidates - 1;
                // A filled slot, written before the tag word that was acquired above.
                let slot = &self.slots[group * GROUP + byte];
                if slot.hash.load(Relaxed) != hash {
                    continue;
                }
                let ptr = slot.entry.load(Relaxed);
                if ptr.is_null() {
                    continue; // never, unless the tag's publication is broken
                }
                // An index's entries are retired only after the snapshot owning it is
                // replaced, so they outlive the guard under which the caller loaded this index.
                // SAFETY: non-null, and every pointer stored here came from `EntryPtr::as_ptr`.
                let entry = unsafe { EntryPtr::from_ptr(ptr) };
                if eq(entry.key()) {
                    return Some(entry);
                }
            }
            if word & FULL != FULL {
                // A group with an empty slot ends every path through it; `insert` would take
                // its first empty slot.
                if prefetch {
                    let byte = (!word & FULL).trailing_zeros() as usize / 8;
                    prefetch_for_write(&self.slots[group * GROUP + byte]);
                }
                return None;
            }
            group = self.next_group(group);
        }
    }

    /// Adds an entry whose key the index (and its snapshot's table) lacks. Only the holder of the
    /// shard's lock calls this, and only when [`has_room`](Self::has_room) says so.
    pub(crate) fn insert(&self, slot: Indexed<K, V>) {
        debug_assert!(self.has_room());
        let mut group = self.first_group(slot.hash);
        let mut word = self.tags[group].load(Relaxed);
        while word & FULL == FULL {
            group = self.next_group(group);
            word = self.tags[group].load(Relaxed);
        }
        let byte = (!word & FULL).trailing_zeros() as usize / 8;
        let target = &self.slots[group * GROUP + byte];
        target.hash.store(slot.hash, Relaxed);
        target.entry.store(slot.entry.as_ptr(), Relaxed);
        let publish = if injected!("relaxed_index_publish") {
            Relaxed
        } else {
            Release
        };
        self.tags[group].store(word | tag_of(slot.hash) << (8 * byte), publish);
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
        FreshSlots {
            fresh: self,
            group: 0,
            full: 0,
        }
    }
}

/// The entries of an index, in slot order.
pub(crate) struct FreshSlots<'a, K, V> {
    fresh: &'a Fresh<K, V>,
    /// The next group whose tag word to load.
    group: usize,
    /// The filled bytes of the group before it not yet yielded.
    full: u64,
}

impl<K, V> Fresh<K, V> {
    /// The entry in slot `index`, whose tag was seen filled in a tag word loaded with acquire.
    fn filled(&self, index: usize) -> Option<Indexed<K, V>> {
        let slot = &self.slots[index];
        let ptr = slot.entry.load(Relaxed);
        if ptr.is_null() {
            return None; // never, unless the tag's publication is broken
        }
        Some(Indexed {
            hash: slot.hash.load(Relaxed),
            // SAFETY: non-null, and every pointer stored here came from `EntryPtr::as_ptr`.
            entry: unsafe { EntryPtr::from_ptr(ptr) },
        })
    }
}

impl<K, V> Iterator for FreshSlots<'_, K, V> {
    type Item = Indexed<K, V>;

    fn next(&mut self) -> Option<Indexed<K, V>> {
        loop {
            while self.full == 0 {
                let word = self.fresh.tags.get(self.group)?.load(Acquire);
                self.full = word & FULL;
                self.group += 1;
            }
            let index = (self.group - 1) * GROUP + self.full.trailing_zeros() as usize / 8;
            self.full &= self.full - 1;
            if let Some(slot) = self.fresh.filled(index) {
                return Some(slot);
            }
        }
    }

    /// The same walk as `next`, with the group loop outside the slot loop.
    fn fold<B, F>(self, init: B, mut f: F) -> B
    where
        F: FnMut(B, Self::Item) -> B,
    {
        let FreshSlots {
            fresh,
            mut group,
            mut full,
        } = self;
        let mut acc = init;
        loop {
            while full != 0 {
                let index = (group - 1) * GROUP + full.trailing_zeros() as usize / 8;
                full &= full - 1;
                if let Some(slot) = fresh.filled(index) {
                    acc = f(acc, slot);
                }
            }
            let Some(tags) = fresh.tags.get(group) else {
                return acc;
            };
            let load = if injected!("relaxed_index_fold") {
                Relaxed
            } else {
                Acquire
            };
            full = tags.load(load) & FULL;
            group += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raw::node::OwnedEntry;

    /// A hash that selects `group` of `groups`, whose tag bits are `tag` and whose middle bits
    /// tell keys apart (or not, with equal `id`s).
    fn hash(groups: u64, group: u64, tag: u64, id: u64) -> u64 {
        tag << 57 | id << 32 | (group << 32).div_ceil(groups)
    }

    /// Fills an index of `groups` groups with `(hash, key)` entries and checks every lookup;
    /// frees the entries afterwards.
    fn check(groups: usize, hashes: &[u64]) {
        // Room for `6 * groups` entries at three quarters is `8 * groups` slots.
        let fresh = Fresh::with_room_for(6 * groups);
        assert_eq!(fresh.tags.len(), groups);
        let entries: Vec<_> = hashes
            .iter()
            .enumerate()
            .map(|(key, &hash)| {
                let entry = EntryPtr::new(key, ());
                fresh.insert(Indexed { hash, entry });
                entry
            })
            .collect();
        assert_eq!(fresh.len(), hashes.len());
        for (key, &hash) in hashes.iter().enumerate() {
            let found = fresh.find(hash, |k| *k == key);
            assert!(
                found == Some(entries[key]),
                "key {key} (hash {hash:#x}) not found"
            );
            assert!(fresh.find(hash, |k| *k == usize::MAX).is_none());
        }
        // Listed by `next`, by `fold`, and by both, split at each point.
        let all: Vec<usize> = (0..hashes.len()).collect();
        let key = |slot: Indexed<usize, ()>| *slot.entry.key();
        let mut listed: Vec<usize> = fresh.slots().map(key).collect();
        listed.sort_unstable();
        assert_eq!(listed, all, "by next");
        for taken in 0..=hashes.len() {
            let mut slots = fresh.slots();
            let mut listed: Vec<usize> = slots.by_ref().take(taken).map(key).collect();
            slots.for_each(|slot| listed.push(key(slot)));
            listed.sort_unstable();
            assert_eq!(listed, all, "{taken} by next, the rest by fold");
        }
        let grown = fresh.grown();
        for (key, &hash) in hashes.iter().enumerate() {
            assert!(grown.find(hash, |k| *k == key) == Some(entries[key]));
        }
        for entry in entries {
            // SAFETY: the entries are reachable only from these two indexes, which are not
            // used again; each is owned once.
            drop(unsafe { OwnedEntry::new(entry) });
        }
    }

    #[test]
    fn keys_sharing_a_group_a_tag_or_a_whole_hash_are_all_found() {
        // Four groups: ten keys aimed at the first, with one tag, fill it and spill into the
        // second, and two of them have the same hash.
        let mut hashes: Vec<u64> = (0..10).map(|id| hash(4, 0, 0x55, id)).collect();
        hashes[9] = hashes[8];
        check(4, &hashes);
    }

    #[test]
    fn a_full_last_group_wraps_around_to_the_first() {
        // Four groups: twelve keys aimed at the last one.
        let hashes: Vec<u64> = (0..12).map(|id| hash(4, 3, id % 3, id)).collect();
        check(4, &hashes);
    }

    #[test]
    fn a_hash_selects_its_group_among_any_number_of_groups() {
        // One, three and five groups, not powers of two but one: keys aimed at each group; then
        // keys in five groups, more of them aimed at the last, which wrap around.
        for groups in [1, 3, 5] {
            let fresh: Fresh<usize, ()> = Fresh::with_room_for(6 * groups);
            for group in 0..groups as u64 {
                for tag in [0, 0x7f] {
                    let hash = hash(groups as u64, group, tag, u64::from(u32::MAX >> 8));
                    assert_eq!(fresh.first_group(hash), group as usize, "{hash:#x}");
                }
            }
        }
        let mut hashes: Vec<u64> = (0..5).map(|group| hash(5, group, 1, group)).collect();
        hashes.extend((10..20).map(|id| hash(5, 4, 2, id)));
        check(5, &hashes);
    }

    #[test]
    #[cfg_attr(miri, ignore)] // arithmetic only: nothing for Miri to check, and slow under it
    fn only_filled_bytes_are_candidates() {
        for tag in 0x80..=0xff {
            for other in 0x80..=0xff {
                // One byte holding `other`, the rest empty, in every position.
                for byte in 0..8 {
                    let word = other << (8 * byte);
                    let expected = if tag == other { 0x80 << (8 * byte) } else { 0 };
                    assert_eq!(candidates(word, tag), expected, "{tag:#x} in {word:#x}");
                }
                // Two filled bytes: a match below may flag the one above, never an empty one.
                let word = other << 8 | tag;
                assert_eq!(candidates(word, tag) & !0xffff, 0);
                assert_ne!(candidates(word, tag) & 0x80, 0);
            }
        }
    }

    #[test]
    fn an_absent_key_stops_at_the_first_group_with_room() {
        let fresh: Fresh<usize, ()> = Fresh::with_room_for(4);
        assert!(fresh.find(hash(1, 0, 1, 1), |_| true).is_none());
        assert_eq!(fresh.slots().count(), 0);
    }
}
