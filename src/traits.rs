//! Standard trait implementations for `SnapMap`.
#![forbid(unsafe_code)]

use std::fmt;
use std::hash::{BuildHasher, Hash};

use crate::iter::IntoIter;
use crate::map::SnapMap;

impl<K, V, S: Default> Default for SnapMap<K, V, S> {
    /// An empty map with the default hasher.
    ///
    /// # Examples
    ///
    /// ```
    /// let map: snapmap::SnapMap<u32, u32> = Default::default();
    /// assert!(map.is_empty());
    /// ```
    fn default() -> Self {
        SnapMap::with_hasher(S::default())
    }
}

impl<K, V, S> fmt::Debug for SnapMap<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static + fmt::Debug,
    V: Send + Sync + 'static + fmt::Debug,
    S: BuildHasher,
{
    /// Prints the entries like std's maps: `{k: v, ...}`.
    ///
    /// # Examples
    ///
    /// ```
    /// let map: snapmap::SnapMap<&str, u32> = [("a", 1)].into_iter().collect();
    /// assert_eq!(format!("{map:?}"), r#"{"a": 1}"#);
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter(&self.guard())).finish()
    }
}

impl<K, V, S> Clone for SnapMap<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static + Clone,
    V: Send + Sync + 'static + Clone,
    S: BuildHasher + Clone,
{
    /// A map with clones of the entries present during the copy, and the same shard count.
    ///
    /// # Examples
    ///
    /// ```
    /// let map: snapmap::SnapMap<u32, String> = [(1, "one".to_string())].into_iter().collect();
    /// let copy = map.clone();
    /// map.pin().remove(&1);
    /// assert_eq!(copy.get_cloned(&1).as_deref(), Some("one"));
    /// ```
    fn clone(&self) -> Self {
        let clone = SnapMap::builder()
            .shards(self.shards())
            .capacity(self.len())
            .hasher(self.hasher().clone())
            .build();
        let guard = self.guard();
        for (key, value) in self.iter(&guard) {
            clone.insert(key.clone(), value.clone(), &guard);
        }
        clone.raw.promote(&guard);
        clone
    }
}

impl<K, V, S> Extend<(K, V)> for SnapMap<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher,
{
    /// Inserts every pair, then promotes the new keys, so that a read of any of them is one probe
    /// of a table.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut map = snapmap::SnapMap::new();
    /// map.extend([(1, "one"), (2, "two")]);
    /// assert_eq!(map.len(), 2);
    /// assert!(!map.stats().amended); // every key is in a read table
    /// ```
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        let mut shared = &*self;
        shared.extend(iter);
        self.raw.promote(&self.guard());
    }
}

impl<K, V, S> Extend<(K, V)> for &SnapMap<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher,
{
    /// Inserts every pair through a shared reference, so that several threads can extend one
    /// map at once. The guard is renewed every 1,024 pairs, so that a long extension does not
    /// hold back reclamation.
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::new();
    /// std::thread::scope(|s| {
    ///     for t in 0..2u32 {
    ///         let mut map = &map;
    ///         s.spawn(move || map.extend((0..100).map(|i| (t * 100 + i, i))));
    ///     }
    /// });
    /// assert_eq!(map.len(), 200);
    /// ```
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        let mut guard = self.guard();
        for (count, (key, value)) in iter.into_iter().enumerate() {
            if count % 1024 == 1023 {
                guard.repin();
            }
            self.insert(key, value, &guard);
        }
    }
}

impl<K, V, S> PartialEq for SnapMap<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: PartialEq + Send + Sync + 'static,
    S: BuildHasher,
{
    /// Whether both maps hold the same keys with equal values. Exact when no write is in flight
    /// on either map; under concurrent writes the answer holds for no single instant.
    ///
    /// # Examples
    ///
    /// ```
    /// use snapmap::SnapMap;
    ///
    /// let a: SnapMap<u32, &str> = [(1, "one"), (2, "two")].into_iter().collect();
    /// let b: SnapMap<u32, &str> = SnapMap::builder().shards(1).build();
    /// b.pin().insert(2, "two");
    /// assert_ne!(a, b);
    /// b.pin().insert(1, "one");
    /// assert_eq!(a, b); // the shard counts need not match
    /// ```
    fn eq(&self, other: &Self) -> bool {
        if self.len() != other.len() {
            return false;
        }
        let guard = self.guard();
        let mut seen = 0;
        let all_match = self.iter(&guard).all(|(key, value)| {
            seen += 1;
            other.get(key, &guard) == Some(value)
        });
        all_match && seen == other.len()
    }
}

impl<K, V, S> Eq for SnapMap<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Eq + Send + Sync + 'static,
    S: BuildHasher,
{
}

impl<K, V, S> FromIterator<(K, V)> for SnapMap<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher + Default,
{
    /// A map of the pairs (a later pair replaces an earlier one with the same key), promoted.
    ///
    /// # Examples
    ///
    /// ```
    /// let map: snapmap::SnapMap<char, usize> = "abca".chars().zip(0..).collect();
    /// assert_eq!(map.len(), 3);
    /// assert_eq!(map.get_cloned(&'a'), Some(3));
    /// ```
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let iter = iter.into_iter();
        let mut map = SnapMap::with_capacity_and_hasher(iter.size_hint().0, S::default());
        map.extend(iter);
        map
    }
}

impl<K, V, S> IntoIterator for SnapMap<K, V, S> {
    type Item = (K, V);
    type IntoIter = IntoIter<K, V>;

    /// Moves the live entries out, in no particular order.
    ///
    /// # Examples
    ///
    /// ```
    /// let map: snapmap::SnapMap<u32, String> = [(1, "one".to_string())].into_iter().collect();
    /// let pairs: Vec<(u32, String)> = map.into_iter().collect();
    /// assert_eq!(pairs, [(1, "one".to_string())]);
    /// ```
    fn into_iter(mut self) -> IntoIter<K, V> {
        IntoIter::new(self.raw.drain())
    }
}
