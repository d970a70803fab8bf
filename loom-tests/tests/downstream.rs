//! A downstream crate's own loom model: a user's type built on `SnapMap`, with its invariant
//! checked in every interleaving loom explores.
//!
//! This file uses only snapmap's public API and plain `loom::model`, as a crate depending on
//! snapmap would; it is the checked copy of the example in the crate docs' section
//! "Model-checking your code with loom".
#![cfg(loom)]

use std::collections::hash_map::{DefaultHasher, RandomState};
use std::hash::{BuildHasher, BuildHasherDefault};
use std::sync::atomic::{AtomicUsize, Ordering};

use loom::sync::Arc;
use loom::thread;
use snapmap::{Compute, Operation, SnapMap};

/// The user's type: the seats left per show. Selling a seat takes one if any is left.
///
/// Generic over the hasher only so that the model can fix it (see below).
pub struct BoxOffice<S = RandomState> {
    seats: SnapMap<&'static str, u32, S>,
}

impl<S: BuildHasher + Default> BoxOffice<S> {
    /// A box office with `seats` seats for each of `shows`.
    pub fn new(shows: &[&'static str], seats: u32) -> Self {
        BoxOffice {
            seats: shows.iter().map(|&show| (show, seats)).collect(),
        }
    }

    /// Sells one seat for `show`; `false` when it is sold out (or unknown). Check and decrement
    /// are one atomic step: `compute` decides on the value it then replaces.
    pub fn sell(&self, show: &'static str) -> bool {
        let guard = self.seats.guard();
        let sold = self.seats.compute(
            show,
            |left| match left {
                Some(&n) if n > 0 => Operation::Insert(n - 1),
                _ => Operation::Abort(()),
            },
            &guard,
        );
        matches!(sold, Compute::Updated { .. })
    }

    /// The seats left for `show`.
    pub fn left(&self, show: &str) -> Option<u32> {
        self.seats.get_cloned(show)
    }
}

/// A hasher with fixed keys: loom replays every execution from the start and needs each one to
/// make the same operations, which a fresh `RandomState` per execution would not.
type Fixed = BuildHasherDefault<DefaultHasher>;

/// Two buyers race for the last seat: in every interleaving exactly one of them gets it, and
/// none is left.
#[test]
fn last_seat_is_sold_once() {
    // Counts the interleavings explored: a model that explores only one (for instance because
    // the code under test shares nothing loom can see) proves nothing.
    static EXPLORED: AtomicUsize = AtomicUsize::new(0);
    loom::model(|| {
        EXPLORED.fetch_add(1, Ordering::Relaxed);
        let office = Arc::new(BoxOffice::<Fixed>::new(&["matinee"], 1));
        let buyer = {
            let office = office.clone();
            thread::spawn(move || office.sell("matinee"))
        };
        let mine = office.sell("matinee");
        let theirs = buyer.join().unwrap();
        assert!(
            mine != theirs,
            "sold {} times",
            u8::from(mine) + u8::from(theirs)
        );
        assert_eq!(office.left("matinee"), Some(0));
    });
    let explored = EXPLORED.load(Ordering::Relaxed);
    assert!(explored > 1, "loom explored {explored} interleaving(s)");
}
