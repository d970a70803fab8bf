//! What the `user_map` target checks, in a file of its own so that the stable replay test
//! (`tests/fuzz_replay.rs`) runs the same code on the checked-in inputs, as a user's crate would
//! replay its crashes.
//!
//! The input is a map decoded by snapmap's `Arbitrary` impl (feature `arbitrary`), then steps
//! decoded from the remaining bytes.

use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeMap;
use std::hash::BuildHasherDefault;

use arbitrary::Arbitrary;
use snapmap::{Compute, Operation, SnapMap};

/// The map under test. A hasher with fixed keys, so that a failing input fails the same way
/// every time it is replayed.
pub type Map = SnapMap<u8, u16, BuildHasherDefault<DefaultHasher>>;

/// A step applied to the map and to the model after the map arrived.
#[derive(Arbitrary, Debug)]
pub enum Step {
    /// `insert`.
    Insert(u8, u16),
    /// `remove`.
    Remove(u8),
    /// `update_or_insert` adding this (wrapping), or inserting it.
    Add(u8, u16),
    /// `compute` halving an even value, removing an odd one, aborting on an absent key.
    Halve(u8),
    /// `clear`.
    Clear,
}

/// Checks the decoded `map`, then applies `steps` to it and to a `BTreeMap`, comparing every
/// answer and the final contents. Panics on the first disagreement.
pub fn run(map: Map, steps: &[Step]) {
    let mut model = BTreeMap::new();
    {
        let guard = map.guard();
        for (k, v) in map.iter(&guard) {
            assert!(model.insert(*k, *v).is_none(), "iter yielded {k} twice");
            assert_eq!(map.get(k, &guard), Some(v), "get of an iterated key");
        }
    }
    assert_eq!(map.len(), model.len(), "len against the iterated entries");
    let stats = map.stats();
    assert_eq!(
        (stats.read_slots, stats.dirty_len, stats.tombstones),
        (model.len(), 0, 0),
        "a decoded map is promoted: {stats}"
    );

    let guard = map.guard();
    for step in steps {
        match *step {
            Step::Insert(k, v) => {
                assert_eq!(
                    map.insert(k, v, &guard).copied(),
                    model.insert(k, v),
                    "{step:?}"
                );
            }
            Step::Remove(k) => {
                assert_eq!(
                    map.remove(&k, &guard).copied(),
                    model.remove(&k),
                    "{step:?}"
                );
            }
            Step::Add(k, n) => {
                let new = *model
                    .entry(k)
                    .and_modify(|v| *v = v.wrapping_add(n))
                    .or_insert(n);
                let got = map.update_or_insert(k, |v| v.wrapping_add(n), n, &guard);
                assert_eq!(*got, new, "{step:?}");
            }
            Step::Halve(k) => {
                let done = map.compute(
                    k,
                    |current| match current {
                        Some(&v) if v % 2 == 0 => Operation::Insert(v / 2),
                        Some(_) => Operation::Remove,
                        None => Operation::Abort(k),
                    },
                    &guard,
                );
                match (done, model.get(&k).copied()) {
                    (Compute::Updated { old, new }, Some(v)) if v % 2 == 0 => {
                        assert_eq!((*old, *new), (v, v / 2), "{step:?}");
                        model.insert(k, v / 2);
                    }
                    (Compute::Removed(&old), Some(v)) if v % 2 == 1 => {
                        assert_eq!(old, v, "{step:?}");
                        model.remove(&k);
                    }
                    (Compute::Aborted(key), None) => assert_eq!(key, k, "{step:?}"),
                    (done, current) => panic!("{step:?} on {current:?} did {done:?}"),
                }
            }
            Step::Clear => {
                map.clear();
                model.clear();
            }
        }
        assert_eq!(map.len(), model.len(), "len after {step:?}");
    }
    let contents: BTreeMap<u8, u16> = map.iter(&guard).map(|(&k, &v)| (k, v)).collect();
    assert_eq!(contents, model, "contents after the steps");
}
