#!/bin/sh
# Boots the installed guest image in a libvirt domain (TCG, direct kernel boot) and checks what partctl
# relies on: the "up" marker, a shell with job control on the serial console, orphan reaping, a live
# vCPU add, a live balloon change, a DIMM hotplug, a clean ACPI power-off and virsh destroy. Prints the
# figures, removes the domain also on failure, exits 0 when every check passed.
#
# Environment:
#   SMOKE_BOOTS     how many boots to time (default 5; the live checks run on the last)
#   PARTCTL_CONNECT libvirt URI (default qemu:///system)
#   PARTCTL_ROOT    default /var/lib/partctl; the image is $PARTCTL_ROOT/images/partctl-guest
set -u

name=ptest-guest-smoke
log=/var/log/libvirt/qemu/ptest-guest-console.log
image=${PARTCTL_ROOT:-/var/lib/partctl}/images/partctl-guest
boots=${SMOKE_BOOTS:-5}
uri=${PARTCTL_CONNECT:-qemu:///system}
xml=$(mktemp)
failures=0

say() { echo "smoke: $*"; }
fail() {
    echo "smoke: FAIL: $*"
    failures=$((failures + 1))
}
virsh_() { virsh -q -c "$uri" "$@"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

remove_domain() {
    virsh_ destroy "$name" >/dev/null 2>&1
    virsh_ undefine "$name" >/dev/null 2>&1
}
cleanup() {
    remove_domain
    rm -f "$xml" "$xml.dimm"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits until a line of the console log matches the basic regular expression $1, at most $2 seconds;
# prints the wait in ms.
wait_for_log() {
    w_start=$(now_ms)
    w_deadline=$((w_start + $2 * 1000))
    while ! grep -q -- "$1" "$log" 2>/dev/null; do
        [ "$(now_ms)" -lt $w_deadline ] || return 1
        sleep 0.02
    done
    echo $(($(now_ms) - w_start))
}

# Waits until the domain is shut off, at most $1 seconds; prints the wait in ms.
wait_for_shutoff() {
    w_start=$(now_ms)
    w_deadline=$((w_start + $1 * 1000))
    until [ "$(virsh_ domstate "$name" 2>/dev/null)" = "shut off" ]; do
        [ "$(now_ms)" -lt $w_deadline ] || return 1
        sleep 0.05
    done
    echo $(($(now_ms) - w_start))
}

# Types a line into the guest's serial console through the domain's pty. QEMU notices that the pty
# has a peer only on its next poll (about once a second), so the pty is held open around the write.
type_on_console() {
    pty=$(virsh_ ttyconsole "$name") || return 1
    {
        sleep 1.2
        printf '%s\r' "$1"
        sleep 0.5
    } >"$pty"
}

median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

[ -f "$image/vmlinuz" ] && [ -f "$image/initrd.img" ] || {
    echo "smoke: no guest image in $image; run make guest-image" >&2
    exit 1
}
remove_domain # one left over by an interrupted run

cat >"$xml" <<EOF
<domain type='qemu'>
  <name>$name</name>
  <maxMemory slots='2' unit='MiB'>1024</maxMemory>
  <memory unit='MiB'>512</memory>
  <currentMemory unit='MiB'>256</currentMemory>
  <vcpu placement='static' current='1'>2</vcpu>
  <cpu><numa><cell id='0' cpus='0-1' memory='512' unit='MiB'/></numa></cpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$image/vmlinuz</kernel>
    <initrd>$image/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 partctl.hostname=$name</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <serial type='pty'>
      <log file='$log' append='off'/>
      <target port='0'/>
    </serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <controller type='usb' model='none'/>
    <memballoon model='virtio'><stats period='1'/></memballoon>
  </devices>
</domain>
EOF
virsh_ define "$xml" >/dev/null || exit 1

boot_times=""
guest_boot_times=""
shutdown_times=""
guest_off_times=""
run=1
while [ $run -le "$boots" ]; do
    start=$(now_ms)
    virsh_ start "$name" >/dev/null || {
        fail "virsh start failed"
        exit 1
    }
    started=$(now_ms)
    if ! wait_for_log "partctl-guest: up (kernel " 60 >/dev/null; then
        fail "boot $run: no up marker within 60 s; console log:"
        cat "$log"
        exit 1
    fi
    boot_ms=$(($(now_ms) - start))
    boot_times="$boot_times $boot_ms"
    guest_boot_times="$guest_boot_times $((boot_ms - (started - start)))"
    say "boot $run: virsh start to marker $boot_ms ms (virsh start $((started - start)) ms, then the guest $((boot_ms - (started - start))) ms)"

    if [ $run -eq "$boots" ]; then
        # A shell with job control on the serial console ($- holds m).
        type_on_console 'case $- in *m*) echo partctl-smoke-jobs-$((6*7));; esac' || fail "no console pty"
        if wait_for_log "partctl-smoke-jobs-42" 10 >/dev/null; then
            say "console shell answers, with job control"
        else
            fail "the console shell did not answer with job control on"
        fi

        actual=$(virsh_ dommemstat "$name" | awk '$1 == "actual" { print $2 }')
        say "balloon at boot: actual ${actual:-?} KiB"

        # Orphans are reaped: a background job whose parent exits at once leaves no zombie.
        type_on_console '(sleep 0.2 &); sleep 1; echo partctl-smoke-zombies-$(grep -l "^State:.*Z" /proc/[0-9]*/status 2>/dev/null | wc -l)-end'
        if wait_for_log "partctl-smoke-zombies-0-end" 10 >/dev/null; then
            say "orphans are reaped (no zombies)"
        else
            fail "zombies left in the guest, or no answer from the console"
        fi

        if virsh_ setvcpus "$name" 2 --live >/dev/null; then
            if ms=$(wait_for_log "partctl-guest: cpu1 online" 20); then
                say "setvcpus --live 2: guest reports cpu1 online after $ms ms"
                type_on_console 'echo partctl-smoke-cpus-$(grep -c ^processor /proc/cpuinfo)'
                wait_for_log "partctl-smoke-cpus-2" 10 >/dev/null && say "guest sees 2 CPUs in /proc/cpuinfo" ||
                    fail "guest does not list 2 CPUs"
            else
                fail "setvcpus --live 2: the guest did not bring cpu1 online within 20 s"
            fi
        else
            fail "virsh setvcpus --live 2 refused"
        fi

        if virsh_ setmem "$name" 384M --live >/dev/null; then
            start=$(now_ms)
            actual=""
            while [ $(($(now_ms) - start)) -lt 20000 ]; do
                actual=$(virsh_ dommemstat "$name" | awk '$1 == "actual" { print $2 }')
                [ "$actual" = 393216 ] && break
                sleep 0.1
            done
            if [ "$actual" = 393216 ]; then
                say "setmem --live 384M: dommemstat actual 393216 KiB after $(($(now_ms) - start)) ms"
            else
                fail "setmem --live 384M: dommemstat actual is ${actual:-?} KiB, not 393216"
            fi
        else
            fail "virsh setmem --live 384M refused"
        fi

        # DIMM hotplug: the new memory block comes online by itself (auto_online_blocks).
        printf "<memory model='dimm'><target><size unit='MiB'>128</size><node>0</node></target></memory>\n" >"$xml.dimm"
        if virsh_ attach-device "$name" "$xml.dimm" --live >/dev/null; then
            if ms=$(wait_for_log "^partctl-guest: memory[0-9]* online" 20); then
                say "DIMM of 128 MiB attached: guest reports $(grep -o "memory[0-9]* online" "$log" | head -n 1) after $ms ms"
            else
                fail "attached DIMM: the guest did not report a memory block online"
            fi
        else
            fail "virsh attach-device (128 MiB DIMM) refused"
        fi
        rm -f "$xml.dimm"
    fi

    start=$(now_ms)
    virsh_ shutdown "$name" >/dev/null || fail "virsh shutdown refused"
    if ms=$(wait_for_log "partctl-guest: powering off" 30); then
        marker_ms=$(($(now_ms) - start))
    else
        marker_ms=""
        fail "boot $run: no powering-off marker on the console"
    fi
    if ms=$(wait_for_shutoff 30); then
        ms=$(($(now_ms) - start))
        shutdown_times="$shutdown_times $ms"
        # When libvirt reacted to the guest's power-off: QEMU logs the SIGTERM libvirt then sends it.
        stopped=$(sed -n 's/^\([0-9-]*\)T\([0-9:.]*\)Z qemu-system-x86_64: terminating on signal 15.*/\1 \2 UTC/p' \
            "/var/log/libvirt/qemu/$name.log" | tail -n 1)
        off_ms="?"
        if [ -n "$stopped" ]; then
            off_ms=$(($(date -d "$stopped" +%s%3N) - start))
            guest_off_times="$guest_off_times $off_ms"
        fi
        say "boot $run: virsh shutdown to shut off $ms ms (powering-off marker after ${marker_ms:-?} ms, libvirt stops QEMU after $off_ms ms)"
    else
        fail "boot $run: the guest did not power off within 30 s of virsh shutdown"
        virsh_ destroy "$name" >/dev/null 2>&1
    fi
    run=$((run + 1))
done

# virsh destroy: the hard stop, no guest cooperation.
if virsh_ start "$name" >/dev/null && wait_for_log "partctl-guest: up (kernel " 60 >/dev/null; then
    start=$(now_ms)
    virsh_ destroy "$name" >/dev/null || fail "virsh destroy refused"
    [ "$(virsh_ domstate "$name")" = "shut off" ] && say "virsh destroy: shut off after $(($(now_ms) - start)) ms" ||
        fail "virsh destroy did not leave the domain shut off"
else
    fail "the boot for the destroy check did not reach the marker"
fi

say "start-to-marker median $(echo "$boot_times" | median) ms (runs:$boot_times)"
say "  of which the guest (virsh start returned to marker) median $(echo "$guest_boot_times" | median) ms (runs:$guest_boot_times)"
say "shutdown-to-off median $(echo "$shutdown_times" | median) ms (runs:$shutdown_times)"
say "  of which until libvirt stops QEMU median $(echo "$guest_off_times" | median) ms (runs:$guest_off_times)"
if [ $failures -eq 0 ]; then
    say "all checks passed"
else
    say "$failures check(s) failed"
    exit 1
fi
