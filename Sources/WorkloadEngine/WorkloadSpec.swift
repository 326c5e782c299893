import PartitionModel

/// What the engine runs for one WPAR: everything it needs, and nothing about profiles.
///
/// Profiles (PartitionModel) resolve into this value; the engine validates it (`SpawnPlan`) before
/// it creates anything, and `define` stores it as JSON under `$PARTCTL_ROOT/wpars/<name>/`.
public struct WorkloadSpec: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable, Hashable {
        /// Its own root and init; `/usr` and the like shared read-only from the host.
        case system
        /// The host's file system shared read-only, its own `/tmp`, `/run`, `/proc` and `/dev`; one command.
        case application
    }

    public var name: PartitionName
    public var kind: Kind
    public var root: WorkloadRoot
    /// Host paths bound read-only at the same place inside a system WPAR: "/usr", "/lib", ...
    public var sharedPaths: [String]
    public var mounts: [WorkloadMount]
    /// argv of the init (system) or of the command (application); argv[0] is looked up in the
    /// WPAR's PATH when it has no slash.
    public var command: [String]
    /// "KEY=value" entries: the whole environment the WPAR starts with; nothing of the host's leaks in.
    public var environment: [String]
    public var workingDirectory: String
    /// The WPAR's hostname; nil means its name.
    public var hostname: String?
    /// Capabilities kept (bounding, permitted, effective), as "kill" or "CAP_KILL". Everything else
    /// is dropped; the inheritable and ambient sets are empty (as runc).
    public var capabilities: [String]
    /// A user namespace with these ID maps, or nil for none.
    public var userNamespace: UserNamespaceMapping?
    /// Root-equivalent capabilities allowed without a user namespace (see `LinuxCapability.rootEquivalent`).
    /// nil when false, so that definitions stored before it existed read the same.
    public var privileged: Bool?
    public var network: WorkloadNetwork
    public var limits: WorkloadLimits
    /// A console pseudo-terminal for the init, held by the supervisor (`partctl console`).
    public var console: Bool
    /// What `shutdown` sends the init first: SIGTERM for most inits; busybox init also ends on
    /// SIGTERM (it reboots, which ends a PID namespace), SIGUSR2 (poweroff) or SIGUSR1 (halt).
    public var stopSignal: Int32
    /// RLIMIT_NOFILE (soft and hard) of the WPAR's processes; 0 keeps the host's.
    public var openFileLimit: UInt64
    /// The size in bytes of a system WPAR's writable layer, on a file system of its own
    /// (WritableLayerImage); nil = no limit.
    public var diskLimit: UInt64?
    /// The syscall filter; nil is the default filter (see `WorkloadSeccomp`).
    public var seccomp: WorkloadSeccomp?
    /// An application WPAR's command runs under a minimal init (`WorkloadInit`: tini, as
    /// `docker --init`) that reaps orphans and passes signals on. nil when false, so that
    /// definitions stored before it existed read the same (and older agents take them).
    public var minimalInit: Bool?
    /// A system WPAR whose init is systemd: the engine follows systemd's Container Interface
    /// (`container=partctl`, /run and /tmp as tmpfs, a delegated cgroup2 subtree of its own at
    /// /sys/fs/cgroup, SIGRTMIN+3 to halt; see WorkloadSystemd). nil when false, so that other
    /// definitions read the same (and older agents take them).
    public var systemd: Bool?
    /// The user the command runs as (an OCI image's User, resolved); nil is root (of the user
    /// namespace, where there is one), so definitions stored before it existed read the same.
    public var user: WorkloadUser?
    /// What the layer above keeps with the definition (partctl: the resolved profile). The engine
    /// stores it and never reads it, like OCI annotations.
    public var annotations: [String: String]?

    /// runc's default: the capabilities of its example spec.
    public static let defaultCapabilities = ["audit_write", "kill", "net_bind_service"]
    public static let defaultEnvironment = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]

    public init(name: PartitionName, kind: Kind, root: WorkloadRoot, sharedPaths: [String] = [],
                mounts: [WorkloadMount] = [], command: [String], environment: [String] = WorkloadSpec.defaultEnvironment,
                workingDirectory: String = "/", hostname: String? = nil,
                capabilities: [String] = WorkloadSpec.defaultCapabilities, userNamespace: UserNamespaceMapping? = nil,
                network: WorkloadNetwork = .loopback, limits: WorkloadLimits = WorkloadLimits(), console: Bool = false,
                stopSignal: Int32 = 15, openFileLimit: UInt64 = 1024) {
        self.name = name
        self.kind = kind
        self.root = root
        self.sharedPaths = sharedPaths
        self.mounts = mounts
        self.command = command
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.hostname = hostname
        self.capabilities = capabilities
        self.userNamespace = userNamespace
        self.network = network
        self.limits = limits
        self.console = console
        self.stopSignal = stopSignal
        self.openFileLimit = openFileLimit
    }

    private enum CodingKeys: String, CodingKey {
        case name, kind = "type", root, sharedPaths, mounts, command, environment, workingDirectory, hostname,
             capabilities, userNamespace, network, limits, console, stopSignal, openFileLimit, seccomp, annotations
        case diskLimit, privileged
        case minimalInit = "init"
        case systemd
        case user
    }
}

