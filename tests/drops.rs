//! Exactly-once drop accounting: every key and value put into the map is dropped exactly once,
//! after overwrites and removals (once the epoch advances), by `clear`, when the map drops, when
//! handed back to the caller, and when `Hash`, `Eq`, a closure or a value's `Drop` panics.
//!
//! Each test counts its own objects with its own [`Tracker`]s, so tests may run in parallel.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use snapmap::{Guard, SnapMap};
use testkit::{
    expect_panic, quiet_intentional_panics, DropKey, DropVal, Tracker, Trap, TrapKey, XorShift,
};

/// One tracker for keys, one for values.
fn trackers() -> (Arc<Tracker>, Arc<Tracker>) {
    (Tracker::new(), Tracker::new())
}

/// Random operations from several threads on tracked keys and values. Afterwards exactly the
/// values still in the map are alive; `clear` and then dropping the map drop everything else,
/// each object exactly once.
#[test]
fn concurrent_workload_drops_everything_exactly_once() {
    const THREADS: u64 = 4;
    const OPS: u64 = testkit::scaled(20_000);
    const KEYS: u64 = 256;
    let (keys, vals) = trackers();
    let mut map: SnapMap<DropKey, DropVal> = SnapMap::new();

    thread::scope(|s| {
        for t in 0..THREADS {
            let (map, keys, vals) = (&map, &keys, &vals);
            s.spawn(move || {
                let mut rng = XorShift::new(0xD00D + t);
                let mut guard = map.guard();
                for i in 0..OPS {
                    if i % 32 == 0 {
                        // Unpin and pin again so that the epoch can advance; a new guard taken
                        // while this one lives would keep the thread pinned in its first epoch.
                        guard.repin();
                    }
                    let k = rng.below(KEYS);
                    let key = || DropKey::new(k, keys);
                    let val = |v: u64| DropVal::new(v, vals);
                    match rng.below(13) {
                        0 | 1 => {
                            if let Some(v) = map.get(&k, &guard) {
                                v.v();
                            }
                        }
                        2 | 3 => {
                            map.insert(key(), val(i), &guard);
                        }
                        4 | 5 => {
                            map.remove(&k, &guard);
                        }
                        6 => {
                            // The closure may run more than once; each result it discards must
                            // be dropped too.
                            map.update(&k, |v| val(v.v() + 1), &guard);
                        }
                        7 => {
                            if let Some(current) = map.get(&k, &guard) {
                                if let Err(err) = map.compare_exchange(&k, current, val(i), &guard)
                                {
                                    drop(err.new);
                                }
                            }
                        }
                        8 => {
                            if let Err(err) = map.try_insert(key(), val(i), &guard) {
                                drop(err.not_inserted);
                            }
                        }
                        9 => {
                            map.get_or_insert(key(), val(i), &guard).v();
                        }
                        10 => {
                            map.get_or_insert_with(key(), || val(i), &guard).v();
                        }
                        11 => {
                            map.remove_if(&k, |v| v.v() % 2 == 0, &guard);
                        }
                        _ => match rng.below(40) {
                            0 => map.retain(|k, v| (k.k + v.v()) % 3 != 0),
                            1 => map.clear(),
                            _ => {
                                for (k, v) in map.iter(&guard) {
                                    assert!(k.k < KEYS);
                                    v.v();
                                }
                            }
                        },
                    }
                }
            });
        }
    });

    map.__check_invariants();
    vals.assert_live("values after the workload", map.len());
    assert!(
        keys.live() >= map.len(),
        "a key of a live entry was dropped"
    );
    let stats = map.stats();
    assert!(stats.tombstones <= 64.max(map.len()), "{stats}");

    map.clear();
    map.__check_invariants();
    assert!(map.is_empty());
    vals.assert_all_dropped("values after clear");
    // A shard left with a handful of entries is cleared in place: their tombstones keep their
    // keys until a compaction.
    let tombstones = map.stats().tombstones;
    assert!(tombstones <= 32, "{}", map.stats());
    keys.assert_live("keys after clear, but the tombstones'", tombstones);
    map.shrink_to_fit();
    keys.assert_all_dropped("keys after clear and shrink_to_fit");

    // The map works as before after `clear`, and dropping it drops what it holds.
    let guard = map.guard();
    for k in 0..100 {
        assert!(map
            .insert(DropKey::new(k, &keys), DropVal::new(k, &vals), &guard)
            .is_none());
    }
    for k in 0..50 {
        let old = map.insert(DropKey::new(k, &keys), DropVal::new(k + 1, &vals), &guard);
        assert_eq!(old.map(DropVal::v), Some(k));
    }
    drop(guard);
    // Overwrites keep the original key and drop the one passed in.
    keys.assert_live("keys after overwrites", 100);
    vals.assert_live("values after overwrites", 100);
    drop(map);
    keys.assert_all_dropped("keys after dropping the map");
    vals.assert_all_dropped("values after dropping the map");
}

