//! The public map type and its shared-access API.
#![forbid(unsafe_code)]

use std::borrow::Borrow;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash};

use crate::builder::default_shards;
use crate::compute::{Compute, Operation};
use crate::error::{CompareExchangeError, OccupiedError};
use crate::iter::{Iter, Keys, Values};
use crate::map_ref::MapRef;
use crate::raw::RawMap;
use crate::stats::Stats;
use crate::sync::epoch::{self, Guard};

/// A concurrent hash map in the shape of Go's `sync.Map`, with epoch-based reclamation.
///
/// The map is a fixed number of shards (see [`Builder::shards`](crate::Builder::shards)). Reads
/// take no lock and write no shared memory, whether the key is in a shard's read snapshot, in its
/// dirty index of new keys, or absent; a new key takes only its shard's lock. Shared-access
/// methods take a [`Guard`] (from [`guard`](Self::guard)) and return references that live as long
/// as it; [`pin`](Self::pin) bundles the two.
///
/// See the [crate documentation](crate) for the consistency guarantees and the memory model.
///
/// # Why `K` and `V` must be `Send + Sync + 'static`
///
/// The methods that read or write ask for these bounds because removed and overwritten keys and
/// values are not dropped in place: they are handed to crossbeam-epoch's global collector,
/// which drops them later (once no [`Guard`] can still see them), on whichever thread collects,
/// possibly after the map is gone. So they may be dropped on another thread (`Send`), at a time
/// no borrow could outlast (`'static`), and meanwhile other threads read them through shared
/// references (`Sync`). Use owned data (`String`, `Arc<T>`) or `&'static` data. The
/// [*Async services*](crate#async-services) section says what this means for tasks.
///
/// # Examples
///
/// ```
/// use snapmap::SnapMap;
///
/// let map = SnapMap::new();
/// let guard = map.guard();
/// map.insert("apple", 3, &guard);
/// assert_eq!(map.get("apple", &guard), Some(&3));
/// ```
pub struct SnapMap<K, V, S = RandomState> {
    pub(crate) raw: RawMap<K, V>,
    hash_builder: S,
    /// crossbeam-epoch's global collector, the only one whose guards protect this map: kept
    /// here so that checking a guard compares two pointers instead of reaching the global.
    collector: epoch::Collector,
}

impl<K, V> SnapMap<K, V, RandomState> {
    /// Creates an empty map.
    ///
    /// # Examples
    ///
    /// ```
    /// let map: snapmap::SnapMap<u32, String> = snapmap::SnapMap::new();
    /// assert!(map.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::with_capacity_and_hasher(0, RandomState::new())
    }

    /// Creates an empty map whose first table has room for `capacity` keys.
    ///
    /// # Examples
    ///
    /// ```
    /// let map: snapmap::SnapMap<u32, u32> = snapmap::SnapMap::with_capacity(1000);
    /// assert_eq!(map.len(), 0);
    /// ```
    pub fn with_capacity(capacity: usize) -> Self {
        Self::with_capacity_and_hasher(capacity, RandomState::new())
    }
}

impl<K, V, S> SnapMap<K, V, S> {
    /// Creates an empty map that hashes keys with `hash_builder`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::hash_map::RandomState;
    ///
    /// let map: snapmap::SnapMap<u32, u32> = snapmap::SnapMap::with_hasher(RandomState::new());
    /// assert!(map.is_empty());
    /// ```
    pub fn with_hasher(hash_builder: S) -> Self {
        Self::with_capacity_and_hasher(0, hash_builder)
    }

    /// Creates an empty map with room for `capacity` keys that hashes with `hash_builder`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::hash_map::RandomState;
    ///
    /// let map: snapmap::SnapMap<u32, u32> =
    ///     snapmap::SnapMap::with_capacity_and_hasher(100, RandomState::new());
    /// assert!(map.is_empty());
    /// ```
    pub fn with_capacity_and_hasher(capacity: usize, hash_builder: S) -> Self {
        Self::from_parts(RawMap::new(default_shards(), capacity), hash_builder)
    }

