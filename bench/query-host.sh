#!/bin/sh
# `partctl query WPAR` of one running host WPAR: goal <= 10 ms median, without libvirt (the URI
# points at a socket that does not exist, so any libvirt call would fail). Side by side: the
# floor of starting partctl at all (`partctl --version`) and, when installed, `runc state` of a
# container, the nearest thing another tool does. Appends the figure to $BENCH_RATIOS.
set -eu
cd "$(dirname "$0")"
# The shipped profiles, also when run alone.
export PARTCTL_PROFILES="${PARTCTL_PROFILES:+$PARTCTL_PROFILES:}$(cd .. && pwd)/profiles"
mkdir -p work
ratios=${BENCH_RATIOS:-work/ratios.tsv}
name=ptest-bench-query
"$PARTCTL" remove $name --force >/dev/null 2>&1 || true
trap '"$PARTCTL" remove $name --force >/dev/null 2>&1 || true' EXIT
"$PARTCTL" define $name --profile wpar-system >/dev/null
"$PARTCTL" activate $name >/dev/null
export PARTCTL_CONNECT="qemu:///system?socket=/nonexistent/libvirt-sock"
"$PARTCTL" query $name -F state | grep -qx running
set -- "$PARTCTL --version" "$PARTCTL query $name" "$PARTCTL query $name --json"
# runc state of a container that exists, if runc and a bundle can be made cheaply.
runc_dir=""
if command -v runc >/dev/null && [ -d /var/lib/partctl/rootfs/busybox ]; then
    runc_dir=$(mktemp -d /tmp/ptest-bench-runc.XXXXXX)
    (cd "$runc_dir" && runc spec >/dev/null 2>&1) || true
    # No terminal, the busybox root read-only: `create` alone leaves a container to ask about.
    python3 - "$runc_dir/config.json" <<'PY' || true
import json, sys
spec = json.load(open(sys.argv[1]))
spec["process"]["terminal"] = False
spec["process"]["args"] = ["/bin/sleep", "1000"]
spec["root"] = {"path": "/var/lib/partctl/rootfs/busybox", "readonly": True}
json.dump(spec, open(sys.argv[1], "w"))
PY
    if [ -f "$runc_dir/config.json" ] && runc --root "$runc_dir/state" create --bundle "$runc_dir" ptest-bench-state >/dev/null 2>&1; then
        set -- "$@" "runc --root $runc_dir/state state ptest-bench-state"
    fi
fi
echo "query-host: partctl query of one running host WPAR, libvirt unreachable"
hyperfine -N -w 5 -r 100 --export-json work/query-host.json "$@" >/dev/null
python3 median-ratio.py work/query-host.json
if [ -n "$runc_dir" ]; then
    runc --root "$runc_dir/state" delete -f ptest-bench-state >/dev/null 2>&1 || true
    rm -rf "$runc_dir"
fi
python3 - work/query-host.json "$ratios" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
query = results[1]["median"] * 1000
with open(sys.argv[2], "a") as out:
    out.write("query of one host WPAR, median (partctl --version %.1f ms)\t%.1f ms\t<= 10 ms\n" % (results[0]["median"] * 1000, query))
PY