/// Single-threaded exact counts through overwrites, removals, `clear`, `shrink_to_fit` and drop:
/// overwritten and removed values go as soon as no guard sees them (and not before), deleting
/// everything leaves at most 64 keys alive as tombstones, `clear` (in place, on so few) keeps
/// them within the bound, and `shrink_to_fit` drops them.
#[test]
fn overwrite_remove_clear_and_drop_count_exactly() {
    const N: u64 = 1000;
    let (keys, vals) = trackers();
    let mut map = SnapMap::new();

    let guard = map.guard();
    for k in 0..N {
        map.insert(DropKey::new(k, &keys), DropVal::new(k, &vals), &guard);
    }
    // Promote so that later removals leave tombstones in the snapshot.
    assert_eq!(map.iter(&guard).count(), N as usize);
    for k in 0..N / 2 {
        let old = map.insert(DropKey::new(k, &keys), DropVal::new(k + N, &vals), &guard);
        assert_eq!(old.map(DropVal::v), Some(k));
    }
    // `guard` still sees the overwritten values: they must not be dropped yet.
    testkit::flush_epoch();
    assert_eq!(
        vals.live(),
        (N + N / 2) as usize,
        "values dropped under a guard"
    );
    drop(guard);
    vals.assert_live("values after overwrites", N as usize);
    keys.assert_live("keys after overwrites", N as usize);

    let guard = map.guard();
    for k in 0..N {
        let removed = map.remove(&k, &guard).map(DropVal::v);
        assert_eq!(removed, Some(if k < N / 2 { k + N } else { k }));
    }
    drop(guard);
    map.__check_invariants();
    assert_eq!(map.len(), 0);
    vals.assert_all_dropped("values after removing everything");
    testkit::settle(|| keys.live() <= 64);
    assert!(
        keys.live() <= 64,
        "{} keys alive after deleting everything ({})",
        keys.live(),
        map.stats()
    );

    map.clear();
    assert!(keys.live() <= 64, "{} keys alive after clear", keys.live());
    map.shrink_to_fit();
    keys.assert_all_dropped("keys after shrink_to_fit");

    let guard = map.guard();
    for k in 0..10 {
        map.insert(DropKey::new(k, &keys), DropVal::new(k, &vals), &guard);
    }
    drop(guard);
    drop(map);
    keys.assert_all_dropped("keys after drop");
    vals.assert_all_dropped("values after drop");
}

/// The values `try_insert` and `compare_exchange` refuse are handed back to the caller, who
/// drops them exactly once; the map never drops them, and a refused key is dropped by the map.
#[test]
fn refused_values_are_handed_back_to_the_caller() {
    let (keys, vals) = trackers();
    let map = SnapMap::new();
    let guard = map.guard();
    map.insert(DropKey::new(1, &keys), DropVal::new(10, &vals), &guard);

    let err = map
        .try_insert(DropKey::new(1, &keys), DropVal::new(20, &vals), &guard)
        .unwrap_err();
    assert_eq!((err.current.v(), err.not_inserted.v()), (10, 20));
    keys.assert_live("refused key", 1);
    assert_eq!(vals.live(), 2);
    drop(err.not_inserted);
    vals.assert_live("after dropping not_inserted", 1);

    // Wrong current value: `new` comes back.
    let wrong = DropVal::new(11, &vals);
    let err = map
        .compare_exchange(&1, &wrong, DropVal::new(30, &vals), &guard)
        .unwrap_err();
    assert_eq!((err.current.map(DropVal::v), err.new.v()), (Some(10), 30));
    drop(err.new);
    drop(wrong);
    vals.assert_live("after a failed compare_exchange", 1);

    // Absent key: `new` comes back and nothing is inserted.
    let current = DropVal::new(10, &vals);
    let err = map
        .compare_exchange(&2, &current, DropVal::new(40, &vals), &guard)
        .unwrap_err();
    assert!(err.current.is_none());
    assert_eq!(err.new.v(), 40);
    drop(err.new);
    assert!(map.get(&2, &guard).is_none());
    assert_eq!(map.len(), 1);

    // A successful compare_exchange consumes `new` and retires the previous value.
    let previous = map.compare_exchange(&1, &current, DropVal::new(50, &vals), &guard);
    assert_eq!(previous.map(DropVal::v).ok(), Some(10));
    drop(current);
    drop(guard);
    vals.assert_live("after a successful compare_exchange", 1);

    // remove_if on an absent key and a refusing predicate keep everything where it was.
    let guard = map.guard();
    assert!(map.remove_if(&3, |_| true, &guard).is_none());
    assert!(map.remove_if(&1, |_| false, &guard).is_none());
    assert_eq!(map.get(&1, &guard).map(DropVal::v), Some(50));
    drop(guard);
    vals.assert_live("after refused remove_if", 1);

    drop(map);
    keys.assert_all_dropped("keys");
    vals.assert_all_dropped("values");
}

