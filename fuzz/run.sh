#!/bin/sh
# Runs each libFuzzer target built by `make fuzz-build` for SECONDS seconds (first argument) over
# the corpus kept in the repository (fuzz/corpus/TARGET: seeds and every input that once crashed,
# all run first) and a working corpus in .build-fuzz that grows between runs. With a second
# argument `smoke`, the working corpus starts empty, so the run only depends on the repository.
# Exits non-zero when any target crashed, hung, leaked past its memory limit or broke an
# invariant; the input that did so is written to .build-fuzz/artifacts/TARGET/.
set -u
seconds=${1:?seconds per target}
mode=${2:-long}
build=.build-fuzz
status=0
for target in profiles agent-frames; do
    case $target in
        profiles) binary=$build/release/FuzzProfiles ;;
        agent-frames) binary=$build/release/FuzzAgentFrames ;;
    esac
    work=$build/corpus/$target
    [ "$mode" = smoke ] && work=$build/smoke/$target && rm -rf "$work"
    mkdir -p "$work" "$build/artifacts/$target"
    log=$build/fuzz-$target.log
    echo "fuzz: $target for ${seconds}s (log $log)"
    # nice: the fuzzers use a whole core each; -timeout catches hangs, -rss_limit_mb runaway memory.
    if nice -n 10 "$binary" -dict="fuzz/$target.dict" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$build/artifacts/$target/" "$work" "fuzz/corpus/$target" >"$log" 2>&1; then
        grep -E '^#[0-9]+ *DONE|stat::number_of_executed_units|stat::average_exec_per_sec' "$log" | sed "s/^/fuzz: $target: /"
    else
        status=1
        echo "fuzz: $target FAILED (whole report in $log):" >&2
        grep -E 'ERROR: |Fatal error|SUMMARY: |Test unit written|FuzzProfiles: |FuzzAgentFrames: ' "$log" | head -n 20 >&2
    fi
done
exit $status
