//! Unusual value types: byte-aligned, zero-sized, zero-sized with a `Drop`.

use std::fmt::Debug;
use std::sync::atomic::{AtomicUsize, Ordering};

use snapmap::SnapMap;
use testkit::settle;

use crate::states::promote;
use crate::ABSENT;

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