/// An owned iterator dropped half-way drops the entries it has not yielded, exactly once, also
/// when the map held tombstones and deferred garbage.
#[test]
fn partially_consumed_into_iter_drops_the_rest() {
    const N: u64 = 1000;
    let (keys, vals) = trackers();
    let map = SnapMap::new();
    {
        let guard = map.guard();
        for k in 0..N {
            map.insert(DropKey::new(k, &keys), DropVal::new(k, &vals), &guard);
        }
        assert_eq!(map.iter(&guard).count(), N as usize);
        for k in (0..N).step_by(5) {
            assert!(map.remove(&k, &guard).is_some());
        }
        for k in (1..N).step_by(5) {
            map.insert(DropKey::new(k, &keys), DropVal::new(k + N, &vals), &guard);
        }
    }
    let len = map.len();
    assert_eq!(len, (N - N / 5) as usize);

    let mut iter = map.into_iter();
    let taken: Vec<(DropKey, DropVal)> = iter.by_ref().take(300).collect();
    for (k, v) in &taken {
        assert!(k.k % 5 != 0, "removed key {} yielded", k.k);
        assert_eq!(v.v(), if k.k % 5 == 1 { k.k + N } else { k.k });
    }
    drop(iter);
    keys.assert_live("keys after dropping the iterator", 300);
    vals.assert_live("values after dropping the iterator", 300);
    drop(taken);
    keys.assert_all_dropped("keys");
    vals.assert_all_dropped("values");
}

/// `Clone`, `FromIterator` and `Extend` account for every object: duplicates in the input replace
/// earlier values (which are dropped), and the clone owns its own copies.
#[test]
fn clone_from_iter_and_extend_drop_exactly_once() {
    let (keys, vals) = trackers();
    let pairs = |range: std::ops::Range<u64>, offset: u64| {
        let (keys, vals) = (&keys, &vals);
        range.map(move |k| (DropKey::new(k, keys), DropVal::new(k + offset, vals)))
    };

    // 100 distinct keys, the last 50 given twice.
    let mut map: SnapMap<DropKey, DropVal> = pairs(0..100, 0).chain(pairs(50..100, 1000)).collect();
    assert_eq!(map.len(), 100);
    keys.assert_live("keys after collect", 100);
    vals.assert_live("values after collect", 100);

    map.extend(pairs(90..110, 2000));
    assert_eq!(map.len(), 110);
    keys.assert_live("keys after extend", 110);
    vals.assert_live("values after extend", 110);

    let copy = map.clone();
    keys.assert_live("keys after clone", 220);
    vals.assert_live("values after clone", 220);
    {
        let guard = copy.guard();
        assert_eq!(copy.get(&95, &guard).map(DropVal::v), Some(2095));
        assert_eq!(copy.get(&60, &guard).map(DropVal::v), Some(1060));
        assert_eq!(copy.get(&10, &guard).map(DropVal::v), Some(10));
    }

    drop(map);
    keys.assert_live("keys after dropping the original", 110);
    vals.assert_live("values after dropping the original", 110);
    drop(copy);
    keys.assert_all_dropped("keys");
    vals.assert_all_dropped("values");
}

