//! Single-thread pauses that snapmap's own protocol could cause, timed one operation at a time:
//!
//! - `first_new_key`: the first new key after a promotion, in a map of 786,432 `u64` keys. In
//!   Go's `sync.Map` layout this insert copies the whole read snapshot into a new dirty table
//!   under the mutex (an O(n) pause); snapmap's starts a small dirty index instead. Each round
//!   promotes every key into the read tables (`extend` with nothing promotes), then times one
//!   insert of a key the map has never held.
//! - `revival_churn`: remove a key and insert it again, over and over, on 1,000,000 stable keys.
//!   A re-inserted key revives its tombstone; if the tombstone count did not go back down, the
//!   removals would keep asking for a compaction (a pass over the shard under its lock).
//!
//! snapmap only: the other maps have no promotion and no tombstones. `--test` (as
//! `cargo bench -- --test` passes it) runs small sizes and checks the map; `--list` lists the
//! benchmarks. Prints the minimum, median, p99.9 and maximum of each.

use std::time::{Duration, Instant};

use snapmap::SnapMap;

/// Spreads consecutive integers over the key space (the map's hasher is random anyway).
fn key(i: u64) -> u64 {
    i.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

fn report(name: &str, what: String, mut times: Vec<Duration>) {
    times.sort();
    let at = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "{name}: {what}: min {:.2} us, median {:.2} us, p99.9 {:.2} us, max {:.2} us",
        us(times[0]),
        us(at(0.5)),
        us(at(0.999)),
        us(times[times.len() - 1]),
    );
}

fn first_new_key(test: bool) {
    let (keys, rounds) = if test { (1_000, 3) } else { (786_432, 31) };
    let mut map: SnapMap<u64, u64> = (0..keys).map(|i| (key(i), i)).collect();
    let mut times = Vec::new();
    for round in 0..rounds {
        map.extend(std::iter::empty());
        let new = key(keys + round);
        let start = Instant::now();
        let previous = map.pin().insert(new, round).copied();
        times.push(start.elapsed());
        assert_eq!(previous, None);
    }
    assert_eq!(map.len() as u64, keys + rounds);
    map.__check_invariants();
    report(
        "first_new_key",
        format!("{keys} keys, {rounds} rounds"),
        times,
    );
}

fn revival_churn(test: bool) {
    let (keys, cycles) = if test {
        (1_000, 2_000)
    } else {
        (1_000_000, 2_000_000)
    };
    let mut map: SnapMap<u64, u64> = (0..keys).map(|i| (key(i), i)).collect();
    map.extend(std::iter::empty());
    let mut times = Vec::with_capacity(cycles as usize);
    let mut guard = map.guard();
    for cycle in 0..cycles {
        let k = key(cycle % keys);
        let start = Instant::now();
        let removed = map.remove(&k, &guard).is_some();
        map.insert(k, cycle, &guard);
        times.push(start.elapsed());
        assert!(removed);
        if cycle % 1024 == 0 {
            // Lets the epoch advance, as a long-running loop taking new guards would.
            guard.repin();
        }
    }
    drop(guard);
    assert_eq!(map.len() as u64, keys);
    map.__check_invariants();
    report(
        "revival_churn",
        format!("{keys} keys, {cycles} remove + insert pairs"),
        times,
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let names = ["first_new_key", "revival_churn"];
    if args.iter().any(|arg| arg == "--list") {
        for name in names {
            println!("{name}: benchmark");
        }
        return;
    }
    let test = args.iter().any(|arg| arg == "--test");
    let filter: Vec<&String> = args[1..].iter().filter(|a| !a.starts_with("--")).collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    if wanted("first_new_key") {
        first_new_key(test);
    }
    if wanted("revival_churn") {
        revival_churn(test);
    }
}
