#!/bin/sh
# `partctl run --profile wpar-app -- /bin/true` against crun, runc and bubblewrap doing the same:
# a command in fresh pid/net/ipc/uts/mount(/cgroup) namespaces with a cgroup. Goal (issue 3):
# median ratio partctl/crun <= 1.0. $PARTCTL should be a `make release` build: its RELEASE_FLAGS
# are part of partctl's start-up time.
set -eu
runs=${RUNS:-60}
missing=""
for tool in crun runc bwrap; do command -v $tool >/dev/null || missing="$missing $tool"; done
if [ -n "$missing" ]; then
    pkgs=$(echo "$missing" | sed 's/bwrap/bubblewrap/')
    echo "wpar-run: installing$pkgs for the comparison"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $pkgs >/dev/null
fi

# One OCI bundle for crun and runc: the busybox root, /bin/true, the same namespaces as partctl.
bundle=$(pwd)/work/oci-bundle
rm -rf "$bundle"
mkdir -p "$bundle"
cp -a "${PARTCTL_ROOT:-/var/lib/partctl}/rootfs/busybox" "$bundle/rootfs"
(cd "$bundle" && crun spec)
python3 - "$bundle/config.json" <<'PY'
import json, sys
path = sys.argv[1]
spec = json.load(open(path))
spec["process"]["terminal"] = False
spec["process"]["args"] = ["/bin/true"]
spec["root"] = {"path": "rootfs", "readonly": True}
spec["linux"]["namespaces"] = [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount", "cgroup")]
spec["linux"]["resources"] = {"memory": {"limit": 268435456}, "pids": {"limit": 256}}
json.dump(spec, open(path, "w"), indent=1)
PY

# The machine is shared: load comes and goes. Each tool is measured in several short rounds that
# alternate with the others', so that a burst of load does not fall on one tool alone; the
# medians are taken over all rounds.
rounds=${ROUNDS:-4}
per_round=$(( (runs + rounds - 1) / rounds ))
echo "wpar-run: run /bin/true in a fresh WPAR/container, $runs runs each in $rounds alternating rounds"
rm -f work/run-*.json
for round in $(seq "$rounds"); do
    hyperfine -N -w 3 -r "$per_round" --export-json "work/run-partctl-$round.json" \
        "$PARTCTL run --profile wpar-app -- /bin/true" >/dev/null
    # crun 1.8 refuses this host's hybrid cgroups unless the cgroup2 mount is hidden: measure it (and
    # runc, for the same conditions) inside a private mount namespace where it is.
    unshare -m sh -c "
        umount /sys/fs/cgroup/unified 2>/dev/null || true
        cd '$bundle'
        hyperfine -N -w 3 -r $per_round --export-json ../run-crun-$round.json 'crun run ptest-bench-crun' >/dev/null
        hyperfine -N -w 2 -r $per_round --export-json ../run-runc-$round.json 'runc run ptest-bench-runc' >/dev/null
    "
    hyperfine -N -w 3 -r "$per_round" --export-json "work/run-bwrap-$round.json" \
        "bwrap --unshare-all --ro-bind / / --proc /proc --dev /dev --tmpfs /tmp /bin/true" >/dev/null
done
# One hyperfine-style export per tool with the times of all rounds, for median-ratio.py.
python3 - "$rounds" <<'PY'
import json, statistics, sys
rounds = int(sys.argv[1])
for tool in ("crun", "partctl", "runc", "bwrap"):
    times, command = [], None
    for round in range(1, rounds + 1):
        result = json.load(open(f"work/run-{tool}-{round}.json"))["results"][0]
        times += result["times"]
        command = result["command"]
    json.dump({"results": [{"command": command, "times": times, "median": statistics.median(times)}]},
              open(f"work/run-{tool}.json", "w"))
PY
python3 median-ratio.py work/run-crun.json work/run-partctl.json work/run-runc.json work/run-bwrap.json
