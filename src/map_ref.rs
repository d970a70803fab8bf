//! `MapRef`: a map borrowed together with a guard of its own.
#![forbid(unsafe_code)]

use std::borrow::Borrow;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hash};

use crate::compute::{Compute, Operation};
use crate::error::{CompareExchangeError, OccupiedError};
use crate::iter::{Iter, Keys, Values};
use crate::map::SnapMap;
use crate::sync::epoch::Guard;

/// A handle from [`SnapMap::pin`] that owns a guard and offers the shared-access methods without
/// the guard argument; the references it returns live as long as the handle.
///
/// Like any guard it holds back memory reclamation while it lives: keep it short-lived.
///
/// # Examples
///
/// ```
/// let map = snapmap::SnapMap::new();
/// let map_ref = map.pin();
/// map_ref.insert(1, "one");
/// assert_eq!(map_ref.get(&1), Some(&"one"));
/// ```
pub struct MapRef<'m, K, V, S = RandomState> {
    map: &'m SnapMap<K, V, S>,
    guard: Guard,
}

impl<'m, K, V, S> MapRef<'m, K, V, S> {
    pub(crate) fn new(map: &'m SnapMap<K, V, S>, guard: Guard) -> Self {
        MapRef { map, guard }
    }

    /// The map this handle borrows.
    ///
    /// # Examples
    ///
    /// ```
    /// let map: snapmap::SnapMap<u8, u8> = snapmap::SnapMap::new();
    /// assert!(std::ptr::eq(map.pin().map(), &map));
    /// ```
    pub fn map(&self) -> &'m SnapMap<K, V, S> {
        self.map
    }

    /// The guard this handle owns, for calling guard-taking methods directly.
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let map_ref = map.pin();
    /// map.insert(1, 2, map_ref.guard());
    /// assert_eq!(map_ref.get(&1), Some(&2));
    /// ```
    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// See [`SnapMap::len`].
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let map_ref = map.pin();
    /// map_ref.insert(1, 2);
    /// assert_eq!(map_ref.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// See [`SnapMap::is_empty`].
    ///
    /// # Examples
    ///
    /// ```
    /// let map: snapmap::SnapMap<u8, u8> = snapmap::SnapMap::new();
    /// assert!(map.pin().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl<K, V, S> MapRef<'_, K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher,
{
    /// See [`SnapMap::get`].
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let map_ref = map.pin();
    /// map_ref.insert(String::from("a"), 1);
    /// assert_eq!(map_ref.get("a"), Some(&1));
    /// ```
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get(key, &self.guard)
    }

    /// See [`SnapMap::get_key_value`].
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let map_ref = map.pin();
    /// map_ref.insert(1, 2);
    /// assert_eq!(map_ref.get_key_value(&1), Some((&1, &2)));
    /// ```
    pub fn get_key_value<Q>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get_key_value(key, &self.guard)
    }

    /// See [`SnapMap::contains_key`].
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let map_ref = map.pin();
    /// map_ref.insert(1, 2);
    /// assert!(map_ref.contains_key(&1));
    /// ```
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get(key).is_some()
    }

    /// See [`SnapMap::get_cloned`].
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let map_ref = map.pin();
    /// map_ref.insert(1, String::from("x"));
    /// assert_eq!(map_ref.get_cloned(&1).as_deref(), Some("x"));
    /// ```
    pub fn get_cloned<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        self.get(key).cloned()
    }

    /// See [`SnapMap::insert`].
    ///
    /// # Panics
    ///
    /// If the key's `Eq` writes to this map while the map holds the shard's lock (see [Hash and
    /// Eq must not write to the map](crate#hash-and-eq-must-not-write-to-the-map)); the map is left
    /// unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let map_ref = map.pin();
    /// assert_eq!(map_ref.insert(1, 'a'), None);
    /// assert_eq!(map_ref.insert(1, 'b'), Some(&'a'));
    /// ```
    pub fn insert(&self, key: K, value: V) -> Option<&V> {
        self.map.insert(key, value, &self.guard)
    }

    /// See [`SnapMap::get_or_insert`].
    ///
    /// # Panics
    ///
    /// If the key's `Eq` writes to this map while the map holds the shard's lock (see [Hash and
    /// Eq must not write to the map](crate#hash-and-eq-must-not-write-to-the-map)); the map is left
    /// unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let map_ref = map.pin();
    /// assert_eq!(map_ref.get_or_insert(1, 'a'), &'a');
    /// assert_eq!(map_ref.get_or_insert(1, 'b'), &'a');
    /// ```
    pub fn get_or_insert(&self, key: K, value: V) -> &V {
        self.map.get_or_insert(key, value, &self.guard)
    }

    /// See [`SnapMap::try_insert`].
    ///
    /// # Panics
    ///
    /// If the key's `Eq` writes to this map while the map holds the shard's lock (see [Hash and
    /// Eq must not write to the map](crate#hash-and-eq-must-not-write-to-the-map)); the map is left
    /// unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let map_ref = map.pin();
    /// assert!(map_ref.try_insert(1, 'a').is_ok());
    /// assert_eq!(map_ref.try_insert(1, 'b').unwrap_err().not_inserted, 'b');
    /// ```
    pub fn try_insert(&self, key: K, value: V) -> Result<&V, OccupiedError<'_, V>> {
        self.map.try_insert(key, value, &self.guard)
    }

    /// See [`SnapMap::get_or_insert_with`].
    ///
    /// # Panics
    ///
    /// If the key's `Eq` writes to this map while the map holds the shard's lock (see [Hash and
    /// Eq must not write to the map](crate#hash-and-eq-must-not-write-to-the-map)); the map is left
    /// unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let map_ref = map.pin();
    /// assert_eq!(map_ref.get_or_insert_with(1, || 'a'), &'a');
    /// ```
    pub fn get_or_insert_with<F>(&self, key: K, f: F) -> &V
    where
        F: FnOnce() -> V,
    {
        self.map.get_or_insert_with(key, f, &self.guard)
    }

    /// See [`SnapMap::remove`].
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let map_ref = map.pin();
    /// map_ref.insert(1, 'a');
    /// assert_eq!(map_ref.remove(&1), Some(&'a'));
    /// ```
    pub fn remove<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.remove(key, &self.guard)
    }

    /// See [`SnapMap::remove_if`].
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let map_ref = map.pin();
    /// map_ref.insert(1, 5);
    /// assert_eq!(map_ref.remove_if(&1, |v| *v == 5), Some(&5));
    /// ```
    pub fn remove_if<Q, F>(&self, key: &Q, pred: F) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        F: FnMut(&V) -> bool,
    {
        self.map.remove_if(key, pred, &self.guard)
    }

    /// See [`SnapMap::compare_exchange`].
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let map_ref = map.pin();
    /// map_ref.insert(1, 5);
    /// assert_eq!(map_ref.compare_exchange(&1, &5, 6), Ok(&5));
    /// ```
    pub fn compare_exchange<Q>(
        &self,
        key: &Q,
        current: &V,
        new: V,
    ) -> Result<&V, CompareExchangeError<'_, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: PartialEq,
    {
        self.map.compare_exchange(key, current, new, &self.guard)
    }

    /// See [`SnapMap::update`].
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let map_ref = map.pin();
    /// map_ref.insert(1, 5);
    /// assert_eq!(map_ref.update(&1, |v| v * 2), Some(&10));
    /// ```
    pub fn update<Q, F>(&self, key: &Q, f: F) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        F: Fn(&V) -> V,
    {
        self.map.update(key, f, &self.guard)
    }

    /// [`SnapMap::compute`], under this handle's guard.
    ///
    /// # Panics
    ///
    /// As [`SnapMap::compute`].
    ///
    /// # Examples
    ///
    /// ```
    /// use snapmap::{Compute, Operation};
    ///
    /// let map = snapmap::SnapMap::new();
    /// let m = map.pin();
    /// let outcome = m.compute("k", |current| match current {
    ///     None => Operation::<u32, ()>::Insert(1),
    ///     Some(n) => Operation::Insert(n + 1),
    /// });
    /// assert!(matches!(outcome, Compute::Inserted(&1)));
    /// ```
    pub fn compute<F, T>(&self, key: K, f: F) -> Compute<'_, V, T>
    where
        F: FnMut(Option<&V>) -> Operation<V, T>,
    {
        self.map.compute(key, f, &self.guard)
    }

    /// [`SnapMap::update_or_insert`], under this handle's guard.
    ///
    /// # Panics
    ///
    /// As [`SnapMap::update_or_insert`].
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let m = map.pin();
    /// m.update_or_insert("hits", |n| n + 1, 1);
    /// assert_eq!(m.update_or_insert("hits", |n| n + 1, 1), &2);
    /// ```
    pub fn update_or_insert<F>(&self, key: K, f: F, default: V) -> &V
    where
        F: Fn(&V) -> V,
    {
        self.map.update_or_insert(key, f, default, &self.guard)
    }

    /// [`SnapMap::update_or_insert_with`], under this handle's guard.
    ///
    /// # Panics
    ///
    /// As [`SnapMap::update_or_insert_with`].
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let m = map.pin();
    /// assert_eq!(m.update_or_insert_with("k", |n| n * 2, || 21), &21);
    /// assert_eq!(m.update_or_insert_with("k", |n| n * 2, || 0), &42);
    /// ```
    pub fn update_or_insert_with<F, D>(&self, key: K, f: F, default: D) -> &V
    where
        F: Fn(&V) -> V,
        D: FnOnce() -> V,
    {
        self.map.update_or_insert_with(key, f, default, &self.guard)
    }

    /// [`SnapMap::remove_entry`], under this handle's guard.
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let m = map.pin();
    /// m.insert(7, "seven");
    /// assert_eq!(m.remove_entry(&7), Some((&7, &"seven")));
    /// ```
    pub fn remove_entry<Q>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.remove_entry(key, &self.guard)
    }

    /// See [`SnapMap::iter`].
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let map_ref = map.pin();
    /// map_ref.insert(1, 5);
    /// assert_eq!(map_ref.iter().collect::<Vec<_>>(), [(&1, &5)]);
    /// ```
    pub fn iter(&self) -> Iter<'_, K, V> {
        self.map.iter(&self.guard)
    }

    /// See [`SnapMap::keys`].
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let map_ref = map.pin();
    /// map_ref.insert(1, 5);
    /// assert_eq!(map_ref.keys().collect::<Vec<_>>(), [&1]);
    /// ```
    pub fn keys(&self) -> Keys<'_, K, V> {
        self.map.keys(&self.guard)
    }

    /// See [`SnapMap::values`].
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let map_ref = map.pin();
    /// map_ref.insert(1, 5);
    /// assert_eq!(map_ref.values().collect::<Vec<_>>(), [&5]);
    /// ```
    pub fn values(&self) -> Values<'_, K, V> {
        self.map.values(&self.guard)
    }

    /// See [`SnapMap::retain`].
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let map_ref = map.pin();
    /// map_ref.insert(1, 5);
    /// map_ref.retain(|_, v| *v != 5);
    /// assert!(map_ref.is_empty());
    /// ```
    pub fn retain<F>(&self, f: F)
    where
        F: FnMut(&K, &V) -> bool,
    {
        self.map.retain(f);
    }

    /// See [`SnapMap::clear`].
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let map_ref = map.pin();
    /// map_ref.insert(1, 5);
    /// map_ref.clear();
    /// assert!(map_ref.is_empty());
    /// ```
    pub fn clear(&self) {
        self.map.clear();
    }

    /// See [`SnapMap::stats`].
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// let map_ref = map.pin();
    /// map_ref.insert(1, 5);
    /// assert_eq!(map_ref.stats().len, 1);
    /// ```
    pub fn stats(&self) -> crate::Stats {
        self.map.stats()
    }
}

impl<K, V, S> fmt::Debug for MapRef<'_, K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static + fmt::Debug,
    V: Send + Sync + 'static + fmt::Debug,
    S: BuildHasher,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}
