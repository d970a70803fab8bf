//! The maps snapmap is measured against, each behind the same small interface, with the fairest
//! use of its API that its documentation suggests.
//!
//! Keys and values are `u64`; every map uses [`Hasher`]. Epoch- or guard-based maps (snapmap,
//! papaya, scc) are pinned once per operation, as a service answering independent requests
//! would use them; the latency bench also measures snapmap and papaya with a reused guard.
//!
//! Operations that read before they may write (`load_or_store`) first try a shared read where
//! the map has one (read lock, `get`, `read_sync`), then take the exclusive path: the
//! double-checked pattern a careful user writes, rather than always locking for writing.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use papaya::Guard as _;
use snapmap::SnapMap;

use super::{hasher, Hasher};

type StdMap = HashMap<u64, u64, Hasher>;

/// A digest of one visit of every entry, so that iteration cannot be optimized away.
fn digest<'a>(entries: impl Iterator<Item = (&'a u64, &'a u64)>) -> u64 {
    entries.fold(0, |acc, (k, v)| acc.wrapping_add(k ^ v))
}

// ---------------------------------------------------------------------------------------------
// The interface
// ---------------------------------------------------------------------------------------------

/// Reading a map: all that the physical limit supports.
pub trait Lookup: Sync + Sized {
    /// The short id used in benchmark names and result files.
    const NAME: &'static str;
    /// Go's `Load`.
    fn get(&self, key: u64) -> Option<u64>;
    /// Go's `Range` with a callback that never stops: visits every entry.
    fn range(&self) -> u64;
}

/// A map built from one thread from a list of entries (the setup of the read-only workloads).
pub trait FromPairs: Sized {
    fn from_pairs(pairs: &[(u64, u64)]) -> Self;
}

/// A concurrent map: reads and plain writes from any thread.
pub trait ReadMap: Lookup {
    /// An empty map sized for `capacity` entries.
    fn with_capacity(capacity: usize) -> Self;
    /// Go's `Store`; `true` when the key was new.
    fn insert(&self, key: u64, value: u64) -> bool;
    /// Go's `Delete`; `true` when the key was present.
    fn remove(&self, key: u64) -> bool;
    /// Replaces the value of a present key, never inserting; `true` when the key was present.
    fn update(&self, key: u64, value: u64) -> bool;
    /// Helps deferred reclamation along (memory bench): flushes this thread's garbage and
    /// nudges the epoch. Nothing to do for maps that free memory immediately.
    fn quiesce(&self) {}
}

impl<M: ReadMap> FromPairs for M {
    fn from_pairs(pairs: &[(u64, u64)]) -> Self {
        let map = M::with_capacity(0);
        for &(k, v) in pairs {
            map.insert(k, v);
        }
        map
    }
}

/// The whole of Go's `sync.Map` API.
pub trait Map: ReadMap {
    /// Go's `Swap`: stores, returning the previous value.
    fn swap(&self, key: u64, value: u64) -> Option<u64>;
    /// Go's `LoadOrStore`: `(current value, loaded)`.
    fn load_or_store(&self, key: u64, value: u64) -> (u64, bool);
    /// Go's `LoadAndDelete`.
    fn load_and_delete(&self, key: u64) -> Option<u64>;
    /// Go's `CompareAndSwap`: never inserts.
    fn compare_and_swap(&self, key: u64, old: u64, new: u64) -> bool;
    /// Go's `CompareAndDelete`.
    fn compare_and_delete(&self, key: u64, old: u64) -> bool;
    /// Go's `Range` with a callback that deletes the key it is given and stops.
    fn delete_first(&self);
    /// Go's `Clear`.
    fn clear(&self);
}

/// Calls one method per peer; which peers a workload runs against follows from which method
/// it overrides. By default `map` forwards to `read_map`, and `read_map` to `lookup`, so:
/// overriding `lookup` visits every peer, `read_map` every concurrent map (including scc's
/// read-optimized `HashIndex`), and `map` the maps with Go's whole API.
pub trait Visitor {
    /// A map with Go's whole API.
    fn map<M: Map>(&mut self) {
        self.read_map::<M>();
    }
    /// A concurrent map offering reads and plain writes.
    fn read_map<M: ReadMap>(&mut self) {
        self.lookup::<M>();
    }
    /// A map that is only read.
    fn lookup<L: Lookup + FromPairs>(&mut self) {}
}

