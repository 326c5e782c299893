import PartitionModel

/// Linux capability names and numbers (linux/capability.h), and sets of them as the bit mask the
/// C child takes.
public struct CapabilitySet: Sendable, Hashable {
    public private(set) var mask: UInt64

    public init(mask: UInt64 = 0) { self.mask = mask }

    /// The numbers in linux/capability.h, index = number.
    public static let names = [
        "chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid", "setuid", "setpcap",
        "linux_immutable", "net_bind_service", "net_broadcast", "net_admin", "net_raw", "ipc_lock", "ipc_owner",
        "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct", "sys_admin", "sys_boot", "sys_nice",
        "sys_resource", "sys_time", "sys_tty_config", "mknod", "lease", "audit_write", "audit_control", "setfcap",
        "mac_override", "mac_admin", "syslog", "wake_alarm", "block_suspend", "audit_read", "perfmon", "bpf",
        "checkpoint_restore",
    ]

    /// Parses names such as "kill", "CAP_KILL" or "cap_kill".
    public init(names list: [String]) throws(PartitionError) {
        var mask: UInt64 = 0
        for text in list {
            guard let number = CapabilitySet.number(of: text) else {
                throw PartitionError(.invalidArgument,
                    "\(QuotedText.of(text)) is not a Linux capability; use names such as 'kill' or 'CAP_NET_BIND_SERVICE'.")
            }
            mask |= 1 << UInt64(number)
        }
        self.mask = mask
    }

    public static func number(of text: String) -> Int? {
        var name = text.lowercased()
        if name.hasPrefix("cap_") { name.removeFirst(4) }
        return names.firstIndex(of: name)
    }

    public func contains(_ name: String) -> Bool {
        guard let number = CapabilitySet.number(of: name) else { return false }
        return mask & (1 << UInt64(number)) != 0
    }

    /// "CAP_KILL, CAP_NET_BIND_SERVICE"
    public var description: String {
        CapabilitySet.names.indices.filter { mask & (1 << UInt64($0)) != 0 }
            .map { "CAP_" + CapabilitySet.names[$0].uppercased() }.joined(separator: ", ")
    }
}
