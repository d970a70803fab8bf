//! Multi-threaded stress tests: every operation of the shared API runs concurrently with every
//! other, and the observations each thread makes must be consistent with a linearizable map.
//!
//! Sized for a small machine and a debug build: every loop is bounded by an operation count.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Barrier;
use std::thread;

use snapmap::{Guard, SnapMap};
use testkit::XorShift;

/// Keys `1..=KEYS` are used by the mixed workload.
const KEYS: u64 = 1024;

/// Threads of the mixed workload.
const THREADS: u64 = 6;

/// Operations per thread in the mixed workload.
const OPS: u64 = testkit::scaled(20_000);

/// Keys `t * OWNED + 1 ..= (t + 1) * OWNED` belong to thread `t`: only it writes them, it never
/// removes them, and nobody else writes them.
const OWNED: u64 = 16;

/// The last owned key; keys above it are shared by all threads.
const LAST_OWNED: u64 = THREADS * OWNED;

/// Panics unless `v` is a non-zero multiple of `k`, the invariant of the mixed workload.
#[track_caller]
fn check_multiple(k: u64, v: u64) {
    assert!(
        v != 0 && v % k == 0,
        "value {v} is not a multiple of its key {k}"
    );
}

fn owner(k: u64) -> Option<u64> {
    (k <= LAST_OWNED).then(|| (k - 1) / OWNED)
}

fn owned_index(k: u64) -> usize {
    ((k - 1) % OWNED) as usize
}

/// A random non-zero multiple of `k`.
fn multiple(rng: &mut XorShift, k: u64) -> u64 {
    k * (1 + rng.below(1000))
}

/// A random shared key.
fn shared_key(rng: &mut XorShift) -> u64 {
    LAST_OWNED + 1 + rng.below(KEYS - LAST_OWNED)
}

/// One pass of `iter`, writing shared keys now and then meanwhile: no key twice, every value a
/// multiple of its key, every owned key present, and the keys owned by the iterating thread
/// (which nobody writes meanwhile) show exactly the values that thread last wrote.
fn check_iter_pass(
    map: &SnapMap<u64, u64>,
    guard: &Guard,
    rng: &mut XorShift,
    me: u64,
    expected: &[u64],
) {
    let mut seen = HashSet::new();
    for (&k, &v) in map.iter(guard) {
        assert!((1..=KEYS).contains(&k), "unknown key {k}");
        check_multiple(k, v);
        assert!(seen.insert(k), "iter yielded key {k} twice in one pass");
        if owner(k) == Some(me) {
            assert_eq!(v, expected[owned_index(k)], "own key {k} in iter");
        }
        if rng.one_in(8) {
            let k = shared_key(rng);
            shared_op(map, guard, rng, k);
        }
    }
    for k in 1..=LAST_OWNED {
        assert!(seen.contains(&k), "owned key {k} missing from an iter pass");
    }
}

/// The same checks for `keys` and `values`.
fn check_keys_and_values_pass(map: &SnapMap<u64, u64>, guard: &Guard) {
    let mut seen = HashSet::new();
    for &k in map.keys(guard) {
        assert!((1..=KEYS).contains(&k), "unknown key {k}");
        assert!(seen.insert(k), "keys yielded key {k} twice in one pass");
    }
    for k in 1..=LAST_OWNED {
        assert!(seen.contains(&k), "owned key {k} missing from a keys pass");
    }
    let values = map.values(guard).inspect(|&&v| assert_ne!(v, 0)).count();
    assert!(
        values >= LAST_OWNED as usize,
        "values pass missed owned keys"
    );
}

