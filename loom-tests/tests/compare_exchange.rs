//! Race 7: `compare_exchange` against `remove`, and `update` against `update`: no lost
//! increment, no exchange on a removed key.
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use loom_tests::{assert_one_of, contents, explore, promoted};

/// `a` = 1. One thread exchanges 1 for 2, the other removes `a`. Either the exchange comes
/// first (and the removal takes 2), or the removal does (and the exchange finds no key and
/// never inserts one).
#[test]
fn compare_exchange_vs_remove() {
    explore("compare_exchange_vs_remove", || {
        let map = Arc::new(promoted([(b'a', 1)]));
        let remover = {
            let map = map.clone();
            thread::spawn(move || map.pin().remove(&b'a').copied())
        };
        let exchanged = match map.pin().compare_exchange(&b'a', &1, 2) {
            Ok(previous) => Ok(*previous),
            Err(err) => {
                assert_eq!(err.new, 2, "the rejected value comes back");
                Err(err.current.copied())
            }
        };
        let removed = remover.join().unwrap();

        assert_one_of(
            (exchanged, removed),
            &[(Ok(1), Some(2)), (Err(None), Some(1))],
        );
        map.__check_invariants();
        assert_eq!(contents(&map), [], "the exchange inserted a key");
    });
}

/// `a` = 0 and two threads increment it with `update`: both increments land, and each caller
/// gets the value its own increment produced.
#[test]
fn update_vs_update() {
    explore("update_vs_update", || {
        let map = Arc::new(promoted([(b'a', 0u32)]));
        let other = {
            let map = map.clone();
            thread::spawn(move || *map.pin().update(&b'a', |v| v + 1).unwrap())
        };
        let here = *map.pin().update(&b'a', |v| v + 1).unwrap();
        let there = other.join().unwrap();

        assert_one_of((here, there), &[(1, 2), (2, 1)]);
        assert_eq!(contents(&map), [(b'a', 2)], "an increment was lost");
        map.__check_invariants();
    });
}
