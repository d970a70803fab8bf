//! Race 5: iteration against a promotion and against a removal: no key twice, every key that
//! stays present is yielded, no freed memory is touched.
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use loom_tests::{assert_one_of, explore, flush_epoch, promoted};

/// The keys and values an iteration yielded through `next`, sorted, after checking that no key
/// came twice.
fn yielded<'g>(iter: impl Iterator<Item = (&'g u8, &'g u32)>) -> Vec<(u8, u32)> {
    distinct(iter.map(|(k, v)| (*k, *v)).collect())
}

/// The same through `fold`, the loop that `for_each`, `count` and the rest run: each table's
/// and each index's own walk.
fn folded<'g>(iter: impl Iterator<Item = (&'g u8, &'g u32)>) -> Vec<(u8, u32)> {
    distinct(iter.fold(Vec::new(), |mut seen, (k, v)| {
        seen.push((*k, *v));
        seen
    }))
}

/// `seen`, sorted, after checking that no key came twice.
fn distinct(mut seen: Vec<(u8, u32)>) -> Vec<(u8, u32)> {
    seen.sort();
    let before = seen.len();
    seen.dedup_by_key(|(k, _)| *k);
    assert_eq!(seen.len(), before, "a key was yielded twice: {seen:?}");
    seen
}

/// `a` is in the snapshot and `b` only in the dirty table, so the iteration promotes first.
/// The other thread stores a new key `c` (building a new dirty table) and iterates too, which
/// promotes again, possibly while the first iteration walks the snapshot this retires; then it
/// tries to reclaim that snapshot.
#[test]
fn iteration_vs_promotion() {
    explore("iteration_vs_promotion", || {
        let map = Arc::new(promoted([(b'a', 1)]));
        map.pin().insert(b'b', 2);

        let writer = {
            let map = map.clone();
            thread::spawn(move || {
                assert_eq!(map.pin().insert(b'c', 3), None);
                let seen = yielded(map.iter(&map.guard()));
                assert_eq!(seen, [(b'a', 1), (b'b', 2), (b'c', 3)]);
                flush_epoch(2);
            })
        };
        // This iteration, racing the promotion, walks the index of `b` by `fold`; the writer's
        // and the last ones walk by `next`.
        let guard = map.guard();
        let seen = folded(map.iter(&guard));
        assert_one_of(
            seen,
            &[
                vec![(b'a', 1), (b'b', 2)],
                vec![(b'a', 1), (b'b', 2), (b'c', 3)],
            ],
        );
        drop(guard);
        writer.join().unwrap();

        map.__check_invariants();
        let seen = yielded(map.iter(&map.guard()));
        assert_eq!(seen, [(b'a', 1), (b'b', 2), (b'c', 3)]);
    });
}

/// Both keys are in the snapshot. The other thread removes `a` and tries to reclaim its value
/// while the iteration may hold a reference to it; then it stores `a` again. The iteration
/// yields `b` (present throughout) and `a` at most once, with a value it had.
#[test]
fn iteration_vs_removal() {
    explore("iteration_vs_removal", || {
        let map = Arc::new(promoted([(b'a', 1), (b'b', 2)]));

        let remover = {
            let map = map.clone();
            thread::spawn(move || {
                assert_eq!(map.pin().remove(&b'a'), Some(&1));
                flush_epoch(2);
                assert_eq!(map.pin().insert(b'a', 11), None);
            })
        };
        let guard = map.guard();
        let seen = yielded(map.iter(&guard));
        assert_one_of(
            seen,
            &[
                vec![(b'b', 2)],
                vec![(b'a', 1), (b'b', 2)],
                vec![(b'a', 11), (b'b', 2)],
            ],
        );
        drop(guard);
        remover.join().unwrap();

        map.__check_invariants();
        assert_eq!(yielded(map.iter(&map.guard())), [(b'a', 11), (b'b', 2)]);
    });
}
