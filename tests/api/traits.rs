//! Exclusive access (`get_mut`, `shrink_to_fit`) and the trait implementations.

#[cfg(feature = "serde")]
use std::collections::BTreeMap;

use snapmap::SnapMap;
use testkit::{DropKey, DropVal, Tracker};

use crate::states::mixed_map;
use crate::{entries, pairs, Map, Seeded};

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

fn assert_send_sync<T: Send + Sync>() {}

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

/// `Extend` through a shared reference: two threads extend one map at once, over more pairs
/// than one guard is kept for; every pair lands once, later pairs replace earlier ones.
#[test]
fn extend_through_a_shared_reference() {
    let map: Map = SnapMap::builder().shards(4).build();
    std::thread::scope(|s| {
        for t in 0..2u32 {
            let mut shared = &map;
            s.spawn(move || shared.extend((0..3000).map(|i| (t * 10_000 + i, i))));
        }
    });
    assert_eq!(map.len(), 6000);
    let mut shared = &map;
    shared.extend([(5, 50), (10_005, 51)]);
    assert_eq!(map.len(), 6000);
    assert_eq!(
        (map.get_cloned(&5), map.get_cloned(&10_005)),
        (Some(50), Some(51))
    );
    map.__check_invariants();
}

/// Maps are equal when they hold the same keys with equal values, whatever their internal
/// states and shard counts.
#[test]
fn maps_compare_by_contents() {
    let (map, model) = mixed_map();
    let same: Map = SnapMap::builder().shards(4).build();
    for (&k, &v) in &model {
        same.pin().insert(k, v);
    }
    // Both ways: `eq` walks its left side and looks the keys up in the right one.
    assert_eq!(map, same);
    assert_eq!(same, map);
    same.pin().insert(10, 0);
    assert!(map != same, "a different value");
    same.pin().insert(10, model[&10]);
    same.pin().insert(9999, 1);
    assert_ne!(map, same, "an extra key");
    assert_ne!(same, map, "an extra key");
    same.pin().remove(&9999);
    same.pin().remove(&101);
    same.pin().insert(102, model[&101]);
    assert!(map != same, "same length, another key");
    let empty: Map = Map::new();
    assert_eq!(empty, Map::new());
}
