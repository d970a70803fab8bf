//! Standard trait implementations for `SnapMap`.
#![forbid(unsafe_code)]

use std::fmt;
use std::hash::{BuildHasher, Hash};

use crate::iter::IntoIter;
use crate::map::SnapMap;

impl<K, V, S: Default> Default for SnapMap<K, V, S> {
    /// An empty map with the default hasher.
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
    /// A map with clones of the entries present during the copy.
    fn clone(&self) -> Self {
        let clone = SnapMap::with_capacity_and_hasher(self.len(), self.hasher().clone());
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
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        let guard = self.guard();
        for (key, value) in iter {
            self.insert(key, value, &guard);
        }
        self.raw.promote(&guard);
    }
}

impl<K, V, S> FromIterator<(K, V)> for SnapMap<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher + Default,
{
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
    fn into_iter(mut self) -> IntoIter<K, V> {
        IntoIter::new(self.raw.drain())
    }
}
