//! Bringing a map to its promoted state (every live key in a read table, no dirty index) through
//! the public API alone, as tests that need that state reach it.

use std::hash::{BuildHasher, Hash};

use snapmap::SnapMap;

/// Reads the map's keys until every shard's dirty index has been promoted, and checks that this
/// happened.
///
/// Lookups answered by a dirty index count toward its promotion (a shard promotes once they add
/// up to its size); lookups of absent keys do not, and neither does iteration. No write may be in
/// flight.
pub fn promote<K, V, S>(map: &SnapMap<K, V, S>)
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher,
{
    let guard = map.guard();
    let keys: Vec<&K> = map.keys(&guard).collect();
    let stats = map.stats();
    let budget = stats.read_slots + stats.dirty_len + 2;
    for _ in 0..budget {
        if !map.stats().amended {
            break;
        }
        for key in &keys {
            assert!(map.get::<K>(key, &guard).is_some(), "a key vanished");
        }
    }
    let stats = map.stats();
    assert!(
        !stats.amended,
        "reads of the new keys did not promote: {stats}"
    );
}
