import PartitionModel
import PartitionProfiles

/// The verbs on existing partitions: each resolves its path once into a `PartitionTarget` and acts
/// on that target's `PartitionBackend`, whatever its kind (docs/architecture.md).
extension PartitionManager {
    // MARK: Resolution

    /// What `path` names, with what finding it read: the LPAR's domain and parsed metadata, the
    /// host WPAR's definition. A nested WPAR's LPAR is read when a verb needs it (`NestedTarget`).
    /// A missing LPAR or host WPAR is `.notFound`. Takes no lock: a verb that changes the
    /// partition resolves inside its lock (`perform`).
    public func resolve(_ path: PartitionPath) throws(PartitionError) -> PartitionTarget {
        guard let name = path.name else { return .system }
        if path.depth == 2 { return .nestedWpar(NestedTarget(lpar: path.components[0], name: name)) }
        // Names are shared by LPARs and host WPARs: a defined host WPAR wins, anything else is asked of libvirt.
        if configuration.hostWparsHere, let wpar = wpars().target(name) { return .hostWpar(wpar) }
        return .lpar(try lparOrRemoteWpar(path, "resolve") { () throws(PartitionError) in try lpars().target(name) })
    }

    /// Runs a verb on the partition at `path`. An LPAR's verbs hold its lock, a nested WPAR's hold
    /// its LPAR's (the LPAR's metadata holds every nested definition); the engine locks host WPARs
    /// itself. `locked: false` for the verbs that only attach (console, login). Errors carry the
    /// path and the operation.
    func perform<T>(_ path: PartitionPath, _ operation: String, locked: Bool = true,
                    _ body: (any PartitionBackend) throws(PartitionError) -> T) throws(PartitionError) -> T {
        guard let first = path.components.first else {
            throw PartitionError(.invalidArgument, "The managed system itself cannot be the target of \(operation).", operation: operation)
        }
        if path.depth == 2 {
            return try withNested(path, operation, locked: locked) { (backend, lpar, name) throws(PartitionError) -> T in
                try body(NestedWparPartition(nested: NestedTarget(lpar: lpar, name: name), backend: backend, progress: progress))
            }
        }
        if !configuration.hostWparsHere {
            // Another machine's host WPARs are not here: a name its libvirt does not know is run there (or refused).
            if try context(path, operation, { () throws(PartitionError) in try libvirt().lookupDomain(name: first.rawValue) == nil }) {
                try hostWparElsewhere(path, operation)
            }
        } else if let wpar = wpars().target(first) {
            return try context(path, operation) { () throws(PartitionError) -> T in try body(HostWparPartition(wpar: wpar, backend: wpars(), progress: progress)) }
        }
        // Read inside the lock: what the verb acts on is what another command may have just changed.
        var found = false
        let act = { () throws(PartitionError) -> T in
            let lpar = try self.lpars().target(first)
            found = true
            return try body(LparPartition(lpar: lpar, backend: try self.lpars(), manager: self))
        }
        return locked ? try withLock(path, operation, exists: { found }, act) : try context(path, operation, act)
    }

    // MARK: Verbs

    /// `wait` false: see `PartitionBackend.activate`.
    public func activate(_ path: PartitionPath, profile: String?, wait: Bool = true) throws(PartitionError) {
        try perform(path, "activate") { (partition) throws(PartitionError) in
            try partition.activate(reprofile: try profile.map { reference throws(PartitionError) in try profiles.resolve(reference) }, wait: wait)
        }
        // The first activate after a reboot brings the port forwards back (nothing when they are there).
        if configuration.hostWparsHere { restoreForwardsIfMissing() }
    }

    /// `wait` false: see `PartitionBackend.shutdown`.
    public func shutdown(_ path: PartitionPath, within: Int, force: Bool, wait: Bool = true) throws(PartitionError) {
        try perform(path, "shutdown") { (partition) throws(PartitionError) in try partition.shutdown(within: within, force: force, wait: wait) }
    }

    public func force(_ path: PartitionPath) throws(PartitionError) {
        try perform(path, "force") { (partition) throws(PartitionError) in try partition.force() }
    }

    public func restart(_ path: PartitionPath, immediate: Bool, within: Int, force: Bool = false) throws(PartitionError) {
        try perform(path, "restart") { (partition) throws(PartitionError) in
            try partition.restart(immediate: immediate, within: within, force: force)
        }
    }

    public func remove(_ path: PartitionPath, force: Bool) throws(PartitionError) {
        if path.depth == 1, configuration.hostWparsHere, let name = path.name, let wpar = wpars().target(name) {
            // A host WPAR's name is freed under the names lock, as it was taken (define).
            return try context(path, "remove") { () throws(PartitionError) in
                try withNamesLock { () throws(PartitionError) in try HostWparPartition(wpar: wpar, backend: wpars(), progress: progress).remove(force: force) }
                removeForwardsAfterRemove(path)
            }
        }
        try perform(path, "remove") { (partition) throws(PartitionError) in try partition.remove(force: force) }
        removeForwardsAfterRemove(path)
    }

    /// A removed partition's forwards go with it (an LPAR's with its nested WPARs'); the partition is
    /// gone already, so a failure here is a warning: `forward remove` finishes the job.
    private func removeForwardsAfterRemove(_ path: PartitionPath) {
        guard configuration.hostWparsHere else { return }
        do { try removeForwards(of: path) } catch {
            warn(PartitionWarning(path: path, operation: "remove", message: "Its port forwards could not be removed: \(error.message)"))
        }
    }

    public func modify(_ path: PartitionPath, attributes: String, live: Bool, config: Bool) throws(PartitionError) {
        let overrides = try context(path, "modify") { () throws(PartitionError) in try ProfileOverrides.parse(attributes) }
        try perform(path, "modify") { (partition) throws(PartitionError) in
            try partition.modify(overrides: overrides, live: live, config: config)
        }
    }

    public func consoleLog(_ path: PartitionPath) throws(PartitionError) -> String {
        try perform(path, "console", locked: false) { (partition) throws(PartitionError) in try partition.consoleLog() }
    }

    /// Attaches `terminal` to the partition's console until the user leaves (`~.`) or it closes.
    public func attachConsole(_ path: PartitionPath, terminal: any UserTerminal) throws(PartitionError) -> ConsoleEnding {
        try perform(path, "console", locked: false) { (partition) throws(PartitionError) in try partition.attachConsole(terminal) }
    }

    /// Runs `command` (a login shell when empty) in the WPAR; its exit status.
    public func login(_ path: PartitionPath, command: [String], terminal: any UserTerminal) throws(PartitionError) -> Int32 {
        try perform(path, "login", locked: false) { (partition) throws(PartitionError) in
            try partition.login(command: command, terminal: terminal)
        }
    }
}
