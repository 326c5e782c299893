#!/bin/sh
# make bench: partctl side by side with the tools a user would pick instead, as ratios of medians
# measured in one run (absolute times on shared machines are noisy; ratios are what counts).
set -eu
cd "$(dirname "$0")"
# The shipped profiles, wherever the benchmarks run from.
export PARTCTL_PROFILES="${PARTCTL_PROFILES:+$PARTCTL_PROFILES:}$(cd .. && pwd)/profiles"
PARTCTL=${PARTCTL:?set PARTCTL to the partctl binary}
command -v hyperfine >/dev/null || { apt-get install -y -qq hyperfine >/dev/null; }
mkdir -p work
for bench in tree-1000.sh lpar-cycle.sh nested-boot.sh wpar-run.sh wpar-density.sh nested-login.sh; do
    [ -f "$bench" ] && PARTCTL=$PARTCTL sh "$bench"
done
