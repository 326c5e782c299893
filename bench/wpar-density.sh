#!/bin/sh
# COUNT (default 50) idle system WPARs at once: host memory per WPAR and how fast `tree` still answers.
# Goals: <= 0.3 MiB per WPAR (issue 9; 1 MiB in issue 3), tree < 1 s (issue 3).
#
# What is counted per WPAR is what partctl keeps on the host for it, not its workload: the PSS of its
# supervisor (found through the WPAR's own pidfile, so other WPARs on the host do not count), plus
# its runtime directory (pidfile, records) when that lives in memory (a tmpfs /run). The workload's
# own processes (busybox init here), and the kernel's namespaces and cgroups, are the WPAR's, as a
# container's are; crun keeps no process per container once started, so there is no crun figure
# to divide by.
set -eu
cd "$(dirname "$0")"
mkdir -p work
ratios=${BENCH_RATIOS:-$(pwd)/work/ratios.tsv}
count=${COUNT:-50}
runtime=${PARTCTL_RUNTIME_ROOT:-/run/partctl}/wpar
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
in_memory=no
[ "$(stat -f -c %T "$runtime" 2>/dev/null)" = tmpfs ] && in_memory=yes
python3 - "$runtime" "$in_memory" "$count" "$ratios" $names <<'PY'
import json, os, sys
runtime, in_memory, count, ratios, names = sys.argv[1], sys.argv[2] == "yes", int(sys.argv[3]), sys.argv[4], sys.argv[5:]
import time
def measure():
    pss = files = 0
    for name in names:
        directory = f"{runtime}/{name}"
        pid = json.load(open(f"{directory}/supervisor.pid"))["pid"]
        for line in open(f"/proc/{pid}/smaps_rollup"):
            if line.startswith("Pss:"):
                pss += int(line.split()[1])
        for entry in os.scandir(directory):
            files += os.lstat(entry.path).st_blocks // 2  # 512-byte blocks to KiB
    return pss, files
# Idle means settled: the last inits may still be printing their boot to the console the
# supervisors hold. Counted once two readings a quarter second apart agree (at most 5 s).
pss, files = measure()
for _ in range(20):
    time.sleep(0.25)
    again = measure()
    if again == (pss, files):
        break
    pss, files = again
found = len(names)
per = (pss + (files if in_memory else 0)) / found
# Where one supervisor's PSS goes, by mapping.
pid = json.load(open(f"{runtime}/{names[len(names) // 2]}/supervisor.pid"))["pid"]
exe, parts, current = os.readlink(f"/proc/{pid}/exe"), {}, None
for line in open(f"/proc/{pid}/smaps"):
    fields = line.split()
    if "-" in fields[0] and len(fields) >= 5 and not fields[0].endswith(":"):
        path = fields[5] if len(fields) > 5 else ""
        if path == exe:
            current = {"r-x": "its code", "rw-": "its writable data"}.get(fields[1][:3], "its read-only data (relocated: .data.rel.ro)")
        elif path.startswith("/"):
            current = "shared libraries"
        else:
            current = {"[heap]": "heap", "[stack]": "stack"}.get(path, "anonymous (.bss beyond the file, mmap)")
    elif fields[0] == "Pss:":
        parts[current] = parts.get(current, 0) + int(fields[1])
print("  one supervisor's PSS: " + ", ".join(f"{k} {v} KiB" for k, v in sorted(parts.items(), key=lambda kv: -kv[1]) if v))
print(f"  supervisors: {found}, PSS total {pss} KiB, {pss / found:.0f} KiB each")
print(f"  runtime directories: {files} KiB on {'tmpfs, counted' if in_memory else 'disk, not counted as memory'}")
print(f"  host memory per idle WPAR: {per:.0f} KiB (goal <= 307 KiB, 0.3 MiB)")
with open(ratios, "a") as out:
    out.write(f"host memory per idle WPAR (PSS, {count} system WPARs)\t{per:.0f} KiB\t<= 0.3 MiB\n")
PY
hyperfine -N -w 2 -r 10 --export-json work/density-tree.json "$PARTCTL tree" "$PARTCTL tree --json" 2>/dev/null | grep -E "Benchmark|Time"
python3 - "$count" "$ratios" <<'PY'
import json, sys
count, ratios = sys.argv[1], sys.argv[2]
median = max(r["median"] for r in json.load(open("work/density-tree.json"))["results"])
with open(ratios, "a") as out:
    out.write(f"tree (text and --json, slower one), {count} idle WPARs\t{median * 1000:.0f} ms\t< 1 s\n")
PY
