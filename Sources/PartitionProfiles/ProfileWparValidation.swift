import Foundation
import PartitionModel

/// The limits and consistency rules of a WPAR profile, and the checks of its host paths.
extension WparProfile {
    /// The smallest CPU cap the kernel enforces: 1ms in a 100ms period.
    public static let minimumCpuMax = 0.01
    public static let maximumCpuMax = 1024.0
    /// Below this no process runs; memory limits that small are mistakes.
    public static let minimumMemory = ByteSize.mebibytes(1)
    /// The kernel's PID_MAX_LIMIT.
    public static let maximumProcesses = 4_194_304
    public static let maxArguments = 4096
    public static let maxCommandBytes = 128 << 10
    public static let maxEnvironment = 1024
    /// Where system WPAR root file systems live; a rootfs may be there although partctl's state is hidden.
    public static let rootfsDirectory = "/var/lib/partctl/rootfs"
    /// What the engine mounts itself; a profile's mount may not cover them.
    public static let engineMountPoints = ["/proc", "/sys", "/dev"]

    /// Checks every value and how the values fit together; the error names the key path.
    public func validate() throws(PartitionError) {
        if let problem = problems().first { throw PartitionError(.invalidProfile, problem.message) }
    }

    /// Checks what only the host can tell: the rootfs and shared directories are directories, mount
    /// sources are files or directories (no devices or sockets), an application's command exists and is
    /// executable, and no symbolic link leads anywhere a WPAR must not see. Run at definition and activation.
    public func validateHostPaths() throws(PartitionError) {
        if let problem = hostPathProblems().first { throw PartitionError(.invalidProfile, problem.message) }
    }

    func problems() -> [ProfileProblem] {
        commandProblems() + fileSystemProblems() + resourceProblems() + networkProblems() + processProblems()
    }

    private func commandProblems() -> [ProfileProblem] {
        // With an image, an application WPAR's command replaces the image's Cmd (the arguments
        // of its Entrypoint, if it has one): it may be empty, and its first word need not be a path.
        let fromImage = image != nil && type == .application
        guard let program = command.first else {
            return fromImage ? [] : [ProfileProblem("command", "must name a program to run.")]
        }
        var problems: [ProfileProblem] = []
        if !fromImage, let problem = ProfileRules.absolutePathProblem(program) {
            problems.append(ProfileProblem("command[0]", problem + " partctl searches no PATH."))
        }
        if command.count > WparProfile.maxArguments {
            problems.append(ProfileProblem("command", "has \(command.count) arguments; at most \(WparProfile.maxArguments) are allowed."))
        }
        if command.reduce(0, { $0 + $1.utf8.count + 1 }) > WparProfile.maxCommandBytes {
            problems.append(ProfileProblem("command", "is longer than \(WparProfile.maxCommandBytes) bytes."))
        }
        for (index, argument) in command.enumerated() where argument.contains("\0") {
            problems.append(ProfileProblem("command[\(index)]", "contains a NUL character, which no argument can hold."))
        }
        if let problem = ProfileRules.absolutePathProblem(workdir) {
            problems.append(ProfileProblem("workdir", problem))
        }
        if type == .system, minimalInit == true {
            problems.append(ProfileProblem("init", "applies to application WPARs only; a system WPAR's command is its own init."))
        }
        if type == .application, systemd == true {
            problems.append(ProfileProblem("systemd", "applies to system WPARs only, whose init systemd can be; an application WPAR runs one command.",
                                           involving: ["systemd", "type"]))
        }
        return problems
    }

    private func fileSystemProblems() -> [ProfileProblem] {
        var problems: [ProfileProblem] = []
        if type == .application {
            if rootfs != nil {
                problems.append(ProfileProblem("rootfs", "only a system WPAR has its own root; an application WPAR runs on the host's file system.",
                                               involving: ["rootfs", "type"]))
            }
            if !shared.isEmpty {
                problems.append(ProfileProblem("shared", "only a system WPAR shares host directories; an application WPAR sees the host's file system already.",
                                               involving: ["shared", "type"]))
            }
        }
        if rootfs != nil, image != nil {
            problems.append(ProfileProblem("image", "and rootfs both give the WPAR's root; keep one of them.",
                                           involving: ["image", "rootfs"]))
        }
        if let rootfs {
            if let problem = ProfileRules.absolutePathProblem(rootfs.base)
                ?? ProfileRules.wparHostPathProblem(rootfs.base, allowing: [WparProfile.rootfsDirectory]) {
                problems.append(ProfileProblem("rootfs.base", problem))
            }
        }
        var sharedSeen: Set<String> = []
        for (index, directory) in shared.enumerated() {
            if let problem = ProfileRules.absolutePathProblem(directory) ?? ProfileRules.wparHostPathProblem(directory) {
                problems.append(ProfileProblem("shared[\(index)]", problem))
            } else if !sharedSeen.insert(directory).inserted {
                problems.append(ProfileProblem("shared[\(index)]", "'\(directory)' is listed twice."))
            }
        }
        var targets: [String: Int] = [:]
        for (index, mount) in mounts.enumerated() {
            let key = "mounts[\(index)]"
            if let problem = ProfileRules.absolutePathProblem(mount.source) ?? ProfileRules.wparHostPathProblem(mount.source) {
                problems.append(ProfileProblem("\(key).source", problem))
            }
            if let problem = ProfileRules.absolutePathProblem(mount.target) {
                problems.append(ProfileProblem("\(key).target", problem))
            } else if mount.target == "/" {
                problems.append(ProfileProblem("\(key).target", "'/' is the WPAR's root; mount below it."))
            } else if let point = WparProfile.engineMountPoints.first(where: { ProfileRules.isWithin(mount.target, $0) }) {
                problems.append(ProfileProblem("\(key).target", "'\(mount.target)' lies in \(point), which partctl sets up itself."))
            } else if let other = targets[mount.target] {
                problems.append(ProfileProblem("\(key).target", "'\(mount.target)' is already the target of mounts[\(other)]."))
            } else {
                targets[mount.target] = index
            }
        }
        return problems
    }