/// Visits every peer, snapmap first.
pub fn each_peer(v: &mut impl Visitor) {
    v.map::<Snap>();
    v.map::<Locked<std::sync::RwLock<StdMap>>>();
    v.map::<Locked<parking_lot::RwLock<StdMap>>>();
    v.map::<Locked<parking_lot::Mutex<StdMap>>>();
    v.map::<Dash>();
    v.map::<Papaya>();
    v.map::<SccMap>();
    v.read_map::<SccIndex>();
    v.lookup::<ReadOnly>();
}

// ---------------------------------------------------------------------------------------------
// snapmap
// ---------------------------------------------------------------------------------------------

/// `snapmap::SnapMap`, pinned per operation.
pub struct Snap(pub SnapMap<u64, u64, Hasher>);

impl Lookup for Snap {
    const NAME: &'static str = "snapmap";

    fn get(&self, key: u64) -> Option<u64> {
        self.0.pin().get(&key).copied()
    }

    fn range(&self) -> u64 {
        digest(self.0.pin().iter())
    }
}

impl ReadMap for Snap {
    /// The map's default shard count, unless `SNAPMAP_BENCH_SHARDS` names one (to measure
    /// which count suits the machine).
    fn with_capacity(capacity: usize) -> Self {
        let builder = SnapMap::builder().capacity(capacity).hasher(hasher());
        let builder = match std::env::var("SNAPMAP_BENCH_SHARDS") {
            Ok(shards) => builder.shards(shards.parse().expect("SNAPMAP_BENCH_SHARDS: a number")),
            Err(_) => builder,
        };
        Snap(builder.build())
    }

    fn insert(&self, key: u64, value: u64) -> bool {
        self.0.pin().insert(key, value).is_none()
    }

    fn remove(&self, key: u64) -> bool {
        self.0.pin().remove(&key).is_some()
    }

    fn update(&self, key: u64, value: u64) -> bool {
        self.0.pin().update(&key, |_| value).is_some()
    }

    fn quiesce(&self) {
        self.0.guard().flush();
    }
}

impl Map for Snap {
    fn swap(&self, key: u64, value: u64) -> Option<u64> {
        self.0.pin().insert(key, value).copied()
    }

    fn load_or_store(&self, key: u64, value: u64) -> (u64, bool) {
        match self.0.pin().try_insert(key, value) {
            Ok(_) => (value, false),
            Err(occupied) => (*occupied.current, true),
        }
    }

    fn load_and_delete(&self, key: u64) -> Option<u64> {
        self.0.pin().remove(&key).copied()
    }

    fn compare_and_swap(&self, key: u64, old: u64, new: u64) -> bool {
        self.0.pin().compare_exchange(&key, &old, new).is_ok()
    }

    fn compare_and_delete(&self, key: u64, old: u64) -> bool {
        self.0.pin().remove_if(&key, |v| *v == old).is_some()
    }

    fn delete_first(&self) {
        // snapmap allows writes while iterating, as Go's Range does.
        let map = self.0.pin();
        if let Some(&key) = map.keys().next() {
            map.remove(&key);
        }
    }

    fn clear(&self) {
        self.0.clear();
    }
}

// ---------------------------------------------------------------------------------------------
// A std HashMap behind a lock
// ---------------------------------------------------------------------------------------------

/// A lock around a std `HashMap`: std's `RwLock`, parking_lot's `RwLock` or parking_lot's
/// `Mutex`.
pub trait Lock: Sync + Sized {
    const NAME: &'static str;
    /// Whether `read` lets readers run in parallel (false for a mutex, where a read-then-write
    /// sequence would only lock twice).
    const SHARED_READS: bool;
    fn new(map: StdMap) -> Self;
    fn read<R>(&self, f: impl FnOnce(&StdMap) -> R) -> R;
    fn write<R>(&self, f: impl FnOnce(&mut StdMap) -> R) -> R;
}

impl Lock for std::sync::RwLock<StdMap> {
    const NAME: &'static str = "std-rwlock";
    const SHARED_READS: bool = true;

    fn new(map: StdMap) -> Self {
        Self::new(map)
    }

    fn read<R>(&self, f: impl FnOnce(&StdMap) -> R) -> R {
        f(&self
            .read()
            .expect("lock poisoned by a panicking benchmark thread"))
    }

    fn write<R>(&self, f: impl FnOnce(&mut StdMap) -> R) -> R {
        f(&mut self
            .write()
            .expect("lock poisoned by a panicking benchmark thread"))
    }
}

impl Lock for parking_lot::RwLock<StdMap> {
    const NAME: &'static str = "pl-rwlock";
    const SHARED_READS: bool = true;

