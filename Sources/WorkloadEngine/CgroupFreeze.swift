import Glibc
import PartitionModel

extension WorkloadCgroup {
    /// Freezes every process of the WPAR (v2 cgroup.freeze, v1 freezer.state) and waits until the
    /// kernel reports the whole cgroup frozen; after `timeout` seconds it thaws it again and fails.
    /// A frozen WPAR's files stay as they are while its writable layer is copied.
    public func freezeAll(timeout: Double = 10) throws(PartitionError) {
        guard let hierarchy = hierarchy(for: .freezer) else {
            throw PartitionError(.unsupported, "This system has no cgroup freezer, so \(name) cannot be frozen for a snapshot.")
        }
        let directory = directory(in: hierarchy)
        let request = hierarchy.version == .v2 ? ("1", "cgroup.freeze") : ("FROZEN", "freezer.state")
        if let cause = SystemCall.writeText(request.0, to: "\(directory)/\(request.1)") {
            throw SystemCall.failure("freeze the cgroup \(directory)", errno: cause.rawValue)
        }
        let deadline = SystemCall.monotonicSeconds() + timeout
        var pause = 0.0005
        while !isFrozen {
            guard SystemCall.monotonicSeconds() < deadline else {
                thawAll()
                throw PartitionError(.timeout, "The processes of \(name) did not freeze within \(Int(timeout)) seconds (one may be stuck in the kernel); nothing was copied.")
            }
            SystemCall.sleep(seconds: pause)
            pause = min(pause * 2, 0.05)
        }
    }

    /// Lets the processes run again; a cgroup that is gone or not frozen is fine.
    public func thawAll() {
        guard let hierarchy = hierarchy(for: .freezer) else { return }
        let directory = directory(in: hierarchy)
        switch hierarchy.version {
        case .v1: _ = SystemCall.writeText("THAWED", to: "\(directory)/freezer.state")
        case .v2: _ = SystemCall.writeText("0", to: "\(directory)/cgroup.freeze")
        }
    }

    /// Whether the kernel reports the cgroup frozen (v2 cgroup.events, v1 freezer.state; FREEZING is not yet).
    public var isFrozen: Bool {
        guard let hierarchy = hierarchy(for: .freezer) else { return false }
        let directory = directory(in: hierarchy)
        switch hierarchy.version {
        case .v1: return SystemCall.readText("\(directory)/freezer.state")?.hasPrefix("FROZEN") ?? false
        case .v2: return SystemCall.readText("\(directory)/cgroup.events")?.split(separator: "\n").contains("frozen 1") ?? false
        }
    }
}
