/// The device policy of a WPAR in the v1 devices controller: deny everything, then allow the
/// character devices a WPAR's minimal /dev holds, as runc's default policy does. Raw disks, /dev/mem,
/// /dev/kmsg and the like stay unusable even if a node for them appears inside.
///
/// cgroup v2 has no devices files; there the policy would be an eBPF program (not done yet), and
/// the WPAR relies on its reduced capability set (no CAP_MKNOD) and its own minimal /dev.
enum CgroupDevicePolicy {
    /// null, zero, full, random, urandom, tty, ptmx, and every pts.
    static let allowed = ["c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
                          "c 5:0 rwm", "c 5:2 rwm", "c 136:* rwm"]

    /// Writes in order: the kernel takes one rule per write, and "a" in devices.deny first empties
    /// the allow list a new cgroup inherited from its parent.
    static var writes: [CgroupFileWrite] {
        [CgroupFileWrite(file: "devices.deny", value: "a")] + allowed.map { CgroupFileWrite(file: "devices.allow", value: $0) }
    }
}
