#!/bin/sh
# `partctl run --image IMAGE -- /bin/true` against `crun run` of the same OCI image unpacked by
# umoci: a command in fresh pid/net/ipc/uts/mount/cgroup namespaces with a cgroup, the root the
# image's. Goal (issue 10): median ratio partctl/crun <= 1.0. The image is built here with umoci:
# one layer, the host's busybox-static as /bin/busybox with /bin/sh and /bin/true. partctl runs it
# with the shipped wpar-image profile (a user namespace, its default seccomp filter, tini), crun
# with a config.json of the same namespaces and limits (as bench/wpar-run.sh does for the host's
# files). $PARTCTL should be a `make release` build.
set -eu
cd "$(dirname "$0")"
mkdir -p work
runs=${RUNS:-60}
for tool in crun umoci skopeo hyperfine; do
    command -v $tool >/dev/null || { echo "oci-run: $tool is missing (make setup installs it)"; exit 1; }
done
[ -x /bin/busybox ] || { echo "oci-run: /bin/busybox is missing (busybox-static)"; exit 1; }

image=bench-oci-run
# The shipped wpar-image profile of this tree, wherever partctl is installed.
PARTCTL_PROFILES=$(cd .. && pwd)/profiles
export PARTCTL_PROFILES
dir=$(pwd)/work/oci-run
rm -rf "$dir"
mkdir -p "$dir"
umoci init --layout "$dir/layout"
umoci new --image "$dir/layout:app"
umoci unpack --image "$dir/layout:app" "$dir/build"
mkdir -p "$dir/build/rootfs/bin" "$dir/build/rootfs/tmp"
cp /bin/busybox "$dir/build/rootfs/bin/busybox"
ln -s busybox "$dir/build/rootfs/bin/sh"
ln -s busybox "$dir/build/rootfs/bin/true"
umoci repack --image "$dir/layout:app" "$dir/build"
umoci config --image "$dir/layout:app" --config.cmd=/bin/sh
umoci gc --layout "$dir/layout"
rm -rf "$dir/build"
skopeo copy -q "oci:$dir/layout:app" "oci-archive:$dir/app.tar:app"

# partctl's copy, from the archive, as a user would import it.
"$PARTCTL" image remove "$image" >/dev/null 2>&1 || true
"$PARTCTL" image import "oci-archive:$dir/app.tar" --name "$image" >/dev/null
trap '"$PARTCTL" image remove "$image" >/dev/null 2>&1 || true' EXIT

# crun's bundle: the same image unpacked by umoci, its config.json made like partctl's WPAR.
bundle=$dir/bundle
umoci --log=error unpack --image "$dir/layout:app" "$bundle"
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

# Alternating rounds, as bench/wpar-run.sh: a burst of load on this shared machine falls on both.
rounds=${ROUNDS:-4}
per_round=$(( (runs + rounds - 1) / rounds ))
echo "oci-run: run /bin/true from an OCI image, $runs runs each in $rounds alternating rounds"
rm -f work/oci-run-*.json
for round in $(seq "$rounds"); do
    hyperfine -N -w 3 -r "$per_round" --export-json "work/oci-run-partctl-$round.json" \
        "$PARTCTL run --image $image -- /bin/true" >/dev/null
    # crun 1.8 refuses this host's hybrid cgroups unless the cgroup2 mount is hidden.
    unshare -m sh -c "
        umount /sys/fs/cgroup/unified 2>/dev/null || true
        cd '$bundle'
        hyperfine -N -w 3 -r $per_round --export-json '$(pwd)/work/oci-run-crun-$round.json' 'crun run ptest-bench-oci-crun' >/dev/null
    "
done
python3 - "$rounds" <<'PY'
import json, statistics, sys
rounds = int(sys.argv[1])
for tool in ("crun", "partctl"):
    times, command = [], None
    for round in range(1, rounds + 1):
        result = json.load(open(f"work/oci-run-{tool}-{round}.json"))["results"][0]
        times += result["times"]
        command = result["command"]
    json.dump({"results": [{"command": command, "times": times, "median": statistics.median(times)}]},
              open(f"work/oci-run-{tool}.json", "w"))
PY
python3 median-ratio.py work/oci-run-crun.json work/oci-run-partctl.json
python3 append-ratio.py "run --image /bin/true (OCI image): partctl / crun of the umoci bundle" "<= 1.0x" \
    work/oci-run-partctl.json work/oci-run-crun.json
