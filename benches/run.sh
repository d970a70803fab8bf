#!/usr/bin/env bash
# Runs the whole benchmark suite, then turns its results into tables and plots.
#
#   benches/run.sh full    the measurement behind BENCHMARKS.md: about 25 minutes on 2 cores.
#                          Writes benches/report/ and the generated part of BENCHMARKS.md.
#   benches/run.sh quick   a smoke run of the whole pipeline in a few minutes. Its report goes
#                          to target/bench-results/quick/report/ and never into the repository:
#                          quick numbers are not measurements.
#
# Raw results (criterion's estimates, memory.json, insert_latency.json, meta.json and one log
# per bench) are kept in target/bench-results/MODE/. Run on an otherwise idle machine: the
# report records the load average at the start and at the end.
set -euo pipefail

mode=${1:-full}
case $mode in
quick | full) ;;
*)
    echo "usage: $0 [quick|full]" >&2
    exit 2
    ;;
esac

cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
mkdir -p "$target/bench-results"
results="$(cd "$target/bench-results" && pwd)/$mode"
rm -rf "$results"
mkdir -p "$results"

export SNAPMAP_BENCH=$mode
export SNAPMAP_BENCH_OUT=$results
export CRITERION_HOME=$results/criterion

echo "==> building the benches"
cargo bench --no-run --quiet

python3 benches/report.py machine "$results/meta.json"
suite_start=$SECONDS
for bench in go_sync_map mixes get_latency insert_latency memory; do
    echo
    echo "==> $bench ($mode)"
    start=$SECONDS
    cargo bench --quiet --bench "$bench" 2>&1 | tee "$results/$bench.log"
    echo "<== $bench: $((SECONDS - start)) s" | tee -a "$results/timings.txt"
done
echo "<== all benches: $((SECONDS - suite_start)) s" | tee -a "$results/timings.txt"
python3 benches/report.py machine --finish "$results/meta.json"

echo
if [[ $mode == full ]]; then
    python3 benches/report.py report "$results" --out benches/report --splice BENCHMARKS.md
else
    python3 benches/report.py report "$results" --out "$results/report"
fi
