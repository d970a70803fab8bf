//! The first value stored in each entry's own block: its reclamation in either order against its
//! entry's, and values of unusual layouts.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use super::super::RawMap;
use crate::sync::epoch;

/// A value that counts its drops, and owns heap memory for Miri and ASan to track.
struct Counted {
    drops: Arc<AtomicUsize>,
    payload: Box<u64>,
}

impl Counted {
    fn new(drops: &Arc<AtomicUsize>, payload: u64) -> Self {
        Counted {
            drops: Arc::clone(drops),
            payload: Box::new(payload),
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

/// Flushes this thread's deferred destructors until `done`, or fails after 10,000 tries and
/// 10 seconds: a test running beside this one may hold a guard for a while (a panicking one
/// does while its backtrace is printed), and the epoch waits for it.
fn settle(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    for tries in 0.. {
        if done() {
            return;
        }
        if tries >= 10_000 && start.elapsed() > Duration::from_secs(10) {
            break;
        }
        epoch::pin().flush();
        thread::yield_now();
    }
    panic!("{what}: not reclaimed");
}

#[test]
fn a_first_value_outlives_an_entry_freed_before_it() {
    let drops = Arc::new(AtomicUsize::new(0));
    let map = Arc::new(RawMap::<u64, Counted>::new(1, 0));
    map.insert(7, 7, Counted::new(&drops, 1), &epoch::pin());

    // Another thread replaces the first value: its destructor waits in that thread's own
    // deferred batch, which it keeps until it exits.
    let (replaced, replaced_rx) = mpsc::channel();
    let (exit, exit_rx) = mpsc::channel::<()>();
    let writer = {
        let map = Arc::clone(&map);
        let drops = Arc::clone(&drops);
        thread::spawn(move || {
            let guard = epoch::pin();
            let old = map.insert(7, 7, Counted::new(&drops, 2), &guard);
            assert_eq!(old.map(|old| *old.payload), Some(1));
            drop(guard);
            drop(map);
            replaced.send(()).unwrap();
            exit_rx.recv().unwrap();
        })
    };
    replaced_rx.recv().unwrap();

    // The map is dropped here, first: the entry goes before its first value's destructor ran.
    let map = Arc::into_inner(map).expect("the writer let go of the map");
    drop(map);
    assert_eq!(
        drops.load(SeqCst),
        1,
        "the second value, dropped with the map"
    );

    // The writer exits, handing its batch over; the first value is dropped only now, in a block
    // that must still be allocated (Miri and ASan check that it is).
    exit.send(()).unwrap();
    writer.join().unwrap();
    settle("the first value", || drops.load(SeqCst) == 2);
    assert_eq!(drops.load(SeqCst), 2);
}

#[test]
fn a_first_value_borrowed_across_its_replacement_stays_readable() {
    let drops = Arc::new(AtomicUsize::new(0));
    let map = RawMap::<u64, Counted>::new(1, 0);
    let reader = epoch::pin();
    map.insert(3, 3, Counted::new(&drops, 10), &reader);
    let first = map.find(3, |k| *k == 3, &reader).unwrap();
    let borrowed = first.load(&reader).unwrap();
    {
        let writer = &epoch::pin();
        map.insert(3, 3, Counted::new(&drops, 11), writer);
        map.remove(3, |k| *k == 3, |_| true, writer);
        // A removal of everything compacts: the entry is unlinked and retired too.
        for k in 100..200 {
            map.insert(k, k, Counted::new(&drops, k), writer);
            map.remove(k, |key| *key == k, |_| true, writer);
        }
    }
    epoch::pin().flush();
    assert_eq!(*borrowed.payload, 10, "a borrowed first value changed");
    assert_eq!(
        drops.load(SeqCst),
        0,
        "a value dropped while a guard could see it"
    );
    drop(reader);
    settle("every replaced value", || drops.load(SeqCst) == 102);
    assert_eq!(drops.load(SeqCst), 102);
}

/// A value whose alignment is a cache line pair's.
#[repr(align(128))]
#[derive(Debug, PartialEq, Clone, Copy)]
struct Wide(u64);

fn first_and_later_values<V: Clone + PartialEq + std::fmt::Debug + Send + Sync + 'static>(
    values: [V; 3],
) {
    let map = RawMap::<u64, V>::new(1, 0);
    let guard = &epoch::pin();
    let align = std::mem::align_of::<V>();
    for (i, value) in values.iter().enumerate() {
        let found = if i == 0 {
            map.insert(1, 1, value.clone(), guard);
            map.find(1, |k| *k == 1, guard)
                .unwrap()
                .load(guard)
                .unwrap()
        } else {
            map.insert(1, 1, value.clone(), guard).unwrap();
            map.find(1, |k| *k == 1, guard)
                .unwrap()
                .load(guard)
                .unwrap()
        };
        assert_eq!(found, value);
        assert_eq!(
            std::ptr::from_ref(found) as usize % align,
            0,
            "misaligned value"
        );
    }
    assert_eq!(
        map.remove(1, |k| *k == 1, |_| true, guard),
        Some(&values[2])
    );
    map.insert(1, 1, values[0].clone(), guard);
    assert_eq!(
        map.find(1, |k| *k == 1, guard).unwrap().load(guard),
        Some(&values[0])
    );
}

#[test]
fn first_values_of_every_alignment() {
    first_and_later_values([1u8, 2, 3]);
    first_and_later_values([(), (), ()]);
    first_and_later_values([Wide(1), Wide(2), Wide(3)]);
    first_and_later_values([String::from("a"), String::from("b"), String::from("c")]);
}
