import Glibc
import PartitionModel

/// partctl's default syscall filter: the semantics of Docker's (moby's) default profile, written
/// as the list of what it refuses. Every refused call returns EPERM (clone3 ENOSYS, so that libc
/// falls back to clone, whose flags a filter can see); nothing is killed. Calls that Docker allows
/// to a container holding a capability are allowed when the WPAR keeps that capability.
///
/// Only the host's own ABI passes the filter: on x86_64, i386 (int 0x80) and x32 calls are refused
/// as a whole (`SeccompCompiler`).
enum SeccompDefaultFilter {
    struct Rule {
        var names: [String]
        var errno: Int32 = EPERM
        /// Capabilities (any one of them) that lift the rule, as Docker's `includes.caps`.
        var unless: [String] = []
        /// Refused only when the argument matches.
        var argument: Condition?
    }

    struct Condition {
        var index: UInt32
        var op: SeccompDocument.Operator
        var value: UInt64
        var valueTwo: UInt64 = 0
    }

    /// The kernel's CLONE_NEW* flags; clone(2) takes them in its first argument on x86_64 and aarch64.
    static let namespaceFlags: [UInt64] = [0x0002_0000, 0x0200_0000, 0x0400_0000, 0x0800_0000, 0x1000_0000, 0x2000_0000, 0x4000_0000]

    static let rules: [Rule] = {
        var rules: [Rule] = [
            // Keyrings are not namespaced: a WPAR would reach the host's keys (FACTS, issue 8).
            Rule(names: ["add_key", "keyctl", "request_key"]),
            // The kernel itself: modules, kexec, reboot, swap, clock, accounting.
            Rule(names: ["init_module", "finit_module", "delete_module", "create_module", "get_kernel_syms", "query_module"],
                 unless: ["sys_module"]),
            Rule(names: ["kexec_load", "kexec_file_load"]),
            Rule(names: ["reboot"], unless: ["sys_boot"]),
            Rule(names: ["swapon", "swapoff"], unless: ["sys_admin"]),
            Rule(names: ["settimeofday", "stime", "clock_settime", "clock_settime64", "adjtimex", "clock_adjtime",
                         "clock_adjtime64"], unless: ["sys_time"]),
            Rule(names: ["acct"], unless: ["sys_pacct"]),
            Rule(names: ["iopl", "ioperm"], unless: ["sys_rawio"]),
            Rule(names: ["syslog"], unless: ["syslog", "sys_admin"]),
            Rule(names: ["vhangup"], unless: ["sys_tty_config"]),
            // Large, often-exploited kernel surfaces that containers do not need.
            Rule(names: ["bpf"], unless: ["bpf", "sys_admin"]),
            Rule(names: ["perf_event_open"], unless: ["perfmon", "sys_admin"]),
            Rule(names: ["userfaultfd"], unless: ["sys_ptrace"]),
            Rule(names: ["io_uring_setup", "io_uring_enter", "io_uring_register"]),
            Rule(names: ["fanotify_init", "lookup_dcookie", "quotactl", "quotactl_fd"], unless: ["sys_admin"]),
            // File handles bypass the mount namespace (the "shocker" escape).
            Rule(names: ["open_by_handle_at"], unless: ["dac_read_search"]),
            Rule(names: ["name_to_handle_at"], unless: ["sys_admin"]),
            // New namespaces and mounts: the WPAR's are made by partctl, never from inside.
            Rule(names: ["unshare", "setns"], unless: ["sys_admin"]),
            Rule(names: ["clone3"], errno: ENOSYS, unless: ["sys_admin"]),
            Rule(names: ["mount", "umount", "umount2", "pivot_root", "fsopen", "fsconfig", "fsmount", "fspick",
                         "move_mount", "open_tree", "mount_setattr"], unless: ["sys_admin"]),
            // Other processes' memory and descriptors; ptrace and process_vm_* stay (Docker on kernels >= 4.8).
            Rule(names: ["kcmp", "pidfd_getfd", "process_madvise"], unless: ["sys_ptrace"]),
            Rule(names: ["mbind", "set_mempolicy", "get_mempolicy", "move_pages", "set_mempolicy_home_node"], unless: ["sys_nice"]),
            // Obsolete or never namespaced.
            Rule(names: ["nfsservctl", "vm86", "vm86old", "uselib", "ustat", "sysfs", "_sysctl"]),
        ]
        for flag in namespaceFlags {
            rules.append(Rule(names: ["clone"], unless: ["sys_admin"],
                              argument: Condition(index: 0, op: .maskedEqual, value: flag, valueTwo: flag)))
        }
        rules += personalityRules
        return rules
    }()

    /// personality(2) only with Docker's values: 0 (PER_LINUX), 8 (PER_LINUX32), 0x20000 (UNAME26),
    /// 0x20008, and 0xffffffff (query). libseccomp compares an argument once per rule, so the
    /// complement of those five is covered by rules of the form "bit b set, bit c clear" (the kernel
    /// takes the low 32 bits): a value with a bit other than 3 and 17 set that is not all ones has a
    /// run of set bits ending before a clear bit; the run's last bit is b, or, when that is 3 or 17,
    /// the bit before it (2 or 16, set) with c two above.
    static var personalityRules: [Rule] {
        var pairs: [(set: UInt64, clear: UInt64)] = []
        for bit in 0..<32 where bit != 3 && bit != 17 {
            pairs.append((1 << UInt64(bit), 1 << UInt64((bit + 1) % 32)))
        }
        pairs += [(1 << 2, 1 << 4), (1 << 16, 1 << 18)]
        return pairs.map { pair in
            Rule(names: ["personality"],
                 argument: Condition(index: 0, op: .maskedEqual, value: pair.set | pair.clear, valueTwo: pair.set))
        }
    }
}
