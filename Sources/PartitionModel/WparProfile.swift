/// AIX's two kinds of workload partition.
public enum WparType: String, Sendable, Codable, CaseIterable {
    /// Its own root file system and its own init; host directories shared read-only where asked.
    case system
    /// One command on the host's file system, its processes isolated.
    case application
}

/// A system WPAR's root file system: a directory used as it is, or, with `overlay`, a read-only base
/// under a private writable layer, so that many WPARs can share one base.
public struct WparRootfs: Sendable, Codable, Hashable {
    public var base: String
    public var overlay: Bool

    public init(base: String, overlay: Bool = false) {
        self.base = base
        self.overlay = overlay
    }
}

/// CPU share and hard cap: cgroup `cpu.weight`/`cpu.max` (v2), `cpu.shares`/`cfs_quota_us` (v1).
public struct WparCpuLimits: Sendable, Codable, Hashable {
    /// Share of spare CPU, 1–10000.
    public var weight: Int
    /// Hard ceiling in CPUs (0.5 = half a CPU); nil = no cap.
    public var max: Double?

    public init(weight: Int = WparProfile.defaultCpuWeight, max: Double? = nil) {
        self.weight = weight
        self.max = max
    }
}

/// Soft and hard memory limits: `memory.high`/`memory.max` (v2), `memory.limit_in_bytes` (v1).
public struct WparMemoryLimits: Sendable, Codable, Hashable {
    /// Above this the kernel reclaims hard and throttles; nil = no soft limit.
    public var high: ByteSize?
    /// The hard limit; the OOM killer acts within the WPAR above it. nil = no limit.
    public var max: ByteSize?

    public init(high: ByteSize? = nil, max: ByteSize? = nil) {
        self.high = high
        self.max = max
    }
}

/// The task limit: `pids.max`.
public struct WparProcessLimits: Sendable, Codable, Hashable {
    /// nil = no limit.
    public var max: Int?

    public init(max: Int? = nil) { self.max = max }
}

/// The size of a system WPAR's writable layer, enforced by the file system (a per-WPAR ext4 image).
public struct WparDiskLimits: Sendable, Codable, Hashable {
    /// nil = no limit: the layer shares the host file system under $PARTCTL_ROOT.
    public var max: ByteSize?

    public init(max: ByteSize? = nil) { self.max = max }
}

public struct WparResources: Sendable, Codable, Hashable {
    public var cpu: WparCpuLimits
    public var memory: WparMemoryLimits
    public var processes: WparProcessLimits
    public var disk: WparDiskLimits

    public init(cpu: WparCpuLimits = WparCpuLimits(), memory: WparMemoryLimits = WparMemoryLimits(),
                processes: WparProcessLimits = WparProcessLimits(), disk: WparDiskLimits = WparDiskLimits()) {
        self.cpu = cpu
        self.memory = memory
        self.processes = processes
        self.disk = disk
    }

    private enum CodingKeys: String, CodingKey { case cpu, memory, processes, disk }

    /// Definitions stored before `disk` existed have none.
    public init(from decoder: any Decoder) throws {
        let values = try decoder.container(keyedBy: CodingKeys.self)
        cpu = try values.decode(WparCpuLimits.self, forKey: .cpu)
        memory = try values.decode(WparMemoryLimits.self, forKey: .memory)
        processes = try values.decode(WparProcessLimits.self, forKey: .processes)
        disk = try values.decodeIfPresent(WparDiskLimits.self, forKey: .disk) ?? WparDiskLimits()
    }
}

/// A veth pair from the WPAR's network namespace into a host bridge, with a static IPv4 address.
public struct WparBridgeNetwork: Sendable, Codable, Hashable {
    /// The host bridge, e.g. `partctl0`.
    public var bridge: String
    /// The WPAR's address with prefix length, e.g. `10.77.0.2/24`.
    public var address: String
    /// The default route's gateway, e.g. `10.77.0.1`; nil = no default route.
    public var gateway: String?
    /// `eth0`'s MAC address: set by partctl for a lease on a managed network (not a profile key);
    /// nil = the kernel's random one. Left out of the JSON when nil, for agents that predate it.
    public var mac: String?

    public init(bridge: String, address: String, gateway: String? = nil, mac: String? = nil) {
        self.bridge = bridge
        self.address = address
        self.gateway = gateway
        self.mac = mac
    }

    /// `10.77.0.2` of `10.77.0.2/24`.
    public var host: String { String(address.split(separator: "/").first ?? Substring(address)) }
    /// `24` of `10.77.0.2/24`.
    public var prefixLength: Int { address.split(separator: "/").last.flatMap { Int($0) } ?? 32 }
}

