#!/bin/sh
# `partctl run --profile wpar-app -- /bin/true` against crun, runc and bubblewrap doing the same:
# a command in fresh pid/net/ipc/uts/mount(/cgroup) namespaces with a cgroup. Goal (issue 3):
# median ratio partctl/crun <= 1.0. $PARTCTL should be a `make release` build: its RELEASE_FLAGS
# are part of partctl's start-up time. partctl installs its default seccomp filter; the cost of
# that filter is the ratio to the same run with `seccomp: unconfined` (goal, issue 8: <= 1.05),
# and crun is also measured with a filter of the same deny-list (config-seccomp.json).
set -eu
cd "$(dirname "$0")"
mkdir -p work
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
# The same container with a seccomp filter like partctl's default (Docker's semantics as a deny-list:
# EPERM for each name, ENOSYS for clone3, namespace flags of clone refused).
denied = """add_key keyctl request_key init_module finit_module delete_module kexec_load kexec_file_load reboot
swapon swapoff settimeofday clock_settime adjtimex clock_adjtime acct iopl ioperm syslog vhangup bpf
perf_event_open userfaultfd io_uring_setup io_uring_enter io_uring_register fanotify_init lookup_dcookie
quotactl quotactl_fd open_by_handle_at name_to_handle_at unshare setns mount umount2 pivot_root fsopen
fsconfig fsmount fspick move_mount open_tree mount_setattr kcmp pidfd_getfd process_madvise mbind
set_mempolicy get_mempolicy move_pages set_mempolicy_home_node nfsservctl uselib ustat sysfs""".split()
rules = [{"names": denied, "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
         {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]
for flag in (0x20000, 0x2000000, 0x4000000, 0x8000000, 0x10000000, 0x20000000, 0x40000000):
    rules.append({"names": ["clone"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
                  "args": [{"index": 0, "value": flag, "valueTwo": flag, "op": "SCMP_CMP_MASKED_EQ"}]})
spec["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": rules}
json.dump(spec, open(path.replace("config.json", "config-seccomp.json"), "w"), indent=1)
PY
# partctl's run without its filter, to see what the filter costs.
printf 'kind: wpar\nextends: wpar-app\nseccomp: unconfined\n' >work/wpar-app-unconfined.yaml

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
    hyperfine -N -w 3 -r "$per_round" --export-json "work/run-partctl-unconfined-$round.json" \
        "$PARTCTL run --profile work/wpar-app-unconfined.yaml -- /bin/true" >/dev/null
    # crun 1.8 refuses this host's hybrid cgroups unless the cgroup2 mount is hidden: measure it (and
    # runc, for the same conditions) inside a private mount namespace where it is.
    unshare -m sh -c "
        umount /sys/fs/cgroup/unified 2>/dev/null || true
        cd '$bundle'
        hyperfine -N -w 3 -r $per_round --export-json ../run-crun-$round.json 'crun run ptest-bench-crun' >/dev/null
        hyperfine -N -w 3 -r $per_round --export-json ../run-crun-seccomp-$round.json 'crun run -f config-seccomp.json ptest-bench-crun' >/dev/null
        hyperfine -N -w 2 -r $per_round --export-json ../run-runc-$round.json 'runc run ptest-bench-runc' >/dev/null
    "
    hyperfine -N -w 3 -r "$per_round" --export-json "work/run-bwrap-$round.json" \
        "bwrap --unshare-all --ro-bind / / --proc /proc --dev /dev --tmpfs /tmp /bin/true" >/dev/null
done
# One hyperfine-style export per tool with the times of all rounds, for median-ratio.py.
python3 - "$rounds" <<'PY'
import json, statistics, sys
rounds = int(sys.argv[1])
for tool in ("crun", "partctl", "runc", "bwrap", "partctl-unconfined", "crun-seccomp"):
    times, command = [], None
    for round in range(1, rounds + 1):
        result = json.load(open(f"work/run-{tool}-{round}.json"))["results"][0]
        times += result["times"]
        command = result["command"]
    json.dump({"results": [{"command": command, "times": times, "median": statistics.median(times)}]},
              open(f"work/run-{tool}.json", "w"))
PY
python3 median-ratio.py work/run-crun.json work/run-partctl.json work/run-runc.json work/run-bwrap.json
echo "wpar-run: with seccomp filters (partctl's default, crun's config-seccomp.json), ratios to partctl unconfined (goal <= 1.05):"
python3 median-ratio.py work/run-partctl-unconfined.json work/run-partctl.json work/run-crun-seccomp.json work/run-crun.json
python3 append-ratio.py "run /bin/true in a fresh WPAR: partctl / crun" "<= 1.0x" work/run-partctl.json work/run-crun.json
python3 append-ratio.py "the same with partctl's default seccomp filter / unconfined" "<= 1.05x" \
    work/run-partctl.json work/run-partctl-unconfined.json
