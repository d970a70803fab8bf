//! Iteration (`iter`, `keys`, `values`) and bulk operations (`retain`, `clear`, `len`).

use std::collections::{BTreeMap, HashSet};

use crate::states::{mixed_map, promote, with_map, KEY};
use crate::{entries, pairs, within_deadline, Map, ABSENT};

/// `iter`, `keys`, `values`, `len` and `is_empty` see exactly the live entries, under a guard and
/// through a `MapRef`, whichever state the key is in.
#[test]
fn iteration_and_len_see_live_entries_in_every_state() {
    with_map(|case| {
        let map = &case.map;
        let g = map.guard();
        let mut keys: Vec<_> = map.keys(&g).copied().collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            case.model.keys().copied().collect::<Vec<_>>(),
            "{case}"
        );
        let mut values: Vec<_> = map.values(&g).copied().collect();
        values.sort_unstable();
        let mut expected: Vec<_> = case.model.values().copied().collect();
        expected.sort_unstable();
        assert_eq!(values, expected, "{case}");
        let m = map.pin();
        let mut pinned: Vec<_> = m.iter().map(|(&k, &v)| (k, v)).collect();
        pinned.sort_unstable();
        assert_eq!(pinned, case.pairs(), "{case}");
        assert_eq!(m.len(), case.model.len(), "{case}");
        drop(m);
        assert_eq!(entries(map), case.pairs(), "{case}");
        assert_eq!(map.len(), case.model.len(), "{case}");
        assert_eq!(map.is_empty(), case.model.is_empty(), "{case}");
        map.__check_invariants();
    });
}

/// `len` and `is_empty` stay exact through a store, an overwrite and removals of the key,
/// whichever state it starts in, until the map is empty.
#[test]
fn len_and_is_empty_are_exact() {
    with_map(|case| {
        let (map, mut model) = (&case.map, case.model.clone());
        let g = map.guard();
        for (k, v) in [(KEY, 7), (KEY, 8)] {
            map.insert(k, v, &g);
            model.insert(k, v);
            assert_eq!(map.len(), model.len(), "{case}");
        }
        map.remove(&KEY, &g);
        map.remove(&KEY, &g);
        model.remove(&KEY);
        assert_eq!(map.len(), model.len(), "{case}");
        for k in model.keys() {
            map.remove(k, &g);
        }
        assert_eq!((map.len(), map.is_empty()), (0, true), "{case}");
        assert_eq!(entries(map), [], "{case}");
        map.__check_invariants();
    });
}

/// `retain` judges every live entry once and keeps exactly those it accepts, whichever state
/// the key is in.
#[test]
fn retain_judges_every_state() {
    with_map(|case| {
        let mut model = case.model.clone();
        let mut judged = Vec::new();
        case.map.retain(|&k, &v| {
            judged.push(k);
            k % 2 == 1 || v == 0
        });
        judged.sort_unstable();
        assert_eq!(judged, model.keys().copied().collect::<Vec<_>>(), "{case}");
        model.retain(|&k, &mut v| k % 2 == 1 || v == 0);
        assert_eq!(entries(&case.map), pairs(&model), "{case}");
        assert_eq!(case.map.len(), model.len(), "{case}");
        case.map.__check_invariants();
    });
}

/// `clear` empties the map whichever state the key is in, and the key can be stored again.
#[test]
fn clear_empties_every_state() {
    with_map(|case| {
        let map = &case.map;
        map.clear();
        assert!(map.is_empty(), "{case}");
        assert_eq!(entries(map), [], "{case}");
        let g = map.guard();
        assert_eq!(map.get(&KEY, &g), None, "{case}");
        assert_eq!(map.insert(KEY, 5, &g), None, "{case}");
        assert_eq!(entries(map), [(KEY, 5)], "{case}");
        map.__check_invariants();
    });
}

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

/// An iterator driven from outside (`next`) and from inside (`fold`, and what is built on it)
/// yields the same entries, also when `next` has already taken some of them, in every state of
/// the key and on the mixed map (tables, indexes and tombstones in several shards).
#[test]
fn iteration_by_next_and_by_fold_agree() {
    let check = |map: &Map, what: &str| {
        let g = map.guard();
        let by_next = entries(map);
        let mut by_fold = map.iter(&g).fold(Vec::new(), |mut all, (&k, &v)| {
            all.push((k, v));
            all
        });
        by_fold.sort_unstable();
        assert_eq!(by_fold, by_next, "{what}: fold");
        assert_eq!(map.iter(&g).count(), by_next.len(), "{what}: count");
        let keys: u64 = map.keys(&g).map(|&k| u64::from(k)).sum();
        let values: u64 = map.values(&g).map(|&v| u64::from(v)).sum();
        let expected =
            |f: fn(&(u32, u32)) -> u32| by_next.iter().map(|e| u64::from(f(e))).sum::<u64>();
        assert_eq!(keys, expected(|e| e.0), "{what}: keys");
        assert_eq!(values, expected(|e| e.1), "{what}: values");
        for taken in [1, by_next.len() / 2, by_next.len()] {
            let mut iter = map.iter(&g);
            let mut split: Vec<_> = iter.by_ref().take(taken).map(|(&k, &v)| (k, v)).collect();
            iter.for_each(|(&k, &v)| split.push((k, v)));
            split.sort_unstable();
            assert_eq!(split, by_next, "{what}: {taken} by next, the rest by fold");
        }
    };
    with_map(|case| check(&case.map, &case.to_string()));
    check(&mixed_map().0, "mixed map");
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

/// `clear` empties the map from any state, and the map works afterwards. A map this small (16
/// keys, 6 tombstones, one shard) is cleared in place: what stays indexed is tombstones, within
/// the bound; a map of more keys than the bound publishes an empty snapshot, with no tombstone.
#[test]
fn clear_empties_and_map_still_works() {
    let (map, _) = mixed_map();
    let before = map.stats();
    map.clear();
    assert!(map.is_empty());
    assert_eq!(map.len(), 0);
    assert_eq!(entries(&map), []);
    let stats = map.stats();
    assert_eq!(stats.len, 0, "{stats}");
    assert_eq!(
        stats.read_slots + stats.dirty_len,
        stats.tombstones,
        "{stats}"
    );
    assert!(stats.tombstones <= 64, "{stats}");
    assert_eq!(
        stats.promotions, before.promotions,
        "a small clear republished: {stats}"
    );
    map.__check_invariants();

    let mut large: Map = snapmap::SnapMap::builder().shards(1).build();
    large.extend((0..200).map(|k| (k, k)));
    large.clear();
    let stats = large.stats();
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
    large.__check_invariants();
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
