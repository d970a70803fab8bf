//! What the map can say about its own memory and history.
#![forbid(unsafe_code)]

use std::fmt;

/// A point-in-time account of a map's internal state, from [`SnapMap::stats`].
///
/// Each shard's counts are read under its lock, and summed over the shards; they are consistent
/// with each other while no write is in flight. `tombstones` is counted by walking the read
/// snapshots, so `stats` costs a pass over the map.
///
/// # Examples
///
/// ```
/// use snapmap::SnapMap;
///
/// let map = SnapMap::new();
/// map.pin().insert(1, "one");
/// let stats = map.stats();
/// assert_eq!(stats.len, 1);
/// assert_eq!(stats.read_slots, 1); // the first key of a shard goes straight into its table
/// println!("{stats}");
/// ```
///
/// [`SnapMap::stats`]: crate::SnapMap::stats
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Live entries.
    pub len: usize,
    /// Entries in the read snapshots' tables: live and deleted (tombstones).
    pub read_slots: usize,
    /// Deleted entries still indexed (tombstones), in the tables or the dirty indexes.
    pub tombstones: usize,
    /// Entries in the dirty indexes: keys added since their shard's table was published, which
    /// lookups find without a lock after the table misses (0 when there are none).
    pub dirty_len: usize,
    /// Whether some shard's dirty index holds keys that its table lacks.
    pub amended: bool,
    /// Lookups answered by a dirty index, counted toward the next promotion.
    pub misses: usize,
    /// Dirty indexes merged into new read tables so far.
    pub promotions: u64,
    /// Dirty indexes started (by the first new key after a promotion) so far.
    pub dirty_builds: u64,
    /// Snapshots rebuilt to drop tombstones (and shrink) so far.
    pub compactions: u64,
    /// The number of shards: independent snapshot, dirty index and lock units.
    pub shards: usize,
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} live in {} shards; snapshots {} slots ({} tombstones); dirty {}{}; {} misses; \
             {} promotions, {} dirty builds, {} compactions",
            self.len,
            self.shards,
            self.read_slots,
            self.tombstones,
            self.dirty_len,
            if self.amended { " (amended)" } else { "" },
            self.misses,
            self.promotions,
            self.dirty_builds,
            self.compactions,
        )
    }
}