/// `shrink_to_fit` frees the tombstones at once: afterwards exactly the keys of live entries
/// remain alive.
#[test]
fn shrink_to_fit_drops_tombstone_keys() {
    let (keys, vals) = trackers();
    let mut map = SnapMap::new();
    {
        let guard = map.guard();
        for k in 0..200 {
            map.insert(DropKey::new(k, &keys), DropVal::new(k, &vals), &guard);
        }
        assert_eq!(map.iter(&guard).count(), 200);
        // Few enough removals that no compaction need happen on its own.
        for k in 0..40 {
            assert!(map.remove(&k, &guard).is_some());
        }
    }
    map.shrink_to_fit();
    map.__check_invariants();
    let stats = map.stats();
    assert_eq!(
        (stats.len, stats.tombstones, stats.read_slots),
        (160, 0, 160)
    );
    keys.assert_live("keys after shrink_to_fit", 160);
    vals.assert_live("values after shrink_to_fit", 160);

    *map.get_mut(&100).expect("present") = DropVal::new(1, &vals);
    vals.assert_live("values after get_mut", 160);
    drop(map);
    keys.assert_all_dropped("keys");
    vals.assert_all_dropped("values");
}

/// Counts the zero-sized and one-byte values of [`tiny_values_drop_exactly_once`] (the only
/// test that uses them, so the statics are not shared).
static TINY_CREATED: AtomicUsize = AtomicUsize::new(0);
static TINY_DROPPED: AtomicUsize = AtomicUsize::new(0);

#[derive(Debug)]
struct Zst;

impl Zst {
    fn new() -> Self {
        TINY_CREATED.fetch_add(1, Ordering::SeqCst);
        Zst
    }
}

impl Drop for Zst {
    fn drop(&mut self) {
        TINY_DROPPED.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Debug, PartialEq)]
struct Byte(u8);

impl Byte {
    fn new(b: u8) -> Self {
        TINY_CREATED.fetch_add(1, Ordering::SeqCst);
        Byte(b)
    }
}

impl Drop for Byte {
    fn drop(&mut self) {
        TINY_DROPPED.fetch_add(1, Ordering::SeqCst);
    }
}

/// Zero-sized and 1-byte-aligned values with destructors go through every kind of store and
/// removal, and are each dropped exactly once.
#[test]
fn tiny_values_drop_exactly_once() {
    let live = || TINY_CREATED.load(Ordering::SeqCst) - TINY_DROPPED.load(Ordering::SeqCst);
    let zsts = SnapMap::new();
    let bytes = SnapMap::new();
    {
        let guard = zsts.guard();
        for k in 0..300u32 {
            assert!(zsts.insert(k, Zst::new(), &guard).is_none());
            assert!(bytes.insert(k, Byte::new(k as u8), &guard).is_none());
        }
        assert_eq!(zsts.iter(&guard).count(), 300);
        assert_eq!(bytes.iter(&guard).count(), 300);
        for k in 0..100u32 {
            // (Comparisons use patterns or the byte: a `Zst` or `Byte` literal would be an
            // uncounted value whose drop is counted.)
            assert!(matches!(zsts.insert(k, Zst::new(), &guard), Some(Zst)));
            let old = bytes.insert(k, Byte::new(1), &guard);
            assert_eq!(old.map(|b| b.0), Some(k as u8));
            assert!(matches!(zsts.remove(&(k + 100), &guard), Some(Zst)));
            let removed = bytes.remove(&(k + 100), &guard);
            assert_eq!(removed.map(|b| b.0), Some((k + 100) as u8));
            let err = zsts.try_insert(k, Zst::new(), &guard).unwrap_err();
            drop(err.not_inserted);
            assert!(bytes.update(&k, |b| Byte::new(b.0 + 1), &guard).is_some());
            let two = Byte::new(2);
            assert!(bytes
                .compare_exchange(&k, &two, Byte::new(3), &guard)
                .is_ok());
            drop(two);
        }
    }
    testkit::settle(|| live() == 400);
    assert_eq!(
        live(),
        400,
        "200 zero-sized and 200 one-byte values in the maps"
    );
    zsts.clear();
    testkit::settle(|| live() == 200);
    assert_eq!(live(), 200, "after clearing the zero-sized values");
    let pairs: Vec<(u32, Byte)> = bytes.into_iter().collect();
    assert_eq!(pairs.len(), 200);
    assert!(pairs
        .iter()
        .all(|(k, b)| b.0 == if *k < 100 { 3 } else { *k as u8 }));
    drop(pairs);
    drop(zsts);
    testkit::settle(|| live() == 0);
    assert_eq!(live(), 0, "created and dropped differ");
}