/// Numeric IDs inside the WPAR: the process's uid and gid and its supplementary groups.
public struct WorkloadUser: Codable, Sendable, Hashable {
    public var uid: UInt32
    public var gid: UInt32
    public var groups: [UInt32]

    public init(uid: UInt32, gid: UInt32, groups: [UInt32] = []) {
        self.uid = uid
        self.gid = gid
        self.groups = groups
    }
}

/// Where a WPAR's root file system comes from.
public enum WorkloadRoot: Codable, Sendable, Hashable {
    /// The host's root, read-only (application WPARs).
    case host
    /// A directory of its own, used read-write.
    case directory(path: String)
    /// An overlay: read-only `lower` layers (first is the top one) with a writable `upper`
    /// directory; nil puts the upper under `$PARTCTL_ROOT/wpars/<name>/upper`.
    case overlay(lower: [String], upper: String?)
}

/// A host path bound into the WPAR.
public struct WorkloadMount: Codable, Sendable, Hashable {
    public var source: String
    public var target: String
    public var readOnly: Bool

    public init(source: String, target: String, readOnly: Bool = true) {
        self.source = source
        self.target = target
        self.readOnly = readOnly
    }
}

/// The ID maps of a user namespace: uid and gid ranges inside mapped to ranges on the host.
public struct UserNamespaceMapping: Codable, Sendable, Hashable {
    public struct Range: Codable, Sendable, Hashable {
        public var inside: UInt32
        public var outside: UInt32
        public var count: UInt32

        public init(inside: UInt32, outside: UInt32, count: UInt32) {
            self.inside = inside
            self.outside = outside
            self.count = count
        }
    }

    public var uids: [Range]
    public var gids: [Range]
    /// true: the engine picks the host range itself, one no other WPAR holds, at `define` (kept until
    /// `remove`) or for each `run`. A request carries no ranges; a definition carries the ones picked.
    /// nil or false: the ranges were pinned by whoever wrote the spec (they must still not overlap
    /// another WPAR's).
    public var allocated: Bool?

    public init(uids: [Range], gids: [Range], allocated: Bool? = nil) {
        self.uids = uids
        self.gids = gids
        self.allocated = allocated
    }

    /// 65536 IDs starting at `base` on the host, 0 inside.
    public static func shifted(by base: UInt32, count: UInt32 = 65536) -> UserNamespaceMapping {
        let range = Range(inside: 0, outside: base, count: count)
        return UserNamespaceMapping(uids: [range], gids: [range])
    }

    /// A user namespace whose host range the engine allocates.
    public static let allocate = UserNamespaceMapping(uids: [], gids: [], allocated: true)

    static func allocated(first: UInt32, count: UInt32) -> UserNamespaceMapping {
        let range = Range(inside: 0, outside: first, count: count)
        return UserNamespaceMapping(uids: [range], gids: [range], allocated: true)
    }

    /// Whether this still asks for a range rather than holding one.
    public var isRequest: Bool { allocated == true && uids.isEmpty && gids.isEmpty }

    /// The host ID that root inside maps to, if it maps.
    public var hostRoot: (uid: UInt32, gid: UInt32)? {
        guard let uid = uids.first(where: { $0.inside == 0 }), let gid = gids.first(where: { $0.inside == 0 }) else { return nil }
        return (uid.outside, gid.outside)
    }
}

/// A WPAR's network. Every WPAR has a network namespace of its own.
public enum WorkloadNetwork: Codable, Sendable, Hashable {
    /// Only the loopback interface, left down: no networking at all.
    case none
    /// Only the loopback interface, up.
    case loopback
    /// Loopback up, plus a veth pair whose host end joins `bridge`.
    case bridge(BridgeAttachment)
}

/// The bridge, address and gateway of a bridged WPAR: the profile's own value, checked again by the
/// engine before use.
public typealias BridgeAttachment = WparBridgeNetwork

/// Resource limits; nil leaves a resource unlimited (and its controller unused where possible).
public struct WorkloadLimits: Codable, Sendable, Hashable {
    /// Share of contended CPU, 1–10000 (cgroup v2 cpu.weight; v1 cpu.shares scaled).
    public var cpuWeight: Int?
    /// Hard cap in CPUs, e.g. 0.5.
    public var cpuMax: Double?
    /// Soft memory limit in bytes (v2 memory.high; v1 has no equivalent and uses the soft limit).
    public var memoryHigh: UInt64?
    /// Hard memory limit in bytes: above it the WPAR's own processes are OOM-killed.
    public var memoryMax: UInt64?
    /// Task limit (pids.max).
    public var pidsMax: Int?

    public init(cpuWeight: Int? = nil, cpuMax: Double? = nil, memoryHigh: UInt64? = nil,
                memoryMax: UInt64? = nil, pidsMax: Int? = nil) {
        self.cpuWeight = cpuWeight
        self.cpuMax = cpuMax
        self.memoryHigh = memoryHigh
        self.memoryMax = memoryMax
        self.pidsMax = pidsMax
    }
}
