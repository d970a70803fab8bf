//! The `stats` target: after every step of a sequence, the map's [`Stats`] must be consistent
//! with the model and with themselves, and must have moved only as the step allows.
//!
//! Unlike `differential`, nothing here iterates unless the sequence does, so keys stay in the
//! dirty table across steps and the promotion, dirty-build and compaction counters move as a
//! program using the map would see them move.

use std::hash::BuildHasher;

use snapmap::{SnapMap, Stats};

use super::sequence::{self, Checker, Input, Model, Op};

/// The compaction floor: a map keeps at most `max(TOMBSTONE_FLOOR, len)` tombstones.
pub const TOMBSTONE_FLOOR: usize = 64;

/// What holds for any `Stats`, even one taken while other threads write: the fields are counted
/// together under the map's lock.
pub fn assert_consistent(stats: &Stats) {
    assert!(
        stats.tombstones <= stats.read_slots,
        "more tombstones than snapshot slots: {stats}"
    );
    assert_eq!(
        stats.amended,
        stats.dirty_len > 0,
        "amended exactly while a (never empty) dirty table exists: {stats}"
    );
}

/// What holds for the `Stats` of a map on which no write is in flight.
pub fn assert_settled(stats: &Stats) {
    assert_consistent(stats);
    assert!(
        stats.len <= stats.read_slots + stats.dirty_len,
        "live entries outside both tables: {stats}"
    );
    assert!(
        stats.tombstones <= stats.len.max(TOMBSTONE_FLOOR),
        "compaction let tombstones pile up: {stats}"
    );
    if stats.amended {
        // Every live entry of the snapshot is also in the dirty table.
        assert!(stats.len <= stats.dirty_len, "{stats}");
        assert!(
            stats.misses < stats.dirty_len,
            "missed enough to promote: {stats}"
        );
    } else {
        assert_eq!(stats.misses, 0, "misses without a dirty table: {stats}");
        // Without a dirty table every key is in the snapshot: live, or a tombstone.
        assert_eq!(stats.read_slots, stats.len + stats.tombstones, "{stats}");
    }
}

/// Whether `op` only reads: such a step may promote, but never builds a dirty table, compacts
/// or changes the contents.
fn reads_only(op: &Op) -> bool {
    matches!(
        op,
        Op::Get(_)
            | Op::GetKeyValue(..)
            | Op::ContainsKey(_)
            | Op::GetCloned(_)
            | Op::Iter
            | Op::Keys
            | Op::Values
            | Op::Len
            | Op::MissBurst(_)
            | Op::AbsentBurst
    )
}

/// Whether `op` touches a single key once (a bulk step may cycle through the protocol many
/// times).
fn single_key(op: &Op) -> bool {
    matches!(
        op,
        Op::Insert(..)
            | Op::Get(_)
            | Op::GetKeyValue(..)
            | Op::ContainsKey(_)
            | Op::GetCloned(_)
            | Op::GetOrInsert(..)
            | Op::TryInsert(..)
            | Op::GetOrInsertWith(..)
            | Op::Remove(_)
            | Op::RemoveIf(..)
            | Op::CompareExchange { .. }
            | Op::Update(..)
            | Op::GetMut(..)
    )
}

/// Whether `op` leaves the map unamended whatever its state before: it iterates a full
/// snapshot, publishes a new one, or reads an absent key until the dirty table is promoted.
fn unamends(op: &Op) -> bool {
    matches!(
        op,
        Op::Iter
            | Op::Keys
            | Op::Values
            | Op::Retain(_)
            | Op::Clear
            | Op::ShrinkToFit
            | Op::Clone
            | Op::Extend(..)
            | Op::AbsentBurst
    )
}

/// Checks each step's `Stats` against the previous step's.
struct Transitions {
    before: Stats,
}

impl Checker for Transitions {
    fn after<S: BuildHasher>(&mut self, map: &SnapMap<u32, u32, S>, _model: &Model, op: &Op) {
        // `sequence::run` has checked `assert_settled` and `len` against the model already.
        let now = map.stats();

        let before = std::mem::replace(&mut self.before, now.clone());
        if *op == Op::Clone {
            // A new map, with counters of its own; its snapshot holds the live entries only.
            assert_eq!((now.read_slots, now.tombstones), (now.len, 0), "{now}");
            assert!(!now.amended, "{now}");
            return;
        }
        let counters = |s: &Stats| [s.promotions, s.dirty_builds, s.compactions];
        for (name, (old, new)) in ["promotions", "dirty builds", "compactions"]
            .into_iter()
            .zip(counters(&before).into_iter().zip(counters(&now)))
        {
            assert!(
                new >= old,
                "{name} went back after {op:?}: {before} -> {now}"
            );
            if single_key(op) {
                assert!(
                    new - old <= 1,
                    "{name} ran twice in {op:?}: {before} -> {now}"
                );
            }
        }
        if !before.amended && now.amended {
            assert!(
                now.dirty_builds > before.dirty_builds,
                "amended without a dirty build, by {op:?}: {before} -> {now}"
            );
        }
        if before.amended && !now.amended && *op != Op::Clear {
            assert!(
                now.promotions + now.compactions > before.promotions + before.compactions,
                "unamended without a promotion or compaction, by {op:?}: {before} -> {now}"
            );
        }
        if reads_only(op) {
            assert_eq!(
                (now.len, now.dirty_builds, now.compactions),
                (before.len, before.dirty_builds, before.compactions),
                "a read built or compacted, by {op:?}: {before} -> {now}"
            );
        }
        if unamends(op) {
            assert!(!now.amended, "still amended after {op:?}: {now}");
        }
        match op {
            Op::Clear => assert_eq!(
                (now.read_slots, now.tombstones, now.dirty_len),
                (0, 0, 0),
                "{now}"
            ),
            Op::ShrinkToFit => {
                assert_eq!((now.read_slots, now.tombstones), (now.len, 0), "{now}");
                assert_eq!(now.compactions, before.compactions + 1, "{now}");
            }
            Op::AbsentBurst => assert_eq!(
                now.promotions,
                before.promotions + u64::from(before.amended),
                "exactly one promotion if amended: {before} -> {now}"
            ),
            _ => {}
        }
    }
}

/// Runs one input; panics on the first broken expectation. Returns the map's final statistics.
pub fn run(input: &Input) -> Stats {
    let empty = SnapMap::<u32, u32>::new().stats();
    sequence::run(input, &mut Transitions { before: empty })
}
