//! Race 3: a delete against a store of the same key: a store is never lost, a delete never
//! resurrects a value.
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use loom_tests::{assert_one_of, contents, explore, promoted};

/// `a` = 1 is in the snapshot. One thread removes `a` and then stores the new key `b` (whose
/// dirty build expunges `a` if it is a tombstone by then); the other stores `a` = 3. The two
/// operations on `a` must linearize one way or the other, and the final map must agree.
#[test]
fn delete_vs_store() {
    explore("delete_vs_store", || {
        let map = Arc::new(promoted([(b'a', 1)]));

        let deleter = {
            let map = map.clone();
            thread::spawn(move || {
                let removed = map.pin().remove(&b'a').copied();
                assert_eq!(map.pin().insert(b'b', 2), None);
                removed
            })
        };
        let stored_over = map.pin().insert(b'a', 3).copied();
        let removed = deleter.join().unwrap();

        let a = map.pin().get(&b'a').copied();
        assert_one_of(
            (stored_over, removed, a),
            &[
                // The store first: the delete removes the stored value.
                (Some(1), Some(3), None),
                // The delete first: the store recreates the key.
                (None, Some(1), Some(3)),
            ],
        );
        map.__check_invariants();
        let expected: Vec<_> = a
            .map(|v| (b'a', v))
            .into_iter()
            .chain([(b'b', 2)])
            .collect();
        assert_eq!(contents(&map), expected);
        map.__check_invariants();
    });
}
