//! Single-key writes: `insert`, `get_or_insert`, `try_insert`, `get_or_insert_with`, `remove`,
//! `remove_if`, `compare_exchange` and `update`, each run on the key in every internal state.

use std::cell::Cell;

use snapmap::{CompareExchangeError, OccupiedError, SnapMap};

use crate::states::{with_absent_key, with_map, Case, KEY};
use crate::{entries, Map};

/// A value no case stores.
const NEW: u32 = 99;

/// Checks the map against the case's model after `KEY` was set to `value` (or removed).
#[track_caller]
fn assert_key_now(case: &mut Case, value: Option<u32>, what: &str) {
    match value {
        Some(v) => case.model.insert(KEY, v),
        None => case.model.remove(&KEY),
    };
    let map = &case.map;
    assert_eq!(
        map.get(&KEY, &map.guard()).copied(),
        value,
        "{what}: {case}"
    );
    assert_eq!(map.len(), case.model.len(), "{what}: {case}");
    assert_eq!(entries(map), case.pairs(), "{what}: {case}");
    map.__check_invariants();
}

/// `insert` returns the previous value, if any, and stores the new one.
#[test]
fn insert_returns_previous_value() {
    with_map(|mut case| {
        let previous = case.map.insert(KEY, NEW, &case.map.guard()).copied();
        assert_eq!(previous, case.value(), "{case}");
        assert_key_now(&mut case, Some(NEW), "insert");
    });
}

/// `get_or_insert` returns the current value and stores ours only when the key is absent.
#[test]
fn get_or_insert_keeps_current_value() {
    with_map(|mut case| {
        let got = *case.map.get_or_insert(KEY, NEW, &case.map.guard());
        let expected = case.value().unwrap_or(NEW);
        assert_eq!(got, expected, "{case}");
        assert_key_now(&mut case, Some(expected), "get_or_insert");
    });
}

/// `try_insert` stores into an absent key, and otherwise hands back the current value and the
/// value it did not insert.
#[test]
fn try_insert_reports_occupied() {
    with_map(|mut case| {
        let g = case.map.guard();
        match (case.map.try_insert(KEY, NEW, &g), case.value()) {
            (Ok(&stored), None) => assert_eq!(stored, NEW, "{case}"),
            (
                Err(OccupiedError {
                    current,
                    not_inserted,
                }),
                Some(value),
            ) => {
                assert_eq!((*current, not_inserted), (value, NEW), "{case}");
                let err = case.map.try_insert(KEY, NEW + 1, &g).unwrap_err();
                assert!(format!("{err:?}").contains("100"), "{err:?}");
            }
            (got, _) => panic!("{case}: try_insert gave {got:?}"),
        }
        drop(g);
        let now = case.value().or(Some(NEW));
        assert_key_now(&mut case, now, "try_insert");
    });
}

/// `get_or_insert_with` runs its closure once when the key is absent and never when present.
#[test]
fn get_or_insert_with_runs_closure_only_when_absent() {
    with_map(|mut case| {
        let calls = Cell::new(0);
        let make = || {
            calls.set(calls.get() + 1);
            NEW
        };
        let got = *case.map.get_or_insert_with(KEY, make, &case.map.guard());
        let expected = case.value().unwrap_or(NEW);
        assert_eq!(got, expected, "{case}");
        assert_eq!(calls.get(), usize::from(case.value().is_none()), "{case}");
        let again = *case
            .map
            .get_or_insert_with(KEY, || unreachable!(), &case.map.guard());
        assert_eq!(again, expected, "{case}");
        assert_key_now(&mut case, Some(expected), "get_or_insert_with");
    });
}

/// `remove` returns the removed value once, then `None`.
#[test]
fn remove_returns_value_once() {
    with_map(|mut case| {
        let g = case.map.guard();
        assert_eq!(case.map.remove(&KEY, &g).copied(), case.value(), "{case}");
        assert_eq!(case.map.remove(&KEY, &g), None, "{case}");
        drop(g);
        assert_key_now(&mut case, None, "remove");
    });
}