    fn new(map: StdMap) -> Self {
        Self::new(map)
    }

    fn read<R>(&self, f: impl FnOnce(&StdMap) -> R) -> R {
        f(&self.read())
    }

    fn write<R>(&self, f: impl FnOnce(&mut StdMap) -> R) -> R {
        f(&mut self.write())
    }
}

impl Lock for parking_lot::Mutex<StdMap> {
    const NAME: &'static str = "pl-mutex";
    const SHARED_READS: bool = false;

    fn new(map: StdMap) -> Self {
        Self::new(map)
    }

    fn read<R>(&self, f: impl FnOnce(&StdMap) -> R) -> R {
        f(&self.lock())
    }

    fn write<R>(&self, f: impl FnOnce(&mut StdMap) -> R) -> R {
        f(&mut self.lock())
    }
}

/// A std `HashMap` behind the lock `L`: reads take it shared, writes exclusive.
pub struct Locked<L>(pub L);

impl<L: Lock> Lookup for Locked<L> {
    const NAME: &'static str = L::NAME;

    fn get(&self, key: u64) -> Option<u64> {
        self.0.read(|m| m.get(&key).copied())
    }

    fn range(&self) -> u64 {
        self.0.read(|m| digest(m.iter()))
    }
}

impl<L: Lock> ReadMap for Locked<L> {
    fn with_capacity(capacity: usize) -> Self {
        Locked(L::new(StdMap::with_capacity_and_hasher(capacity, hasher())))
    }

    fn insert(&self, key: u64, value: u64) -> bool {
        self.0.write(|m| m.insert(key, value).is_none())
    }

    fn remove(&self, key: u64) -> bool {
        self.0.write(|m| m.remove(&key).is_some())
    }

    fn update(&self, key: u64, value: u64) -> bool {
        self.0
            .write(|m| m.get_mut(&key).map(|v| *v = value).is_some())
    }
}

impl<L: Lock> Map for Locked<L> {
    fn swap(&self, key: u64, value: u64) -> Option<u64> {
        self.0.write(|m| m.insert(key, value))
    }

    fn load_or_store(&self, key: u64, value: u64) -> (u64, bool) {
        if L::SHARED_READS {
            if let Some(current) = self.0.read(|m| m.get(&key).copied()) {
                return (current, true);
            }
        }
        self.0.write(|m| match m.entry(key) {
            Entry::Occupied(e) => (*e.get(), true),
            Entry::Vacant(e) => (*e.insert(value), false),
        })
    }

    fn load_and_delete(&self, key: u64) -> Option<u64> {
        self.0.write(|m| m.remove(&key))
    }

    fn compare_and_swap(&self, key: u64, old: u64, new: u64) -> bool {
        self.0.write(|m| match m.get_mut(&key) {
            Some(v) if *v == old => {
                *v = new;
                true
            }
            _ => false,
        })
    }

    fn compare_and_delete(&self, key: u64, old: u64) -> bool {
        self.0.write(|m| match m.entry(key) {
            Entry::Occupied(e) if *e.get() == old => {
                e.remove();
                true
            }
            _ => false,
        })
    }

    fn delete_first(&self) {
        self.0.write(|m| {
            if let Some(&key) = m.keys().next() {
                m.remove(&key);
            }
        });
    }

    fn clear(&self) {
        self.0.write(|m| m.clear());
    }
}

// ---------------------------------------------------------------------------------------------
// dashmap
// ---------------------------------------------------------------------------------------------

/// `dashmap::DashMap` with its default shard count.
pub struct Dash(pub dashmap::DashMap<u64, u64, Hasher>);

impl Lookup for Dash {
    const NAME: &'static str = "dashmap";

    fn get(&self, key: u64) -> Option<u64> {
        self.0.get(&key).map(|r| *r)
    }

    fn range(&self) -> u64 {
        self.0
            .iter()
            .fold(0, |acc, r| acc.wrapping_add(r.key() ^ r.value()))
    }
}

impl ReadMap for Dash {
    fn with_capacity(capacity: usize) -> Self {
        Dash(dashmap::DashMap::with_capacity_and_hasher(
            capacity,
            hasher(),
        ))
    }

    fn insert(&self, key: u64, value: u64) -> bool {
        self.0.insert(key, value).is_none()
    }

    fn remove(&self, key: u64) -> bool {
        self.0.remove(&key).is_some()
    }

    fn update(&self, key: u64, value: u64) -> bool {
        self.0.get_mut(&key).map(|mut r| *r = value).is_some()
    }
}

