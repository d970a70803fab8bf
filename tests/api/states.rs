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
const MAPS: &[(&str, MakeMap)] = &[("new", Map::new)];

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
    /// Stored after the last promotion: only the dirty table holds it.
    DirtyOnly,
    /// Live in the read snapshot, while a dirty table (built for a newer key) holds it too.
    Snapshot,
    /// Live in the read snapshot just after a promotion, with no dirty table.
    Promoted,
    /// Live in the read snapshot just after removals of other keys compacted it.
    Compacted,
    /// Never stored.
    Vacant,
    /// Stored in the dirty table only, then removed.
    RemovedFromDirty,
    /// Removed while in the read snapshot, with no dirty table: a tombstone.
    Tombstone,
    /// Removed while in the read snapshot and in a dirty table: a tombstone the dirty table
    /// still indexes.
    TombstoneInDirty,
    /// Removed, then expunged by the dirty build of a newer key.
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
                    store_newer(&mut model);
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
            // The snapshot lacks the key; a dirty table holds it.
            State::DirtyOnly => stats.amended && stats.read_slots == others,
            // The snapshot indexes the key; a dirty table exists besides.
            State::Snapshot => stats.amended && stats.read_slots == others + 1,
            State::Promoted => !stats.amended && stats.read_slots == others + 1,
            State::Compacted => {
                stats.compactions > 0 && !stats.amended && stats.read_slots < others
            }
            State::Vacant => !stats.amended && stats.read_slots == others,
            State::RemovedFromDirty => stats.amended && stats.tombstones == 0,
            State::Tombstone => !stats.amended && stats.tombstones == 1,
            State::TombstoneInDirty | State::Expunged => stats.amended && stats.tombstones == 1,
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

/// Reads the absent key `absent` until the dirty table has been promoted (every live key is then
/// in the read snapshot), and checks that this happened.
pub fn promote<K, V, S, Q>(map: &SnapMap<K, V, S>, absent: &Q)
where
    K: Hash + Eq + Send + Sync + 'static + Borrow<Q>,
    V: Send + Sync + 'static,
    S: BuildHasher,
    Q: Hash + Eq + ?Sized,
{
    let guard = map.guard();
    let budget = 4 * map.stats().dirty_len + 64;
    for _ in 0..budget {
        if !map.stats().amended {
            break;
        }
        assert!(map.get(absent, &guard).is_none());
    }
    let stats = map.stats();
    assert!(!stats.amended, "missed reads did not promote: {stats}");
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

/// A map whose entries are in every internal state at once, and the std model of its contents:
/// live in the read snapshot, deleted (tombstones, also in the dirty table), expunged
/// (tombstones missing from the dirty table), live in the dirty table only, and overwritten.
pub fn mixed_map() -> (Map, BTreeMap<u32, u32>) {
    let map = promoted(0..20);
    let g = map.guard();
    for k in 0..3 {
        map.remove(&k, &g);
    }
    map.insert(100, 100, &g); // builds the dirty table: keys 0..3 become expunged
    for k in 3..5 {
        map.remove(&k, &g); // tombstones that the dirty table still indexes
    }
    map.insert(101, 101, &g);
    map.remove(&100, &g); // a key that only the dirty table held
    map.insert(10, 1010, &g);
    let stats = map.stats();
    assert!(
        stats.amended,
        "101 should be in the dirty table only: {stats}"
    );
    assert_eq!(stats.tombstones, 5, "{stats}");
    map.__check_invariants();

    let mut model: BTreeMap<u32, u32> = (5..20).map(|k| (k, k)).collect();
    model.insert(10, 1010);
    model.insert(101, 101);
    (map, model)
}
