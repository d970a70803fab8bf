//! The internal states a key can be in, and [`with_map`], which runs a test body once per state
//! (in the manner of papaya's `with_map`).
//!
//! This is the one place in the API tests that reads `Stats` to prove a state was reached; the
//! tests themselves check behaviour only. When the map's design changes how a state is reached
//! or shown, the set-ups and their checks below are all that change.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt;
use std::hash::{BuildHasher, Hash};

use snapmap::SnapMap;

use crate::{Map, ABSENT};

/// Builds an empty map.
type MakeMap = fn() -> Map;

/// The maps every case runs on, by name. A new way of building a map (a shard count, say) is one
/// more line here, and every test written with [`with_map`] runs on it.
const MAPS: &[(&str, MakeMap)] = &[
    ("new", Map::new),
    ("1 shard", || SnapMap::builder().shards(1).build()),
    ("4 shards", || SnapMap::builder().shards(4).build()),
];

/// Every state, in the order [`with_map`] runs them. A new state is one more line here (and its
/// set-up in [`Case::new`]).
const STATES: &[State] = &[
    State::DirtyOnly,
    State::Snapshot,
    State::Promoted,
    State::Compacted,
    State::Vacant,
    State::RemovedFromDirty,
    State::Tombstone,
    State::TombstoneInDirty,
    State::Expunged,
];

/// Where the key under test ([`KEY`]) is when a test body starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Stored after the last promotion: only a dirty index holds it.
    DirtyOnly,
    /// Live in a read table, while a dirty index holds a newer key.
    Snapshot,
    /// Live in a read table just after a promotion, with no dirty index.
    Promoted,
    /// Live in a read table just after removals of other keys compacted it.
    Compacted,
    /// Never stored.
    Vacant,
    /// Stored in a dirty index only, then removed: a tombstone in the index.
    RemovedFromDirty,
    /// Removed while in a read table, with no dirty index: a tombstone.
    Tombstone,
    /// Removed while in a read table, while a dirty index holds a newer key.
    TombstoneInDirty,
    /// Removed, then expunged (unlinked) by the compaction that removals of other keys caused.
    Expunged,
}

/// The key under test.
pub const KEY: u32 = 1;
/// Its value in the states where it is present.
pub const VALUE: u32 = 10;
/// The other keys of every case (`OTHERS` of them), each mapped to itself; above the compaction
/// floor, so that removing most of them compacts the snapshot.
const OTHERS: std::ops::Range<u32> = 100..200;
/// A key stored only to build a dirty table: never [`KEY`], never one of the others.
const NEWER: u32 = 500;

/// A map with [`KEY`] in one [`State`], and the model of its contents.
pub struct Case {
    /// The state [`KEY`] is in.
    pub state: State,
    /// How the map was built (a name from `MAPS`).
    pub built: &'static str,
    /// The map.
    pub map: Map,
    /// Its contents.
    pub model: BTreeMap<u32, u32>,
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key {KEY} {:?} in a `{}` map", self.state, self.built)
    }
}

impl Case {
    /// Builds a map with `make` and brings [`KEY`] into `state`.
    fn new(built: &'static str, make: MakeMap, state: State) -> Self {
        let map = make();
        let mut model: BTreeMap<u32, u32> = OTHERS.map(|k| (k, k)).collect();
        {
            let g = map.guard();
            for (&k, &v) in &model {
                map.insert(k, v, &g);
            }
            let stored_before_promotion = !matches!(
                state,
                State::DirtyOnly | State::Vacant | State::RemovedFromDirty
            );
            if stored_before_promotion {
                map.insert(KEY, VALUE, &g);
                model.insert(KEY, VALUE);
            }
            promote(&map, &ABSENT);
            let store_newer = |model: &mut BTreeMap<u32, u32>| {
                map.insert(NEWER, NEWER, &g);
                model.insert(NEWER, NEWER);
            };
            match state {
                State::DirtyOnly => {
                    map.insert(KEY, VALUE, &g);
                    model.insert(KEY, VALUE);
                }
                State::Snapshot => store_newer(&mut model),
                State::Promoted | State::Vacant => {}
                State::Compacted => {
                    for k in OTHERS.skip(10) {
                        map.remove(&k, &g);
                        model.remove(&k);
                    }
                }
                State::RemovedFromDirty => {
                    map.insert(KEY, VALUE, &g);
                    map.remove(&KEY, &g);
                }
                State::Tombstone => {
                    map.remove(&KEY, &g);
                    model.remove(&KEY);
                }
                State::TombstoneInDirty => {
                    store_newer(&mut model);
                    map.remove(&KEY, &g);
                    model.remove(&KEY);
                }
                State::Expunged => {
                    map.remove(&KEY, &g);
                    model.remove(&KEY);
                    for k in OTHERS.skip(10) {
                        map.remove(&k, &g);
                        model.remove(&k);
                    }
                }
            }
        }
        let case = Case {
            state,
            built,
            map,
            model,
        };
        case.assert_reached();
        case
    }

