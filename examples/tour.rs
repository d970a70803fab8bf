//! A tour of snapmap: a cache of `u64 -> [u8; 64]` records shared by reader
//! threads and a writer, the map's own statistics, and the heap given back
//! after every entry is removed, with no further insert.
//!
//! Run it with `cargo run --release --example tour`.

use snapmap::SnapMap;
use std::thread;
use std::time::{Duration, Instant};

/// Records in the cache before the readers start.
const RECORDS: u64 = 100_000;
/// The most-read keys: `0..HOT`.
const HOT: u64 = 1_000;
/// Lookups done by each reader thread.
const LOOKUPS_PER_READER: u64 = 4_000_000;
const READERS: u64 = 3;
/// Writes done by the writer thread: a third new keys, the rest updates.
const WRITES: u64 = 300_000;
/// Lookups (or removals) done under one guard.
const BATCH: u64 = 64;

type Record = [u8; 64];

use testkit::alloc as counting_alloc;

#[global_allocator]
static GLOBAL: counting_alloc::Counting = counting_alloc::Counting;

// ---------------------------------------------------------------------------
// Helpers.

/// A record whose first 8 bytes are its key and whose next 8 bytes are a
/// version, so readers can check that what they read belongs to the key.
fn record(key: u64, version: u64) -> Record {
    let mut r = [0u8; 64];
    r[..8].copy_from_slice(&key.to_le_bytes());
    r[8..16].copy_from_slice(&version.to_le_bytes());
    r
}

fn record_key(r: &Record) -> u64 {
    u64::from_le_bytes(r[..8].try_into().unwrap())
}

/// A small xorshift generator, so the example needs no extra dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Pins and flushes a few times, so the epoch advances and garbage retired by
/// the map is freed. Stops once the live heap has not shrunk for a while.
fn let_epoch_advance(map: &SnapMap<u64, Record>) {
    let mut best = counting_alloc::live();
    let mut idle = 0;
    for _ in 0..100_000 {
        let guard = map.guard();
        guard.flush();
        drop(guard);
        let now = counting_alloc::live();
        if now < best {
            best = now;
            idle = 0;
        } else {
            idle += 1;
            if idle == 200 {
                break;
            }
        }
    }
}

fn rate(ops: u64, elapsed: Duration) -> String {
    let per_sec = ops as f64 / elapsed.as_secs_f64();
    format!(
        "{ops:>10} ops in {:>8.1} ms = {:>7.2} M ops/s",
        elapsed.as_secs_f64() * 1e3,
        per_sec / 1e6
    )
}

fn bytes(n: isize) -> String {
    format!("{:>10} bytes ({:.1} MiB)", n, n as f64 / (1024.0 * 1024.0))
}

fn row(label: &str, value: impl std::fmt::Display) {
    println!("  {label:<20} {value}");
}

fn note(text: &str) {
    println!("  {:<20} {text}", "");
}

// ---------------------------------------------------------------------------