    private func resourceProblems() -> [ProfileProblem] {
        var problems: [ProfileProblem] = []
        let cpu = resources.cpu
        if !WparProfile.cpuWeightRange.contains(cpu.weight) {
            problems.append(ProfileProblem("resources.cpu.weight",
                "must be between \(WparProfile.cpuWeightRange.lowerBound) and \(WparProfile.cpuWeightRange.upperBound); found \(cpu.weight)."))
        }
        if let max = cpu.max {
            let shown = ProfileReader.render(max)
            if !(max > 0) || !max.isFinite {
                problems.append(ProfileProblem("resources.cpu.max", "must be a number of CPUs greater than 0, or none for no cap; found \(shown)."))
            } else if max < WparProfile.minimumCpuMax {
                problems.append(ProfileProblem("resources.cpu.max", "\(shown) is below \(ProfileReader.render(WparProfile.minimumCpuMax)) CPUs, the smallest cap the kernel enforces."))
            } else if max > WparProfile.maximumCpuMax {
                problems.append(ProfileProblem("resources.cpu.max", "\(shown) CPUs is more than any host has."))
            }
        }
        let memory = resources.memory
        for (key, value) in [("high", memory.high), ("max", memory.max)] {
            if let value, value < WparProfile.minimumMemory {
                problems.append(ProfileProblem("resources.memory.\(key)", "\(value) is below \(WparProfile.minimumMemory); nothing runs in that."))
            }
        }
        if let high = memory.high, let max = memory.max, high > max {
            problems.append(ProfileProblem("resources.memory", "high \(high) is greater than max \(max).",
                                           involving: ["resources.memory.high", "resources.memory.max"]))
        }
        if let pids = resources.processes.max {
            if pids < 1 {
                problems.append(ProfileProblem("resources.processes.max", "must be at least 1 (or none for no limit); found \(pids)."))
            } else if pids > WparProfile.maximumProcesses {
                problems.append(ProfileProblem("resources.processes.max", "\(pids) is more than the kernel's limit, \(WparProfile.maximumProcesses)."))
            }
        }
        if let disk = resources.disk.max {
            if disk < WparProfile.minimumDisk {
                problems.append(ProfileProblem("resources.disk.max", "\(disk) is below \(WparProfile.minimumDisk); the file system's own structures would take most of it."))
            } else if type == .application {
                problems.append(ProfileProblem("resources.disk.max", "an application WPAR has no writable layer on disk (its /tmp and /run are in memory, counted against memory.max).",
                                               involving: ["resources.disk.max", "type"]))
            } else if rootfs?.overlay != true && image == nil {
                problems.append(ProfileProblem("resources.disk.max", "limits the private writable layer, which only a root with overlay: true has.",
                                               involving: ["resources.disk.max", "rootfs"]))
            }
        }
        return problems
    }

    private func networkProblems() -> [ProfileProblem] {
        guard case .bridge(let bridge) = network else { return [] }
        var problems: [ProfileProblem] = []
        if let problem = ProfileRules.interfaceNameProblem(bridge.bridge, maxLength: 15) {
            problems.append(ProfileProblem("network.bridge", problem))
        }
        guard let (address, prefix) = ProfileRules.parseIPv4Interface(bridge.address) else {
            problems.append(ProfileProblem("network.address", "\(ProfileRules.quoted(bridge.address)) is not an IPv4 address with prefix length, like 10.77.0.2/24."))
            return problems
        }
        let mask = ProfileRules.ipv4Mask(prefix: prefix)
        if prefix <= 30, address & ~mask == 0 || address & ~mask == ~mask {
            problems.append(ProfileProblem("network.address", "\(bridge.address) is the network's \(address & ~mask == 0 ? "own" : "broadcast") address, not a host's."))
        }
        if let gatewayText = bridge.gateway {
            if let gateway = ProfileRules.parseIPv4(gatewayText) {
                if gateway & mask != address & mask {
                    problems.append(ProfileProblem("network.gateway", "\(gatewayText) is outside \(bridge.address)'s network.",
                                                   involving: ["network.gateway", "network.address"]))
                } else if gateway == address {
                    problems.append(ProfileProblem("network.gateway", "\(gatewayText) is the WPAR's own address.",
                                                   involving: ["network.gateway", "network.address"]))
                }
            } else {
                problems.append(ProfileProblem("network.gateway", "\(ProfileRules.quoted(gatewayText)) is not an IPv4 address like 10.77.0.1."))
            }
        }
        return problems
    }