// ---------------------------------------------------------------------------------------------
// Panics in user code
// ---------------------------------------------------------------------------------------------

type TrapMap = SnapMap<TrapKey, DropVal>;

/// Keys `0..RESIDENTS` are in every test map.
const RESIDENTS: u64 = 8;

/// Where the resident keys sit when the panic strikes.
#[derive(Debug, Clone, Copy)]
enum Layout {
    /// Only in the dirty map; the read snapshot is empty.
    DirtyOnly,
    /// All in the read snapshot; no dirty map.
    Snapshot,
    /// Half in the snapshot, half only in the dirty map.
    Mixed,
    /// In the snapshot, next to a few tombstones.
    WithTombstones,
}

const LAYOUTS: [Layout; 4] = [
    Layout::DirtyOnly,
    Layout::Snapshot,
    Layout::Mixed,
    Layout::WithTombstones,
];

fn trap_map(layout: Layout, keys: &Arc<Tracker>, vals: &Arc<Tracker>) -> TrapMap {
    let map = SnapMap::new();
    let guard = map.guard();
    let insert = |range: std::ops::Range<u64>| {
        for id in range {
            let key = TrapKey::new(id, Trap::None, keys);
            assert!(map.insert(key, DropVal::new(id, vals), &guard).is_none());
        }
    };
    let promote = || assert!(map.iter(&guard).count() > 0);
    match layout {
        Layout::DirtyOnly => insert(0..RESIDENTS),
        Layout::Snapshot => {
            insert(0..RESIDENTS);
            promote();
        }
        Layout::Mixed => {
            insert(0..RESIDENTS / 2);
            promote();
            insert(RESIDENTS / 2..RESIDENTS);
        }
        Layout::WithTombstones => {
            insert(0..RESIDENTS + 4);
            promote();
            for id in RESIDENTS..RESIDENTS + 4 {
                let probe = TrapKey::new(id, Trap::None, keys);
                assert!(map.remove(&probe, &guard).is_some());
            }
        }
    }
    drop(guard);
    map
}

/// The map is consistent and fully usable, and holds exactly the resident keys with their
/// original values.
#[track_caller]
fn assert_usable(map: &TrapMap, keys: &Arc<Tracker>, vals: &Arc<Tracker>, context: &str) {
    map.__check_invariants();
    assert_eq!(map.len(), RESIDENTS as usize, "{context}: len");
    let guard = map.guard();
    for id in 0..RESIDENTS {
        let probe = TrapKey::new(id, Trap::None, keys);
        let value = map.get(&probe, &guard).map(DropVal::v);
        assert_eq!(value, Some(id), "{context}: resident {id}");
    }
    let seen: Vec<u64> = map.iter(&guard).map(|(k, v)| v.v() - k.id).collect();
    assert_eq!(seen, vec![0; RESIDENTS as usize], "{context}: iter");

    let id = 1000;
    let fresh = || TrapKey::new(id, Trap::None, keys);
    assert!(
        map.insert(fresh(), DropVal::new(id, vals), &guard)
            .is_none(),
        "{context}"
    );
    assert_eq!(
        map.get(&fresh(), &guard).map(DropVal::v),
        Some(id),
        "{context}"
    );
    assert_eq!(
        map.remove(&fresh(), &guard).map(DropVal::v),
        Some(id),
        "{context}"
    );
    assert_eq!(
        map.len(),
        RESIDENTS as usize,
        "{context}: len after insert and remove"
    );
    map.__check_invariants();
}

/// An operation run with a key that traps; it gets the key and a fresh value to pass in.
type Op = fn(&TrapMap, TrapKey, DropVal, &Guard);

/// Every operation that hashes or compares a caller's key.
const KEY_OPS: [(&str, Op); 11] = [
    ("insert", |m, k, v, g| {
        let _ = m.insert(k, v, g);
    }),
    ("try_insert", |m, k, v, g| {
        let _ = m.try_insert(k, v, g);
    }),
    ("get_or_insert", |m, k, v, g| {
        let _ = m.get_or_insert(k, v, g);
    }),
    ("get_or_insert_with", |m, k, v, g| {
        let _ = m.get_or_insert_with(k, || v, g);
    }),
    ("get", |m, k, _, g| {
        let _ = m.get(&k, g);
    }),
    ("get_key_value", |m, k, _, g| {
        let _ = m.get_key_value(&k, g);
    }),
    ("contains_key", |m, k, _, _| {
        let _ = m.contains_key(&k);
    }),
    ("remove", |m, k, _, g| {
        let _ = m.remove(&k, g);
    }),
    ("remove_if", |m, k, _, g| {
        let _ = m.remove_if(&k, |_| true, g);
    }),
    ("update", |m, k, v, g| {
        let _ = m.update(&k, |_| v.clone(), g);
    }),
    ("compare_exchange", |m, k, v, g| {
        let current = v.clone();
        let _ = m.compare_exchange(&k, &current, v, g);
    }),
];

