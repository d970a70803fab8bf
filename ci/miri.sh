#!/usr/bin/env bash
# Runs the unit tests and a small concurrent stress test under Miri (nightly Rust).
#
#   ci/miri.sh                 the unit tests and `racing_inserts_of_one_absent_key_have_one_winner`
#   ci/miri.sh TEST...         the unit tests and these tests of tests/stress.rs instead
#
# Flags, and why (see also ci/README.md):
#   -Zmiri-tree-borrows          crossbeam-epoch's list of participants (reached from `pin()`)
#                                breaks the stacked-borrows rules; tree borrows accepts it.
#   -Zmiri-permissive-provenance crossbeam-epoch keeps pointers in `AtomicUsize` and casts them
#                                back, which strict provenance rejects; this only silences the
#                                warning about those casts (strict provenance fails in crossbeam).
#   -Zmiri-ignore-leaks          crossbeam-epoch's global collector is never torn down; leaks of
#                                the map are checked by LeakSanitizer (ci/sanitize.sh) and by the
#                                drop-counting tests instead.
set -euo pipefail

cd "$(dirname "$0")/.."

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "miri: SKIPPED: no nightly toolchain (Miri needs nightly Rust)"
    exit 0
fi
installed=$(rustup component list --toolchain nightly --installed)
for component in miri rust-src; do
    if ! grep -q "^${component}" <<<"$installed"; then
        rustup component add --toolchain nightly "$component"
    fi
done

export MIRIFLAGS="-Zmiri-tree-borrows -Zmiri-permissive-provenance -Zmiri-ignore-leaks"
export CARGO_TARGET_DIR=target/miri

cargo +nightly miri setup
# The protocol's unit tests (sized for Miri), then stress tests with their loops scaled down
# under Miri; by default four threads racing the insert-if-absent operations on new and on
# deleted keys, through both the lock-free and the locked paths.
if [[ $# -eq 0 ]]; then
    set -- racing_inserts_of_one_absent_key_have_one_winner
fi
cargo +nightly miri test --lib
cargo +nightly miri test --test stress -- --exact "$@"