/// A WPAR on one of partctl's managed networks (docs/networks.md): a veth into the network's
/// bridge, with an address leased to the WPAR at define and released at remove.
public struct WparManagedNetwork: Sendable, Codable, Hashable {
    /// The managed network's name: `partctl0`, or one made with `partctl network create`. In an
    /// LPAR, `partctl0` is the guest's own network (its bridge, NATed to the LPAR's adapter).
    public var name: String
    /// A fixed address in the network (no prefix length: the network's own), checked against its
    /// subnet and leases at define; nil = the next free one is handed out.
    public var address: IPv4Address?

    public init(name: String, address: IPv4Address? = nil) {
        self.name = name
        self.address = address
    }
}

/// A WPAR always gets its own network namespace; this says what is in it.
public enum WparNetwork: Sendable, Hashable, Codable {
    /// Nothing, not even a working loopback.
    case none
    /// The loopback interface, up.
    case loopback
    /// Loopback plus a veth into a host bridge, the address set by hand.
    case bridge(WparBridgeNetwork)
    /// Loopback plus a veth into a managed network, the address leased.
    case managed(WparManagedNetwork)

    // Encoded as in a profile: "none", "loopback", a managed network's name, {name, address}, or
    // {bridge, address, gateway}.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let word = try? container.decode(String.self) {
            switch word {
            case "none": self = .none
            case "loopback": self = .loopback
            default: self = .managed(WparManagedNetwork(name: word))
            }
            return
        }
        if let bridge = try? container.decode(WparBridgeNetwork.self) {
            self = .bridge(bridge)
        } else {
            self = .managed(try container.decode(WparManagedNetwork.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .none: try container.encode("none")
        case .loopback: try container.encode("loopback")
        case .bridge(let bridge): try container.encode(bridge)
        case .managed(let managed) where managed.address == nil: try container.encode(managed.name)
        case .managed(let managed): try container.encode(managed)
        }
    }
}

/// A host path bind-mounted into the WPAR.
public struct WparMount: Sendable, Codable, Hashable {
    public var source: String
    public var target: String
    public var readonly: Bool

    public init(source: String, target: String, readonly: Bool = true) {
        self.source = source
        self.target = target
        self.readonly = readonly
    }
}

/// Linux capabilities by their names without `CAP_`, as `capabilities(7)` lists them.
public enum LinuxCapability: String, Sendable, Codable, CaseIterable {
    case chown, dacOverride = "dac_override", dacReadSearch = "dac_read_search", fowner, fsetid, kill, setgid, setuid
    case setpcap, linuxImmutable = "linux_immutable", netBindService = "net_bind_service"
    case netBroadcast = "net_broadcast", netAdmin = "net_admin", netRaw = "net_raw", ipcLock = "ipc_lock"
    case ipcOwner = "ipc_owner", sysModule = "sys_module", sysRawio = "sys_rawio", sysChroot = "sys_chroot"
    case sysPtrace = "sys_ptrace", sysPacct = "sys_pacct", sysAdmin = "sys_admin", sysBoot = "sys_boot"
    case sysNice = "sys_nice", sysResource = "sys_resource", sysTime = "sys_time", sysTtyConfig = "sys_tty_config"
    case mknod, lease, auditWrite = "audit_write", auditControl = "audit_control", setfcap
    case macOverride = "mac_override", macAdmin = "mac_admin", syslog, wakeAlarm = "wake_alarm"
    case blockSuspend = "block_suspend", auditRead = "audit_read", perfmon, bpf
    case checkpointRestore = "checkpoint_restore"

    /// The capability's number in the kernel (`CAP_CHOWN` is 0); the cases are declared in that order.
    public var number: Int32 { Int32(LinuxCapability.allCases.firstIndex(of: self)!) }

    /// Capabilities that act on the host kernel as a whole, which no namespace contains: only a
    /// `privileged` WPAR gets them (docs/security.md says why each is on this list).
    public static let hostWide: Set<LinuxCapability> = [.sysModule, .sysRawio, .sysTime, .sysBoot, .macAdmin, .macOverride]

    /// Capabilities that are root on the host when held in the host's user namespace (mounts,
    /// file handles, tracing, kernel memory through BPF or perf, the kernel log, host-wide audit):
    /// only with a user namespace, whose root they then cannot reach beyond, or `privileged`.
    public static let rootEquivalent: Set<LinuxCapability> = [
        .sysAdmin, .dacReadSearch, .sysPtrace, .bpf, .perfmon, .syslog, .auditControl, .auditRead,
    ]

    /// Parses `net_bind_service`, `NET_BIND_SERVICE` or `CAP_NET_BIND_SERVICE`.
    public init?(name: String) {
        var lowered = name.lowercased()
        if lowered.hasPrefix("cap_") { lowered.removeFirst(4) }
        self.init(rawValue: lowered)
    }
}

