import Glibc
import PartitionModel

/// Checks of a spec's values that do not touch the host's file system: command, environment,
/// hostname, capabilities, limits, network, ID maps. Each refusal names what is wrong.
enum WorkloadSpecCheck {
    static func checkProcess(_ spec: WorkloadSpec, host: SpawnHost) throws(PartitionError) -> CapabilitySet {
        guard let program = spec.command.first, !program.isEmpty else {
            throw PartitionError(.invalidArgument, "The WPAR has no command to run.")
        }
        for argument in spec.command where argument.utf8.contains(0) {
            throw PartitionError(.invalidArgument, "The command argument \(QuotedText.of(argument)) contains a NUL byte.")
        }
        for entry in spec.environment {
            guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex, !entry.utf8.contains(0) else {
                throw PartitionError(.invalidArgument, "The environment entry \(QuotedText.of(entry)) is not of the form KEY=value.")
            }
        }
        try HostPathRules.checkForm(spec.workingDirectory, "working directory")
        if HostPathRules.path(spec.workingDirectory, isWithin: "/proc") {
            throw PartitionError(.permissionDenied, "The working directory \(QuotedText.of(spec.workingDirectory)) lies in /proc; a WPAR never starts there.")
        }
        if let hostname = spec.hostname { try checkHostname(hostname) }
        guard (1...64).contains(spec.stopSignal) else {
            throw PartitionError(.invalidArgument, "The stop signal \(spec.stopSignal) is not a signal number (1-64).")
        }
        if spec.openFileLimit != 0 && !(16...(1 << 20)).contains(spec.openFileLimit) {
            throw PartitionError(.outOfRange, "The open-file limit \(spec.openFileLimit) is outside 16-1048576 (or 0 to keep the host's).")
        }
        try checkUser(spec)
        return try checkCapabilities(spec, host: host)
    }

    /// A user namespace maps IDs 0-65535 only: a User beyond that could not be taken inside.
    static func checkUser(_ spec: WorkloadSpec) throws(PartitionError) {
        guard let user = spec.user, spec.userNamespace != nil else { return }
        let limit = UInt32(65536)
        for id in [user.uid, user.gid] + user.groups where id >= limit {
            throw PartitionError(.outOfRange, "The user or group ID \(id) is outside 0-65535, the IDs the WPAR's user namespace maps.")
        }
    }

    static func checkHostname(_ hostname: String) throws(PartitionError) {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.".utf8)
        guard (1...64).contains(hostname.utf8.count), hostname.utf8.allSatisfy(allowed.contains),
              !hostname.hasPrefix("-"), !hostname.hasPrefix(".") else {
            throw PartitionError(.invalidArgument,
                "The hostname \(QuotedText.of(hostname)) is not valid: use 1-64 letters, digits, '-' and '.', starting with a letter or digit.")
        }
    }

    static func checkCapabilities(_ spec: WorkloadSpec, host: SpawnHost) throws(PartitionError) -> CapabilitySet {
        let set = try CapabilitySet(names: spec.capabilities)
        for name in spec.capabilities {
            if let number = CapabilitySet.number(of: name), number > host.lastCapability {
                throw PartitionError(.unsupported, "The capability \(QuotedText.of(name)) is not known to this kernel.")
            }
        }
        // As the profile's rules (docs/security.md), again here for specs that come from elsewhere.
        // sys_ptrace also because it would let the WPAR trace processes joining it (login) before they exec.
        guard spec.privileged != true else { return set }
        for name in spec.capabilities {
            guard let capability = LinuxCapability(name: name) else { continue }
            if LinuxCapability.hostWide.contains(capability) {
                throw PartitionError(.invalidArgument,
                    "The capability \(QuotedText.of(name)) acts on the host kernel as a whole; only a privileged WPAR gets it.")
            }
            if LinuxCapability.rootEquivalent.contains(capability) && spec.userNamespace == nil {
                throw PartitionError(.invalidArgument,
                    "The capability \(QuotedText.of(name)) is root on the host without a user namespace; only a WPAR with one, or a privileged WPAR, gets it.")
            }
        }
        return set
    }

