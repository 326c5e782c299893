#!/bin/sh
# 200 idle system WPARs at once: host memory per WPAR (PSS of everything partctl keeps alive for
# it: its supervisor) and how fast `tree` still answers. Goals (issue 3): <= 1 MiB per WPAR,
# tree < 1 s.
set -eu
count=${COUNT:-200}
names=""
i=0
while [ $i -lt "$count" ]; do names="$names ptest-density-$i"; i=$((i + 1)); done
cleanup() { for n in $names; do "$PARTCTL" remove --force "$n" >/dev/null 2>&1 || true; done; }
trap cleanup EXIT
cleanup
echo "wpar-density: defining and activating $count system WPARs"
start=$(date +%s.%N)
for n in $names; do "$PARTCTL" define "$n" --profile wpar-system >/dev/null && "$PARTCTL" activate "$n"; done
end=$(date +%s.%N)
echo "  activation: $(python3 -c "print('%.1f ms per WPAR (define + activate)' % (($end - $start) * 1000 / $count))")"
pss=0
sup=0
for pid in $(pgrep -x partctl-supervi || true); do
    kb=$(awk '/^Pss:/ {print $2}' /proc/$pid/smaps_rollup 2>/dev/null || echo 0)
    pss=$((pss + kb)); sup=$((sup + 1))
done
echo "  supervisors: $sup, PSS total $pss KiB, per WPAR $((pss / (sup > 0 ? sup : 1))) KiB"
hyperfine -N -w 2 -r 10 "$PARTCTL tree" "$PARTCTL tree --json" 2>/dev/null | grep -E "Benchmark|Time"