    pub(crate) fn from_parts(raw: RawMap<K, V>, hash_builder: S) -> Self {
        SnapMap {
            raw,
            hash_builder,
            collector: epoch::default_collector().clone(),
        }
    }

    /// The number of shards (independent snapshot, dirty index and lock units) the map was built
    /// with; see [`Builder::shards`](crate::Builder::shards).
    ///
    /// # Examples
    ///
    /// ```
    /// let map: snapmap::SnapMap<u8, u8> = snapmap::SnapMap::builder().shards(4).build();
    /// assert_eq!(map.shards(), 4);
    /// ```
    pub fn shards(&self) -> usize {
        self.raw.shard_count()
    }

    /// The map's hasher.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::hash::BuildHasher;
    ///
    /// let map: snapmap::SnapMap<u32, u32> = snapmap::SnapMap::new();
    /// let _hash = map.hasher().hash_one(7u32);
    /// ```
    pub fn hasher(&self) -> &S {
        &self.hash_builder
    }

    /// Pins the current thread: references handed out under the returned guard stay valid, and
    /// what they point to is not freed, until it drops.
    ///
    /// A guard also holds back the reclamation of everything retired while it is pinned, so keep
    /// guards short-lived (one per operation or per batch).
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let guard = map.guard();
    /// map.insert(1, "one", &guard);
    /// let one = map.get(&1, &guard).unwrap();
    /// map.remove(&1, &guard);
    /// assert_eq!(*one, "one"); // still valid: the guard is pinned
    /// ```
    pub fn guard(&self) -> Guard {
        epoch::pin()
    }