/// `remove_if` shows its predicate the current value, once, and removes only when it accepts.
#[test]
fn remove_if_obeys_predicate() {
    with_map(|mut case| {
        let g = case.map.guard();
        let value = case.value();
        let mut seen = Vec::new();
        let refused = case.map.remove_if(
            &KEY,
            |&v| {
                seen.push(v);
                false
            },
            &g,
        );
        assert_eq!(refused, None, "{case}");
        assert_eq!(seen, Vec::from_iter(value), "{case}");
        assert_eq!(case.map.get(&KEY, &g).copied(), value, "{case}");
        let other = value.map_or(0, |v| v + 1);
        assert_eq!(
            case.map.remove_if(&KEY, |&v| v == other, &g),
            None,
            "{case}"
        );
        let accepted = case.map.remove_if(&KEY, |&v| Some(v) == value, &g).copied();
        assert_eq!(accepted, value, "{case}");
        drop(g);
        assert_key_now(&mut case, None, "remove_if");
    });
}

/// `compare_exchange` swaps when the current value matches and returns the previous one;
/// otherwise it returns the current value (`None` when absent, and it never inserts) and gives
/// `new` back.
#[test]
fn compare_exchange_swaps_only_on_a_match() {
    with_map(|mut case| {
        let g = case.map.guard();
        let value = case.value();
        let wrong = value.map_or(0, |v| v + 1);
        let CompareExchangeError { current, new } = case
            .map
            .compare_exchange(&KEY, &wrong, NEW, &g)
            .unwrap_err();
        assert_eq!((current.copied(), new), (value, NEW), "{case}");
        let now = match value {
            Some(v) => {
                let previous = case.map.compare_exchange(&KEY, &v, NEW, &g).unwrap();
                assert_eq!(*previous, v, "{case}");
                Some(NEW)
            }
            None => None,
        };
        drop(g);
        assert_key_now(&mut case, now, "compare_exchange");
    });
}

/// `compare_exchange` compares values that are not `Copy` by `PartialEq`, and hands a rejected
/// `new` back.
#[test]
fn compare_exchange_compares_owned_values() {
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

/// `update` returns the new value, or `None` for an absent key (and never inserts).
#[test]
fn update_returns_new_value() {
    with_map(|mut case| {
        let value = case.value();
        let got = case.map.update(&KEY, |v| v * 2, &case.map.guard()).copied();
        assert_eq!(got, value.map(|v| v * 2), "{case}");
        assert_key_now(&mut case, got, "update");
    });
}

/// An operation on a map, checking its own result.
type MapOp = dyn Fn(&Map);

/// `compare_exchange`, `remove_if`, `update` and `remove` of an absent key fail and never
/// insert, whichever way the key is absent.
#[test]
fn conditional_writes_of_absent_keys_do_not_insert() {
    let compare_exchange = |map: &Map| {
        let g = map.guard();
        let err = map.compare_exchange(&KEY, &1, NEW, &g).unwrap_err();
        assert_eq!((err.current, err.new), (None, NEW));
    };
    let remove_if = |map: &Map| {
        let mut pred_calls = 0;
        let pred = |_: &u32| {
            pred_calls += 1;
            true
        };
        assert_eq!(map.remove_if(&KEY, pred, &map.guard()), None);
        assert_eq!(pred_calls, 0);
    };
    let update = |map: &Map| assert_eq!(map.update(&KEY, |v| v + 1, &map.guard()), None);
    let remove = |map: &Map| assert_eq!(map.remove(&KEY, &map.guard()), None);
    let ops: [(&str, &MapOp); 4] = [
        ("compare_exchange", &compare_exchange),
        ("remove_if", &remove_if),
        ("update", &update),
        ("remove", &remove),
    ];
    for (name, op) in ops {
        with_absent_key(|mut case| {
            op(&case.map);
            assert_key_now(&mut case, None, name);
        });
    }
}
