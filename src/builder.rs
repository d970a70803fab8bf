//! Configuring a map before it is built: capacity, shard count and hasher.
#![forbid(unsafe_code)]

use std::collections::hash_map::RandomState;
use std::fmt;

use crate::map::SnapMap;
use crate::raw::{RawMap, MAX_SHARDS};

/// A map's configuration, from [`SnapMap::builder`].
///
/// # Examples
///
/// ```
/// use snapmap::SnapMap;
///
/// let map: SnapMap<u64, String> = SnapMap::builder().capacity(1_000).shards(16).build();
/// assert_eq!(map.shards(), 16);
/// ```
pub struct Builder<S = RandomState> {
    capacity: usize,
    shards: Option<usize>,
    hasher: S,
}

impl SnapMap<(), ()> {
    /// Starts configuring a map: its capacity, its number of shards and its hasher.
    ///
    /// It lives on `SnapMap<(), ()>` only so that `SnapMap::builder()` needs no type
    /// annotations; [`Builder::build`] decides the key and value types.
    ///
    /// # Examples
    ///
    /// ```
    /// use snapmap::SnapMap;
    ///
    /// let map = SnapMap::builder().shards(1).build();
    /// map.pin().insert("key", 1);
    /// assert_eq!(map.shards(), 1);
    /// ```
    pub fn builder() -> Builder<RandomState> {
        Builder {
            capacity: 0,
            shards: None,
            hasher: RandomState::new(),
        }
    }
}

impl<S> Builder<S> {
    /// Room for about `capacity` keys before any table grows (spread over the shards).
    ///
    /// # Examples
    ///
    /// ```
    /// let map: snapmap::SnapMap<u32, u32> = snapmap::SnapMap::builder().capacity(64).build();
    /// assert!(map.is_empty());
    /// ```
    pub fn capacity(self, capacity: usize) -> Self {
        Builder { capacity, ..self }
    }

    /// The number of shards: independent units of read snapshot, dirty index, lock and counters.
    ///
    /// `shards` is rounded up to a power of two (at most 65,536). One shard is Go's `sync.Map`
    /// layout: one snapshot, one dirty side, one lock. More shards let writers of new keys in
    /// different shards proceed in parallel and keep each promotion or compaction small, at 128
    /// bytes of memory per shard. The default comes from the machine: four per available core,
    /// rounded up to a power of two.
    ///
    /// A shard links at most 2^30 − 1 entries (live keys and the tombstones of removed ones),
    /// since its two counts share one atomic word; an insert that would link more panics before
    /// it changes anything. A map that may hold a billion keys needs more than one shard.
    ///
    /// # Panics
    ///
    /// If `shards` is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let map: snapmap::SnapMap<u32, u32> = snapmap::SnapMap::builder().shards(5).build();
    /// assert_eq!(map.shards(), 8);
    /// ```
    pub fn shards(self, shards: usize) -> Self {
        assert!(shards >= 1, "snapmap: a map needs at least one shard");
        Builder {
            shards: Some(shards.min(MAX_SHARDS).next_power_of_two()),
            ..self
        }
    }

    /// The hasher the map will use.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::hash::BuildHasherDefault;
    /// use std::collections::hash_map::DefaultHasher;
    ///
    /// let map: snapmap::SnapMap<u32, u32, BuildHasherDefault<DefaultHasher>> =
    ///     snapmap::SnapMap::builder().hasher(BuildHasherDefault::default()).build();
    /// assert!(map.is_empty());
    /// ```
    pub fn hasher<S2>(self, hasher: S2) -> Builder<S2> {
        Builder {
            capacity: self.capacity,
            shards: self.shards,
            hasher,
        }
    }

    /// Builds the map.
    ///
    /// # Examples
    ///
    /// ```
    /// let map = snapmap::SnapMap::builder().build();
    /// map.pin().insert(1, "one");
    /// assert_eq!(map.len(), 1);
    /// ```
    pub fn build<K, V>(self) -> SnapMap<K, V, S> {
        let shards = self.shards.unwrap_or_else(default_shards);
        SnapMap::from_parts(RawMap::new(shards, self.capacity), self.hasher)
    }
}

impl<S> fmt::Debug for Builder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("capacity", &self.capacity)
            .field("shards", &self.shards)
            .finish_non_exhaustive()
    }
}

/// Four shards per available core, rounded up to a power of two (one in loom models, whose
/// maps name their shard count when they want more).
pub(crate) fn default_shards() -> usize {
    if cfg!(loom) {
        return 1;
    }
    static SHARDS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *SHARDS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        (cores * 4).next_power_of_two().min(MAX_SHARDS)
    })
}
