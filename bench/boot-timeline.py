#!/usr/bin/env python3
"""One LPAR start, timed from the host: runs a start command (partctl activate, or virsh start) and
stamps, on the host's monotonic clock from the command's start, when the QEMU process began, the first
byte on the serial console, and the console lines that mark the boot's steps; then when the command
returned. With --wait-for it also waits for a console line after the command returned (virsh start
returns before the guest is up).

    boot-timeline.py --domain NAME [--wait-for TEXT] [--json] -- COMMAND...

The console log is the one partctl's domain XML names (<serial><log file=...>, truncated by libvirt at
each start); lines are stamped when they appear in it, so the stamps include virtlogd's small delay.
"""
import argparse
import json
import os
import subprocess
import sys
import time

# Console lines worth a stamp: the first line that contains the text, under the name shown.
MARKS = [
    ("kernel", "Linux version"),
    ("initramfs", "Trying to unpack rootfs"),
    ("initramfs-done", "Freeing initrd memory"),
    ("run-init", "Run /init"),
    ("up", "partctl-guest: up"),
    ("agent", "partagent: serving"),
]


def qemu_start(domain, t0):
    """The QEMU process's start on the monotonic clock (from /proc/PID/stat), relative to t0."""
    try:
        with open(f"/run/libvirt/qemu/{domain}.pid") as f:
            pid = int(f.read().strip())
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = int(fields[19])  # starttime, clock ticks since boot (CLOCK_BOOTTIME)
        started = ticks / os.sysconf("SC_CLK_TCK")
        return started - time.clock_gettime(time.CLOCK_BOOTTIME) + time.monotonic() - t0
    except (OSError, ValueError, IndexError):
        return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--domain", required=True)
    parser.add_argument("--wait-for", default=None, help="console text to wait for after the command")
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("command", nargs="+")
    args = parser.parse_args()
    log = f"/var/log/libvirt/qemu/{args.domain}-console.log"

    stamps = {}
    seen = b""
    offset = 0
    inode = None

    def poll(now):
        """Reads what is new in the console log and stamps first appearances."""
        nonlocal seen, offset, inode
        try:
            st = os.stat(log)
        except FileNotFoundError:
            return
        if inode is None or st.st_ino != inode or st.st_size < offset:
            # libvirt truncates (or recreates) the log when QEMU starts: read it from the start.
            inode, offset, seen = st.st_ino, 0, b""
        if st.st_size == offset:
            return
        with open(log, "rb") as f:
            f.seek(offset)
            chunk = f.read()
        offset += len(chunk)
        if chunk and "first-byte" not in stamps:
            stamps["first-byte"] = now
        seen += chunk
        text = seen.decode("utf-8", "replace")
        for name, needle in MARKS:
            if name not in stamps and needle in text:
                stamps[name] = now

    # Skip what an earlier boot left in the log: libvirt truncates it when QEMU starts.
    try:
        before = os.stat(log)
        inode, offset = before.st_ino, before.st_size
    except FileNotFoundError:
        pass
    t0 = time.monotonic()
    proc = subprocess.Popen(args.command, stdout=subprocess.DEVNULL)
    while proc.poll() is None:
        poll(time.monotonic() - t0)
        if "qemu" not in stamps:
            q = qemu_start(args.domain, t0)
            if q is not None:
                stamps["qemu"] = q
        time.sleep(0.002)
    stamps["return"] = time.monotonic() - t0
    status = proc.returncode
    if args.wait_for:
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            poll(time.monotonic() - t0)
            if args.wait_for.encode() in seen:
                break
            time.sleep(0.002)
        else:
            status = status or 1
        stamps["waited"] = time.monotonic() - t0
    poll(time.monotonic() - t0)
    if "qemu" not in stamps:
        q = qemu_start(args.domain, t0)
        if q is not None:
            stamps["qemu"] = q
    # The guest's own clock at its markers, from the kernel's printk times and the agent's uptime.
    text = seen.decode("utf-8", "replace")
    guest = {}
    for line in text.splitlines():
        if line.startswith("[") and "]" in line:
            try:
                t = float(line[1:line.index("]")].strip())
            except ValueError:
                continue
            for name, needle in MARKS:
                if needle in line and name not in guest:
                    guest[name] = t
        if "partagent: serving" in line and "(uptime " in line:
            guest["agent"] = float(line.split("(uptime ")[1].split()[0])
    order = ["qemu", "first-byte", "kernel", "initramfs", "initramfs-done", "run-init", "up", "agent", "return", "waited"]
    if args.json:
        print(json.dumps({"status": status, "host": stamps, "guest": guest}))
    else:
        for name in order:
            if name in stamps:
                g = f"   guest {guest[name]:7.3f} s" if name in guest else ""
                print(f"  {name:15s} {stamps[name] * 1000:8.0f} ms{g}")
    sys.exit(status)


if __name__ == "__main__":
    main()
