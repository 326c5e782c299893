import CSpawn
import Glibc

/// The facts about the host that a plan depends on.
public struct SpawnHost: Sendable, Hashable {
    /// Runtime state (`/run/partctl`): never bound into a WPAR.
    public var runtimeRoot: String
    /// Definitions (`$PARTCTL_ROOT`): default place of overlay upper layers.
    public var definitionsRoot: String
    /// The kernel's highest capability number.
    public var lastCapability: Int
    /// Whether a cgroup2 hierarchy is mounted: then the WPAR gets one (read-only, through its cgroup
    /// namespace) on /sys/fs/cgroup.
    public var hasCgroup2: Bool
    public var onlineCPUs: Int

    public init(runtimeRoot: String, definitionsRoot: String, lastCapability: Int, hasCgroup2: Bool, onlineCPUs: Int) {
        self.runtimeRoot = runtimeRoot
        self.definitionsRoot = definitionsRoot
        self.lastCapability = lastCapability
        self.hasCgroup2 = hasCgroup2
        self.onlineCPUs = onlineCPUs
    }

    /// This machine, with partctl's state in the given directories.
    public static func current(runtimeRoot: String, definitionsRoot: String) -> SpawnHost {
        let last = cspawn_last_capability()
        let cgroup2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0
            || access("/sys/fs/cgroup/unified/cgroup.controllers", F_OK) == 0
        return SpawnHost(runtimeRoot: runtimeRoot, definitionsRoot: definitionsRoot,
                         lastCapability: last >= 0 ? Int(last) : CapabilitySet.names.count - 1,
                         hasCgroup2: cgroup2, onlineCPUs: max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }
}
