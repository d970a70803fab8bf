//! Single-key reads: `get`, `get_key_value`, `contains_key`, `get_cloned`, and borrowed keys.

use std::panic::{catch_unwind, AssertUnwindSafe};

use snapmap::SnapMap;

use crate::states::{with_map, KEY};
use crate::{entries, ABSENT};

/// Every read finds the key exactly when it is present, with its value, whichever state it is
/// in, under a guard and through a `MapRef`; other keys read as they are.
#[test]
fn reads_see_the_key_in_every_state() {
    with_map(|case| {
        let map = &case.map;
        let g = map.guard();
        let value = case.value();
        assert_eq!(map.get(&KEY, &g).copied(), value, "{case}");
        assert_eq!(
            map.get_key_value(&KEY, &g).map(|(&k, &v)| (k, v)),
            value.map(|v| (KEY, v)),
            "{case}"
        );
        assert_eq!(map.contains_key(&KEY), value.is_some(), "{case}");
        assert_eq!(map.get_cloned(&KEY), value, "{case}");
        let m = map.pin();
        assert_eq!(m.get(&KEY).copied(), value, "{case}");
        assert_eq!(m.contains_key(&KEY), value.is_some(), "{case}");
        drop(m);
        assert_eq!(map.get(&ABSENT, &g), None, "{case}");
        for (&k, &v) in &case.model {
            assert_eq!(map.get(&k, &g), Some(&v), "{case}: key {k}");
        }
        assert_eq!(entries(map), case.pairs(), "{case}");
        map.__check_invariants();
    });
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

/// Only guards of crossbeam-epoch's global collector protect the map: a guard of another
/// collector is refused with a panic, before any lookup, on reads and writes alike.
#[test]
fn a_guard_of_another_collector_is_refused() {
    let map = SnapMap::new();
    map.pin().insert(1, 10);
    let collector = crossbeam_epoch::Collector::new();
    let handle = collector.register();
    let foreign = handle.pin();
    for (what, result) in [
        (
            "get",
            catch_unwind(AssertUnwindSafe(|| map.get(&1, &foreign).copied())).map(drop),
        ),
        (
            "insert",
            catch_unwind(AssertUnwindSafe(|| map.insert(2, 20, &foreign).copied())).map(drop),
        ),
    ] {
        let payload = result.expect_err(what);
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
        assert!(
            message.is_some_and(|m| m.contains("another epoch collector")),
            "{what}: {message:?}"
        );
    }
    assert_eq!(map.len(), 1, "the refused insert stored nothing");
    assert_eq!(map.get(&1, &map.guard()), Some(&10));
    assert_eq!(map.get(&1, &crossbeam_epoch::pin()), Some(&10));
}
