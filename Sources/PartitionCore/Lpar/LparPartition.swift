import LibvirtKit
import PartitionModel
import PartitionProfiles

/// An LPAR behind the verbs: LparBackend on the domain and metadata resolved once, and the nested
/// WPARs' agent before a shutdown and after an activation, on the same values.
struct LparPartition: PartitionBackend {
    let lpar: LparTarget
    let backend: LparBackend
    let manager: PartitionManager

    var target: PartitionTarget { .lpar(lpar) }

    func supports(_ verb: PartitionVerb) -> Bool { true }

    var progress: OperationProgress { manager.progress }
    var transitions: LparTransition { LparTransition(runtimeRoot: manager.configuration.runtimeRoot) }

    /// Starts the domain and, when waiting, its agent and autostart WPARs. Without waiting, an LPAR
    /// with autostart WPARs is refused: only a waiting activation brings them back.
    func activate(reprofile: ResolvedProfile?, wait: Bool) throws(PartitionError) {
        var accelerator: Acceleration?
        if let reprofile {
            accelerator = try AccelerationProbe(configuration: manager.configuration).resolve(reprofile.lpar?.accel ?? .auto)
        }
        if !wait, lpar.metadata.nested.entries.contains(where: { (try? NestedDefinitions.startsWithItsLpar($0, lpar: lpar.name)) == true }) {
            throw PartitionError(.invalidArgument,
                "The LPAR has WPARs marked autostart, which only a waiting activation brings back; drop --no-wait.")
        }
        progress.waiting(path, "starting the domain")
        transitions.note(lpar.name, .starting, for: PartitionManager.agentStartTimeout)
        do {
            try backend.activate(lpar, reprofile: reprofile, accelerator: accelerator)
        } catch {
            transitions.clear(lpar.name)
            throw error
        }
        guard wait else { return }
        defer { transitions.clear(lpar.name) }
        try bringBackNestedWpars()
    }

    /// An LPAR with an agent is up when its agent answers; then its autostart WPARs start.
    func bringBackNestedWpars() throws(PartitionError) {
        let backend = try manager.nested(knowing: lpar)
        guard backend.nestedCount(lpar.name) != nil else { return }
        progress.waiting(path, "waiting for the agent")
        do {
            try backend.afterActivation(lpar.name, timeout: PartitionManager.agentStartTimeout)
        } catch {
            throw PartitionError(error.code, "The LPAR is running, but its WPARs could not be brought back: \(error.message)")
        }
    }

    func shutdown(within: Int, force: Bool, wait: Bool) throws(PartitionError) {
        // Its WPARs stop first, then the guest.
        if let backend = try? manager.nested(knowing: lpar), let count = backend.nestedCount(lpar.name), count > 0 {
            progress.waiting(path, "stopping its WPARs")
            backend.beforeShutdown(lpar.name)
        }
        progress.waiting(path, "guest is shutting down")
        transitions.note(lpar.name, .stopping, for: .seconds(max(within, 1)))
        guard wait else { return try backend.requestShutdown(lpar) }
        defer { transitions.clear(lpar.name) }
        try backend.shutdown(lpar, within: within, force: force)
    }

    func force() throws(PartitionError) {
        try backend.force(lpar)
    }

    func restart(immediate: Bool, within: Int, force: Bool) throws(PartitionError) {
        try stopThenStart(immediate: immediate, within: within, force: force)
    }

    /// The domain goes, and with it what partctl kept for it at run time: its channel lock files
    /// and any noted start or stop (nothing can hold them: the domain is gone, its lock is ours).
    func remove(force: Bool) throws(PartitionError) {
        try backend.remove(lpar, force: force)
        AgentChannelPool.forget(lpar.name.rawValue, configuration: manager.configuration)
        transitions.clear(lpar.name)
    }

    func modify(overrides: ProfileOverrides, live: Bool, config: Bool) throws(PartitionError) {
        try backend.modify(lpar, overrides: overrides, live: live, config: config)
    }

    func consoleLog() throws(PartitionError) -> String {
        try backend.consoleLog(lpar)
    }

    func attachConsole(_ terminal: any UserTerminal) throws(PartitionError) -> ConsoleEnding {
        try backend.attachConsole(lpar, terminal: terminal)
    }

    func login(command: [String], terminal: any UserTerminal) throws(PartitionError) -> Int32 {
        try loginInGuest(command: command, terminal: terminal)
    }
}
