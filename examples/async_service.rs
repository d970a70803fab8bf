//! A session store shared by the tasks of a tokio service, on the multi-threaded runtime.
//!
//! Run with `cargo run --release --example async_service`. It shows the patterns that work in
//! async code (the crate docs' section "Async services" says why):
//!
//! - no guard or `MapRef` is ever held across an `.await`: a task may resume on another worker
//!   thread, and a guard is bound to the thread that pinned it (it is not `Send`, so a spawned
//!   future that holds one does not compile);
//! - `get_cloned` and `contains_key` need no guard at all;
//! - `compute` and `update_or_insert` do a read-modify-write in one call, inside a short pinned
//!   scope that ends before the next `.await`;
//! - a guard kept alive (here on a blocking thread) holds back the freeing of everything removed
//!   meanwhile, in this map and in every other user of crossbeam-epoch in the process.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use snapmap::{Compute, Operation, SnapMap};

/// Client tasks, each with a session of its own and a few shared ones.
const CLIENTS: u64 = 16;
/// Requests each client sends.
const REQUESTS: u64 = 200;
/// Sessions every client touches too.
const SHARED: u64 = 4;
/// A request budget: a session is closed after this many requests.
const BUDGET: u64 = 50;

/// What the store keeps per session.
#[derive(Clone, Debug, PartialEq)]
struct Session {
    user: String,
    requests: u64,
}

type Store = SnapMap<u64, Session>;

/// One request: counts it against the session, opening the session on its first request.
/// The guard lives only inside this synchronous function, never across an `.await`.
fn record_request(store: &Store, id: u64) -> u64 {
    let guard = store.guard();
    let session = store.update_or_insert_with(
        id,
        |s| Session {
            user: s.user.clone(),
            requests: s.requests + 1,
        },
        || Session {
            user: format!("user-{id}"),
            requests: 1,
        },
        &guard,
    );
    session.requests
}

/// Spends one request of a session's budget, closing the session when the budget is gone;
/// `false` when the session was already closed. The decision and its effect are one atomic
/// step: two tasks can never both take the last request.
fn spend_budget(budgets: &SnapMap<u64, u64>, id: u64) -> bool {
    let guard = budgets.guard();
    let done = budgets.compute(
        id,
        |left| match left {
            None => Operation::Abort(()),
            Some(&1) => Operation::Remove,
            Some(&n) => Operation::Insert(n - 1),
        },
        &guard,
    );
    !matches!(done, Compute::Aborted(()))
}

async fn client(store: Arc<Store>, budgets: Arc<SnapMap<u64, u64>>, me: u64) -> u64 {
    let own = SHARED + me;
    let mut granted = 0;
    for i in 0..REQUESTS {
        record_request(&store, own);
        if spend_budget(&budgets, i % SHARED) {
            granted += 1;
        }
        // Awaiting here is fine: nothing pinned is alive across it.
        tokio::task::yield_now().await;
        // No guard needed: a clone of the value, and a presence check.
        let session = store
            .get_cloned(&own)
            .expect("our own session is never removed");
        assert_eq!(session.user, format!("user-{own}"));
        assert!(store.contains_key(&own));
        if i % 50 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    granted
}

/// A value that counts its drops, to watch reclamation.
struct Tracked(Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Pins and flushes this thread's garbage until `dropped` reaches 1 or `limit` passes; returns
/// whether it did.
fn drive_reclamation<K, V>(map: &SnapMap<K, V>, dropped: &AtomicUsize, limit: Duration) -> bool {
    let start = Instant::now();
    while dropped.load(Ordering::SeqCst) == 0 && start.elapsed() < limit {
        map.guard().flush();
    }
    dropped.load(Ordering::SeqCst) == 1
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let store = Arc::new(Store::new());
    let budgets = Arc::new(SnapMap::new());
    for id in 0..SHARED {
        budgets.insert(id, BUDGET, &budgets.guard());
    }

    let clients: Vec<_> = (0..CLIENTS)
        .map(|me| tokio::spawn(client(store.clone(), budgets.clone(), me)))
        .collect();
    let mut granted = 0;
    for handle in clients {
        granted += handle.await.expect("a client task panicked");
    }

    // Every request was counted, none lost to a race between tasks on different threads.
    for me in 0..CLIENTS {
        let session = store
            .get_cloned(&(SHARED + me))
            .expect("a session per client");
        assert_eq!(session.requests, REQUESTS, "session of client {me}");
    }
    assert_eq!(store.len() as u64, CLIENTS);
    // Exactly the budgets' worth of requests was granted, and every budget was used up.
    assert_eq!(granted, SHARED * BUDGET);
    assert!(budgets.is_empty(), "budgets left: {budgets:?}");
    println!(
        "{CLIENTS} clients sent {} requests; {granted} spent the {SHARED} shared budgets",
        CLIENTS * REQUESTS
    );

    // What a long-lived guard costs: a blocking thread pins and keeps its guard, as a task
    // holding one across an await would if the compiler allowed it.
    let cache: Arc<SnapMap<&str, Tracked>> = Arc::new(SnapMap::new());
    let dropped = Arc::new(AtomicUsize::new(0));
    cache.insert("big", Tracked(dropped.clone()), &cache.guard());
    let (pinned_tx, pinned_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = {
        let cache = cache.clone();
        tokio::task::spawn_blocking(move || {
            let guard = cache.guard();
            pinned_tx.send(()).expect("main waits for the pin");
            release_rx.recv().expect("main releases the guard");
            drop(guard);
        })
    };
    pinned_rx.recv().expect("the holder pins");
    cache.remove("big", &cache.guard());
    // However hard this thread pushes, the removed value cannot be freed while the holder's
    // guard, pinned before the removal, is alive.
    let freed = drive_reclamation(&cache, &dropped, Duration::from_millis(200));
    assert!(!freed, "freed under a guard that could still see it");
    release_tx.send(()).expect("the holder waits");
    holder.await.expect("the holder panicked");
    let freed = drive_reclamation(&cache, &dropped, Duration::from_secs(10));
    assert!(freed, "not freed after the guard dropped");
    println!("a removed value stayed allocated while one guard was held, and was freed after");
}