    /// A handle that owns a guard and offers every shared-access method without the guard
    /// argument.
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let map_ref = map.pin();
    /// map_ref.insert("k", 1);
    /// assert_eq!(map_ref.get("k"), Some(&1));
    /// ```
    pub fn pin(&self) -> MapRef<'_, K, V, S> {
        MapRef::new(self, self.guard())
    }

    /// The number of live entries; exact when no write is in flight.
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// map.pin().insert(1, 1);
    /// assert_eq!(map.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// Whether the map has no live entries; exact when no write is in flight.
    ///
    /// # Examples
    ///
    /// ```
    /// let map: snapmap::SnapMap<u8, u8> = snapmap::SnapMap::new();
    /// assert!(map.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K, V, S> SnapMap<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher,
{
    fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hash_builder.hash_one(key)
    }

    /// Rejects a guard from another epoch collector: the map retires memory through the global
    /// collector, so only its guards protect what this map hands out.
    pub(crate) fn check_guard(&self, guard: &Guard) {
        if let Some(collector) = guard.collector() {
            assert!(
                *collector == self.collector,
                "snapmap: the guard belongs to another epoch collector; use SnapMap::guard"
            );
        }
    }

    /// The value of `key`.
    ///
    /// A key in its shard's read table costs one probe of it and one atomic load: no lock, no
    /// write to shared memory. A key the table lacks costs a second probe, of the shard's dirty
    /// index, also lock-free (a key found there counts a miss toward the index's promotion).
    ///
    /// # Panics
    ///
    /// If `guard` comes from another epoch collector than crossbeam-epoch's global one (the one
    /// [`SnapMap::guard`] and `crossbeam_epoch::pin` use): the map retires memory through the
    /// global collector, so only its guards protect what the map hands out.
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let guard = map.guard();
    /// map.insert(String::from("a"), 1, &guard);
    /// assert_eq!(map.get("a", &guard), Some(&1));
    /// assert_eq!(map.get("b", &guard), None);
    /// ```
    pub fn get<'g, Q>(&'g self, key: &Q, guard: &'g Guard) -> Option<&'g V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.check_guard(guard);
        let hash = self.hash(key);
        self.raw
            .find(hash, |stored| stored.borrow() == key, guard)?
            .load(guard)
    }

    /// The stored key and the value of `key`.
    ///
    /// # Panics
    ///
    /// If `guard` comes from another epoch collector than crossbeam-epoch's global one (the one
    /// [`SnapMap::guard`] and `crossbeam_epoch::pin` use): the map retires memory through the
    /// global collector, so only its guards protect what the map hands out.
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let guard = map.guard();
    /// map.insert(String::from("a"), 1, &guard);
    /// assert_eq!(map.get_key_value("a", &guard), Some((&String::from("a"), &1)));
    /// ```
    pub fn get_key_value<'g, Q>(&'g self, key: &Q, guard: &'g Guard) -> Option<(&'g K, &'g V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.check_guard(guard);
        let hash = self.hash(key);
        let found = self
            .raw
            .find(hash, |stored| stored.borrow() == key, guard)?;
        Some((found.key(), found.load(guard)?))
    }

    /// Whether the map holds `key`.
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// map.pin().insert(1, ());
    /// assert!(map.contains_key(&1));
    /// assert!(!map.contains_key(&2));
    /// ```
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get(key, &self.guard()).is_some()
    }

    /// A clone of the value of `key`; needs no guard.
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// map.pin().insert(1, String::from("one"));
    /// assert_eq!(map.get_cloned(&1), Some(String::from("one")));
    /// ```
    pub fn get_cloned<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        self.get(key, &self.guard()).cloned()
    }

    /// Stores `value` for `key` and returns the previous value (Go's `Store` and `Swap`).
    ///
    /// When the key is present its stored key is kept and `key` is dropped. The previous value
    /// is dropped once no guard can see it.
    ///
    /// # Panics
    ///
    /// If the key's `Eq` writes to this map while the map holds the shard's lock (see [Hash and
    /// Eq must not write to the map](crate#hash-and-eq-must-not-write-to-the-map)); the map is left
    /// unchanged.
    ///
    /// Also if `guard` comes from another epoch collector than crossbeam-epoch's global one (the one
    /// [`SnapMap::guard`] and `crossbeam_epoch::pin` use): the map retires memory through the
    /// global collector, so only its guards protect what the map hands out.
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let guard = map.guard();
    /// assert_eq!(map.insert(1, "a", &guard), None);
    /// assert_eq!(map.insert(1, "b", &guard), Some(&"a"));
    /// ```
    pub fn insert<'g>(&'g self, key: K, value: V, guard: &'g Guard) -> Option<&'g V> {
        self.check_guard(guard);
        let hash = self.hash(&key);
        self.raw.insert(hash, key, value, guard)
    }

    /// The current value of `key`, after storing `value` if the key was absent (Go's
    /// `LoadOrStore`).
    ///
    /// # Panics
    ///
    /// If the key's `Eq` writes to this map while the map holds the shard's lock (see [Hash and
    /// Eq must not write to the map](crate#hash-and-eq-must-not-write-to-the-map)); the map is left
    /// unchanged.
    ///
    /// Also if `guard` comes from another epoch collector than crossbeam-epoch's global one (the one
    /// [`SnapMap::guard`] and `crossbeam_epoch::pin` use): the map retires memory through the
    /// global collector, so only its guards protect what the map hands out.
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let guard = map.guard();
    /// assert_eq!(map.get_or_insert(1, "a", &guard), &"a");
    /// assert_eq!(map.get_or_insert(1, "b", &guard), &"a");
    /// ```
    pub fn get_or_insert<'g>(&'g self, key: K, value: V, guard: &'g Guard) -> &'g V {
        match self.try_insert(key, value, guard) {
            Ok(stored) => stored,
            Err(occupied) => occupied.current,
        }
    }

    /// Stores `value` if `key` is absent; otherwise returns the current value together with the
    /// value not inserted (Go's `LoadOrStore` with `loaded`).
    ///
    /// # Panics
    ///
    /// If the key's `Eq` writes to this map while the map holds the shard's lock (see [Hash and
    /// Eq must not write to the map](crate#hash-and-eq-must-not-write-to-the-map)); the map is left
    /// unchanged.
    ///
    /// Also if `guard` comes from another epoch collector than crossbeam-epoch's global one (the one
    /// [`SnapMap::guard`] and `crossbeam_epoch::pin` use): the map retires memory through the
    /// global collector, so only its guards protect what the map hands out.
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let guard = map.guard();
    /// assert_eq!(map.try_insert(1, "a", &guard), Ok(&"a"));
    /// let err = map.try_insert(1, "b", &guard).unwrap_err();
    /// assert_eq!((err.current, err.not_inserted), (&"a", "b"));
    /// ```
    pub fn try_insert<'g>(
        &'g self,
        key: K,
        value: V,
        guard: &'g Guard,
    ) -> Result<&'g V, OccupiedError<'g, V>> {
        self.check_guard(guard);
        let hash = self.hash(&key);
        self.raw
            .try_insert(hash, key, value, guard)
            .map_err(|(current, not_inserted)| OccupiedError {
                current,
                not_inserted,
            })
    }

    /// The current value of `key`, after storing `f()` if the key was absent.
    ///
    /// `f` runs only when the key was seen absent, at most once, and without any lock held (it
    /// may use the map). If another thread stores the key meanwhile, its value wins and `f`'s
    /// result is dropped.
    ///
    /// # Panics
    ///
    /// If the key's `Eq` writes to this map while the map holds the shard's lock (see [Hash and
    /// Eq must not write to the map](crate#hash-and-eq-must-not-write-to-the-map)); the map is left
    /// unchanged.
    ///
    /// Also if `guard` comes from another epoch collector than crossbeam-epoch's global one (the one
    /// [`SnapMap::guard`] and `crossbeam_epoch::pin` use): the map retires memory through the
    /// global collector, so only its guards protect what the map hands out.
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let guard = map.guard();
    /// assert_eq!(map.get_or_insert_with(1, || "computed", &guard), &"computed");
    /// assert_eq!(map.get_or_insert_with(1, || unreachable!(), &guard), &"computed");
    /// ```
    pub fn get_or_insert_with<'g, F>(&'g self, key: K, f: F, guard: &'g Guard) -> &'g V
    where
        F: FnOnce() -> V,
    {
        self.check_guard(guard);
        let hash = self.hash(&key);
        if let Some(current) = self
            .raw
            .find(hash, |stored| *stored == key, guard)
            .and_then(|found| found.load(guard))
        {
            return current;
        }
        match self.raw.try_insert(hash, key, f(), guard) {
            Ok(stored) => stored,
            Err((current, _not_inserted)) => current,
        }
    }

    /// Removes `key` and returns its value (Go's `LoadAndDelete` and `Delete`).
    ///
    /// The value is dropped once no guard can see it.
    ///
    /// # Panics
    ///
    /// If `guard` comes from another epoch collector than crossbeam-epoch's global one (the one
    /// [`SnapMap::guard`] and `crossbeam_epoch::pin` use): the map retires memory through the
    /// global collector, so only its guards protect what the map hands out.
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let guard = map.guard();
    /// map.insert(1, "a", &guard);
    /// assert_eq!(map.remove(&1, &guard), Some(&"a"));
    /// assert_eq!(map.remove(&1, &guard), None);
    /// ```
    pub fn remove<'g, Q>(&'g self, key: &Q, guard: &'g Guard) -> Option<&'g V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.remove_if(key, |_| true, guard)
    }

    /// Removes `key` if `pred` accepts its current value (Go's `CompareAndDelete`, generalized).
    ///
    /// Returns the removed value, or `None` if the key is absent or `pred` said no. An absent key
    /// is never inserted. Under contention `pred` may run more than once, each time on the value
    /// current then.
    ///
    /// # Panics
    ///
    /// If `guard` comes from another epoch collector than crossbeam-epoch's global one (the one
    /// [`SnapMap::guard`] and `crossbeam_epoch::pin` use): the map retires memory through the
    /// global collector, so only its guards protect what the map hands out.
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let guard = map.guard();
    /// map.insert(1, 10, &guard);
    /// assert_eq!(map.remove_if(&1, |v| *v > 99, &guard), None);
    /// assert_eq!(map.remove_if(&1, |v| *v == 10, &guard), Some(&10));
    /// assert_eq!(map.remove_if(&2, |_| true, &guard), None);
    /// ```
    pub fn remove_if<'g, Q, F>(&'g self, key: &Q, pred: F, guard: &'g Guard) -> Option<&'g V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        F: FnMut(&V) -> bool,
    {
        self.check_guard(guard);
        let hash = self.hash(key);
        self.raw
            .remove(hash, |stored| stored.borrow() == key, pred, guard)
    }

    /// Replaces the value of `key` with `new` if it equals `current` (Go's `CompareAndSwap`).
    ///
    /// Returns the previous value on success. On failure the error carries the value found
    /// (`None`: the key is absent, and it is not inserted) and gives `new` back.
    ///
    /// # Panics
    ///
    /// If `guard` comes from another epoch collector than crossbeam-epoch's global one (the one
    /// [`SnapMap::guard`] and `crossbeam_epoch::pin` use): the map retires memory through the
    /// global collector, so only its guards protect what the map hands out.
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let guard = map.guard();
    /// map.insert(1, 10, &guard);
    /// assert_eq!(map.compare_exchange(&1, &10, 11, &guard), Ok(&10));
    /// let err = map.compare_exchange(&1, &10, 12, &guard).unwrap_err();
    /// assert_eq!((err.current, err.new), (Some(&11), 12));
    /// assert!(map.compare_exchange(&2, &0, 1, &guard).is_err());
    /// assert!(!map.contains_key(&2));
    /// ```
    pub fn compare_exchange<'g, Q>(
        &'g self,
        key: &Q,
        current: &V,
        new: V,
        guard: &'g Guard,
    ) -> Result<&'g V, CompareExchangeError<'g, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: PartialEq,
    {
        self.check_guard(guard);
        let hash = self.hash(key);
        self.raw
            .compare_exchange(
                hash,
                |stored| stored.borrow() == key,
                |value| value == current,
                new,
                guard,
            )
            .map_err(|(current, new)| CompareExchangeError { current, new })
    }

    /// Replaces the value `v` of `key` with `f(v)` and returns the new value; `None` if the key
    /// is absent.
    ///
    /// The replacement is a compare-and-swap, so under contention `f` may run more than once;
    /// no update is lost.
    ///
    /// # Panics
    ///
    /// If `guard` comes from another epoch collector than crossbeam-epoch's global one (the one
    /// [`SnapMap::guard`] and `crossbeam_epoch::pin` use): the map retires memory through the
    /// global collector, so only its guards protect what the map hands out.
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let guard = map.guard();
    /// map.insert("hits", 1, &guard);
    /// assert_eq!(map.update("hits", |n| n + 1, &guard), Some(&2));
    /// assert_eq!(map.update("misses", |n| n + 1, &guard), None);
    /// ```
    pub fn update<'g, Q, F>(&'g self, key: &Q, f: F, guard: &'g Guard) -> Option<&'g V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        F: Fn(&V) -> V,
    {
        self.check_guard(guard);
        let hash = self.hash(key);
        self.raw
            .update(hash, |stored| stored.borrow() == key, f, guard)
    }

    /// Atomically decides what to do with the key from its current value (`None`: absent), and
    /// does it: [`Operation::Insert`] stores a value (inserting or replacing), [`Operation::Remove`]
    /// removes the key, [`Operation::Abort`] changes nothing and hands its payload back.
    ///
    /// Under contention `f` may run more than once, each time on the value then current; only
    /// its last decision takes effect, at one instant, as if no other write came between the
    /// value `f` saw and the change. On an absent key, `Insert` inserts atomically against
    /// concurrent inserts and removals of the same key. Values made by earlier runs of `f` that
    /// did not take effect are dropped. `f` runs with no lock held.
    ///
    /// # Panics
    ///
    /// If `f` panics (the map is left unchanged), or if the key's `Eq` writes to this map while
    /// the map holds the shard's lock (see [Hash and Eq must not write to the
    /// map](crate#hash-and-eq-must-not-write-to-the-map)).
    ///
    /// Also if `guard` comes from another epoch collector than crossbeam-epoch's global one (the one
    /// [`SnapMap::guard`] and `crossbeam_epoch::pin` use): the map retires memory through the
    /// global collector, so only its guards protect what the map hands out.
    ///
    /// # Examples
    ///
    /// ```
    /// use snapmap::{Compute, Operation, SnapMap};
    ///
    /// // A stock counter that never goes below zero.
    /// let stock = SnapMap::new();
    /// let guard = stock.guard();
    /// stock.insert("apples", 1u32, &guard);
    /// let take = |current: Option<&u32>| match current {
    ///     Some(&1) => Operation::Remove,
    ///     Some(&n) => Operation::Insert(n - 1),
    ///     None => Operation::Abort("out of stock"),
    /// };
    /// assert!(matches!(stock.compute("apples", take, &guard), Compute::Removed(&1)));
    /// assert!(matches!(
    ///     stock.compute("apples", take, &guard),
    ///     Compute::Aborted("out of stock")
    /// ));
    /// ```
    pub fn compute<'g, F, T>(&'g self, key: K, mut f: F, guard: &'g Guard) -> Compute<'g, V, T>
    where
        F: FnMut(Option<&V>) -> Operation<V, T>,
    {
        self.check_guard(guard);
        let hash = self.hash(&key);
        self.raw
            .compute(hash, key, |current, _rejected| f(current), guard)
    }

    /// Replaces the key's value `v` with `f(v)`, or inserts `default` if the key is absent,
    /// atomically; returns the value now stored.
    ///
    /// `f` may run more than once under contention (each time on the value then current).
    ///
    /// # Panics
    ///
    /// If `f` panics (the map is left unchanged), or if the key's `Eq` writes to this map while
    /// the map holds the shard's lock (see [Hash and Eq must not write to the
    /// map](crate#hash-and-eq-must-not-write-to-the-map)).
    ///
    /// Also if `guard` comes from another epoch collector than crossbeam-epoch's global one (the one
    /// [`SnapMap::guard`] and `crossbeam_epoch::pin` use): the map retires memory through the
    /// global collector, so only its guards protect what the map hands out.
    ///
    /// # Examples
    ///
    /// ```
    /// let counts = snapmap::SnapMap::new();
    /// let guard = counts.guard();
    /// for word in ["a", "b", "a"] {
    ///     counts.update_or_insert(word, |n| n + 1, 1, &guard);
    /// }
    /// assert_eq!(counts.get("a", &guard), Some(&2));
    /// assert_eq!(counts.get("b", &guard), Some(&1));
    /// ```
    pub fn update_or_insert<'g, F>(&'g self, key: K, f: F, default: V, guard: &'g Guard) -> &'g V
    where
        F: Fn(&V) -> V,
    {
        self.update_or_insert_with(key, f, || default, guard)
    }

    /// Replaces the key's value `v` with `f(v)`, or inserts `default()` if the key is absent,
    /// atomically; returns the value now stored.
    ///
    /// `default` runs only when the key was seen absent, and at most once per call (if its value
    /// loses a race to another insert, `f` runs on the winner's value instead, and the default
    /// value is kept for a later attempt or dropped). `f` may run more than once.
    ///
    /// # Panics
    ///
    /// If `f` or `default` panics (the map is left unchanged), or if the key's `Eq` writes to
    /// this map while the map holds the shard's lock (see [Hash and Eq must not write to the
    /// map](crate#hash-and-eq-must-not-write-to-the-map)).
    ///
    /// Also if `guard` comes from another epoch collector than crossbeam-epoch's global one (the one
    /// [`SnapMap::guard`] and `crossbeam_epoch::pin` use): the map retires memory through the
    /// global collector, so only its guards protect what the map hands out.
    ///
    /// # Examples
    ///
    /// ```
    /// let lists = snapmap::SnapMap::new();
    /// let guard = lists.guard();
    /// let push = |list: &Vec<u32>| [list.as_slice(), &[2]].concat();
    /// lists.update_or_insert_with("k", push, || vec![1], &guard);
    /// assert_eq!(lists.update_or_insert_with("k", push, Vec::new, &guard), &[1, 2]);
    /// ```
    pub fn update_or_insert_with<'g, F, D>(
        &'g self,
        key: K,
        f: F,
        default: D,
        guard: &'g Guard,
    ) -> &'g V
    where
        F: Fn(&V) -> V,
        D: FnOnce() -> V,
    {
        self.check_guard(guard);
        let hash = self.hash(&key);
        let mut default = Some(default);
        // The default value, once made, and whether the last decision inserted it: a value that
        // comes back (its insert lost a race) is kept only if it is the default.
        let mut spare = None;
        let mut offered_default = false;
        let decide = |current: Option<&V>, rejected: Option<V>| {
            if offered_default {
                spare = rejected;
            }
            offered_default = current.is_none();
            match current {
                Some(value) => Operation::<V, ()>::Insert(f(value)),
                None => Operation::Insert(spare.take().unwrap_or_else(|| {
                    let default = default.take();
                    default.expect("the default value comes back when its insert loses a race")()
                })),
            }
        };
        match self.raw.compute(hash, key, decide, guard) {
            Compute::Inserted(new) | Compute::Updated { new, .. } => new,
            Compute::Removed(_) | Compute::Unchanged | Compute::Aborted(()) => {
                unreachable!("the decision is always to store")
            }
        }
    }

    /// Removes the key; returns the stored key and the removed value, which stay readable
    /// under `guard`.
    ///
    /// # Panics
    ///
    /// If `guard` comes from another epoch collector than crossbeam-epoch's global one (the one
    /// [`SnapMap::guard`] and `crossbeam_epoch::pin` use): the map retires memory through the
    /// global collector, so only its guards protect what the map hands out.
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let guard = map.guard();
    /// map.insert(String::from("k"), 1, &guard);
    /// assert_eq!(map.remove_entry("k", &guard), Some((&String::from("k"), &1)));
    /// assert_eq!(map.remove_entry("k", &guard), None);
    /// ```
    pub fn remove_entry<'g, Q>(&'g self, key: &Q, guard: &'g Guard) -> Option<(&'g K, &'g V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.check_guard(guard);
        let hash = self.hash(key);
        self.raw
            .remove_entry(hash, |stored| stored.borrow() == key, guard)
    }

    /// An iterator over the entries (Go's `Range`).
    ///
    /// It never yields a key twice, yields every key present for the whole iteration, and may
    /// yield any value that a key written meanwhile had. It holds no lock: the caller may use
    /// the map, writes included, while iterating.
    ///
    /// # Panics
    ///
    /// If `guard` comes from another epoch collector than crossbeam-epoch's global one (the one
    /// [`SnapMap::guard`] and `crossbeam_epoch::pin` use): the map retires memory through the
    /// global collector, so only its guards protect what the map hands out.
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let guard = map.guard();
    /// map.insert(1, 10, &guard);
    /// map.insert(2, 20, &guard);
    /// let mut pairs: Vec<_> = map.iter(&guard).collect();
    /// pairs.sort();
    /// assert_eq!(pairs, [(&1, &10), (&2, &20)]);
    /// ```
    pub fn iter<'g>(&'g self, guard: &'g Guard) -> Iter<'g, K, V> {
        self.check_guard(guard);
        Iter::new(self.raw.iter(guard))
    }

    /// An iterator over the keys, with the guarantees of [`iter`](Self::iter).
    ///
    /// # Panics
    ///
    /// If `guard` comes from another epoch collector than crossbeam-epoch's global one (the one
    /// [`SnapMap::guard`] and `crossbeam_epoch::pin` use): the map retires memory through the
    /// global collector, so only its guards protect what the map hands out.
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let guard = map.guard();
    /// map.insert(1, 10, &guard);
    /// assert_eq!(map.keys(&guard).collect::<Vec<_>>(), [&1]);
    /// ```
    pub fn keys<'g>(&'g self, guard: &'g Guard) -> Keys<'g, K, V> {
        Keys::new(self.iter(guard))
    }

    /// An iterator over the values, with the guarantees of [`iter`](Self::iter).
    ///
    /// # Panics
    ///
    /// If `guard` comes from another epoch collector than crossbeam-epoch's global one (the one
    /// [`SnapMap::guard`] and `crossbeam_epoch::pin` use): the map retires memory through the
    /// global collector, so only its guards protect what the map hands out.
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let guard = map.guard();
    /// map.insert(1, 10, &guard);
    /// assert_eq!(map.values(&guard).sum::<i32>(), 10);
    /// ```
    pub fn values<'g>(&'g self, guard: &'g Guard) -> Values<'g, K, V> {
        Values::new(self.iter(guard))
    }

    /// Removes every entry for which `f` returns `false`.
    ///
    /// `f` sees each entry present at the start at most once, with no lock held (it may use the
    /// map). An entry is removed as soon as `f` rejects it, unless its value changed after `f`
    /// judged it; so if `f` panics, the removals it decided before stay done.
    ///
    /// # Examples
    ///
    /// ```
    /// let map: snapmap::SnapMap<i32, i32> = (0..10).map(|i| (i, i)).collect();
    /// map.retain(|_, v| v % 2 == 0);
    /// assert_eq!(map.len(), 5);
    /// ```
    pub fn retain<F>(&self, f: F)
    where
        F: FnMut(&K, &V) -> bool,
    {
        self.raw.retain(f, &self.guard());
    }

    /// Removes every entry (Go's `Clear`).
    ///
    /// It costs what the map holds: a shard with no live key is left alone, a shard with only a
    /// few keys deletes them in place, as [`remove`](Self::remove) would (their tombstones count
    /// toward the usual bound), and a larger shard publishes an empty snapshot under its lock, so
    /// readers never wait. Like [`retain`](Self::retain) it is weakly consistent: a key inserted
    /// while it runs may stay.
    ///
    /// # Examples
    ///
    /// ```
    /// let map: snapmap::SnapMap<i32, i32> = (0..10).map(|i| (i, i)).collect();
    /// map.clear();
    /// assert!(map.is_empty());
    /// ```
    pub fn clear(&self) {
        self.raw.clear(&self.guard());
    }

    /// A snapshot of the map's internal state: sizes, tombstones and history.
    ///
    /// It takes each shard's lock in turn and walks its snapshot to count tombstones, so it costs
    /// O(n): meant for monitoring and tests, not for a hot path.
    ///
    /// # Examples
    ///
    /// ```
    /// let map: snapmap::SnapMap<i32, i32> = (0..10).map(|i| (i, i)).collect();
    /// let stats = map.stats();
    /// assert_eq!(stats.len, 10);
    /// assert_eq!(stats.tombstones, 0);
    /// ```
    pub fn stats(&self) -> Stats {
        self.raw.stats(&self.guard())
    }

    /// The mutable value of `key`; exclusive access needs no guard.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut map = snapmap::SnapMap::new();
    /// map.pin().insert(1, 10);
    /// *map.get_mut(&1).unwrap() += 1;
    /// assert_eq!(map.get_cloned(&1), Some(11));
    /// ```
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        self.raw.get_mut(hash, |stored| stored.borrow() == key)
    }

    /// Rebuilds every shard's read table from its live entries only (merging its dirty index),
    /// right-sized, and frees the tombstones at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut map: snapmap::SnapMap<i32, i32> = (0..100).map(|i| (i, i)).collect();
    /// map.retain(|k, _| *k < 90);
    /// map.shrink_to_fit();
    /// assert_eq!(map.stats().tombstones, 0);
    /// assert_eq!(map.stats().read_slots, 90);
    /// ```
    pub fn shrink_to_fit(&mut self) {
        self.raw.shrink_to_fit();
    }

    /// Checks the map's internal invariants and panics if one is broken. Meaningful only while
    /// no write is in flight. For tests and fuzzing; not part of the stable API.
    #[doc(hidden)]
    pub fn __check_invariants(&self) {
        self.raw.check_invariants(|key| self.hash(key));
    }
}
