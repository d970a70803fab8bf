//! Parallel iteration, collection and extension with rayon (cargo feature `rayon`).
#![forbid(unsafe_code)]

use std::hash::{BuildHasher, Hash};

use rayon::iter::plumbing::UnindexedConsumer;
use rayon::iter::{FromParallelIterator, IntoParallelIterator, ParallelExtend, ParallelIterator};

use crate::map::SnapMap;
use crate::map_ref::MapRef;
use crate::raw::par::Pinned;
use crate::raw::RawMap;
use crate::sync::epoch::Guard;

/// A parallel iterator over a map's entries, from [`SnapMap::par_iter`] or [`MapRef::par_iter`].
///
/// The work is split by shard: each shard's snapshot is walked by one rayon job, lock-free, with
/// the guarantees of [`SnapMap::iter`] (no key twice, every key present throughout). A map of one
/// shard is walked by one job.
///
/// # Examples
///
/// ```
/// use rayon::prelude::*;
///
/// let map: snapmap::SnapMap<u32, u32> = (0..100).map(|i| (i, i)).collect();
/// let guard = map.guard();
/// let iter: snapmap::ParIter<'_, u32, u32> = map.par_iter(&guard);
/// assert_eq!(iter.map(|(k, _)| *k).max(), Some(99));
/// ```
pub struct ParIter<'g, K, V> {
    raw: &'g RawMap<K, V>,
    pinned: Pinned<'g>,
}

impl<'g, K, V> ParallelIterator for ParIter<'g, K, V>
where
    K: Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    type Item = (&'g K, &'g V);

    fn drive_unindexed<C>(self, consumer: C) -> C::Result
    where
        C: UnindexedConsumer<Self::Item>,
    {
        let ParIter { raw, pinned } = self;
        (0..raw.shard_count())
            .into_par_iter()
            .flat_map_iter(move |shard| raw.shard_iter(shard, pinned))
            .drive_unindexed(consumer)
    }
}

impl<K, V, S> SnapMap<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher,
{
    /// A parallel iterator over the entries (cargo feature `rayon`), with the guarantees of
    /// [`iter`](Self::iter): it never yields a key twice, yields every key present for the whole
    /// iteration, and holds no lock, so other threads may write meanwhile.
    ///
    /// `guard` stays on this thread; rayon's workers need none of their own, since `guard` keeps
    /// everything they reach allocated until it drops, and the references they yield borrow it.
    /// Each shard is one job, so a map of one shard is walked by one thread.
    ///
    /// # Panics
    ///
    /// If `guard` comes from another epoch collector than crossbeam-epoch's global one (the one
    /// [`SnapMap::guard`] and `crossbeam_epoch::pin` use).
    ///
    /// # Examples
    ///
    /// ```
    /// use rayon::prelude::*;
    ///
    /// let map: snapmap::SnapMap<u64, u64> = (0..1000).map(|i| (i, i * 2)).collect();
    /// let guard = map.guard();
    /// let sum: u64 = map.par_iter(&guard).map(|(_, v)| *v).sum();
    /// assert_eq!(sum, 999 * 1000);
    /// ```
    pub fn par_iter<'g>(&'g self, guard: &'g Guard) -> ParIter<'g, K, V> {
        self.check_guard(guard);
        ParIter {
            raw: &self.raw,
            pinned: Pinned::new(guard),
        }
    }
}

impl<K, V, S> MapRef<'_, K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher,
{
    /// See [`SnapMap::par_iter`].
    ///
    /// # Examples
    ///
    /// ```
    /// use rayon::prelude::*;
    ///
    /// let map: snapmap::SnapMap<u64, u64> = (0..100).map(|i| (i, i)).collect();
    /// let map = map.pin();
    /// assert_eq!(map.par_iter().filter(|(k, _)| *k % 2 == 0).count(), 50);
    /// ```
    pub fn par_iter(&self) -> ParIter<'_, K, V> {
        self.map().par_iter(self.guard())
    }
}

impl<'a, 'm, K, V, S> IntoParallelIterator for &'a MapRef<'m, K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher,
{
    type Iter = ParIter<'a, K, V>;
    type Item = (&'a K, &'a V);

    /// See [`SnapMap::par_iter`].
    ///
    /// # Examples
    ///
    /// ```
    /// use rayon::prelude::*;
    ///
    /// let map: snapmap::SnapMap<u64, u64> = (0..100).map(|i| (i, i)).collect();
    /// let map = map.pin();
    /// assert_eq!((&map).into_par_iter().count(), 100);
    /// ```
    fn into_par_iter(self) -> Self::Iter {
        self.par_iter()
    }
}

impl<K, V, S> ParallelExtend<(K, V)> for &SnapMap<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher + Sync,
{
    /// Inserts every pair from rayon's workers, each insert under a guard of its own (so that
    /// overwritten values are reclaimed as the extension goes). Of pairs with equal keys, one
    /// wins: which one is not specified.
    ///
    /// # Examples
    ///
    /// ```
    /// use rayon::prelude::*;
    ///
    /// let map = snapmap::SnapMap::new();
    /// (&map).par_extend((0..1000u32).into_par_iter().map(|i| (i, i)));
    /// assert_eq!(map.len(), 1000);
    /// ```
    fn par_extend<I>(&mut self, pairs: I)
    where
        I: IntoParallelIterator<Item = (K, V)>,
    {
        let map: &SnapMap<K, V, S> = self;
        pairs.into_par_iter().for_each(|(key, value)| {
            map.insert(key, value, &map.guard());
        });
    }
}

impl<K, V, S> ParallelExtend<(K, V)> for SnapMap<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher + Sync,
{
    /// Inserts every pair in parallel, then merges every shard's dirty index into its table (as
    /// [`Extend`] does), so that the keys are one probe away.
    ///
    /// # Examples
    ///
    /// ```
    /// use rayon::prelude::*;
    ///
    /// let mut map = snapmap::SnapMap::new();
    /// map.par_extend((0..1000u32).into_par_iter().map(|i| (i % 10, i)));
    /// assert_eq!(map.len(), 10);
    /// assert!(!map.stats().amended);
    /// ```
    fn par_extend<I>(&mut self, pairs: I)
    where
        I: IntoParallelIterator<Item = (K, V)>,
    {
        let mut shared = &*self;
        shared.par_extend(pairs);
        self.raw.promote(&self.guard());
    }
}

impl<K, V, S> FromParallelIterator<(K, V)> for SnapMap<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher + Default + Sync,
{
    /// Collects pairs in parallel into a new map with the default shard count; of pairs with
    /// equal keys, one wins.
    ///
    /// # Examples
    ///
    /// ```
    /// use rayon::prelude::*;
    ///
    /// let map: snapmap::SnapMap<u32, u32> = (0..1000u32).into_par_iter().map(|i| (i, i)).collect();
    /// assert_eq!(map.len(), 1000);
    /// ```
    fn from_par_iter<I>(pairs: I) -> Self
    where
        I: IntoParallelIterator<Item = (K, V)>,
    {
        let mut map = SnapMap::with_hasher(S::default());
        map.par_extend(pairs);
        map
    }
}