    private func processProblems() -> [ProfileProblem] {
        var problems: [ProfileProblem] = []
        if let hostname, let problem = ProfileRules.hostnameProblem(hostname) {
            problems.append(ProfileProblem("hostname", problem))
        }
        var seen: Set<LinuxCapability> = []
        let isPrivileged = privileged == true
        for capability in capabilities {
            if LinuxCapability.hostWide.contains(capability) && !isPrivileged {
                problems.append(ProfileProblem("capabilities", "'\(capability.rawValue)' acts on the host kernel as a whole; only a WPAR with 'privileged: true' gets it."))
            } else if LinuxCapability.rootEquivalent.contains(capability) && !userNamespace && !isPrivileged {
                problems.append(ProfileProblem("capabilities", "'\(capability.rawValue)' is root on the host without a user namespace; set 'user_namespace: true' (or 'privileged: true', which trusts the WPAR as host root)."))
            } else if !seen.insert(capability).inserted {
                problems.append(ProfileProblem("capabilities", "lists '\(capability.rawValue)' twice."))
            }
        }
        if let base = userNamespaceBase, base < 1 || base + WparProfile.userNamespaceSize > 1 << 32 {
            problems.append(ProfileProblem("user_namespace.base",
                "must lie between 1 and \((1 << 32) - WparProfile.userNamespaceSize): the \(WparProfile.userNamespaceSize) host IDs from there must exist."))
        }
        if environment.count > WparProfile.maxEnvironment {
            problems.append(ProfileProblem("environment", "has \(environment.count) variables; at most \(WparProfile.maxEnvironment) are allowed."))
        }
        for (name, value) in environment.sorted(by: { $0.key < $1.key }) {
            if let problem = ProfileRules.environmentNameProblem(name) {
                problems.append(ProfileProblem("environment.\(name)", problem))
            } else if value.contains("\0") {
                problems.append(ProfileProblem("environment.\(name)", "contains a NUL character, which no variable can hold."))
            }
        }
        return problems
    }

    /// The one line `profile check`, `define` and `run` print on stderr for a privileged WPAR, naming
    /// what it allows; nil when the profile is not privileged.
    public var privilegeWarning: String? {
        guard privileged == true else { return nil }
        let granted = capabilities.filter { LinuxCapability.hostWide.contains($0) || LinuxCapability.rootEquivalent.contains($0) }
        let named = granted.isEmpty ? "no root-equivalent capability yet, but any it is given" : granted.map(\.rawValue).joined(separator: ", ")
        return "privileged: true trusts this WPAR as host root: it allows \(named)\(userNamespace ? "" : " without a user namespace")."
    }

    func hostPathProblems() -> [ProfileProblem] {
        var problems: [ProfileProblem] = []
        if let rootfs {
            if let problem = ProfileHostPath.directoryProblem(rootfs.base, allowing: [WparProfile.rootfsDirectory]) {
                problems.append(ProfileProblem("rootfs.base", problem))
            } else if let program = command.first {
                // The init lives inside the rootfs; lstat, because its links point within the rootfs, not the host.
                var info = stat()
                if lstat(rootfs.base + program, &info) != 0 {
                    problems.append(ProfileProblem("command[0]", "'\(program)' does not exist in the root file system \(rootfs.base)."))
                }
            }
        } else if image == nil, let program = command.first {
            // With an image the command lives in the image's tree, not on the host.
            if ProfileHostPath.inspect(program)?.kind != .regularFile || access(program, X_OK) != 0 {
                problems.append(ProfileProblem("command[0]", "'\(program)' is not an executable file on the host."))
            }
        }
        for (index, directory) in shared.enumerated() {
            if let problem = ProfileHostPath.directoryProblem(directory) {
                problems.append(ProfileProblem("shared[\(index)]", problem))
            }
        }
        for (index, mount) in mounts.enumerated() {
            if let problem = ProfileHostPath.bindSourceProblem(mount.source) {
                problems.append(ProfileProblem("mounts[\(index)].source", problem))
            }
        }
        if case .bridge(let attachment) = network, let problem = ProfileHostPath.bridgeProblem(attachment.bridge) {
            problems.append(ProfileProblem("network.bridge", problem))
        }
        return problems
    }
}
