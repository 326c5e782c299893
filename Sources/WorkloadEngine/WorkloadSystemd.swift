import Glibc
import PartitionModel

/// What a system WPAR whose init is systemd gets beyond any other system WPAR, after systemd's
/// Container Interface (systemd.io/CONTAINER_INTERFACE): `container=partctl` in its environment,
/// /run and /tmp as fresh tmpfs, a cgroup2 file system at /sys/fs/cgroup that it may write (rooted
/// at a cgroup of its own by the cgroup namespace), its console on /dev/console (every WPAR with a
/// console has that), and SIGRTMIN+3 as the stop signal: systemd as PID 1 takes SIGTERM as a
/// request to re-execute itself, SIGRTMIN+3 as "halt", which in a container ends with PID 1 exiting.
public enum WorkloadSystemd {
    /// The value of `container=` systemd reads (systemd-detect-virt prints it).
    public static let containerName = "partctl"
    /// SIGRTMIN+3 as systemd computes it with glibc (SIGRTMIN is 34 there: glibc keeps 32 and 33).
    public static let haltSignal: Int32 = 34 + 3

    /// The cgroup2 cgroup below the WPAR's own that systemd is given (and its cgroup namespace is
    /// rooted at). The limits stay one level up, on the WPAR's cgroup, out of the namespace's
    /// sight: systemd can arrange its subtree as it likes but never loosen them (as LXC's
    /// `lxc.cgroup.dir.container.inner`).
    static let delegatedCgroup = "payload"

    /// The environment of the init: the spec's, with `container=partctl` unless it names a container itself.
    static func environment(_ environment: [String]) -> [String] {
        environment.contains { $0.hasPrefix("container=") } ? environment : environment + ["container=\(containerName)"]
    }
}

extension WorkloadCgroup {
    /// The cgroup2 directory handed to systemd: `<WPAR cgroup>/payload`, made (when missing) with the
    /// WPAR's cgroup2 controllers enabled for it, so that systemd can in turn enable them for its
    /// units. The WPAR's own cgroup keeps no process: its init is cloned straight into this one.
    public func delegatedDirectory() throws(PartitionError) -> String {
        guard let unified = unifiedDirectory, let hierarchy = hierarchies.first(where: { $0.version == .v2 }) else {
            throw PartitionError(.unsupported, "A WPAR whose init is systemd needs cgroup2 (mounted on /sys/fs/cgroup or, on a hybrid host, on /sys/fs/cgroup/unified); this system has only cgroup v1.")
        }
        let wanted = hierarchy.controllers.filter(\.isV2Controller).map(\.rawValue).sorted()
        if !wanted.isEmpty {
            let request = wanted.map { "+\($0)" }.joined(separator: " ")
            if let cause = SystemCall.writeText(request, to: "\(unified)/cgroup.subtree_control") {
                throw SystemCall.failure("enable the \(wanted.joined(separator: ", ")) controllers for the children of \(unified)", errno: cause.rawValue)
            }
        }
        let directory = "\(unified)/\(WorkloadSystemd.delegatedCgroup)"
        if mkdir(directory, 0o755) != 0 && errno != EEXIST {
            throw SystemCall.failure("create the cgroup \(directory)")
        }
        return directory
    }

    /// The cgroup2 directory a process joining the WPAR goes to: that of its init (systemd keeps
    /// itself in a leaf, init.scope, while the delegated cgroup gets controllers for its children
    /// and so may hold no process). Read from the host's view of the init, and only ever a
    /// directory inside the delegated cgroup; nil when that cannot be read.
    func joinDirectory(initPid: pid_t) -> String? {
        guard let unified = unifiedDirectory, let mount = hierarchies.first(where: { $0.version == .v2 })?.mountPoint,
              let text = SystemCall.readText("/proc/\(initPid)/cgroup") else { return nil }
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("0::/") }) else { return nil }
        let path = String(line.dropFirst(3))
        let delegated = "\(unified)/\(WorkloadSystemd.delegatedCgroup)"
        let directory = mount + path
        guard !path.split(separator: "/").contains(".."), directory == delegated || directory.hasPrefix(delegated + "/") else { return nil }
        return directory
    }
}
