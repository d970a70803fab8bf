//! A key's `Eq` that calls back into the map: reads always work; a write that needs the lock the
//! map already holds panics with a clear message instead of deadlocking, and the map stays
//! consistent and usable.

use std::cell::Cell;
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::{Mutex, OnceLock};

use snapmap::SnapMap;

/// The key whose comparisons call back into the map.
const TRAP: u32 = 2;

/// What the next comparisons with [`TRAP`] do to the map, in order.
#[derive(Clone, Copy, Debug)]
enum Callback {
    Read,
    Insert,
}

static MAP: OnceLock<SnapMap<Key, u32>> = OnceLock::new();
static PLAN: Mutex<VecDeque<Callback>> = Mutex::new(VecDeque::new());
static NEXT: AtomicU32 = AtomicU32::new(100);

thread_local! {
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

/// A key whose hashes all collide, so that every lookup compares it with every stored key.
#[derive(Debug)]
struct Key(u32);

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        0u8.hash(state);
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        let trapped = self.0 == TRAP || other.0 == TRAP;
        let callback = if trapped && !IN_CALLBACK.get() {
            PLAN.lock().unwrap().pop_front()
        } else {
            None
        };
        if let Some(callback) = callback {
            IN_CALLBACK.set(true);
            let map = MAP.get().expect("the map is set up first").pin();
            match callback {
                Callback::Read => assert!(map.get(&Key(1)).is_some()),
                Callback::Insert => {
                    map.insert(Key(NEXT.fetch_add(1, SeqCst)), 0);
                }
            }
            IN_CALLBACK.set(false);
        }
        self.0 == other.0
    }
}

impl Eq for Key {}

fn plan(callbacks: &[Callback]) {
    *PLAN.lock().unwrap() = callbacks.iter().copied().collect();
}

fn plan_done() -> bool {
    PLAN.lock().unwrap().is_empty()
}

fn sorted_keys(map: &SnapMap<Key, u32>) -> Vec<u32> {
    let mut keys: Vec<_> = map.pin().keys().map(|key| key.0).collect();
    keys.sort_unstable();
    keys
}

/// One test, because the scenario shares one global map.
#[test]
fn eq_calling_back_into_the_map() {
    let map = MAP.get_or_init(|| SnapMap::builder().shards(1).build());
    // Key 1 is the shard's first table; key 2 goes into its dirty index.
    map.pin().insert(Key(1), 1);
    map.pin().insert(Key(TRAP), 2);

    // The first callback (during the lock-free look) inserts key 100 into the shard, so the
    // insert of key 3 must look again once it holds the lock; there its `Eq` calls back again,
    // and a read works even then.
    plan(&[Callback::Insert, Callback::Read]);
    assert_eq!(map.pin().insert(Key(3), 3), None);
    assert!(plan_done(), "both callbacks ran");

    // The same, but the second callback inserts: that insert would need the lock this thread
    // holds.
    plan(&[Callback::Insert, Callback::Insert]);
    let outcome = catch_unwind(AssertUnwindSafe(|| map.pin().insert(Key(4), 4).copied()));
    IN_CALLBACK.set(false);
    let panic = outcome.expect_err("a re-entrant insert under the lock must panic");
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    assert!(message.contains("called back into the map"), "{message}");
    assert!(plan_done(), "both callbacks ran");

    // Nothing was half-done: key 4 is absent; 100 and 101, inserted before the lock was taken,
    // are there.
    map.__check_invariants();
    assert_eq!(sorted_keys(map), [1, 2, 3, 100, 101]);
    assert_eq!(map.len(), 5);
    assert_eq!(map.pin().insert(Key(4), 4), None);
    assert_eq!(sorted_keys(map), [1, 2, 3, 4, 100, 101]);
    map.__check_invariants();
}