fn main() {
    println!(
        "snapmap tour: a cache of u64 -> [u8; 64] records, {READERS} readers + 1 writer on {} CPUs",
        thread::available_parallelism().map_or(1, |n| n.get())
    );

    let map: SnapMap<u64, Record> = SnapMap::new();
    // The first pin sets up this thread's epoch bookkeeping; count it as part
    // of the empty heap.
    drop(map.guard());
    let heap_empty = counting_alloc::live();

    println!("\n1. fill: {RECORDS} new keys from one thread");
    row("heap, empty map", bytes(heap_empty));
    let start = Instant::now();
    for base in (0..RECORDS).step_by(BATCH as usize) {
        let guard = map.guard();
        for key in base..(base + BATCH).min(RECORDS) {
            map.insert(key, record(key, 0), &guard);
        }
    }
    row("insert", rate(RECORDS, start.elapsed()));
    let filled = map.stats();
    row("stats", &filled);
    if filled.amended {
        note("new keys wait in each shard's dirty index (read without a lock) until");
        note("reads answered by the index add up to the shard's size, or it fills");
    }

    println!("\n2. warm-up: read every key once from one thread");
    let start = Instant::now();
    for base in (0..RECORDS).step_by(BATCH as usize) {
        let guard = map.guard();
        for key in base..(base + BATCH).min(RECORDS) {
            assert_eq!(record_key(map.get(&key, &guard).unwrap()), key);
        }
    }
    row("get", rate(RECORDS, start.elapsed()));
    let warm = map.stats();
    row("stats", &warm);
    if warm.promotions > filled.promotions {
        note("those reads promoted the dirty indexes: their keys are now in the");
        note("read tables, one probe away");
    }
    let_epoch_advance(&map);
    row("heap", bytes(counting_alloc::live()));

    println!(
        "\n3. mixed: {READERS} readers x {LOOKUPS_PER_READER} lookups (90% on {HOT} hot keys), \
         1 writer x {WRITES} writes (1/3 new keys)"
    );
    let start = Instant::now();
    let (reader_times, writer_time) = thread::scope(|s| {
        let readers: Vec<_> = (0..READERS)
            .map(|r| {
                let map = &map;
                s.spawn(move || {
                    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (r + 1));
                    let start = Instant::now();
                    let mut found = 0u64;
                    for _ in 0..LOOKUPS_PER_READER / BATCH {
                        let guard = map.guard();
                        for _ in 0..BATCH {
                            let x = rng.next();
                            // One lookup in ten anywhere in the cache, the rest on hot keys.
                            let key = match x % 10 {
                                0 => x % RECORDS,
                                _ => x % HOT,
                            };
                            let value = map.get(&key, &guard).expect("a cached key is missing");
                            assert_eq!(record_key(value), key, "a record under the wrong key");
                            found += 1;
                        }
                    }
                    assert_eq!(found, LOOKUPS_PER_READER);
                    start.elapsed()
                })
            })
            .collect();
        let writer = s.spawn(|| {
            let mut rng = Rng(0xD1B5_4A32_D192_ED03);
            let mut next_new = RECORDS;
            let start = Instant::now();
            for i in 0..WRITES {
                let guard = map.guard();
                match i % 3 {
                    0 => {
                        map.insert(next_new, record(next_new, 0), &guard);
                        next_new += 1;
                    }
                    _ => {
                        let key = rng.next() % RECORDS;
                        map.insert(key, record(key, i), &guard);
                    }
                }
            }
            start.elapsed()
        });
        let reader_times: Vec<Duration> = readers.into_iter().map(|h| h.join().unwrap()).collect();
        (reader_times, writer.join().unwrap())
    });
    let wall = start.elapsed();
    for (r, t) in reader_times.iter().enumerate() {
        row(&format!("reader {r} get"), rate(LOOKUPS_PER_READER, *t));
    }
    row("writer insert", rate(WRITES, writer_time));
    row(
        "all threads",
        rate(READERS * LOOKUPS_PER_READER + WRITES, wall),
    );
    let mixed = map.stats();
    row("stats", &mixed);
    if mixed.dirty_builds > warm.dirty_builds {
        note("the writer's first new key in a shard started a fresh dirty index (no copy)");
    }

    let total = map.len() as u64;
    assert_eq!(total, RECORDS + WRITES.div_ceil(3));
    println!("\n4. mass delete: remove all {total} keys from one thread");
    let_epoch_advance(&map);
    let heap_full = counting_alloc::live();
    row("heap before delete", bytes(heap_full));
    let start = Instant::now();
    for base in (0..total).step_by(BATCH as usize) {
        let guard = map.guard();
        for key in base..(base + BATCH).min(total) {
            assert!(map.remove(&key, &guard).is_some());
        }
    }
    row("remove", rate(total, start.elapsed()));
    let emptied = map.stats();
    row("stats", &emptied);
    assert_eq!(emptied.len, 0);
    assert!(
        emptied.tombstones <= 64,
        "more than 64 tombstones after removing everything"
    );
    note(&format!(
        "the removals compacted the snapshot {} times; {} tombstones remain (at most 64)",
        emptied.compactions - mixed.compactions,
        emptied.tombstones
    ));

    let_epoch_advance(&map);
    let heap_emptied = counting_alloc::live();
    row("heap after delete", bytes(heap_emptied));
    note(&format!(
        "{} bytes above the empty map ({:.2}% of the full map's), with no insert since",
        heap_emptied - heap_empty,
        100.0 * (heap_emptied - heap_empty) as f64 / (heap_full - heap_empty) as f64
    ));

    drop(map);
    row("heap after drop", bytes(counting_alloc::live()));
}