    static func checkLimits(_ limits: WorkloadLimits, host: SpawnHost) throws(PartitionError) {
        if let weight = limits.cpuWeight, !(1...10000).contains(weight) {
            throw PartitionError(.outOfRange, "The CPU weight \(weight) is outside 1-10000.")
        }
        if let cap = limits.cpuMax {
            guard cap.isFinite, cap >= 0.01 else {
                throw PartitionError(.outOfRange, "The CPU cap \(cap) is below 0.01 CPUs.")
            }
            guard cap <= Double(host.onlineCPUs) else {
                throw PartitionError(.outOfRange, "The CPU cap \(cap) exceeds the host's \(host.onlineCPUs) CPUs.")
            }
        }
        let minimumMemory: UInt64 = 4 << 20
        for (what, value) in [("memory limit", limits.memoryMax), ("soft memory limit", limits.memoryHigh)] {
            if let value, value < minimumMemory {
                throw PartitionError(.outOfRange, "The \(what) of \(value) bytes is below 4 MiB, too little for any process to start.")
            }
        }
        if let high = limits.memoryHigh, let max = limits.memoryMax, high > max {
            throw PartitionError(.outOfRange, "The soft memory limit (\(high) bytes) is above the memory limit (\(max) bytes).")
        }
        if let pids = limits.pidsMax, !(2...4_194_304).contains(pids) {
            throw PartitionError(.outOfRange, "The process limit \(pids) is outside 2-4194304 (a WPAR needs its init and one more).")
        }
    }

    static func checkNetwork(_ network: WorkloadNetwork) throws(PartitionError) {
        guard case .bridge(let attachment) = network else { return }
        let bridge = attachment.bridge
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.".utf8)
        guard (1...15).contains(bridge.utf8.count), bridge.utf8.allSatisfy(allowed.contains), bridge != ".", bridge != ".." else {
            throw PartitionError(.invalidArgument, "The bridge name \(QuotedText.of(bridge)) is not a valid interface name (1-15 letters, digits, '-', '_', '.').")
        }
        let parts = attachment.address.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, isAddress(String(parts[0])), let prefix = Int(parts[1]),
              (0...(parts[0].contains(":") ? 128 : 32)).contains(prefix) else {
            throw PartitionError(.invalidArgument, "The address \(QuotedText.of(attachment.address)) is not an address in CIDR form, e.g. 10.77.0.2/24.")
        }
        if let gateway = attachment.gateway, !isAddress(gateway) {
            throw PartitionError(.invalidArgument, "The gateway \(QuotedText.of(gateway)) is not an IP address.")
        }
        if let mac = attachment.mac, NetworkSetup.macBytes(mac) == nil {
            throw PartitionError(.invalidArgument, "The MAC address \(QuotedText.of(mac)) is not a unicast address like 02:00:00:12:34:56.")
        }
    }

    private static func isAddress(_ text: String) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16)
        return inet_pton(AF_INET, text, &buffer) == 1 || inet_pton(AF_INET6, text, &buffer) == 1
    }

    static func checkUserNamespace(_ mapping: UserNamespaceMapping) throws(PartitionError) {
        for (what, ranges) in [("uid", mapping.uids), ("gid", mapping.gids)] {
            guard !ranges.isEmpty, ranges.count <= 340 else {
                throw PartitionError(.invalidArgument, "The user namespace needs 1-340 \(what) ranges.")
            }
            for range in ranges {
                guard range.count > 0, UInt64(range.inside) + UInt64(range.count) <= 1 << 32,
                      UInt64(range.outside) + UInt64(range.count) <= 1 << 32 else {
                    throw PartitionError(.invalidArgument, "The \(what) range \(range.inside) \(range.outside) \(range.count) is empty or runs past 2^32.")
                }
            }
            guard ranges.contains(where: { $0.inside == 0 }) else {
                throw PartitionError(.invalidArgument, "The user namespace maps no \(what) 0 inside; the WPAR's init runs as root inside.")
            }
        }
    }
}