/// One operation on a key owned by this thread. `expected` is the value this thread last stored
/// there; since no other thread writes the key, every operation must observe exactly that value.
fn owned_op(
    map: &SnapMap<u64, u64>,
    guard: &Guard,
    rng: &mut XorShift,
    k: u64,
    expected: &mut u64,
) {
    let e = *expected;
    match rng.below(9) {
        0 => assert_eq!(map.get(&k, guard), Some(&e), "get own {k}"),
        1 => {
            let v = multiple(rng, k);
            assert_eq!(map.insert(k, v, guard), Some(&e), "insert own {k}");
            *expected = v;
        }
        2 => {
            assert_eq!(
                map.update(&k, |v| v + k, guard),
                Some(&(e + k)),
                "update own {k}"
            );
            *expected = e + k;
        }
        3 => {
            let v = multiple(rng, k);
            assert_eq!(map.compare_exchange(&k, &e, v, guard).ok(), Some(&e));
            *expected = v;
        }
        4 => {
            // A compare_exchange with the wrong current value fails and hands `new` back.
            let v = multiple(rng, k);
            let err = map.compare_exchange(&k, &(e + k), v, guard).unwrap_err();
            assert_eq!(
                (err.current, err.new),
                (Some(&e), v),
                "failed cas on own {k}"
            );
        }
        5 => {
            let v = multiple(rng, k);
            let err = map.try_insert(k, v, guard).unwrap_err();
            assert_eq!(
                (err.current, err.not_inserted),
                (&e, v),
                "try_insert own {k}"
            );
            assert_eq!(map.get_or_insert(k, v, guard), &e, "get_or_insert own {k}");
            let got = map.get_or_insert_with(k, || panic!("key {k} is present"), guard);
            assert_eq!(got, &e, "get_or_insert_with own {k}");
        }
        6 => {
            assert_eq!(
                map.remove_if(&k, |_| false, guard),
                None,
                "remove_if own {k}"
            );
            assert_eq!(map.get_key_value(&k, guard), Some((&k, &e)));
            assert!(map.contains_key(&k));
        }
        7 => {
            // A reference taken before an overwrite keeps showing the old value.
            let old = map.get(&k, guard).expect("own key present");
            let v = multiple(rng, k);
            assert_eq!(map.insert(k, v, guard), Some(&e));
            assert_eq!(*old, e, "a reference changed under its guard");
            *expected = v;
        }
        _ => {
            let pinned = map.pin();
            assert_eq!(pinned.get(&k), Some(&e), "get through pin() on own {k}");
        }
    }
}

/// One operation on a key that every thread reads and writes.
fn shared_op(map: &SnapMap<u64, u64>, guard: &Guard, rng: &mut XorShift, k: u64) {
    match rng.below(12) {
        0 | 1 => {
            if let Some(&v) = map.get(&k, guard) {
                check_multiple(k, v);
            }
        }
        2 => {
            if let Some(&old) = map.insert(k, multiple(rng, k), guard) {
                check_multiple(k, old);
            }
        }
        3 => {
            if let Some(&old) = map.remove(&k, guard) {
                check_multiple(k, old);
            }
        }
        4 => {
            if let Some(&new) = map.update(&k, |&v| v + k, guard) {
                check_multiple(k, new);
            }
        }
        5 => {
            let Some(&current) = map.get(&k, guard) else {
                return;
            };
            let v = multiple(rng, k);
            match map.compare_exchange(&k, &current, v, guard) {
                Ok(&previous) => assert_eq!(previous, current, "cas on {k}"),
                Err(err) => {
                    assert_eq!(err.new, v, "cas gives back new");
                    if let Some(&now) = err.current {
                        check_multiple(k, now);
                    }
                }
            }
        }
        6 => {
            let v = multiple(rng, k);
            match map.try_insert(k, v, guard) {
                Ok(&stored) => assert_eq!(stored, v, "try_insert on {k}"),
                Err(err) => {
                    assert_eq!(err.not_inserted, v, "try_insert gives back the value");
                    check_multiple(k, *err.current);
                }
            }
        }
        7 => check_multiple(k, *map.get_or_insert(k, multiple(rng, k), guard)),
        8 => {
            let v = multiple(rng, k);
            check_multiple(k, *map.get_or_insert_with(k, || v, guard));
        }
        9 => {
            if let Some(&removed) = map.remove_if(&k, |&v| v % 2 == 0, guard) {
                check_multiple(k, removed);
                assert_eq!(
                    removed % 2,
                    0,
                    "remove_if removed a value its predicate refused"
                );
            }
        }
        10 => {
            if let Some((&key, &v)) = map.get_key_value(&k, guard) {
                assert_eq!(key, k);
                check_multiple(k, v);
            }
            if let Some(v) = map.get_cloned(&k) {
                check_multiple(k, v);
            }
        }
        _ => {
            let pinned = map.pin();
            if let Some(&v) = pinned.get(&k) {
                check_multiple(k, v);
            }
            if let Some(&old) = pinned.insert(k, multiple(rng, k)) {
                check_multiple(k, old);
            }
        }
    }
}

