#!/usr/bin/env bash
# Runs snapmap's loom models (loom-tests/), or shows that they catch a deliberately injected bug.
#
#   ci/loom.sh                  every two-thread model, at LOOM_MAX_PREEMPTIONS (default 2), then
#                               the three-thread model sized for CI, at
#                               LOOM_THREE_THREAD_PREEMPTIONS (default 1)
#   ci/loom.sh deep             the three-thread models (ignored by default), at
#                               LOOM_MAX_PREEMPTIONS (default 1); minutes each
#   ci/loom.sh inject NAME...   build with each named bug injected (or `all`) and check that its
#                               model fails with the expected message
#
# loom-tests/README.md explains the models, the bounds and the injections.
set -euo pipefail

cd "$(dirname "$0")/.."

# Both cfgs, always: `--cfg loom` alone would leave crossbeam-epoch uninstrumented (snapmap
# refuses to build that way).
flags="--cfg loom --cfg crossbeam_loom"

# Injected bug -> "test binary:test name:message its model fails with[:preemption bound]" (the
# bound, when given, replaces LOOM_MAX_PREEMPTIONS for that model: the fold's relaxed load needs
# three preemptions to be reached).
declare -A injections=(
    [skip_locked_recheck]="insert_races:insert_race_on_new_key:the callers disagree"
    [skip_unexpunge_recheck]="compaction:compaction_vs_store:the live count drifted"
    [relaxed_value_publish]="compare_exchange:update_vs_update:Causality violation"
    [relaxed_index_publish]="index:lookup_vs_index_publication:Causality violation"
    [relaxed_index_fold]="iteration:iteration_vs_promotion:Causality violation:3"
    [free_value_now]="live_stores:live_store_vs_dirty_build_and_promotion:Causality violation"
    [revival_counted_after]="revival:clear_vs_revival:the clear left a key stored before it began"
    [revival_not_taken_back]="revival:revival_taken_back:the live count drifted"
    [revival_taken_back_unchecked]="revival:revival_taken_back:the tombstones were not compacted"
)

# The three-thread model that fits CI's time budget: "test binary:test name".
three_thread_ci_model="three_threads:writer_remover_reader"

# Sums the models that passed in a cargo test log.
count_passed() {
    awk '/^test result: / { sum += $4 } END { print sum + 0 }' "$1"
}

# Runs the models (`--ignored`: the deep ones) and checks that all of them ran. Every test
# binary runs even when one fails (a failing model aborts its binary), so the count says how
# many passed.
run_suite() {
    local log expected passed status=0
    log=$(mktemp)
    # Models are compiled only under `cfg(loom)`: a build without it would pass zero tests.
    expected=$(cat loom-tests/tests/*.rs | grep -c '^#\[ignore')
    if [[ $# -eq 0 ]]; then
        expected=$(($(cat loom-tests/tests/*.rs | grep -c '^#\[test\]') - expected))
    fi
    RUSTFLAGS="$flags" CARGO_TARGET_DIR=target/loom \
        cargo test --release --no-fail-fast -p loom-tests -- "$@" --test-threads=1 --nocapture \
        2>&1 | tee "$log" || status=$?
    passed=$(count_passed "$log")
    rm -f "$log"
    if [[ "$status" != 0 || "$passed" != "$expected" ]]; then
        echo "loom: $passed models passed, expected $expected" >&2
        return 1
    fi
    echo "loom: all $expected models passed at LOOM_MAX_PREEMPTIONS=$LOOM_MAX_PREEMPTIONS"
}

# Runs the one three-thread model that CI affords, at its own bound.
run_three_thread_model() {
    local binary test log status=0
    IFS=: read -r binary test <<<"$three_thread_ci_model"
    log=$(mktemp)
    RUSTFLAGS="$flags" CARGO_TARGET_DIR=target/loom \
        LOOM_MAX_PREEMPTIONS="${LOOM_THREE_THREAD_PREEMPTIONS:-1}" \
        cargo test --release -p loom-tests --test "$binary" -- --ignored --exact "$test" \
        --nocapture 2>&1 | tee "$log" || status=$?
    if [[ "$status" != 0 || "$(count_passed "$log")" != 1 ]]; then
        rm -f "$log"
        echo "loom: the three-thread model $binary::$test did not pass" >&2
        return 1
    fi
    rm -f "$log"
    echo "loom: $binary::$test passed at LOOM_MAX_PREEMPTIONS=${LOOM_THREE_THREAD_PREEMPTIONS:-1}"
}

# Builds with bug $1 injected and runs its model, which must fail with the expected message (a
# failing model aborts the process, so this checks the output rather than using should_panic).
run_injection() {
    local name=$1 spec binary test message bound log
    spec=${injections[$name]:?unknown injection $name (known: ${!injections[*]})}
    IFS=: read -r binary test message bound <<<"$spec"
    log=$(mktemp)
    echo "==> injecting $name: expecting $binary::$test to fail with \"$message\""
    if LOOM_MAX_PREEMPTIONS="${bound:-$LOOM_MAX_PREEMPTIONS}" \
        RUSTFLAGS="$flags --cfg snapmap_inject=\"$name\"" CARGO_TARGET_DIR="target/loom-inject-$name" \
        cargo test --release -p loom-tests --test "$binary" -- --exact "$test" >"$log" 2>&1; then
        cat "$log"
        echo "loom: the injected bug $name was NOT caught" >&2
        exit 1
    fi
    if ! grep -q -- "$message" "$log"; then
        cat "$log"
        echo "loom: $binary::$test failed, but not with \"$message\"" >&2
        exit 1
    fi
    # The model's own report: the first panic message, without loom's follow-up noise.
    grep -m1 -A3 "panicked at" "$log"
    rm -f "$log"
    echo "<== $name caught by $binary::$test"
}

case "${1:-}" in
inject)
    shift
    export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}"
    names=("$@")
    if [[ ${#names[@]} -eq 0 || "${names[0]}" == all ]]; then
        names=("${!injections[@]}")
    fi
    for name in "${names[@]}"; do
        run_injection "$name"
    done
    ;;
deep)
    export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-1}"
    run_suite --ignored || exit 1
    ;;
"")
    export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}"
    # Both run even if the first fails, so that one report shows every failure.
    failed=0
    run_suite || failed=1
    run_three_thread_model || failed=1
    exit "$failed"
    ;;
*)
    echo "usage: ci/loom.sh [deep | inject NAME... | inject all]" >&2
    exit 2
    ;;
esac
