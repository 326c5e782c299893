#!/bin/sh
# Reproduces "wpar.define: stream had I/O failure" (issue 9): activate an LPAR, then at once define,
# activate and enter nested WPARs; force it off and activate it again (which hands its autostart
# WPARs over), ROUNDS times, while BUSY CPU hogs keep the machine busy. Prints one line per failed
# step and exits 1 when any failed. Run under the test lock:
#   flock /tmp/partctl-tests.lock env PARTCTL=.build/debug/partctl sh scripts/nested-activate-race.sh
set -u
P=${PARTCTL:-.build/debug/partctl}
L=${LPAR:-ptest-race}
ROUNDS=${ROUNDS:-3}
BUSY=${BUSY:-2}
failures=0
hogs=""
cleanup() {
    for pid in $hogs; do kill "$pid" 2>/dev/null; done
    virsh -c qemu:///system destroy "$L" >/dev/null 2>&1
    virsh -c qemu:///system undefine "$L" --nvram >/dev/null 2>&1
    rm -f /run/partctl/agent-channels/"$L".*
}
trap cleanup EXIT
fail() { echo "activate-race: round $1: $2" >&2; failures=$((failures + 1)); }

cleanup
i=0
while [ $i -lt "$BUSY" ]; do
    sh -c 'while :; do :; done' &
    hogs="$hogs $!"
    i=$((i + 1))
done
$P define "$L" --profile "${PROFILE:-lpar-minimal}" >/dev/null || exit 1
round=1
while [ $round -le "$ROUNDS" ]; do
    out=$($P activate "$L" 2>&1) || fail $round "activate: $out"
    out=$($P define "$L/web$round" --profile wpar-app-web 2>&1) || fail $round "define: $out"
    out=$($P activate "$L/web$round" 2>&1) || fail $round "nested activate: $out"
    out=$($P login "$L/web$round" -- /bin/true 2>&1) || fail $round "login: $out"
    # Every WPAR handed over so far runs (autostart), also right after a reactivation.
    w=1
    while [ $w -le $round ]; do
        state=$($P query "$L/web$w" -F state 2>&1)
        [ "$state" = running ] || fail $round "web$w is $state"
        w=$((w + 1))
    done
    $P force "$L" >/dev/null 2>&1 || fail $round "force"
    round=$((round + 1))
done
echo "activate-race: $ROUNDS rounds, $failures failures"
[ $failures -eq 0 ]
