#!/usr/bin/env bash
# Runs every libFuzzer harness of Fuzz/ for SECONDS each (built by `make fuzz-build`), or only
# those named in ONLY (pipeline, configuration, management; comma-separated).
# The committed corpus seeds a working copy under out/fuzz/, so the repository stays clean;
# a crash leaves its input in out/fuzz/HARNESS/ and fails the run. Inputs that broke an
# invariant belong in Fuzz/Regressions/HARNESS/ once fixed (replayed by `swift test`).
set -euo pipefail
seconds=${1:-60}
build=${2:-.build-fuzz}
only=${3:-}
cd "$(dirname "$0")/.."
status=0
for pair in FuzzPipeline:pipeline FuzzConfiguration:configuration FuzzManagement:management; do
    harness=${pair%%:*} corpus=${pair##*:}
    [ -n "$only" ] && [[ ",$only," != *",$corpus,"* ]] && continue
    work=out/fuzz/$corpus
    mkdir -p "$work/corpus"
    cp -n Fuzz/Corpus/$corpus/* "$work/corpus/" 2>/dev/null || true
    [ -d Fuzz/Regressions/$corpus ] && cp -n Fuzz/Regressions/$corpus/* "$work/corpus/" 2>/dev/null || true
    options=()
    [ -f Fuzz/Dictionaries/$corpus.dict ] && options+=(-dict=Fuzz/Dictionaries/$corpus.dict)
    echo "fuzz: $harness for ${seconds}s (corpus $work/corpus)"
    # The Swift runtime's backtracer and ASan's own report would both handle a crash.
    # No allocation stacks (a crash input replays with them): ASan's stack unwinding on
    # every malloc costs the harnesses, which allocate a lot, about a fifth of their speed.
    if ! SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=${ASAN_OPTIONS:-malloc_context_size=0} \
        "$build/release/$harness" -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="$work/" -rss_limit_mb=4096 "${options[@]}" "$work/corpus" >"$work/log" 2>&1; then
        echo "fuzz: $harness FAILED — see $work/log and the crash-* input in $work/" >&2
        grep -E "Fatal error|ERROR:" "$work/log" | head -5 >&2 || true
        status=1
    fi
    grep -E "^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)|DONE" "$work/log" \
        | sed "s/^/  $harness /" || true
done
exit $status