/// Runs each key operation with a key of `trap` kind and `id`, in each layout: it must panic,
/// leave the map consistent and usable, and in the end every key and value is dropped once.
fn run_trapped_key_ops(trap: Trap, id: u64) {
    quiet_intentional_panics();
    let (keys, vals) = trackers();
    for layout in LAYOUTS {
        for (name, op) in KEY_OPS {
            let context = format!("{name} with a {trap:?} trap on id {id}, {layout:?}");
            let map = trap_map(layout, &keys, &vals);
            let guard = map.guard();
            let key = TrapKey::new(id, trap, &keys);
            let val = DropVal::new(7777, &vals);
            expect_panic(&context, || op(&map, key, val, &guard));
            drop(guard);
            // The value passed in is gone; the residents are untouched.
            vals.assert_live(&context, RESIDENTS as usize);
            assert_usable(&map, &keys, &vals, &context);
            drop(map);
            keys.assert_all_dropped(&context);
            vals.assert_all_dropped(&context);
        }
    }
}

/// A key whose `Hash` panics, passed to any operation, leaves the map unchanged and usable, and
/// the key and value passed in are dropped exactly once.
#[test]
fn panicking_hash_leaves_the_map_usable() {
    run_trapped_key_ops(Trap::Hash, 1000);
}

/// A key whose `Eq` panics just as the map finds its entry leaves the map unchanged and usable,
/// whichever table the entry is found in (in the layouts, resident 6 is in the snapshot or only
/// in the dirty map).
#[test]
fn panicking_eq_on_a_present_key_leaves_the_map_usable() {
    run_trapped_key_ops(Trap::EqOnMatch, 6);
}

/// An absent key whose `Eq` panics at the first comparison with a colliding resident leaves the
/// map unchanged and usable.
#[test]
fn panicking_eq_on_an_absent_key_leaves_the_map_usable() {
    run_trapped_key_ops(Trap::Eq, 1000);
}

/// Panicking closures in `get_or_insert_with`, `update`, `remove_if` and `retain` change nothing
/// they had not already committed, leave the map usable, and leak nothing.
#[test]
fn panicking_closures_leave_the_map_usable() {
    quiet_intentional_panics();
    let (keys, vals) = trackers();
    for layout in LAYOUTS {
        let map = trap_map(layout, &keys, &vals);
        let key = |id| TrapKey::new(id, Trap::None, &keys);
        let guard = map.guard();
        let context = format!("{layout:?}");

        expect_panic("get_or_insert_with on an absent key", || {
            map.get_or_insert_with(key(1000), || panic!("{}: closure", testkit::TRAP), &guard)
        });
        assert!(map.get(&key(1000), &guard).is_none());
        // On a present key the closure does not run.
        let current =
            map.get_or_insert_with(key(2), || panic!("closure ran for a present key"), &guard);
        assert_eq!(current.v(), 2);

        expect_panic("update", || {
            map.update(&key(3), |_| panic!("{}: closure", testkit::TRAP), &guard)
        });
        assert!(map
            .update(
                &key(1000),
                |_| panic!("closure ran for an absent key"),
                &guard
            )
            .is_none());

        expect_panic("remove_if", || {
            map.remove_if(&key(4), |_| panic!("{}: closure", testkit::TRAP), &guard)
        });
        drop(guard);
        assert_usable(&map, &keys, &vals, &context);

        // retain: entries are removed as soon as the closure rejects them, so the rejections
        // made before the panic stay done; entries it did not reach or chose to keep are
        // untouched.
        let mut visited = Vec::new();
        expect_panic("retain", || {
            map.retain(|k, v| {
                assert_eq!(k.id, v.v());
                if visited.len() == 4 {
                    panic!("{}: retain", testkit::TRAP);
                }
                visited.push(k.id);
                k.id % 2 == 0
            })
        });
        map.__check_invariants();
        assert_eq!(visited.len(), 4, "{context}: retain visits");
        let guard = map.guard();
        let mut present = 0;
        for id in 0..RESIDENTS {
            let value = map.get(&key(id), &guard).map(DropVal::v);
            if visited.contains(&id) && id % 2 == 1 {
                assert_eq!(value, None, "{context}: {id} rejected before the panic");
            } else {
                assert_eq!(value, Some(id), "{context}: {id} after retain");
            }
            present += usize::from(value.is_some());
        }
        assert_eq!(map.len(), present, "{context}: len after retain");
        assert_eq!(
            map.iter(&guard).count(),
            present,
            "{context}: iter after retain"
        );
        drop(guard);
        vals.assert_live(&context, present);

        map.retain(|_, _| true);
        assert_eq!(map.len(), present);
        drop(map);
        keys.assert_all_dropped(&context);
        vals.assert_all_dropped(&context);
    }
}