    /// Proves, from the map's own `Stats`, that the set-up reached the state it names.
    #[track_caller]
    fn assert_reached(&self) {
        let stats = self.map.stats();
        let others = OTHERS.len();
        let reached = match self.state {
            // The read tables lack the key; a dirty index holds it.
            State::DirtyOnly => stats.amended && stats.read_slots == others,
            // The read tables hold the key; a dirty index exists besides.
            State::Snapshot => stats.amended && stats.read_slots == others + 1,
            State::Promoted => !stats.amended && stats.read_slots == others + 1,
            State::Compacted => {
                stats.compactions > 0 && !stats.amended && stats.read_slots < others
            }
            State::Vacant => !stats.amended && stats.read_slots == others,
            // The removed key stays in its index as a tombstone.
            State::RemovedFromDirty => stats.amended && stats.tombstones == 1,
            State::Tombstone => !stats.amended && stats.tombstones == 1,
            State::TombstoneInDirty => stats.amended && stats.tombstones == 1,
            // The compactions leave the removed keys out of the new tables.
            State::Expunged => stats.compactions > 0 && !stats.amended && stats.read_slots < others,
        };
        assert!(reached, "{self}: the set-up did not reach it: {stats}");
        assert_eq!(stats.len, self.model.len(), "{self}: {stats}");
        self.map.__check_invariants();
    }

    /// The value of [`KEY`], if the state has it present.
    pub fn value(&self) -> Option<u32> {
        self.model.get(&KEY).copied()
    }

    /// The model's contents as sorted pairs.
    pub fn pairs(&self) -> Vec<(u32, u32)> {
        crate::pairs(&self.model)
    }
}

/// Runs `body` once for each state of [`KEY`] on each kind of map, each time on a fresh map.
///
/// The case is printed before the body runs, so a failure shows which one failed.
pub fn with_map(mut body: impl FnMut(Case)) {
    for &(built, make) in MAPS {
        for &state in STATES {
            let case = Case::new(built, make, state);
            println!("case: {case}");
            body(case);
        }
    }
}

/// [`with_map`] for a body that runs only on the states in which [`KEY`] is absent.
pub fn with_absent_key(mut body: impl FnMut(Case)) {
    with_map(|case| {
        if case.value().is_none() {
            body(case);
        }
    });
}

/// Promotes every dirty index ([`testkit::promote`]), after checking that `absent` is absent
/// (reads of absent keys count nothing toward a promotion).
pub fn promote<K, V, S, Q>(map: &SnapMap<K, V, S>, absent: &Q)
where
    K: Hash + Eq + Send + Sync + 'static + Borrow<Q>,
    V: Send + Sync + 'static,
    S: BuildHasher,
    Q: Hash + Eq + ?Sized,
{
    assert!(map.get(absent, &map.guard()).is_none());
    testkit::promote(map);
}

/// A map holding `keys`, each mapped to itself, all in the read snapshot (promoted).
pub fn promoted(keys: std::ops::Range<u32>) -> Map {
    let map = Map::new();
    let g = map.guard();
    for k in keys {
        map.insert(k, k, &g);
    }
    drop(g);
    promote(&map, &ABSENT);
    map
}

/// A one-shard map whose entries are in every internal state at once, and the std model of its
/// contents: live in the read table, deleted (tombstones, before and after the dirty index was
/// started), live in the dirty index, deleted from it, and overwritten. (One shard, so that no
/// compaction can happen by chance: the bound is then 32 tombstones or more.)
pub fn mixed_map() -> (Map, BTreeMap<u32, u32>) {
    let map: Map = SnapMap::builder().shards(1).build();
    {
        let g = map.guard();
        for k in 0..20 {
            map.insert(k, k, &g);
        }
    }
    promote(&map, &ABSENT);
    let g = map.guard();
    for k in 0..3 {
        map.remove(&k, &g);
    }
    map.insert(100, 100, &g); // starts the dirty index
    for k in 3..5 {
        map.remove(&k, &g); // tombstones in the table, while the index exists
    }
    map.insert(101, 101, &g);
    map.remove(&100, &g); // a tombstone in the dirty index
    map.insert(10, 1010, &g);
    let stats = map.stats();
    assert!(stats.amended, "101 should be in the dirty index: {stats}");
    assert_eq!(stats.tombstones, 6, "{stats}");
    map.__check_invariants();

    let mut model: BTreeMap<u32, u32> = (5..20).map(|k| (k, k)).collect();
    model.insert(10, 1010);
    model.insert(101, 101);
    (map, model)
}
