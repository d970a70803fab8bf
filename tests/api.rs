//! Unit tests of every public method of `SnapMap`, its `MapRef` handle and its trait impls,
//! through the public API only.
//!
//! Every test that writes ends with `__check_invariants`, called when no write is in flight.

use std::borrow::Borrow;
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Debug;
use std::hash::{BuildHasher, DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use snapmap::{CompareExchangeError, Guard, MapRef, OccupiedError, SnapMap, Stats};
use testkit::{settle, DropKey, DropVal, Tracker};

type Map = SnapMap<u32, u32>;

/// A key that none of the tests below ever stores.
const ABSENT: u32 = u32::MAX;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Sorted contents of `map`, read through `iter`.
fn entries<S: BuildHasher>(map: &SnapMap<u32, u32, S>) -> Vec<(u32, u32)> {
    let guard = map.guard();
    let mut all: Vec<_> = map.iter(&guard).map(|(&k, &v)| (k, v)).collect();
    all.sort_unstable();
    all
}

/// Reads the absent key `absent` until the dirty map has been promoted (every live key is then
/// in the read snapshot), and checks that this happened.
fn promote<K, V, S, Q>(map: &SnapMap<K, V, S>, absent: &Q)
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

/// Runs `body` on its own thread and fails if it does not finish in time, so that a deadlock
/// fails the test instead of hanging it. A panic in `body` is passed on.
fn within_deadline(body: impl FnOnce() + Send + 'static) {
    let (done_tx, done_rx) = mpsc::channel();
    let worker = thread::spawn(move || {
        body();
        let _ = done_tx.send(());
    });
    match done_rx.recv_timeout(Duration::from_secs(30)) {
        Ok(()) | Err(RecvTimeoutError::Disconnected) => {
            if let Err(panic) = worker.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(RecvTimeoutError::Timeout) => panic!("deadlock: the test did not finish in 30 s"),
    }
}

/// A map whose entries are in every internal state at once, and the std model of its contents:
/// live in the read snapshot, deleted (tombstones, also in the dirty map), expunged (tombstones
/// missing from the dirty map), live in the dirty map only, and overwritten.
fn mixed_map() -> (Map, BTreeMap<u32, u32>) {
    let map = Map::new();
    let g = map.guard();
    for k in 0..20 {
        map.insert(k, k, &g);
    }
    promote(&map, &ABSENT);
    for k in 0..3 {
        map.remove(&k, &g);
    }
    map.insert(100, 100, &g); // builds the dirty map: keys 0..3 become expunged
    for k in 3..5 {
        map.remove(&k, &g); // tombstones that the dirty map still indexes
    }
    map.insert(101, 101, &g);
    map.remove(&100, &g); // a key that only the dirty map held
    map.insert(10, 1010, &g);
    let stats = map.stats();
    assert!(
        stats.amended,
        "101 should be in the dirty map only: {stats}"
    );
    assert_eq!(stats.tombstones, 5, "{stats}");
    map.__check_invariants();

    let mut model: BTreeMap<u32, u32> = (5..20).map(|k| (k, k)).collect();
    model.insert(10, 1010);
    model.insert(101, 101);
    (map, model)
}

/// The model's contents as sorted pairs.
fn pairs(model: &BTreeMap<u32, u32>) -> Vec<(u32, u32)> {
    model.iter().map(|(&k, &v)| (k, v)).collect()
}

/// A hasher builder with an identity, to check that the map keeps the one it was given.
#[derive(Debug, Clone, PartialEq)]
struct Seeded(u64);

impl BuildHasher for Seeded {
    type Hasher = DefaultHasher;

    fn build_hasher(&self) -> DefaultHasher {
        let mut hasher = DefaultHasher::new();
        hasher.write_u64(self.0);
        hasher
    }
}

/// A hasher builder that hashes every key to the same value.
#[derive(Debug, Clone, Default)]
struct Colliding;

/// The hasher of [`Colliding`].
struct ZeroHasher;

impl Hasher for ZeroHasher {
    fn finish(&self) -> u64 {
        0
    }

    fn write(&mut self, _bytes: &[u8]) {}
}

impl BuildHasher for Colliding {
    type Hasher = ZeroHasher;

    fn build_hasher(&self) -> ZeroHasher {
        ZeroHasher
    }
}

fn assert_send_sync<T: Send + Sync>() {}

// ---------------------------------------------------------------------------------------------
// Construction, hasher, guards
// ---------------------------------------------------------------------------------------------

/// Every constructor gives an empty map that works.
#[test]
fn constructors_give_empty_working_maps() {
    fn check<S: BuildHasher>(map: SnapMap<u32, u32, S>) {
        assert!(map.is_empty());
        assert_eq!(map.len(), 0);
        assert_eq!(entries(&map), []);
        let g = map.guard();
        assert_eq!(map.insert(1, 2, &g), None);
        assert_eq!(map.get(&1, &g), Some(&2));
        assert_eq!(map.len(), 1);
        map.__check_invariants();
    }
    check(Map::new());
    check(Map::with_capacity(0));
    check(Map::with_capacity(1000));
    check(SnapMap::with_hasher(Seeded(1)));
    check(SnapMap::with_capacity_and_hasher(100, Seeded(2)));
    check(Map::default());
}

/// `hasher` returns the hasher builder the map was made with.
#[test]
fn hasher_returns_the_given_builder() {
    let map: SnapMap<u32, u32, Seeded> = SnapMap::with_hasher(Seeded(7));
    assert_eq!(map.hasher(), &Seeded(7));
    let map: SnapMap<u32, u32, Seeded> = SnapMap::with_capacity_and_hasher(64, Seeded(9));
    assert_eq!(map.hasher(), &Seeded(9));
}

/// With a hasher that sends every key to the same hash, the map still tells keys apart through
/// inserts, promotion, removals, compaction and revival.
#[test]
fn all_keys_colliding_still_correct() {
    let map: SnapMap<u32, u32, Colliding> = SnapMap::with_hasher(Colliding);
    let g = map.guard();
    for k in 0..200 {
        assert_eq!(map.insert(k, k + 1, &g), None);
    }
    promote(&map, &ABSENT);
    for k in 0..200 {
        assert_eq!(map.get(&k, &g), Some(&(k + 1)));
    }
    for k in (0..200).filter(|k| k % 10 != 0) {
        assert_eq!(map.remove(&k, &g), Some(&(k + 1)));
    }
    assert_eq!(map.insert(3, 33, &g), None);
    let expected: Vec<_> = (0..200)
        .filter(|k| k % 10 == 0)
        .map(|k| (k, k + 1))
        .chain([(3, 33)])
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(entries(&map), expected);
    assert_eq!(map.len(), 21);
    map.__check_invariants();
}

/// A reference obtained under a guard stays valid and unchanged while that guard lives, even
/// after its entry is overwritten, removed, promoted away and compacted away.
#[test]
fn references_outlive_removal_while_guard_lives() {
    let map: SnapMap<u32, String> = SnapMap::new();
    let g: Guard = map.guard();
    map.insert(1, "first".to_string(), &g);
    let first = map.get(&1, &g).unwrap();
    let replaced = map.insert(1, "second".to_string(), &g).unwrap();
    for k in 2..500 {
        map.insert(k, k.to_string(), &g);
    }
    promote(&map, &ABSENT);
    let second = map.remove(&1, &g).unwrap();
    for k in 2..500 {
        map.remove(&k, &g);
    }
    assert!(map.stats().compactions > 0);
    assert_eq!(first, "first");
    assert_eq!(replaced, "first");
    assert_eq!(second, "second");
    assert!(map.is_empty());
    map.__check_invariants();
}

/// A `MapRef` from `pin` offers every shared-access method without a guard argument.
#[test]
fn pin_offers_every_method_without_guard() {
    let map = Map::new();
    let m: MapRef<'_, u32, u32> = map.pin();
    assert_eq!(m.insert(1, 10), None);
    assert_eq!(m.insert(1, 11), Some(&10));
    assert_eq!(m.get(&1), Some(&11));
    assert_eq!(m.get(&2), None);
    assert_eq!(m.get_key_value(&1), Some((&1, &11)));
    assert!(m.contains_key(&1));
    assert!(!m.contains_key(&2));
    assert_eq!(m.get_cloned(&1), Some(11));
    assert_eq!(m.get_or_insert(2, 20), &20);
    assert_eq!(m.get_or_insert(2, 21), &20);
    assert_eq!(m.try_insert(3, 30).unwrap(), &30);
    let OccupiedError {
        current,
        not_inserted,
    } = m.try_insert(3, 31).unwrap_err();
    assert_eq!((current, not_inserted), (&30, 31));
    assert_eq!(m.get_or_insert_with(4, || 40), &40);
    assert_eq!(m.get_or_insert_with(4, || unreachable!()), &40);
    assert_eq!(m.update(&4, |v| v + 1), Some(&41));
    assert_eq!(m.compare_exchange(&4, &41, 42).unwrap(), &41);
    let CompareExchangeError { current, new } = m.compare_exchange(&4, &0, 43).unwrap_err();
    assert_eq!((current, new), (Some(&42), 43));
    assert_eq!(m.remove_if(&4, |v| *v == 0), None);
    assert_eq!(m.remove_if(&4, |v| *v == 42), Some(&42));
    assert_eq!(m.remove(&3), Some(&30));
    assert_eq!(m.remove(&3), None);
    assert_eq!(m.len(), 2);
    assert!(!m.is_empty());
    assert_eq!(m.stats().len, 2);

    let mut all: Vec<_> = m.iter().map(|(&k, &v)| (k, v)).collect();
    all.sort_unstable();
    assert_eq!(all, [(1, 11), (2, 20)]);
    let mut keys: Vec<_> = m.keys().copied().collect();
    keys.sort_unstable();
    assert_eq!(keys, [1, 2]);
    let mut values: Vec<_> = m.values().copied().collect();
    values.sort_unstable();
    assert_eq!(values, [11, 20]);

    // References handed out by the handle stay valid while it lives.
    let one = m.get(&1).unwrap();
    m.retain(|&k, _| k != 1);
    assert_eq!(*one, 11);
    assert_eq!(m.get(&1), None);
    assert_eq!(m.len(), 1);
    m.clear();
    assert!(m.is_empty());
    assert_eq!(m.get(&2), None);
    map.__check_invariants();
}

// ---------------------------------------------------------------------------------------------
// Single-key reads
// ---------------------------------------------------------------------------------------------

/// `get` finds keys in the dirty map, in the snapshot, and not removed or absent ones.
#[test]
fn get_finds_dirty_and_snapshot_keys() {
    let map = Map::new();
    let g = map.guard();
    assert_eq!(map.get(&1, &g), None);
    map.insert(1, 10, &g);
    assert_eq!(map.get(&1, &g), Some(&10)); // dirty map only
    promote(&map, &ABSENT);
    assert_eq!(map.get(&1, &g), Some(&10)); // snapshot
    map.insert(2, 20, &g);
    assert_eq!(map.get(&2, &g), Some(&20));
    map.remove(&1, &g);
    assert_eq!(map.get(&1, &g), None);
    assert_eq!(map.get(&3, &g), None);
    map.__check_invariants();
}

/// `get_key_value` returns the stored key alongside the value.
#[test]
fn get_key_value_returns_stored_key() {
    let map: SnapMap<String, u32> = SnapMap::new();
    let g = map.guard();
    map.insert("alpha".to_string(), 1, &g);
    let (k, v) = map.get_key_value("alpha", &g).unwrap();
    assert_eq!((k.as_str(), *v), ("alpha", 1));
    assert_eq!(map.get_key_value("beta", &g), None);
    map.remove("alpha", &g);
    assert_eq!(map.get_key_value("alpha", &g), None);
    map.__check_invariants();
}

/// `contains_key` needs no guard and follows inserts and removals.
#[test]
fn contains_key_follows_writes() {
    let map = Map::new();
    assert!(!map.contains_key(&1));
    map.insert(1, 1, &map.guard());
    assert!(map.contains_key(&1));
    promote(&map, &ABSENT);
    assert!(map.contains_key(&1));
    map.remove(&1, &map.guard());
    assert!(!map.contains_key(&1));
    map.__check_invariants();
}

/// `get_cloned` needs no guard and returns an owned copy.
#[test]
fn get_cloned_returns_owned_copy() {
    let map: SnapMap<u32, Vec<u8>> = SnapMap::new();
    assert_eq!(map.get_cloned(&1), None);
    map.insert(1, vec![1, 2, 3], &map.guard());
    let copy = map.get_cloned(&1).unwrap();
    map.insert(1, vec![9], &map.guard());
    assert_eq!(copy, [1, 2, 3]);
    assert_eq!(map.get_cloned(&1), Some(vec![9]));
    map.__check_invariants();
}

/// Lookups of `String` keys work with `&str` for every borrowed-key method.
#[test]
fn string_keys_looked_up_by_str() {
    let mut map: SnapMap<String, u32> = SnapMap::new();
    {
        let g = map.guard();
        map.insert("a".to_string(), 1, &g);
        map.insert("b".to_string(), 2, &g);
        map.insert("c".to_string(), 3, &g);
        assert_eq!(map.get("a", &g), Some(&1));
        assert!(map.contains_key("b"));
        assert_eq!(map.get_cloned("c"), Some(3));
        assert_eq!(map.update("a", |v| v * 10, &g), Some(&10));
        assert_eq!(map.compare_exchange("a", &10, 11, &g).unwrap(), &10);
        assert_eq!(map.remove_if("b", |_| false, &g), None);
        assert_eq!(map.remove_if("b", |_| true, &g), Some(&2));
        assert_eq!(map.remove("c", &g), Some(&3));
        assert_eq!(map.get("missing", &g), None);
    }
    *map.get_mut("a").unwrap() += 1;
    assert_eq!(map.get_cloned("a"), Some(12));
    assert_eq!(map.len(), 1);
    let m = map.pin();
    assert_eq!(m.get("a"), Some(&12));
    assert_eq!(m.remove("a"), Some(&12));
    drop(m);
    map.__check_invariants();
}

// ---------------------------------------------------------------------------------------------
// Single-key writes
// ---------------------------------------------------------------------------------------------

/// `insert` returns the previous value, for dirty-only and snapshot keys.
#[test]
fn insert_returns_previous_value() {
    let map = Map::new();
    let g = map.guard();
    assert_eq!(map.insert(1, 10, &g), None);
    assert_eq!(map.insert(1, 11, &g), Some(&10));
    promote(&map, &ABSENT);
    assert_eq!(map.insert(1, 12, &g), Some(&11));
    assert_eq!(map.get(&1, &g), Some(&12));
    assert_eq!(map.len(), 1);
    map.__check_invariants();
}

/// `get_or_insert` returns the current value and stores ours only when the key is absent.
#[test]
fn get_or_insert_keeps_current_value() {
    let map = Map::new();
    let g = map.guard();
    assert_eq!(map.get_or_insert(1, 10, &g), &10);
    assert_eq!(map.get_or_insert(1, 11, &g), &10);
    promote(&map, &ABSENT);
    assert_eq!(map.get_or_insert(1, 12, &g), &10);
    map.remove(&1, &g);
    assert_eq!(map.get_or_insert(1, 13, &g), &13);
    assert_eq!(map.get(&1, &g), Some(&13));
    assert_eq!(map.len(), 1);
    map.__check_invariants();
}

/// `try_insert` stores into an absent key, and otherwise hands back the current value and the
/// value it did not insert.
#[test]
fn try_insert_reports_occupied() {
    let map = Map::new();
    let g = map.guard();
    assert_eq!(map.try_insert(1, 10, &g).unwrap(), &10);
    let OccupiedError {
        current,
        not_inserted,
    } = map.try_insert(1, 11, &g).unwrap_err();
    assert_eq!((current, not_inserted), (&10, 11));
    promote(&map, &ABSENT);
    let err = map.try_insert(1, 12, &g).unwrap_err();
    assert_eq!((err.current, err.not_inserted), (&10, 12));
    assert!(format!("{err:?}").contains("12"));
    assert_eq!(map.get(&1, &g), Some(&10));
    assert_eq!(map.len(), 1);
    map.__check_invariants();
}

/// `get_or_insert_with` runs its closure once when the key is absent and never when present.
#[test]
fn get_or_insert_with_runs_closure_only_when_absent() {
    let map = Map::new();
    let g = map.guard();
    let calls = Cell::new(0);
    let make = |v| {
        calls.set(calls.get() + 1);
        v
    };
    assert_eq!(map.get_or_insert_with(1, || make(10), &g), &10);
    assert_eq!(calls.get(), 1);
    assert_eq!(map.get_or_insert_with(1, || make(11), &g), &10);
    assert_eq!(calls.get(), 1);
    promote(&map, &ABSENT);
    assert_eq!(map.get_or_insert_with(1, || make(12), &g), &10);
    assert_eq!(calls.get(), 1);
    map.remove(&1, &g);
    assert_eq!(map.get_or_insert_with(1, || make(13), &g), &13);
    assert_eq!(calls.get(), 2);
    assert_eq!(map.len(), 1);
    map.__check_invariants();
}

/// `remove` returns the removed value once, then `None`.
#[test]
fn remove_returns_value_once() {
    let map = Map::new();
    let g = map.guard();
    assert_eq!(map.remove(&1, &g), None);
    map.insert(1, 10, &g);
    map.insert(2, 20, &g);
    assert_eq!(map.remove(&1, &g), Some(&10)); // dirty map only
    assert_eq!(map.remove(&1, &g), None);
    promote(&map, &ABSENT);
    assert_eq!(map.remove(&2, &g), Some(&20)); // snapshot
    assert_eq!(map.remove(&2, &g), None);
    assert!(map.is_empty());
    map.__check_invariants();
}

/// `remove_if` removes only when its predicate accepts the current value.
#[test]
fn remove_if_obeys_predicate() {
    let map = Map::new();
    let g = map.guard();
    map.insert(1, 10, &g);
    let mut seen = Vec::new();
    assert_eq!(
        map.remove_if(
            &1,
            |v| {
                seen.push(*v);
                false
            },
            &g
        ),
        None
    );
    assert!(!seen.is_empty() && seen.iter().all(|&v| v == 10));
    assert_eq!(map.get(&1, &g), Some(&10));
    assert_eq!(map.len(), 1);
    promote(&map, &ABSENT);
    assert_eq!(map.remove_if(&1, |v| *v == 11, &g), None);
    assert_eq!(map.get(&1, &g), Some(&10));
    assert_eq!(map.remove_if(&1, |v| *v == 10, &g), Some(&10));
    assert_eq!(map.get(&1, &g), None);
    assert!(map.is_empty());
    map.__check_invariants();
}

/// `compare_exchange` swaps when the current value matches and returns the previous one;
/// otherwise it returns the current value and gives `new` back.
#[test]
fn compare_exchange_matches_current_value() {
    let map: SnapMap<u32, String> = SnapMap::new();
    let g = map.guard();
    map.insert(1, "a".to_string(), &g);
    assert_eq!(
        map.compare_exchange(&1, &"a".to_string(), "b".to_string(), &g)
            .unwrap(),
        "a"
    );
    let CompareExchangeError { current, new } = map
        .compare_exchange(&1, &"a".to_string(), "c".to_string(), &g)
        .unwrap_err();
    assert_eq!(current.map(String::as_str), Some("b"));
    assert_eq!(new, "c");
    promote(&map, &ABSENT);
    assert_eq!(
        map.compare_exchange(&1, &"b".to_string(), "d".to_string(), &g)
            .unwrap(),
        "b"
    );
    let err = map
        .compare_exchange(&1, &"b".to_string(), "e".to_string(), &g)
        .unwrap_err();
    assert!(format!("{err:?}").contains('e'));
    assert_eq!(map.get(&1, &g).map(String::as_str), Some("d"));
    assert_eq!(map.len(), 1);
    map.__check_invariants();
}

/// `update` returns the new value, or `None` for an absent key.
#[test]
fn update_returns_new_value() {
    let map = Map::new();
    let g = map.guard();
    assert_eq!(map.update(&1, |v| v + 1, &g), None);
    map.insert(1, 10, &g);
    assert_eq!(map.update(&1, |v| v + 1, &g), Some(&11)); // dirty map only
    promote(&map, &ABSENT);
    assert_eq!(map.update(&1, |v| v * 2, &g), Some(&22)); // snapshot
    assert_eq!(map.get(&1, &g), Some(&22));
    assert_eq!(map.len(), 1);
    map.__check_invariants();
}

/// An operation on a map, checking its own result.
type MapOp = dyn Fn(&Map);

/// The ways a key can be absent from the map.
#[derive(Debug, Clone, Copy)]
enum Absence {
    NeverStored,
    /// Removed while in the snapshot, with no dirty map.
    Tombstone,
    /// Removed, then expunged by a dirty build.
    Expunged,
    /// Removed while in the snapshot after a dirty build, which still holds it.
    TombstoneInDirty,
    /// Stored in the dirty map only, then removed.
    RemovedFromDirty,
}

/// A map in which key 1 is absent in the way `how` says, and the model of its contents.
fn map_without_key_1(how: Absence) -> (Map, BTreeMap<u32, u32>) {
    let map = Map::new();
    let g = map.guard();
    let mut model: BTreeMap<u32, u32> = (0..10).filter(|&k| k != 1).map(|k| (k, k)).collect();
    for (&k, &v) in &model {
        map.insert(k, v, &g);
    }
    if !matches!(how, Absence::NeverStored | Absence::RemovedFromDirty) {
        map.insert(1, 1, &g);
    }
    promote(&map, &ABSENT);
    match how {
        Absence::NeverStored => {}
        Absence::Tombstone => {
            map.remove(&1, &g);
        }
        Absence::Expunged => {
            map.remove(&1, &g);
            map.insert(50, 50, &g);
            model.insert(50, 50);
        }
        Absence::TombstoneInDirty => {
            map.insert(50, 50, &g);
            model.insert(50, 50);
            map.remove(&1, &g);
        }
        Absence::RemovedFromDirty => {
            map.insert(1, 1, &g);
            map.remove(&1, &g);
        }
    }
    let stats = map.stats();
    let tombstones = match how {
        Absence::NeverStored | Absence::RemovedFromDirty => 0,
        _ => 1,
    };
    assert_eq!(stats.tombstones, tombstones, "{how:?}: {stats}");
    (map, model)
}

/// `compare_exchange`, `remove_if`, `update` and `remove` of an absent key fail and never insert,
/// whichever way the key is absent.
#[test]
fn conditional_writes_of_absent_keys_do_not_insert() {
    let compare_exchange = |map: &Map| {
        let guard = map.guard();
        let err = map.compare_exchange(&1, &1, 99, &guard).unwrap_err();
        assert_eq!((err.current, err.new), (None, 99));
    };
    let remove_if = |map: &Map| {
        let mut pred_calls = 0;
        let pred = |_: &u32| {
            pred_calls += 1;
            true
        };
        assert_eq!(map.remove_if(&1, pred, &map.guard()), None);
        assert_eq!(pred_calls, 0);
    };
    let update = |map: &Map| assert_eq!(map.update(&1, |v| v + 1, &map.guard()), None);
    let remove = |map: &Map| assert_eq!(map.remove(&1, &map.guard()), None);
    let ops: [(&str, &MapOp); 4] = [
        ("compare_exchange", &compare_exchange),
        ("remove_if", &remove_if),
        ("update", &update),
        ("remove", &remove),
    ];
    for how in [
        Absence::NeverStored,
        Absence::Tombstone,
        Absence::Expunged,
        Absence::TombstoneInDirty,
        Absence::RemovedFromDirty,
    ] {
        for (name, op) in ops {
            let (map, model) = map_without_key_1(how);
            op(&map);
            assert_eq!(map.get(&1, &map.guard()), None, "{name} on {how:?}");
            assert_eq!(map.len(), model.len(), "{name} on {how:?}");
            assert_eq!(entries(&map), pairs(&model), "{name} on {how:?}");
            map.__check_invariants();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Iteration and bulk operations
// ---------------------------------------------------------------------------------------------

/// `iter`, `keys` and `values` yield exactly the live entries, whatever state they are in.
#[test]
fn iter_keys_values_yield_live_entries() {
    let (map, model) = mixed_map();
    let g = map.guard();
    assert_eq!(entries(&map), pairs(&model));
    let mut keys: Vec<_> = map.keys(&g).copied().collect();
    keys.sort_unstable();
    assert_eq!(keys, model.keys().copied().collect::<Vec<_>>());
    let mut values: Vec<_> = map.values(&g).copied().collect();
    values.sort_unstable();
    let mut expected: Vec<_> = model.values().copied().collect();
    expected.sort_unstable();
    assert_eq!(values, expected);
    assert_eq!(Map::new().iter(&g).count(), 0);
    map.__check_invariants();
}

/// `iter` never yields a key twice and yields every key never removed, while its loop body
/// removes most keys (forcing a compaction), revives some, inserts new keys and forces
/// promotions.
#[test]
fn iter_while_writing_yields_stable_keys_exactly_once() {
    within_deadline(|| {
        let map = Map::new();
        let g = map.guard();
        for k in 0..400 {
            map.insert(k, k, &g);
        }
        promote(&map, &ABSENT);
        let before = map.stats();
        let stable = |k: u32| k < 400 && k % 4 == 0;
        let mut model: BTreeMap<u32, u32> = (0..400).map(|k| (k, k)).collect();
        let mut ever: HashSet<u32> = (0..400).collect();
        let mut seen = HashSet::new();
        for (step, (&k, &v)) in (0u32..).zip(map.iter(&g)) {
            assert!(seen.insert(k), "key {k} yielded twice");
            assert!(ever.contains(&k), "key {k} was never stored");
            if stable(k) {
                assert_eq!(v, k);
            }
            if step == 0 {
                for r in (0..400).filter(|&r| !stable(r)) {
                    assert_eq!(map.remove(&r, &g), model.remove(&r).as_ref());
                }
                let stats = map.stats();
                assert!(stats.compactions > before.compactions, "{stats}");
            }
            // Revive a removed key, store a new one, and read the new one until promoted.
            let revived = 4 * step + 1;
            if revived < 400 {
                assert_eq!(map.insert(revived, 7, &g), None);
                model.insert(revived, 7);
                ever.insert(revived);
            }
            let fresh = 1000 + step;
            assert_eq!(map.insert(fresh, fresh, &g), None);
            model.insert(fresh, fresh);
            ever.insert(fresh);
            if step % 8 == 0 {
                promote(&map, &ABSENT);
            }
            assert_eq!(map.len(), model.len());
        }
        let missing: Vec<_> = (0..400)
            .filter(|&k| stable(k) && !seen.contains(&k))
            .collect();
        assert!(missing.is_empty(), "never yielded: {missing:?}");
        let after = map.stats();
        assert!(after.promotions > before.promotions, "{after}");
        assert!(after.dirty_builds > before.dirty_builds, "{after}");
        assert_eq!(entries(&map), pairs(&model));
        map.__check_invariants();
    });
}

/// The loop body of an `iter` on a `MapRef` may call any map method, including writes, `clear`,
/// `retain` and a nested `iter`, without deadlock; keys are never yielded twice.
#[test]
fn iter_body_may_call_any_method() {
    within_deadline(|| {
        let map = Map::new();
        let m = map.pin();
        for k in 0..100 {
            m.insert(k, k);
        }
        promote(&map, &ABSENT);
        let mut seen = HashSet::new();
        for (&k, _) in m.iter() {
            assert!(seen.insert(k), "key {k} yielded twice");
            m.insert(k + 1000, k);
            assert!(m.get(&(k + 1000)).is_some());
            m.remove(&(k + 1000));
            m.update(&k, |v| v + 1);
            assert_eq!(m.len(), 100);
            assert_eq!(m.iter().count(), 100);
            m.retain(|_, _| true);
            assert!(m.contains_key(&k));
        }
        assert_eq!(seen, (0..100).collect());
        assert_eq!(
            entries(&map),
            (0..100).map(|k| (k, k + 1)).collect::<Vec<_>>()
        );
        for _ in m.iter() {
            m.clear();
            m.insert(5000, 1);
        }
        assert_eq!(entries(&map), [(5000, 1)]);
        drop(m);
        map.__check_invariants();
    });
}

/// `retain` keeps exactly the entries its closure accepts.
#[test]
fn retain_keeps_accepted_entries() {
    let (map, mut model) = mixed_map();
    let mut judged = Vec::new();
    map.retain(|&k, &v| {
        judged.push(k);
        (k + v) % 3 != 0
    });
    judged.sort_unstable();
    assert_eq!(judged, model.keys().copied().collect::<Vec<_>>());
    model.retain(|&k, &mut v| (k + v) % 3 != 0);
    assert_eq!(entries(&map), pairs(&model));
    assert_eq!(map.len(), model.len());
    map.retain(|_, _| false);
    assert!(map.is_empty());
    map.__check_invariants();
}

/// `retain`'s closure may call map methods, including writes, without deadlock.
#[test]
fn retain_closure_may_call_any_method() {
    within_deadline(|| {
        let map = Map::new();
        let g = map.guard();
        for k in 0..100 {
            map.insert(k, k, &g);
        }
        // Doomed keys: the closure removes one per call.
        for d in 0..40 {
            map.insert(5000 + 2 * d, 0, &g);
        }
        let mut calls = 0u32;
        map.retain(|&k, &v| {
            let g = map.guard();
            assert_eq!(map.get(&k, &g), Some(&v));
            assert!(map.iter(&g).count() > 0);
            if calls < 40 {
                assert!(map.remove(&(5000 + 2 * calls), &g).is_some());
            }
            // New even keys: the closure keeps them if it is shown them.
            assert_eq!(map.insert(1000 + 2 * calls, calls, &g), None);
            calls += 1;
            assert!(!map.is_empty());
            k % 2 == 0
        });
        assert!(calls >= 100);
        let expected: Vec<_> = (0..100)
            .filter(|k| k % 2 == 0)
            .map(|k| (k, k))
            .chain((0..calls).map(|c| (1000 + 2 * c, c)))
            .collect();
        assert_eq!(entries(&map), expected);
        assert_eq!(map.len(), expected.len());
        map.__check_invariants();
    });
}

/// `retain` does not remove an entry whose value its closure replaced: the value judged is no
/// longer current.
#[test]
fn retain_keeps_value_replaced_during_closure() {
    let map = Map::new();
    let g = map.guard();
    for k in 0..10 {
        map.insert(k, k, &g);
    }
    map.retain(|&k, _| {
        if k == 3 {
            map.insert(3, 33, &map.guard());
        }
        false
    });
    assert_eq!(entries(&map), [(3, 33)]);
    assert_eq!(map.len(), 1);
    map.__check_invariants();
}

/// `clear` empties the map from any state, drops its tombstones, and the map works afterwards.
#[test]
fn clear_empties_and_map_still_works() {
    let (map, _) = mixed_map();
    map.clear();
    assert!(map.is_empty());
    assert_eq!(map.len(), 0);
    assert_eq!(entries(&map), []);
    let stats = map.stats();
    assert_eq!(
        (
            stats.len,
            stats.read_slots,
            stats.tombstones,
            stats.dirty_len
        ),
        (0, 0, 0, 0),
        "{stats}"
    );
    map.__check_invariants();
    let g = map.guard();
    for k in [5, 10, 101, 1, 500] {
        assert_eq!(map.get(&k, &g), None);
        assert_eq!(map.insert(k, k + 1, &g), None);
    }
    promote(&map, &ABSENT);
    assert_eq!(map.insert(5, 0, &g), Some(&6));
    assert_eq!(
        entries(&map),
        [(1, 2), (5, 0), (10, 11), (101, 102), (500, 501)]
    );
    map.__check_invariants();
}

/// `len` and `is_empty` are exact through inserts, overwrites and removals of dirty-only and
/// snapshot keys.
#[test]
fn len_and_is_empty_are_exact() {
    let map = Map::new();
    let g = map.guard();
    assert_eq!((map.len(), map.is_empty()), (0, true));
    for k in 0..50 {
        map.insert(k, k, &g);
        assert_eq!(map.len(), k as usize + 1);
    }
    map.insert(0, 1, &g);
    assert_eq!(map.len(), 50);
    promote(&map, &ABSENT);
    map.insert(7, 1, &g);
    map.insert(50, 50, &g);
    assert_eq!(map.len(), 51);
    map.remove(&50, &g);
    map.remove(&50, &g);
    map.remove(&0, &g);
    assert_eq!(map.len(), 49);
    for k in 0..50 {
        map.remove(&k, &g);
    }
    assert_eq!((map.len(), map.is_empty()), (0, true));
    assert_eq!(map.stats().len, 0);
    map.__check_invariants();
}

// ---------------------------------------------------------------------------------------------
// Stats and the paths of the algorithm
// ---------------------------------------------------------------------------------------------

/// A new map's stats are all zero, and `Stats` prints a one-line summary.
#[test]
fn stats_of_new_map_and_display() {
    let map = Map::new();
    let stats: Stats = map.stats();
    assert_eq!(
        (
            stats.len,
            stats.read_slots,
            stats.tombstones,
            stats.dirty_len
        ),
        (0, 0, 0, 0)
    );
    assert!(!stats.amended);
    assert_eq!(stats.misses, 0);
    assert_eq!(
        (stats.promotions, stats.dirty_builds, stats.compactions),
        (0, 0, 0)
    );
    let shown = stats.to_string();
    assert!(!shown.is_empty() && !shown.contains('\n'), "{shown:?}");
    assert!(format!("{stats:?}").contains("tombstones"));
}

/// Reads of keys that only the dirty map holds count misses and then promote it: afterwards
/// nothing is amended, there is no dirty map, and the snapshot indexes every key.
#[test]
fn missed_reads_promote_the_dirty_map() {
    let map = Map::new();
    let g = map.guard();
    for k in 0..10 {
        map.insert(k, k, &g);
    }
    let before = map.stats();
    assert!(before.amended);
    assert_eq!(before.dirty_len, 10);
    assert!(before.misses + 1 < before.dirty_len);

    assert_eq!(map.get(&0, &g), Some(&0));
    let after_one = map.stats();
    assert_eq!(after_one.misses, before.misses + 1, "{after_one}");
    assert_eq!(after_one.promotions, before.promotions);

    for _ in 0..4 * before.dirty_len {
        assert_eq!(map.get(&0, &g), Some(&0));
    }
    let after = map.stats();
    assert!(after.promotions > before.promotions, "{after}");
    assert!(!after.amended);
    assert_eq!((after.dirty_len, after.misses), (0, 0), "{after}");
    assert_eq!(after.read_slots, 10);
    assert_eq!(after.len, 10);
    map.__check_invariants();
}

/// After a promotion, overwriting a snapshot key needs no dirty map, while storing a new key
/// builds one from the snapshot and marks the map amended.
#[test]
fn new_key_after_promotion_builds_dirty_map() {
    let map = Map::new();
    let g = map.guard();
    for k in 0..10 {
        map.insert(k, k, &g);
    }
    promote(&map, &ABSENT);
    let promoted = map.stats();
    assert_eq!(promoted.dirty_len, 0);

    map.insert(3, 33, &g);
    map.remove(&4, &g);
    let overwritten = map.stats();
    assert_eq!(
        overwritten.dirty_builds, promoted.dirty_builds,
        "{overwritten}"
    );
    assert!(!overwritten.amended);

    map.insert(10, 10, &g);
    let built = map.stats();
    assert_eq!(built.dirty_builds, promoted.dirty_builds + 1, "{built}");
    assert!(built.amended);
    // The 9 live snapshot entries (the tombstone of 4 is expunged) plus the new key.
    assert_eq!(built.dirty_len, 10, "{built}");
    map.insert(11, 11, &g);
    assert_eq!(map.stats().dirty_builds, built.dirty_builds);
    assert_eq!(map.len(), 11);
    map.__check_invariants();
}

/// Removing most of a large map compacts its snapshot with no further insert, bounding the
/// tombstones by `max(64, len)`.
#[test]
fn mass_removal_compacts_without_insert() {
    let map = Map::new();
    let g = map.guard();
    for k in 0..1000 {
        map.insert(k, k, &g);
    }
    promote(&map, &ABSENT);
    let before = map.stats();
    assert_eq!((before.read_slots, before.tombstones), (1000, 0));
    for k in 0..1000 {
        if k % 100 != 0 {
            assert_eq!(map.remove(&k, &g), Some(&k));
        }
        let stats = map.stats();
        assert!(
            stats.tombstones <= stats.len.max(64),
            "after removing {k}: {stats}"
        );
    }
    let after = map.stats();
    assert!(after.compactions > before.compactions, "{after}");
    assert_eq!(after.len, 10);
    assert!(after.tombstones <= 64, "{after}");
    assert_eq!(after.read_slots, after.len + after.tombstones, "{after}");
    assert_eq!(
        entries(&map),
        (0..10).map(|k| (100 * k, 100 * k)).collect::<Vec<_>>()
    );
    map.__check_invariants();
}

/// Removing every key, whether in the snapshot or the dirty map only, leaves an empty map with at
/// most 64 tombstones.
#[test]
fn removing_everything_leaves_few_tombstones() {
    let map = Map::new();
    let g = map.guard();
    for k in 0..600 {
        map.insert(k, k, &g);
    }
    promote(&map, &ABSENT);
    for k in 600..1200 {
        map.insert(k, k, &g); // dirty map only
    }
    for k in 0..1200 {
        assert_eq!(map.remove(&k, &g), Some(&k));
    }
    let stats = map.stats();
    assert_eq!((map.len(), stats.len), (0, 0));
    assert!(map.is_empty());
    assert!(stats.tombstones <= 64, "{stats}");
    assert_eq!(entries(&map), []);
    map.__check_invariants();
}

/// Removing every key frees every value and all but at most 64 keys once the epoch advances,
/// with no later insert; dropping the map frees the rest.
#[test]
fn removing_everything_frees_keys_and_values() {
    let keys = Tracker::new();
    let values = Tracker::new();
    let map: SnapMap<DropKey, DropVal> = SnapMap::new();
    {
        let g = map.guard();
        for k in 0..1000 {
            map.insert(DropKey::new(k, &keys), DropVal::new(k, &values), &g);
        }
    }
    promote(&map, &u64::MAX);
    {
        let g = map.guard();
        for k in 0..1000 {
            assert_eq!(map.remove(&k, &g).map(DropVal::v), Some(k));
        }
    }
    map.__check_invariants();
    values.assert_all_dropped("removed values");
    settle(|| keys.live() <= 64);
    assert!(keys.live() <= 64, "{} keys still alive", keys.live());
    drop(map);
    keys.assert_all_dropped("keys after the map dropped");
}

/// A removed key is revived by a store while it is a tombstone in the snapshot, without building
/// a dirty map.
#[test]
fn tombstone_revived_before_dirty_build() {
    let map = Map::new();
    let g = map.guard();
    for k in 0..10 {
        map.insert(k, k, &g);
    }
    promote(&map, &ABSENT);
    map.remove(&3, &g);
    let removed = map.stats();
    assert_eq!((removed.tombstones, removed.read_slots), (1, 10));
    assert_eq!(map.insert(3, 30, &g), None);
    let revived = map.stats();
    assert_eq!(map.get(&3, &g), Some(&30));
    assert_eq!(revived.len, 10);
    assert_eq!(revived.tombstones, 0);
    assert_eq!(revived.dirty_builds, removed.dirty_builds);
    assert!(!revived.amended);
    map.__check_invariants();
}

/// A removed key that a dirty build expunged is stored again correctly, and stays after the next
/// promotion.
#[test]
fn tombstone_revived_after_dirty_build() {
    let map = Map::new();
    let g = map.guard();
    for k in 0..10 {
        map.insert(k, k, &g);
    }
    promote(&map, &ABSENT);
    map.remove(&3, &g);
    map.insert(100, 100, &g); // dirty build: 3 becomes expunged
    let built = map.stats();
    assert!(built.amended);
    assert_eq!(built.dirty_len, 10, "{built}");
    assert_eq!(map.get(&3, &g), None);
    assert_eq!(map.insert(3, 30, &g), None);
    assert_eq!(map.get(&3, &g), Some(&30));
    assert_eq!(map.len(), 11);
    assert_eq!(map.stats().dirty_len, 11);
    promote(&map, &ABSENT);
    assert_eq!(map.get(&3, &g), Some(&30));
    assert_eq!(map.insert(3, 31, &g), Some(&30));
    let mut expected: Vec<_> = (0..10).map(|k| (k, k)).collect();
    expected[3] = (3, 31);
    expected.push((100, 100));
    assert_eq!(entries(&map), expected);
    assert_eq!(map.stats().tombstones, 0);
    map.__check_invariants();
}

// ---------------------------------------------------------------------------------------------
// Unusual value types
// ---------------------------------------------------------------------------------------------

/// Runs every value-handling method with the distinct values `a` and `b`, on keys in the dirty
/// map only and on keys in the snapshot.
fn exercise_values<V>(a: V, b: V)
where
    V: Clone + PartialEq + Debug + Send + Sync + 'static,
{
    assert_ne!(a, b);
    let map: SnapMap<u32, V> = SnapMap::new();
    let g = map.guard();
    for round in 0..2u32 {
        let (x, y) = (10 * round, 10 * round + 1);
        assert_eq!(map.insert(x, a.clone(), &g), None);
        assert_eq!(map.insert(y, b.clone(), &g), None);
        if round == 1 {
            promote(&map, &ABSENT);
        }
        assert_eq!(map.get(&x, &g), Some(&a));
        assert_eq!(map.insert(x, b.clone(), &g), Some(&a));
        assert_eq!(map.update(&x, |_| a.clone(), &g), Some(&a));
        assert_eq!(map.compare_exchange(&x, &a, b.clone(), &g).unwrap(), &a);
        let err = map.compare_exchange(&x, &a, a.clone(), &g).unwrap_err();
        assert_eq!((err.current, err.new), (Some(&b), a.clone()));
        assert_eq!(map.remove_if(&y, |v| *v == a, &g), None);
        assert_eq!(map.remove_if(&y, |v| *v == b, &g), Some(&b));
        assert_eq!(map.get_or_insert(y, a.clone(), &g), &a);
        assert_eq!(map.remove(&x, &g), Some(&b));
        assert_eq!(map.get(&x, &g), None);
        assert_eq!(map.get_cloned(&y), Some(a.clone()));
    }
    let all: Vec<_> = map.iter(&g).map(|(&k, v)| (k, v.clone())).collect();
    let mut all = all;
    all.sort_by_key(|&(k, _)| k);
    assert_eq!(all, [(1, a.clone()), (11, a)]);
    assert_eq!(map.len(), 2);
    map.__check_invariants();
}

/// Values aligned to 1 byte work with every value-handling method.
#[test]
fn byte_aligned_values_work() {
    exercise_values(7u8, 200u8);
    exercise_values([1u8, 2, 3], [3u8, 2, 1]);
    exercise_values(false, true);
    exercise_values(0u8, 1u8);
}

/// Runs every value-handling method with zero-sized values made by `make`.
fn exercise_zero_sized<V>(make: impl Fn() -> V)
where
    V: PartialEq + Debug + Send + Sync + 'static,
{
    let map: SnapMap<u32, V> = SnapMap::new();
    let g = map.guard();
    for k in 0..100 {
        assert!(map.insert(k, make(), &g).is_none());
    }
    assert!(map.get(&0, &g).is_some());
    promote(&map, &ABSENT);
    for k in 0..100 {
        assert!(map.get(&k, &g).is_some(), "key {k}");
    }
    assert!(map.insert(5, make(), &g).is_some());
    assert!(map.update(&5, |_| make(), &g).is_some());
    assert!(map.update(&500, |_| make(), &g).is_none());
    assert!(map.compare_exchange(&6, &make(), make(), &g).is_ok());
    let err = map.compare_exchange(&600, &make(), make(), &g).unwrap_err();
    assert!(err.current.is_none());
    assert!(map.try_insert(7, make(), &g).is_err());
    assert!(map.remove_if(&7, |_| false, &g).is_none());
    assert!(map.remove_if(&7, |_| true, &g).is_some());
    assert!(map.remove_if(&7, |_| true, &g).is_none());
    for k in 50..100 {
        assert!(map.remove(&k, &g).is_some(), "key {k}");
        assert!(map.remove(&k, &g).is_none(), "key {k}");
    }
    assert_eq!(map.len(), 49);
    let mut keys: Vec<_> = map.iter(&g).map(|(&k, _)| k).collect();
    keys.sort_unstable();
    assert_eq!(keys, (0..50).filter(|&k| k != 7).collect::<Vec<_>>());
    assert_eq!(map.values(&g).count(), 49);
    map.retain(|&k, _| k % 2 == 1);
    let mut keys: Vec<_> = map.keys(&g).copied().collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        (0..50)
            .filter(|&k| k % 2 == 1 && k != 7)
            .collect::<Vec<_>>()
    );
    map.__check_invariants();
}

/// Counts the `Token`s made and dropped, to check that each is dropped exactly once.
static TOKENS_MADE: AtomicUsize = AtomicUsize::new(0);
static TOKENS_DROPPED: AtomicUsize = AtomicUsize::new(0);

/// A zero-sized value whose drops are counted.
#[derive(Debug, PartialEq)]
struct Token;

impl Token {
    fn new() -> Self {
        TOKENS_MADE.fetch_add(1, Ordering::SeqCst);
        Token
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        TOKENS_DROPPED.fetch_add(1, Ordering::SeqCst);
    }
}

/// `()` values work with every value-handling method.
#[test]
fn unit_values_work() {
    exercise_zero_sized(|| ());
}

/// Zero-sized values with a `Drop` work with every value-handling method, and each is dropped
/// exactly once.
#[test]
fn zero_sized_values_with_drop_are_dropped_once() {
    exercise_zero_sized(Token::new);
    let all_dropped =
        || TOKENS_DROPPED.load(Ordering::SeqCst) == TOKENS_MADE.load(Ordering::SeqCst);
    settle(all_dropped);
    assert_eq!(
        TOKENS_DROPPED.load(Ordering::SeqCst),
        TOKENS_MADE.load(Ordering::SeqCst)
    );
}

/// `retain` does not remove a zero-sized value that its closure replaced: a new zero-sized value
/// is still a different value from the one judged.
#[test]
fn retain_keeps_zero_sized_value_replaced_during_closure() {
    let map: SnapMap<u32, ()> = SnapMap::new();
    let g = map.guard();
    for k in 0..10 {
        map.insert(k, (), &g);
    }
    map.retain(|&k, _| {
        if k == 3 {
            map.insert(3, (), &map.guard());
        }
        false
    });
    assert_eq!(map.keys(&g).copied().collect::<Vec<_>>(), [3]);
    assert_eq!(map.len(), 1);
    map.__check_invariants();
}

// ---------------------------------------------------------------------------------------------
// Exclusive access and traits
// ---------------------------------------------------------------------------------------------

/// `get_mut` changes a value in place, for snapshot and dirty-only keys.
#[test]
fn get_mut_changes_value_in_place() {
    let (mut map, mut model) = mixed_map();
    for k in [5, 10, 101] {
        *map.get_mut(&k).unwrap() += 1;
        *model.get_mut(&k).unwrap() += 1;
    }
    for k in [0, 3, 100, 77] {
        assert_eq!(map.get_mut(&k), None, "key {k}");
    }
    assert_eq!(entries(&map), pairs(&model));
    assert_eq!(map.get_cloned(&101), Some(102));
    map.__check_invariants();
}

/// `shrink_to_fit` keeps the contents and the map keeps working.
#[test]
fn shrink_to_fit_keeps_contents() {
    let (mut map, mut model) = mixed_map();
    map.shrink_to_fit();
    assert_eq!(entries(&map), pairs(&model));
    assert_eq!(map.len(), model.len());
    map.__check_invariants();
    let g = map.guard();
    for k in 0..300 {
        map.insert(k, k, &g);
        model.insert(k, k);
    }
    for k in 0..290 {
        map.remove(&k, &g);
        model.remove(&k);
    }
    drop(g);
    map.shrink_to_fit();
    let stats = map.stats();
    assert!(stats.tombstones <= stats.len.max(64), "{stats}");
    assert_eq!(entries(&map), pairs(&model));
    assert_eq!(map.insert(0, 0, &map.guard()), None);
    map.__check_invariants();
}

/// The owned iterator yields exactly the live entries, whatever state they are in.
#[test]
fn into_iter_yields_owned_live_entries() {
    let (map, model) = mixed_map();
    let mut all: Vec<_> = map.into_iter().collect();
    all.sort_unstable();
    assert_eq!(all, pairs(&model));
    assert_eq!(Map::new().into_iter().count(), 0);
}

/// Dropping a partly consumed owned iterator drops the rest of the keys and values.
#[test]
fn into_iter_dropped_early_drops_the_rest() {
    let keys = Tracker::new();
    let values = Tracker::new();
    let map: SnapMap<DropKey, DropVal> = SnapMap::new();
    {
        let g = map.guard();
        for k in 0..100 {
            map.insert(DropKey::new(k, &keys), DropVal::new(k, &values), &g);
        }
    }
    let mut iter = map.into_iter();
    let (k, v) = iter.next().unwrap();
    assert_eq!(k.k, v.v());
    drop(iter);
    keys.assert_live("keys after dropping the iterator", 1);
    values.assert_live("values after dropping the iterator", 1);
    drop((k, v));
    keys.assert_all_dropped("keys");
    values.assert_all_dropped("values");
}

/// `collect` builds a map from pairs; a later pair for the same key wins, as in std's maps.
#[test]
fn from_iterator_collects_pairs() {
    let map: Map = (0..50).map(|k| (k, k * 2)).chain([(3, 0)]).collect();
    let mut expected: Vec<_> = (0..50).map(|k| (k, k * 2)).collect();
    expected[3] = (3, 0);
    assert_eq!(entries(&map), expected);
    assert_eq!(map.len(), 50);
    map.__check_invariants();
}

/// `extend` adds pairs, overwriting existing keys, as in std's maps.
#[test]
fn extend_adds_and_overwrites() {
    let (mut map, mut model) = mixed_map();
    let more = [(5, 55), (200, 2), (0, 1), (101, 0)];
    map.extend(more);
    model.extend(more);
    assert_eq!(entries(&map), pairs(&model));
    assert_eq!(map.len(), model.len());
    map.__check_invariants();
}

/// `Debug` prints like std's maps.
#[test]
fn debug_prints_like_std_maps() {
    assert_eq!(format!("{:?}", SnapMap::<u32, u32>::new()), "{}");
    let map: SnapMap<&str, u32> = [("one", 1)].into_iter().collect();
    assert_eq!(format!("{map:?}"), r#"{"one": 1}"#);

    let (map, model) = mixed_map();
    let shown = format!("{map:?}");
    let inner = shown
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .unwrap_or_else(|| panic!("not a map: {shown}"));
    let mut parsed: Vec<(u32, u32)> = inner
        .split(", ")
        .map(|pair| {
            let (k, v) = pair.split_once(": ").unwrap_or_else(|| panic!("{pair:?}"));
            (k.parse().unwrap(), v.parse().unwrap())
        })
        .collect();
    parsed.sort_unstable();
    assert_eq!(parsed, pairs(&model));
}

/// `clone` gives an independent copy of the live entries.
#[test]
fn clone_is_independent() {
    let (map, model) = mixed_map();
    let copy = map.clone();
    assert_eq!(entries(&copy), pairs(&model));
    assert_eq!(copy.len(), model.len());
    copy.__check_invariants();
    {
        let g = copy.guard();
        copy.insert(999, 9, &g);
        copy.remove(&5, &g);
        copy.insert(6, 66, &g);
    }
    assert_eq!(entries(&map), pairs(&model));
    {
        let g = map.guard();
        map.insert(888, 8, &g);
        map.remove(&7, &g);
    }
    let mut copy_model = model.clone();
    copy_model.insert(999, 9);
    copy_model.remove(&5);
    copy_model.insert(6, 66);
    assert_eq!(entries(&copy), pairs(&copy_model));
    copy.__check_invariants();
    map.__check_invariants();
}

/// `SnapMap` is `Send` and `Sync`.
#[test]
fn snapmap_is_send_and_sync() {
    assert_send_sync::<SnapMap<u32, u32>>();
    assert_send_sync::<SnapMap<String, Vec<u8>, Seeded>>();
}

/// The map serializes as a plain map and deserializes back.
#[cfg(feature = "serde")]
#[test]
fn serde_round_trip() {
    let (map, model) = mixed_map();
    let json = serde_json::to_string(&map).unwrap();
    let plain: BTreeMap<u32, u32> = serde_json::from_str(&json).unwrap();
    assert_eq!(plain, model);
    let back: Map = serde_json::from_str(&json).unwrap();
    assert_eq!(entries(&back), pairs(&model));
    assert_eq!(back.len(), model.len());
    back.__check_invariants();

    assert_eq!(serde_json::to_string(&Map::new()).unwrap(), "{}");
    let strings: SnapMap<String, Vec<u8>> = serde_json::from_str(r#"{"a":[1,2],"b":[]}"#).unwrap();
    assert_eq!(strings.get_cloned("a"), Some(vec![1, 2]));
    assert_eq!(strings.get_cloned("b"), Some(vec![]));
    assert_eq!(strings.len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------------------------

/// Concurrent `update`s and `compare_exchange` loops on one key lose no increment.
#[test]
fn concurrent_increments_are_not_lost() {
    within_deadline(|| {
        let map = Map::new();
        map.insert(0, 0, &map.guard());
        thread::scope(|s| {
            for t in 0..4 {
                let map = &map;
                s.spawn(move || {
                    for i in 0..500 {
                        let g = map.guard();
                        if (t + i) % 2 == 0 {
                            map.update(&0, |v| v + 1, &g).unwrap();
                        } else {
                            loop {
                                let current = *map.get(&0, &g).unwrap();
                                if map.compare_exchange(&0, &current, current + 1, &g).is_ok() {
                                    break;
                                }
                            }
                        }
                    }
                });
            }
        });
        assert_eq!(map.get_cloned(&0), Some(2000));
        map.__check_invariants();
    });
}

/// Threads racing `get_or_insert_with` on the same new keys all see the one value stored, and
/// threads inserting disjoint keys lose none of them.
#[test]
fn concurrent_inserts_agree() {
    within_deadline(|| {
        let map = Map::new();
        let calls = AtomicUsize::new(0);
        let seen: Vec<Vec<u32>> = thread::scope(|s| {
            let workers: Vec<_> = (0..4u32)
                .map(|t| {
                    let (map, calls) = (&map, &calls);
                    s.spawn(move || {
                        let mut seen = Vec::new();
                        for k in 0..300 {
                            let g = map.guard();
                            let v = map.get_or_insert_with(
                                k,
                                || {
                                    calls.fetch_add(1, Ordering::SeqCst);
                                    t
                                },
                                &g,
                            );
                            seen.push(*v);
                            map.insert(10_000 + 1000 * t + k, k, &g);
                        }
                        seen
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        for k in 0..300u32 {
            let stored = map.get_cloned(&k).unwrap();
            assert!(seen.iter().all(|s| s[k as usize] == stored), "key {k}");
        }
        assert!(calls.load(Ordering::SeqCst) >= 300);
        assert_eq!(map.len(), 300 + 4 * 300);
        map.__check_invariants();
    });
}
