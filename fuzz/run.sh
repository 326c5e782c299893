#!/bin/sh
# Replays every input of the corpus kept in the repository (fuzz/corpus/TARGET: seeds and every
# input that once failed), then runs each libFuzzer target built by `make fuzz-build` for SECONDS
# seconds (first argument) from that corpus and a working corpus in .build-fuzz that grows between
# runs. With a second argument `smoke`, the working corpus starts empty, so the run only depends on
# the repository.
# Exits non-zero when any target crashed, hung, leaked past its memory limit or broke an
# invariant; the input that did so is written to .build-fuzz/findings/TARGET/.
set -u
seconds=${1:?seconds per target}
mode=${2:-long}
build=.build-fuzz
status=0
for target in profiles agent-frames; do
    # New inputs stay short (profiles need a few KiB, frames far less): long ones slow every
    # mutation. Inputs of the repository's corpus are replayed whole first, whatever their length.
    case $target in
        profiles) binary=$build/release/FuzzProfiles max_len=8192 ;;
        agent-frames) binary=$build/release/FuzzAgentFrames max_len=4096 ;;
    esac
    work=$build/corpus/$target
    [ "$mode" = smoke ] && work=$build/smoke/$target && rm -rf "$work"
    mkdir -p "$work" "$build/findings/$target"
    log=$build/fuzz-$target.log
    # nice: the fuzzers use a whole core each; -timeout catches hangs, -rss_limit_mb runaway memory.
    limits="-timeout=10 -rss_limit_mb=2048"
    echo "fuzz: $target: replaying fuzz/corpus/$target (log $log.replay)"
    if ! nice -n 10 "$binary" $limits -artifact_prefix="$build/findings/$target/" "fuzz/corpus/$target"/* >"$log.replay" 2>&1; then
        status=1
        echo "fuzz: $target FAILED on an input of fuzz/corpus/$target (whole report in $log.replay):" >&2
        grep -E 'ERROR: |Fatal error|SUMMARY: |Running: |FuzzProfiles: |FuzzAgentFrames: ' "$log.replay" | tail -n 20 >&2
        continue
    fi
    echo "fuzz: $target for ${seconds}s (log $log)"
    if nice -n 10 "$binary" -dict="fuzz/$target.dict" -max_total_time="$seconds" -max_len=$max_len $limits \
        -print_final_stats=1 -artifact_prefix="$build/findings/$target/" "$work" "fuzz/corpus/$target" >"$log" 2>&1; then
        grep -E '^#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::average_exec_per_sec' "$log" | sed "s/^/fuzz: $target: /"
    else
        status=1
        echo "fuzz: $target FAILED (whole report in $log):" >&2
        grep -E 'ERROR: |Fatal error|SUMMARY: |Test unit written|FuzzProfiles: |FuzzAgentFrames: ' "$log" | head -n 20 >&2
    fi
done
exit $status