impl Map for Dash {
    fn swap(&self, key: u64, value: u64) -> Option<u64> {
        self.0.insert(key, value)
    }

    fn load_or_store(&self, key: u64, value: u64) -> (u64, bool) {
        if let Some(current) = self.0.get(&key) {
            return (*current, true);
        }
        match self.0.entry(key) {
            dashmap::Entry::Occupied(e) => (*e.get(), true),
            dashmap::Entry::Vacant(e) => (*e.insert(value), false),
        }
    }

    fn load_and_delete(&self, key: u64) -> Option<u64> {
        self.0.remove(&key).map(|(_, v)| v)
    }

    fn compare_and_swap(&self, key: u64, old: u64, new: u64) -> bool {
        match self.0.get_mut(&key) {
            Some(mut v) if *v == old => {
                *v = new;
                true
            }
            _ => false,
        }
    }

    fn compare_and_delete(&self, key: u64, old: u64) -> bool {
        self.0.remove_if(&key, |_, v| *v == old).is_some()
    }

    fn delete_first(&self) {
        // The iterator holds a shard's read lock: finish with it before removing, or deadlock.
        let first = self.0.iter().next().map(|r| *r.key());
        if let Some(key) = first {
            self.0.remove(&key);
        }
    }

    fn clear(&self) {
        self.0.clear();
    }
}

// ---------------------------------------------------------------------------------------------
// papaya
// ---------------------------------------------------------------------------------------------

/// `papaya::HashMap` with its default (incremental) resizing, pinned per operation.
pub struct Papaya(pub papaya::HashMap<u64, u64, Hasher>);

impl Lookup for Papaya {
    const NAME: &'static str = "papaya";

    fn get(&self, key: u64) -> Option<u64> {
        self.0.pin().get(&key).copied()
    }

    fn range(&self) -> u64 {
        digest(self.0.pin().iter())
    }
}

impl ReadMap for Papaya {
    fn with_capacity(capacity: usize) -> Self {
        Papaya(papaya::HashMap::with_capacity_and_hasher(
            capacity,
            hasher(),
        ))
    }

    fn insert(&self, key: u64, value: u64) -> bool {
        self.0.pin().insert(key, value).is_none()
    }

    fn remove(&self, key: u64) -> bool {
        self.0.pin().remove(&key).is_some()
    }

    fn update(&self, key: u64, value: u64) -> bool {
        self.0.pin().update(key, |_| value).is_some()
    }

    fn quiesce(&self) {
        self.0.guard().flush();
    }
}

impl Map for Papaya {
    fn swap(&self, key: u64, value: u64) -> Option<u64> {
        self.0.pin().insert(key, value).copied()
    }

    fn load_or_store(&self, key: u64, value: u64) -> (u64, bool) {
        match self.0.pin().try_insert(key, value) {
            Ok(_) => (value, false),
            Err(occupied) => (*occupied.current, true),
        }
    }

    fn load_and_delete(&self, key: u64) -> Option<u64> {
        self.0.pin().remove(&key).copied()
    }

    fn compare_and_swap(&self, key: u64, old: u64, new: u64) -> bool {
        // papaya's documented way to a conditional update: `compute`, applied atomically.
        let map = self.0.pin();
        let outcome = map.compute(key, |entry| match entry {
            Some((_, v)) if *v == old => papaya::Operation::Insert(new),
            _ => papaya::Operation::Abort(()),
        });
        matches!(outcome, papaya::Compute::Updated { .. })
    }

    fn compare_and_delete(&self, key: u64, old: u64) -> bool {
        matches!(self.0.pin().remove_if(&key, |_, v| *v == old), Ok(Some(_)))
    }

    fn delete_first(&self) {
        let map = self.0.pin();
        if let Some(&key) = map.keys().next() {
            map.remove(&key);
        }
    }

    fn clear(&self) {
        self.0.pin().clear();
    }
}

// ---------------------------------------------------------------------------------------------
// scc
// ---------------------------------------------------------------------------------------------

/// Lets scc's epoch advance so that retired memory can be freed.
fn scc_quiesce() {
    scc::Guard::new().accelerate();
}

/// `scc::HashMap`; reads through `read_sync` (a shared bucket lock).
pub struct SccMap(pub scc::HashMap<u64, u64, Hasher>);

impl Lookup for SccMap {
    const NAME: &'static str = "scc-hashmap";

