//! Iterators over a map: borrowed ones that walk a read snapshot under a guard, and the owning
//! one.
#![forbid(unsafe_code)]

use std::fmt;
use std::iter::FusedIterator;

use crate::raw::SnapshotIter;

/// An iterator over a map's entries, from [`SnapMap::iter`](crate::SnapMap::iter).
///
/// # Examples
///
/// ```
/// let map = snapmap::SnapMap::new();
/// let guard = map.guard();
/// map.insert(1, 2, &guard);
/// for (key, value) in map.iter(&guard) {
///     assert_eq!((key, value), (&1, &2));
/// }
/// ```
pub struct Iter<'g, K, V> {
    inner: SnapshotIter<'g, K, V>,
}

impl<'g, K, V> Iter<'g, K, V> {
    pub(crate) fn new(inner: SnapshotIter<'g, K, V>) -> Self {
        Iter { inner }
    }
}

impl<'g, K, V> Iterator for Iter<'g, K, V> {
    type Item = (&'g K, &'g V);

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }

    fn fold<B, F>(self, init: B, f: F) -> B
    where
        F: FnMut(B, Self::Item) -> B,
    {
        self.inner.fold(init, f)
    }
}

impl<K, V> FusedIterator for Iter<'_, K, V> {}

impl<K, V> fmt::Debug for Iter<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter").finish_non_exhaustive()
    }
}

/// An iterator over a map's keys, from [`SnapMap::keys`](crate::SnapMap::keys).
///
/// # Examples
///
/// ```
/// let map = snapmap::SnapMap::new();
/// let guard = map.guard();
/// map.insert(1, 2, &guard);
/// assert_eq!(map.keys(&guard).copied().collect::<Vec<_>>(), [1]);
/// ```
pub struct Keys<'g, K, V> {
    inner: Iter<'g, K, V>,
}

impl<'g, K, V> Keys<'g, K, V> {
    pub(crate) fn new(inner: Iter<'g, K, V>) -> Self {
        Keys { inner }
    }
}

impl<'g, K, V> Iterator for Keys<'g, K, V> {
    type Item = &'g K;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|(key, _)| key)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }

    fn fold<B, F>(self, init: B, mut f: F) -> B
    where
        F: FnMut(B, Self::Item) -> B,
    {
        self.inner.fold(init, |acc, (key, _)| f(acc, key))
    }
}

impl<K, V> FusedIterator for Keys<'_, K, V> {}

impl<K, V> fmt::Debug for Keys<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys").finish_non_exhaustive()
    }
}

/// An iterator over a map's values, from [`SnapMap::values`](crate::SnapMap::values).
///
/// # Examples
///
/// ```
/// let map = snapmap::SnapMap::new();
/// let guard = map.guard();
/// map.insert(1, 2, &guard);
/// assert_eq!(map.values(&guard).copied().collect::<Vec<_>>(), [2]);
/// ```
pub struct Values<'g, K, V> {
    inner: Iter<'g, K, V>,
}

impl<'g, K, V> Values<'g, K, V> {
    pub(crate) fn new(inner: Iter<'g, K, V>) -> Self {
        Values { inner }
    }
}

impl<'g, K, V> Iterator for Values<'g, K, V> {
    type Item = &'g V;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|(_, value)| value)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }

    fn fold<B, F>(self, init: B, mut f: F) -> B
    where
        F: FnMut(B, Self::Item) -> B,
    {
        self.inner.fold(init, |acc, (_, value)| f(acc, value))
    }
}

impl<K, V> FusedIterator for Values<'_, K, V> {}

impl<K, V> fmt::Debug for Values<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Values").finish_non_exhaustive()
    }
}

/// An owning iterator over a map's entries, from `SnapMap::into_iter`.
///
/// # Examples
///
/// ```
/// let map: snapmap::SnapMap<i32, i32> = [(1, 2)].into_iter().collect();
/// assert_eq!(map.into_iter().collect::<Vec<_>>(), [(1, 2)]);
/// ```
pub struct IntoIter<K, V> {
    inner: std::vec::IntoIter<(K, V)>,
}

impl<K, V> IntoIter<K, V> {
    pub(crate) fn new(pairs: Vec<(K, V)>) -> Self {
        IntoIter {
            inner: pairs.into_iter(),
        }
    }
}

impl<K, V> Iterator for IntoIter<K, V> {
    type Item = (K, V);

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<K, V> ExactSizeIterator for IntoIter<K, V> {}

impl<K, V> FusedIterator for IntoIter<K, V> {}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for IntoIter<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.inner.as_slice()).finish()
    }
}