/// The resolved attributes of a workload partition (DESIGN §4). Values here have passed validation.
public struct WparProfile: Sendable, Codable, Hashable {
    public var type: WparType
    /// The init of a system WPAR, or the workload of an application WPAR: an argv, run without a shell.
    public var command: [String]
    /// A system WPAR's root; nil for an application WPAR.
    public var rootfs: WparRootfs?
    /// `image:` an image of the store whose rootfs is the WPAR's read-only lower layer, under a
    /// writable layer of its own (instead of `rootfs`); for an application WPAR too. nil = none.
    public var image: String?
    /// Host directories a system WPAR sees read-only at the same path (AIX shares /usr this way).
    public var shared: [String]
    public var resources: WparResources
    public var network: WparNetwork
    public var mounts: [WparMount]
    /// nil = the partition's name.
    public var hostname: String?
    /// The bounding set; everything else is dropped.
    public var capabilities: [LinuxCapability]
    /// Run in a user namespace, root inside mapped to an unprivileged user outside.
    public var userNamespace: Bool
    /// Allows the capabilities of `hostWide` and `rootEquivalent` without a user namespace: the WPAR
    /// is then as trusted as host root. nil when false, so stored definitions keep their form.
    public var privileged: Bool?
    /// With a user namespace: the first of the 65536 host IDs it maps, pinned by the profile; nil lets
    /// partctl pick a range no other WPAR holds.
    public var userNamespaceBase: Int?
    /// How many host IDs a user namespace maps (0-65535 inside).
    public static let userNamespaceSize = 65536
    public var environment: [String: String]
    /// The working directory inside the WPAR.
    public var workdir: String
    public var autostart: Bool
    /// The syscall filter; nil (definitions stored before the key existed) is `.default`.
    public var seccomp: WparSeccomp?
    /// `init:` whether an application WPAR's command runs under the minimal init (tini, as
    /// `docker --init`); nil is the default: true for an application WPAR.
    public var minimalInit: Bool?
    /// `systemd: true`: a system WPAR whose init is systemd, given what systemd's Container
    /// Interface asks for (WorkloadSystemd). nil when false, so stored definitions keep their form.
    public var systemd: Bool?

    /// Whether the command runs under the minimal init, the default applied.
    public var usesMinimalInit: Bool { type == .application && (minimalInit ?? true) }

    public static let defaultCpuWeight = 100
    /// Below this an ext4 file system's own structures take most of the writable layer.
    public static let minimumDisk = ByteSize(bytes: 8 << 20)
    public static let cpuWeightRange = 1...10000
    public static let defaultSystemCommand = ["/sbin/init"]
    public static let defaultWorkdir = "/"
    public static let defaultNetwork = WparNetwork.loopback
    /// runc's default set: enough for ordinary programs, nothing that reaches beyond the WPAR.
    public static let defaultApplicationCapabilities: [LinuxCapability] = [.auditWrite, .kill, .netBindService]
    /// Docker's default set less `mknod`: what an init and its services commonly need.
    public static let defaultSystemCapabilities: [LinuxCapability] = [
        .chown, .dacOverride, .fowner, .fsetid, .kill, .setgid, .setuid, .setpcap, .netBindService, .netRaw,
        .sysChroot, .auditWrite, .setfcap,
    ]

    public static func defaultCapabilities(for type: WparType) -> [LinuxCapability] {
        type == .system ? defaultSystemCapabilities : defaultApplicationCapabilities
    }

    public init(type: WparType, command: [String], rootfs: WparRootfs? = nil, shared: [String] = [],
                resources: WparResources = WparResources(), network: WparNetwork = defaultNetwork,
                mounts: [WparMount] = [], hostname: String? = nil, capabilities: [LinuxCapability]? = nil,
                userNamespace: Bool = false, userNamespaceBase: Int? = nil, environment: [String: String] = [:],
                workdir: String = defaultWorkdir, autostart: Bool = false, privileged: Bool = false,
                seccomp: WparSeccomp? = nil, minimalInit: Bool? = nil, image: String? = nil, systemd: Bool = false) {
        self.type = type
        self.image = image
        self.command = command
        self.rootfs = rootfs
        self.shared = shared
        self.resources = resources
        self.network = network
        self.mounts = mounts
        self.hostname = hostname
        self.capabilities = capabilities ?? WparProfile.defaultCapabilities(for: type)
        self.userNamespace = userNamespace
        self.privileged = privileged ? true : nil
        self.userNamespaceBase = userNamespaceBase
        self.environment = environment
        self.workdir = workdir
        self.autostart = autostart
        self.seccomp = seccomp
        self.minimalInit = minimalInit
        self.systemd = systemd ? true : nil
    }
}