    fn get(&self, key: u64) -> Option<u64> {
        self.0.read_sync(&key, |_, v| *v)
    }

    fn range(&self) -> u64 {
        let mut acc = 0u64;
        self.0.iter_sync(|k, v| {
            acc = acc.wrapping_add(k ^ v);
            true
        });
        acc
    }
}

impl ReadMap for SccMap {
    fn with_capacity(capacity: usize) -> Self {
        SccMap(scc::HashMap::with_capacity_and_hasher(capacity, hasher()))
    }

    fn insert(&self, key: u64, value: u64) -> bool {
        self.0.upsert_sync(key, value).is_none()
    }

    fn remove(&self, key: u64) -> bool {
        self.0.remove_sync(&key).is_some()
    }

    fn update(&self, key: u64, value: u64) -> bool {
        self.0.update_sync(&key, |_, v| *v = value).is_some()
    }

    fn quiesce(&self) {
        scc_quiesce();
    }
}

impl Map for SccMap {
    fn swap(&self, key: u64, value: u64) -> Option<u64> {
        self.0.upsert_sync(key, value)
    }

    fn load_or_store(&self, key: u64, value: u64) -> (u64, bool) {
        if let Some(current) = self.0.read_sync(&key, |_, v| *v) {
            return (current, true);
        }
        match self.0.entry_sync(key) {
            scc::hash_map::Entry::Occupied(e) => (*e.get(), true),
            scc::hash_map::Entry::Vacant(e) => (*e.insert_entry(value).get(), false),
        }
    }

    fn load_and_delete(&self, key: u64) -> Option<u64> {
        self.0.remove_sync(&key).map(|(_, v)| v)
    }

    fn compare_and_swap(&self, key: u64, old: u64, new: u64) -> bool {
        self.0.update_sync(&key, |_, v| {
            let equal = *v == old;
            if equal {
                *v = new;
            }
            equal
        }) == Some(true)
    }

    fn compare_and_delete(&self, key: u64, old: u64) -> bool {
        self.0.remove_if_sync(&key, |v| *v == old).is_some()
    }

    fn delete_first(&self) {
        if let Some(entry) = self.0.begin_sync() {
            let _removed = entry.remove_entry();
        }
    }

    fn clear(&self) {
        self.0.clear_sync();
    }
}

/// `scc::HashIndex`, scc's read-optimized map: lock-free `peek_with` reads, copy-on-write
/// updates. Measured on the read workloads only.
pub struct SccIndex(pub scc::HashIndex<u64, u64, Hasher>);

impl Lookup for SccIndex {
    const NAME: &'static str = "scc-hashindex";

    fn get(&self, key: u64) -> Option<u64> {
        self.0.peek_with(&key, |_, v| *v)
    }

    fn range(&self) -> u64 {
        digest(self.0.iter(&scc::Guard::new()))
    }
}

impl ReadMap for SccIndex {
    fn with_capacity(capacity: usize) -> Self {
        SccIndex(scc::HashIndex::with_capacity_and_hasher(capacity, hasher()))
    }

    fn insert(&self, key: u64, value: u64) -> bool {
        match self.0.entry_sync(key) {
            scc::hash_index::Entry::Occupied(mut e) => {
                e.update(value);
                false
            }
            scc::hash_index::Entry::Vacant(e) => {
                e.insert_entry(value);
                true
            }
        }
    }

    fn remove(&self, key: u64) -> bool {
        self.0.remove_sync(&key)
    }

    fn update(&self, key: u64, value: u64) -> bool {
        match self.0.get_sync(&key) {
            Some(mut e) => {
                e.update(value);
                true
            }
            None => false,
        }
    }

    fn quiesce(&self) {
        scc_quiesce();
    }
}

// ---------------------------------------------------------------------------------------------
// The physical limit
// ---------------------------------------------------------------------------------------------

/// A std `HashMap` filled beforehand and then shared read-only, with no synchronization at all:
/// the limit any concurrent map can approach on a read-only workload.
pub struct ReadOnly(pub StdMap);

impl FromPairs for ReadOnly {
    fn from_pairs(pairs: &[(u64, u64)]) -> Self {
        let mut map = StdMap::with_hasher(hasher());
        map.extend(pairs.iter().copied());
        ReadOnly(map)
    }
}

impl Lookup for ReadOnly {
    const NAME: &'static str = "hashmap-readonly";

    fn get(&self, key: u64) -> Option<u64> {
        self.0.get(&key).copied()
    }

    fn range(&self) -> u64 {
        digest(self.0.iter())
    }
}
