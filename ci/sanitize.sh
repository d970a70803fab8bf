#!/usr/bin/env bash
# Runs the unit tests and the stress tests under ThreadSanitizer, and those plus the drop tests
# (panicking destructors, exactly-once drops) under AddressSanitizer with its LeakSanitizer, on
# nightly Rust with the standard library rebuilt instrumented.
#
#   ci/sanitize.sh                   both sanitizers
#   ci/sanitize.sh thread|address    one of them
#   ci/sanitize.sh inject            the stress tests must fail on two injected bugs that loom,
#                                    keeping per-cell retirement, does not see: AddressSanitizer
#                                    on free_batch_now (a batch of retired cells freed at once),
#                                    ThreadSanitizer on spare_batch_now (one kept for reuse at
#                                    once: a data race on a reused cell, or a use after free of
#                                    one the full spare list freed)
#
# Each sanitizer builds in its own target directory (target/tsan, target/asan); ci/README.md has
# the measured times.
set -euo pipefail

cd "$(dirname "$0")/.."

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "sanitize: SKIPPED: no nightly toolchain (the sanitizers need nightly Rust)"
    exit 0
fi
if ! rustup component list --toolchain nightly --installed | grep -q '^rust-src'; then
    rustup component add --toolchain nightly rust-src
fi
host=$(rustc +nightly -vV | sed -n 's/^host: //p')

# `--cfg crossbeam_sanitize` makes crossbeam-epoch collect every sealed bag at each collection
# and seal bags after 4 objects instead of 64: retired memory is freed (and reused) much sooner,
# so a use after free has a real chance to hit freed memory. crossbeam-epoch detects
# ThreadSanitizer by itself and then avoids fences, which TSan does not understand.
sanitize() {
    local sanitizer=$1 dir=$2
    shift 2
    echo "==> ${sanitizer} sanitizer"
    RUSTFLAGS="-Zsanitizer=${sanitizer} --cfg crossbeam_sanitize ${EXTRA_RUSTFLAGS:-}" \
        CARGO_TARGET_DIR="target/${dir}" \
        cargo +nightly test -Zbuild-std --target "$host" --lib --test stress "$@"
}

# Fail on the first report, and (AddressSanitizer) on any leak found at exit.
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
export ASAN_OPTIONS="detect_leaks=1 halt_on_error=1"

# Builds with the injected bug $1 under sanitizer $2 (target directory $3) and requires the
# stress tests to fail with a report matching the extended regular expression $4 ($5: the
# report's name).
must_catch() {
    local bug=$1 sanitizer=$2 dir=$3 pattern=$4 name=$5 log
    log=$(mktemp)
    if EXTRA_RUSTFLAGS="--cfg snapmap_inject=\"${bug}\"" \
        sanitize "$sanitizer" "$dir" --test stress >"$log" 2>&1; then
        tail -n 20 "$log"
        echo "sanitize: the injected bug ${bug} was NOT caught" >&2
        exit 1
    fi
    if ! grep -Eq "$pattern" "$log"; then
        tail -n 40 "$log"
        echo "sanitize: ${bug} failed, but not with a ${pattern} report" >&2
        exit 1
    fi
    grep -m1 "^SUMMARY: ${name}" "$log"
    echo "<== ${bug} caught by ${name}"
    rm -f "$log"
}

if [[ $# -eq 0 ]]; then
    set -- thread address
fi
for sanitizer in "$@"; do
    case $sanitizer in
    # With rayon's workers: par_iter's workers read under the caller's guard, not their own.
    thread) sanitize thread tsan --features rayon --test rayon ;;
    address) sanitize address asan --test drops ;;
    inject)
        must_catch free_batch_now address asan-inject "heap-use-after-free" "AddressSanitizer"
        must_catch spare_batch_now thread tsan-inject "ThreadSanitizer: (data race|heap-use-after-free)" "ThreadSanitizer"
        ;;
    *)
        echo "usage: ci/sanitize.sh [thread|address|inject]..." >&2
        exit 2
        ;;
    esac
done
