import PartitionModel

/// Host WPARs of another managed system: run the command there over SSH, or refuse in one line.
extension PartitionManager {
    /// Where this command's host WPARs are (the registry is read only for a system chosen by a name
    /// other than `local`).
    public var hostWparReach: HostWparReach {
        if configuration.hostWparsHere { return .here }
        let system = configuration.systemName.flatMap { name in
            name == ManagedSystem.localName ? nil : try? SystemRegistry(configuration: configuration).system(named: name)
        }
        return configuration.hostWparReach(system: system)
    }

    /// `path` is (or, by `operation`, would be) a host WPAR of another machine: the command runs
    /// there (`ssh DEST partctl ... -m local`) when that system has an SSH destination, else it is
    /// refused (exit 2) and nothing changes here.
    /// `lookedUp`: the name was looked for among the system's LPARs (not for `define`).
    func hostWparElsewhere(_ path: PartitionPath?, _ operation: String, lookedUp: Bool = true) throws(PartitionError) -> Never {
        let shown = configuration.systemName.map { "system '\($0)'" } ?? configuration.connectURI
        switch hostWparReach {
        case .here:
            throw PartitionError(.internal, "A host WPAR of this machine was taken for another system's.", partition: path?.description, operation: operation)
        case .ssh(let destination):
            if let runOverSSH { try runOverSSH(destination) }
            // Only a caller without a command line gets here (PartitionCore's own users, tests).
            throw PartitionError(.unsupported,
                "Host WPARs of \(shown) live on that machine; run this command there (ssh \(destination.destination) partctl ... -m local).",
                partition: path?.description, operation: operation)
        case .unreachable(let system):
            let how = system.map { "'partctl system remove \($0)', then add it again with --ssh user@host" }
                ?? "use -m with a system added with --ssh user@host"
            let what = lookedUp ? path.map { "'\($0)' is no LPAR of \(shown); a" } ?? "A" : "A"
            throw PartitionError(.unsupported,
                "\(what) host WPAR of \(shown) lives on that machine, which partctl reaches only over SSH, and it has no SSH destination (\(how)).",
                partition: path?.description, operation: operation)
        }
    }

    /// What only the chosen system's machine holds (`subject`: its managed networks, its port
    /// forwards), like its host WPARs: true when that is this machine; another machine's run there
    /// over SSH (this returns only when ssh could not start), or, without an SSH destination,
    /// false when `optional` (the caller leaves that part out), else a refusal.
    func onThisMachine(_ operation: String, _ subject: String, optional: Bool = false) throws(PartitionError) -> Bool {
        switch hostWparReach {
        case .here:
            return true
        case .ssh:
            try hostWparElsewhere(nil, operation, lookedUp: false)
        case .unreachable(let system):
            if optional { return false }
            let shown = configuration.systemName.map { "system '\($0)'" } ?? configuration.connectURI
            let how = system.map { "'partctl system remove \($0)', then add it again with --ssh user@host" }
                ?? "use -m with a system added with --ssh user@host"
            throw PartitionError(.unsupported,
                "The \(subject) of \(shown) live on that machine, which partctl reaches only over SSH, and it has no SSH destination (\(how)).",
                operation: operation)
        }
    }

    /// Looks `body` up as an LPAR of another system; a name libvirt does not know there may be a
    /// host WPAR of that machine: `hostWparElsewhere`.
    func lparOrRemoteWpar<T>(_ path: PartitionPath, _ operation: String, _ body: () throws(PartitionError) -> T) throws(PartitionError) -> T {
        do { return try body() } catch where error.code == .notFound && path.depth == 1 && !configuration.hostWparsHere {
            try hostWparElsewhere(path, operation)
        }
    }
}
