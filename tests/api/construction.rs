//! Construction, the hasher, guards and the `MapRef` handle.

use std::collections::BTreeSet;
use std::hash::BuildHasher;

use snapmap::{CompareExchangeError, Guard, MapRef, OccupiedError, SnapMap};

use crate::states::promote;
use crate::{entries, Colliding, Map, Seeded, ABSENT};

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
