//! What the map can say about its own memory and history.
#![forbid(unsafe_code)]

use std::fmt;

/// A point-in-time account of a map's internal state, from [`SnapMap::stats`].
///
/// The counts are read under the map's lock, so they are consistent with each other while no
/// lock-free write is in flight; `tombstones` is counted by walking the read snapshot.
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
/// assert!(stats.amended); // the new key lives in the dirty table until promoted
/// println!("{stats}");
/// ```
///
/// [`SnapMap::stats`]: crate::SnapMap::stats
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Live entries.
    pub len: usize,
    /// Entries indexed by the current read snapshot: live, deleted (tombstones) and expunged.
    pub read_slots: usize,
    /// Deleted entries still indexed by the read snapshot (tombstones, including expunged ones).
    pub tombstones: usize,
    /// Entries in the dirty table (0 when there is none).
    pub dirty_len: usize,
    /// Whether the dirty table holds keys that the read snapshot lacks.
    pub amended: bool,
    /// Misses counted toward the next promotion.
    pub misses: usize,
    /// Dirty tables promoted to read snapshots so far.
    pub promotions: u64,
    /// Dirty tables built by copying the read snapshot so far.
    pub dirty_builds: u64,
    /// Snapshots rebuilt to drop tombstones (and shrink) so far.
    pub compactions: u64,
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} live; snapshot {} slots ({} tombstones); dirty {}{}; {} misses; \
             {} promotions, {} dirty builds, {} compactions",
            self.len,
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