/// The whole shared API at once on 1024 keys whose values are always multiples of their key:
/// every value anyone observes is such a multiple, `iter` never repeats a key and always shows
/// the keys nobody removes, and each thread sees exactly its own writes to the keys it owns.
#[test]
fn mixed_operations_stay_consistent() {
    let map = SnapMap::new();
    {
        let guard = map.guard();
        for k in 1..=KEYS {
            // Owned keys start as `k`, shared ones as some other multiple.
            map.insert(k, if k <= LAST_OWNED { k } else { 3 * k }, &guard);
        }
    }

    let finals: Vec<Vec<u64>> = thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|me| {
                let map = &map;
                s.spawn(move || {
                    let mut rng = XorShift::new(0x5EED + me);
                    let first_owned = me * OWNED + 1;
                    let mut expected: Vec<u64> = (first_owned..first_owned + OWNED).collect();
                    let mut guard = map.guard();
                    for i in 0..OPS {
                        if i % 64 == 0 {
                            // Let the epoch move on now and then (a new guard taken while this
                            // one lives would not: the thread would stay pinned).
                            guard.repin();
                        }
                        match rng.below(200) {
                            0 => check_iter_pass(map, &guard, &mut rng, me, &expected),
                            1 => check_keys_and_values_pass(map, &guard),
                            2 => map.retain(|&k, &v| {
                                check_multiple(k, v);
                                // The closure may use the map, writes included.
                                if rng.one_in(8) {
                                    let k = shared_key(&mut rng);
                                    shared_op(map, &map.guard(), &mut rng, k);
                                }
                                // Only shared keys may go, and only some of them.
                                k <= LAST_OWNED || v % 3 != 0
                            }),
                            3..=49 => {
                                let idx = rng.below(OWNED);
                                let k = first_owned + idx;
                                owned_op(map, &guard, &mut rng, k, &mut expected[idx as usize]);
                            }
                            _ => {
                                let k = shared_key(&mut rng);
                                shared_op(map, &guard, &mut rng, k);
                            }
                        }
                    }
                    expected
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });

    map.__check_invariants();
    let guard = map.guard();
    for (me, expected) in finals.iter().enumerate() {
        for (i, &v) in expected.iter().enumerate() {
            let k = me as u64 * OWNED + 1 + i as u64;
            assert_eq!(
                map.get(&k, &guard),
                Some(&v),
                "final value of owned key {k}"
            );
        }
    }
    let all: Vec<(u64, u64)> = map.iter(&guard).map(|(&k, &v)| (k, v)).collect();
    assert_eq!(all.len(), map.len(), "iter and len disagree");
    for (k, v) in all {
        check_multiple(k, v);
    }
}

/// `update` never loses an increment: threads add one to shared counters, concurrently with a
/// thread whose inserts, reads of new keys and removes keep promoting, rebuilding and compacting
/// the map, and every counter ends at exactly threads × increments.
#[test]
fn update_loses_no_increment() {
    run_counters(|map, guard, k| {
        map.update(&k, |&v| v + 1, guard)
            .expect("counters are never removed");
    });
}

/// `compare_exchange` retry loops never lose an increment, under the same churn as above.
#[test]
fn compare_exchange_loses_no_increment() {
    run_counters(|map, guard, k| {
        let mut current = *map.get(&k, guard).expect("counters are never removed");
        loop {
            match map.compare_exchange(&k, &current, current + 1, guard) {
                Ok(&previous) => {
                    assert_eq!(previous, current);
                    break;
                }
                Err(err) => {
                    assert_eq!(err.new, current + 1);
                    let now = *err.current.expect("counters are never removed");
                    assert!(
                        now > current,
                        "counter {k} went back from {current} to {now}"
                    );
                    current = now;
                }
            }
        }
    });
}

/// Counters are keys `0..COUNTERS`; churn uses keys from `CHURN_BASE` on.
const COUNTERS: u64 = 8;
const CHURN_BASE: u64 = 1 << 32;

fn run_counters(increment: impl Fn(&SnapMap<u64, u64>, &Guard, u64) + Sync) {
    const INCREMENTERS: u64 = 4;
    const PER_COUNTER: u64 = testkit::scaled(8000);

    let map = SnapMap::new();
    {
        let guard = map.guard();
        for k in 0..COUNTERS {
            map.insert(k, 0, &guard);
        }
    }

    thread::scope(|s| {
        for t in 0..INCREMENTERS {
            let (map, increment) = (&map, &increment);
            s.spawn(move || {
                for i in 0..PER_COUNTER * COUNTERS {
                    let guard = map.guard();
                    increment(map, &guard, (i + t) % COUNTERS);
                }
            });
        }
        let map = &map;
        s.spawn(move || churn(map, testkit::scaled(400), 48));
    });

    map.__check_invariants();
    let guard = map.guard();
    for k in 0..COUNTERS {
        assert_eq!(
            map.get(&k, &guard),
            Some(&(INCREMENTERS * PER_COUNTER)),
            "counter {k} lost increments"
        );
    }
    assert_eq!(map.len(), COUNTERS as usize, "churn keys left behind");
}

/// Rounds of: insert `batch` new keys, read them (misses while they are only in the dirty map),
/// iterate (promotes), remove them all (tombstones, then compaction).
fn churn(map: &SnapMap<u64, u64>, rounds: u64, batch: u64) {
    for round in 0..rounds {
        let base = CHURN_BASE + round * batch;
        let guard = map.guard();
        for k in base..base + batch {
            assert_eq!(map.insert(k, k, &guard), None, "churn key {k} was present");
        }
        for k in base..base + batch {
            assert_eq!(map.get(&k, &guard), Some(&k), "churn key {k}");
        }
        if round % 4 == 0 {
            assert!(map.iter(&guard).count() >= COUNTERS as usize);
        }
        for k in base..base + batch {
            assert_eq!(map.remove(&k, &guard), Some(&k), "churn key {k}");
        }
    }
}

/// Threads racing `try_insert`, `get_or_insert` and `get_or_insert_with` on the same absent key
/// (new, or previously deleted) agree on one winner: exactly one of them stores its value, and
/// every one of them sees that value.
#[test]
fn racing_inserts_of_one_absent_key_have_one_winner() {
    const RACERS: u64 = 4;
    const ROUNDS: u64 = testkit::scaled(3000);
    // Round `r` races on `FRESH + r` when `r` is even (never seen) and on `REVIVED + r` when odd
    // (inserted, promoted into the snapshot, then deleted before the race).
    const FRESH: u64 = 1_000_000;
    const REVIVED: u64 = 2_000_000;
    let key = |round: u64| (if round % 2 == 0 { FRESH } else { REVIVED }) + round;
    // Values identify the thread that stored them.
    let value = |round: u64, racer: u64| round * 100 + racer + 1;

    let map = SnapMap::new();
    {
        let guard = map.guard();
        for k in 0..256 {
            map.insert(k, k, &guard);
        }
        for round in (1..ROUNDS).step_by(2) {
            map.insert(key(round), 0, &guard);
        }
        assert_eq!(map.iter(&guard).count(), 256 + ROUNDS as usize / 2);
        for round in (1..ROUNDS).step_by(2) {
            assert_eq!(map.remove(&key(round), &guard), Some(&0));
        }
    }

    let barrier = Barrier::new(RACERS as usize);
    // outcomes[racer][round] = (won, value seen)
    let outcomes: Vec<Vec<(bool, u64)>> = thread::scope(|s| {
        let racers: Vec<_> = (0..RACERS)
            .map(|racer| {
                let (map, barrier) = (&map, &barrier);
                s.spawn(move || {
                    (0..ROUNDS)
                        .map(|round| {
                            let (k, mine) = (key(round), value(round, racer));
                            barrier.wait();
                            let guard = map.guard();
                            match (racer + round) % 3 {
                                0 => match map.try_insert(k, mine, &guard) {
                                    Ok(&stored) => {
                                        assert_eq!(stored, mine);
                                        (true, stored)
                                    }
                                    Err(err) => {
                                        assert_eq!(err.not_inserted, mine);
                                        (false, *err.current)
                                    }
                                },
                                1 => {
                                    let &seen = map.get_or_insert(k, mine, &guard);
                                    (seen == mine, seen)
                                }
                                _ => {
                                    let &seen = map.get_or_insert_with(k, || mine, &guard);
                                    (seen == mine, seen)
                                }
                            }
                        })
                        .collect()
                })
            })
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });

    map.__check_invariants();
    let guard = map.guard();
    for round in 0..ROUNDS {
        let results: Vec<(bool, u64)> = outcomes.iter().map(|o| o[round as usize]).collect();
        let winners: Vec<u64> = (0..RACERS).filter(|&r| results[r as usize].0).collect();
        assert_eq!(
            winners.len(),
            1,
            "round {round}: winners {winners:?}, {results:?}"
        );
        let stored = value(round, winners[0]);
        assert!(
            results.iter().all(|&(_, seen)| seen == stored),
            "round {round}: racers disagree: {results:?}"
        );
        assert_eq!(map.get(&key(round), &guard), Some(&stored), "round {round}");
    }
    assert_eq!(map.len(), 256 + ROUNDS as usize);
}

/// Writers adding new keys and deleting most of them, and readers missing on the newest keys,
/// drive promotions, dirty rebuilds and compactions concurrently. Afterwards the internal
/// invariants hold, the contents are exactly what the writers left, and tombstones stay within
/// `max(64, len)`; deleting everything then leaves at most 64 tombstones.
#[test]
fn churn_promotes_rebuilds_and_compacts_consistently() {
    const WRITERS: u64 = 3;
    const READERS: u64 = 2;
    const PER_WRITER: u64 = testkit::scaled(15_000);
    /// A writer removes key `i - LAG` after inserting key `i`, unless `(i - LAG) % KEEP == 0`.
    const LAG: u64 = 32;
    const KEEP: u64 = 8;
    const READS: u64 = testkit::scaled(40_000);
    let key = |writer: u64, i: u64| (writer << 32) | i;
    let value = |k: u64| k.wrapping_mul(3) | 1;

    let map = SnapMap::new();
    let progress: Vec<AtomicU64> = (0..WRITERS).map(|_| AtomicU64::new(0)).collect();

    thread::scope(|s| {
        for w in 0..WRITERS {
            let (map, progress) = (&map, &progress);
            s.spawn(move || {
                for i in 0..PER_WRITER {
                    let guard = map.guard();
                    let k = key(w, i);
                    assert_eq!(map.insert(k, value(k), &guard), None, "new key {k:#x}");
                    progress[w as usize].store(i + 1, Ordering::Release);
                    assert_eq!(map.get(&k, &guard), Some(&value(k)), "own new key {k:#x}");
                    if i >= LAG && (i - LAG) % KEEP != 0 {
                        let old = key(w, i - LAG);
                        assert_eq!(map.remove(&old, &guard), Some(&value(old)), "{old:#x}");
                    }
                }
            });
        }
        for r in 0..READERS {
            let (map, progress) = (&map, &progress);
            s.spawn(move || {
                let mut rng = XorShift::new(0xC0FFEE + r);
                for n in 0..READS {
                    let guard = map.guard();
                    let w = rng.below(WRITERS);
                    let done = progress[w as usize].load(Ordering::Acquire);
                    // The newest key (just published, must be visible), then one not yet written.
                    if done > 0 {
                        let i = done - 1;
                        let k = key(w, i);
                        if i % KEEP == 0 {
                            // Published and never removed: it must be visible.
                            assert_eq!(map.get(&k, &guard), Some(&value(k)), "key {k:#x}");
                        } else if let Some(&v) = map.get(&k, &guard) {
                            // The writer may have moved on far enough to remove it.
                            assert_eq!(v, value(k), "key {k:#x}");
                        }
                    }
                    if done > 0 {
                        // Any kept key published so far.
                        let k = key(w, rng.below(done) / KEEP * KEEP);
                        assert_eq!(map.get(&k, &guard), Some(&value(k)), "kept key {k:#x}");
                    }
                    if let Some(&v) = map.get(&key(w, done + 1), &guard) {
                        assert_eq!(v, value(key(w, done + 1)));
                    }
                    if n % 1500 == 0 {
                        let mut seen = HashSet::new();
                        for (&k, &v) in map.iter(&guard) {
                            assert_eq!(v, value(k), "iter value of {k:#x}");
                            assert!(seen.insert(k), "iter yielded {k:#x} twice");
                        }
                    }
                }
            });
        }
    });

    map.__check_invariants();
    let stats = map.stats();
    assert!(
        stats.tombstones <= 64.max(map.len()),
        "too many tombstones after churn: {stats}"
    );
    assert!(stats.promotions > 0, "churn never promoted: {stats}");
    assert!(
        stats.dirty_builds > 0,
        "churn never rebuilt the dirty map: {stats}"
    );

    let expected: HashSet<u64> = (0..WRITERS)
        .flat_map(|w| {
            (0..PER_WRITER)
                .filter(|&i| i % KEEP == 0 || i + LAG >= PER_WRITER)
                .map(move |i| key(w, i))
        })
        .collect();
    let guard = map.guard();
    let present: HashSet<u64> = map
        .iter(&guard)
        .map(|(&k, &v)| {
            assert_eq!(v, value(k), "final value of {k:#x}");
            k
        })
        .collect();
    assert_eq!(present.len(), expected.len(), "final key count");
    assert!(present == expected, "final key set differs");
    assert_eq!(map.len(), expected.len());
    assert_eq!(map.stats().len, expected.len());

    // Everything is in the snapshot now (iter promoted); deleting it all must compact.
    for &k in &expected {
        assert_eq!(map.remove(&k, &guard), Some(&value(k)));
    }
    map.__check_invariants();
    let stats = map.stats();
    assert_eq!((map.len(), map.is_empty()), (0, true));
    assert!(
        stats.tombstones <= 64,
        "tombstones after deleting all: {stats}"
    );
    assert!(
        stats.compactions > 0,
        "deleting everything never compacted: {stats}"
    );
}

/// `clear` racing with writers: each writer is the only one to write its keys, so whatever it
/// reads back is either its own last value or nothing (cleared), never anything else; afterwards
/// the map agrees with itself and keeps the tombstone bound.
#[test]
fn clear_races_with_writers() {
    const WRITERS: u64 = 3;
    const KEYS_EACH: u64 = 64;
    const OPS_EACH: u64 = testkit::scaled(40_000);
    const MAX_CLEARS: u64 = 1_000_000;
    const MAX_WAIT: u64 = 1_000_000;

    let map = SnapMap::new();
    let finished = AtomicU64::new(0);
    let clears = AtomicU64::new(0);
    // How often a writer found its value gone: proves the clears really raced with the writes.
    let erased = AtomicU64::new(0);
    thread::scope(|s| {
        for w in 0..WRITERS {
            let (map, finished, clears, erased) = (&map, &finished, &clears, &erased);
            s.spawn(move || {
                let mut rng = XorShift::new(0xC1EA + w);
                // The value this writer last stored under each key; a clear may erase it.
                let mut last = vec![None::<u64>; KEYS_EACH as usize];
                for n in 0..OPS_EACH {
                    if n % 500 == 499 {
                        // Make sure clears land in the middle of the writes, however the
                        // threads are scheduled.
                        let seen = clears.load(Ordering::Acquire);
                        for _ in 0..MAX_WAIT {
                            if clears.load(Ordering::Acquire) > seen {
                                break;
                            }
                            thread::yield_now();
                        }
                    }
                    let guard = map.guard();
                    let i = rng.below(KEYS_EACH);
                    let k = w * KEYS_EACH + i;
                    let slot = &mut last[i as usize];
                    let ok = |seen: Option<&u64>| {
                        if seen.is_none() && slot.is_some() {
                            erased.fetch_add(1, Ordering::Relaxed);
                        }
                        seen.is_none() || seen == slot.as_ref()
                    };
                    match rng.below(5) {
                        0 => {
                            let v = n + 1;
                            let previous = map.insert(k, v, &guard);
                            assert!(ok(previous), "insert {k}: {previous:?}, stored {slot:?}");
                            *slot = Some(v);
                        }
                        1 => {
                            let removed = map.remove(&k, &guard);
                            assert!(ok(removed), "remove {k}: {removed:?}, stored {slot:?}");
                            *slot = None;
                        }
                        2 => {
                            let seen = map.get(&k, &guard);
                            assert!(ok(seen), "get {k}: {seen:?}, stored {slot:?}");
                        }
                        3 => {
                            let new = map.update(&k, |&v| v + 1, &guard);
                            let expected = slot.map(|v| v + 1);
                            assert!(
                                new.is_none() || new == expected.as_ref(),
                                "update {k}: {new:?}, stored {slot:?}"
                            );
                            *slot = new.copied();
                        }
                        _ => {
                            let v = n + 1;
                            match map.try_insert(k, v, &guard) {
                                Ok(&stored) => {
                                    assert_eq!(stored, v);
                                    *slot = Some(v);
                                }
                                Err(err) => {
                                    assert!(ok(Some(err.current)), "try_insert {k}: {err:?}");
                                }
                            }
                        }
                    }
                }
                finished.fetch_add(1, Ordering::Release);
            });
        }
        let (map, finished, clears) = (&map, &finished, &clears);
        s.spawn(move || {
            for _ in 0..MAX_CLEARS {
                if finished.load(Ordering::Acquire) == WRITERS {
                    break;
                }
                map.clear();
                clears.fetch_add(1, Ordering::Release);
                thread::yield_now();
            }
        });
    });

    assert!(
        erased.load(Ordering::Relaxed) > 0,
        "no clear ever raced with a write"
    );
    map.__check_invariants();
    let guard = map.guard();
    assert_eq!(map.iter(&guard).count(), map.len());
    let stats = map.stats();
    assert!(stats.tombstones <= 64.max(map.len()), "{stats}");
    map.clear();
    assert_eq!((map.len(), map.iter(&guard).count()), (0, 0));
    map.__check_invariants();
}

/// One thread inserts new keys while another removes each one as soon as it can see it, often
/// before the insert has returned: every insert still returns the value it stored (a regression
/// test: an insert that read its value back from the entry after publishing it found it removed).
#[test]
fn new_keys_removed_before_their_inserts_return() {
    const N: u64 = testkit::scaled(200_000);
    let map: SnapMap<u64, u64> = SnapMap::builder().shards(1).build();
    let latest = AtomicU64::new(0);
    let removed = AtomicU64::new(0);
    /// Ends the remover's loop however the inserts end (a failed assertion included).
    struct Done<'a>(&'a AtomicU64);
    impl Drop for Done<'_> {
        fn drop(&mut self) {
            self.0.store(u64::MAX, Ordering::Release);
        }
    }
    thread::scope(|s| {
        s.spawn(|| {
            while latest.load(Ordering::Acquire) <= N {
                let k = latest.load(Ordering::Acquire);
                if map.pin().remove(&k).is_some() {
                    removed.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        let _done = Done(&latest);
        for k in 1..=N {
            latest.store(k, Ordering::Release);
            let guard = map.guard();
            match k % 3 {
                0 => assert_eq!(map.try_insert(k, k, &guard).ok(), Some(&k)),
                1 => assert_eq!(map.get_or_insert(k, k, &guard), &k),
                _ => assert_eq!(map.insert(k, k, &guard), None),
            }
        }
    });
    assert!(
        removed.load(Ordering::Relaxed) > 0,
        "the remover never raced an insert"
    );
    map.__check_invariants();
}
