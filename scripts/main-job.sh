#!/bin/sh
# The main job of `make run`: partitions defined and started from profiles/, the tree printed.
# Idempotent: partitions already there are reused, so `make run` can run again.
set -eu
PARTCTL=${PARTCTL:-partctl}
say() { printf '\n== %s\n' "$*"; }

exists() { "$PARTCTL" query "$1" >/dev/null 2>&1; }
state() { "$PARTCTL" query "$1" -F state 2>/dev/null || true; }

say "profiles"
"$PARTCTL" profile list

say "managed networks (partctl0: bridge, DHCP and NAT, made on first use)"
"$PARTCTL" network list

say "LPAR lp1 from lpar-minimal (partctl's guest image), on partctl0"
exists lp1 || "$PARTCTL" define lp1 --profile lpar-minimal -i network=partctl0
[ "$(state lp1)" = running ] || "$PARTCTL" activate lp1

say "LPAR memtest from lpar-memtest (memtest86+, a second operating system)"
exists memtest || "$PARTCTL" define memtest --profile lpar-memtest
[ "$(state memtest)" = running ] || "$PARTCTL" activate memtest

say "host WPAR tools from wpar-system (busybox init, its own root)"
exists tools || "$PARTCTL" define tools --profile wpar-system
[ "$(state tools)" = running ] || "$PARTCTL" activate tools
"$PARTCTL" login tools -- ps -o pid,args

say "host WPAR web from wpar-app-web (busybox httpd) on partctl0, published on host port 8080"
exists web || "$PARTCTL" define web --profile wpar-app-web
[ "$(state web)" = running ] || "$PARTCTL" activate web
forwarded() { "$PARTCTL" forward list -F host_port | grep -qx "$1"; }
forwarded 8080 || "$PARTCTL" forward add 8080 web:8080
curl -s --max-time 5 http://127.0.0.1:8080/

say "a transient application WPAR (partctl run)"
"$PARTCTL" run --profile wpar-app -- /bin/sh -c 'echo "inside: pid $$, hostname $(hostname)"'

# Wait for lp1's guest to reach user space (its console says so).
i=0
until "$PARTCTL" console lp1 --log | grep -q "partctl-guest: up"; do
    i=$((i + 1)); [ $i -le 150 ] || { echo "lp1 did not reach user space within 30 s" >&2; exit 1; }
    sleep 0.2
done
say "a WPAR nested in lp1, through its agent (wpar-app-web: busybox httpd)"
exists lp1/web || "$PARTCTL" define lp1/web --profile wpar-app-web
[ "$(state lp1/web)" = running ] || "$PARTCTL" activate lp1/web
"$PARTCTL" login lp1/web -- wget -q -O - http://127.0.0.1:8080/
say "lp1/web published on host port 8081 (through lp1's agent)"
forwarded 8081 || "$PARTCTL" forward add 8081 lp1/web:8080
curl -s --max-time 10 http://127.0.0.1:8081/
"$PARTCTL" forward list

say "lp1's console so far"
"$PARTCTL" console lp1 --log | tail -n 5

# memtest86+ keeps a CPU busy forever: show that it booted, then stop it (it stays defined).
i=0
until "$PARTCTL" console memtest --log | grep -q "Memtest86+"; do
    i=$((i + 1)); [ $i -le 150 ] || { echo "memtest did not start within 30 s" >&2; exit 1; }
    sleep 0.2
done
say "memtest's console says"
"$PARTCTL" console memtest --log | grep -a -o 'Memtest86+ v[0-9.]*' | head -n 1
"$PARTCTL" force memtest

say "the partition tree"
"$PARTCTL" tree
say "query"
"$PARTCTL" query -F path,kind,state,procs,mem,accel,ip --header
echo
echo "Next: 'partctl console lp1' (~. leaves), 'partctl login tools', 'partctl shutdown lp1',"
echo "'partctl login lp1/web -- ps', 'partctl forward list', 'partctl network show partctl0', 'partctl remove memtest --force'."