/// A value whose `Drop` panics, overwritten or removed in any way, is still dropped exactly once
/// (during deferred reclamation, which contains the panic) and the map stays usable.
#[test]
fn panicking_value_drop_is_contained_in_reclamation() {
    quiet_intentional_panics();
    let (keys, vals) = trackers();
    let map = SnapMap::new();
    let key = |k| DropKey::new(k, &keys);
    let bomb = |v| DropVal::panicking(v, &vals);
    let plain = |v| DropVal::new(v, &vals);
    {
        let guard = map.guard();
        for k in 0..100 {
            map.insert(key(k), plain(k), &guard);
        }
        assert_eq!(map.iter(&guard).count(), 100);
        for k in 100..106 {
            map.insert(key(k), bomb(k), &guard);
        }
        assert!(map.insert(key(100), plain(100), &guard).is_some());
        assert!(map.remove(&101, &guard).is_some());
        assert!(map.remove_if(&102, |_| true, &guard).is_some());
        assert!(map.update(&103, |v| plain(v.v()), &guard).is_some());
        let current = plain(104);
        assert!(map
            .compare_exchange(&104, &current, plain(104), &guard)
            .is_ok());
        drop(current);
        map.retain(|k, _| k.k != 105);
    }
    // Every bomb went away, and its drop panicked somewhere in reclamation.
    vals.assert_live("values after replacing the bombs", 103);
    map.__check_invariants();
    assert_eq!(map.len(), 103);
    let guard = map.guard();
    for k in 0..106 {
        let expected = (k != 101 && k != 102 && k != 105).then_some(k);
        assert_eq!(map.get(&k, &guard).map(DropVal::v), expected, "key {k}");
    }
    assert!(map.insert(key(200), plain(200), &guard).is_none());
    drop(guard);

    // `clear` retires every value, bombs included, without panicking itself. A shard left
    // with so few entries that it clears them in place keeps their tombstones' keys (within the
    // bound); `shrink_to_fit` drops them.
    map.insert(key(300), bomb(300), &map.guard());
    map.clear();
    assert!(map.is_empty());
    map.__check_invariants();
    vals.assert_all_dropped("values after clear");
    let tombstones = map.stats().tombstones;
    assert!(tombstones <= 32, "{}", map.stats());
    keys.assert_live("keys after clear, but the tombstones'", tombstones);
    let mut map = map;
    map.shrink_to_fit();
    keys.assert_all_dropped("keys after clear and shrink_to_fit");
    drop(map);
    assert_eq!(vals.double_drops() + keys.double_drops(), 0);
}

/// When the map drops holding a value whose `Drop` panics, the panic reaches the caller only
/// after every other key and value (live entries and tombstones alike) has been dropped.
#[test]
fn panicking_value_drop_at_map_drop_drops_everything_else() {
    quiet_intentional_panics();
    for layout in LAYOUTS {
        let (keys, vals) = trackers();
        let map = trap_map(layout, &keys, &vals);
        {
            let guard = map.guard();
            let key = TrapKey::new(RESIDENTS / 2, Trap::None, &keys);
            map.insert(key, DropVal::panicking(0, &vals), &guard);
        }
        let result = catch_unwind(AssertUnwindSafe(|| drop(map)));
        assert!(
            result.is_err(),
            "{layout:?}: the value's panic did not propagate"
        );
        keys.assert_all_dropped(&format!("keys, {layout:?}"));
        vals.assert_all_dropped(&format!("values, {layout:?}"));
    }
}
