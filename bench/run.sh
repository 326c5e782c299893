#!/bin/sh
# make bench: partctl side by side with the tools a user would pick instead, as ratios of medians
# measured in one run (absolute times on shared machines are noisy; ratios are what counts).
#
# Every script appends its figures to $BENCH_RATIOS, one line each: label<TAB>measured<TAB>goal
# (bench/ratio-table.py reads them). At the end one table of all of them, whatever happened on the
# way: a script that is missing or fails is a row of its own, and the others still run.
# BENCH_SCRIPTS="wpar-density.sh wpar-run.sh" runs only those.
set -u
cd "$(dirname "$0")"
# The shipped profiles, wherever the benchmarks run from.
export PARTCTL_PROFILES="${PARTCTL_PROFILES:+$PARTCTL_PROFILES:}$(cd .. && pwd)/profiles"
PARTCTL=${PARTCTL:?set PARTCTL to the partctl binary}
export PARTCTL
command -v hyperfine >/dev/null || { apt-get install -y -qq hyperfine >/dev/null; }
mkdir -p work
BENCH_RATIOS=$(pwd)/work/ratios-$(date +%Y%m%d-%H%M%S).tsv
export BENCH_RATIOS
: >"$BENCH_RATIOS"
scripts=${BENCH_SCRIPTS:-tree-1000.sh query-host.sh lpar-cycle.sh relocate.sh lpar-overlay.sh nested-boot.sh wpar-run.sh wpar-density.sh nested-vs-host.sh oci-run.sh debian-image.sh network-activate.sh forward-throughput.sh tree-systems.sh}
for bench in $scripts; do
    if [ ! -f "$bench" ]; then
        printf '%s\tmissing\t-\n' "$bench" >>"$BENCH_RATIOS"
        continue
    fi
    before=$(wc -l <"$BENCH_RATIOS")
    sh "$bench"
    status=$?
    if [ $status -ne 0 ]; then
        printf '%s\tfailed (exit %s)\t-\n' "$bench" "$status" >>"$BENCH_RATIOS"
    elif [ "$(wc -l <"$BENCH_RATIOS")" -eq "$before" ]; then
        printf '%s\tno figure\t-\n' "$bench" >>"$BENCH_RATIOS"
    fi
done
echo
python3 ratio-table.py "$BENCH_RATIOS"
