import PartitionModel
import PartitionProfiles

extension NestedBackend {
    /// The LPAR `name` as this command has read it: read once through libvirt, then kept current
    /// by `store`, so that the verbs below never read its metadata twice.
    func lparTarget(_ name: PartitionName) throws(PartitionError) -> LparTarget {
        if let known = lparTargets[name.rawValue] { return known }
        let target = try lpars.target(name)
        lparTargets[name.rawValue] = target
        return target
    }

    func remember(_ target: LparTarget) {
        lparTargets[target.name.rawValue] = target
    }
}

/// A WPAR nested in an LPAR behind the verbs: NestedBackend, through the LPAR's agent.
struct NestedWparPartition: PartitionBackend {
    let nested: NestedTarget
    let backend: NestedBackend
    let progress: OperationProgress

    var target: PartitionTarget { .nestedWpar(nested) }
    var lpar: PartitionName { nested.lpar }
    var name: PartitionName { nested.name }

    func supports(_ verb: PartitionVerb) -> Bool { verb != .consoleLog }

    func activate(reprofile: ResolvedProfile?, wait: Bool) throws(PartitionError) {
        if reprofile != nil {
            throw unsupported("activate --profile does not apply to a nested WPAR; change it with 'partctl modify \(path) -i ...' and activate it without --profile.")
        }
        try backend.activate(lpar, name)
    }

    func shutdown(within: Int, force: Bool, wait: Bool) throws(PartitionError) {
        guard wait else {
            throw PartitionError(.invalidArgument, "--no-wait is not available for a WPAR nested in an LPAR.")
        }
        progress.waiting(path, "waiting for it to stop")
        try backend.shutdown(lpar, name, within: within, force: force)
    }

    func force() throws(PartitionError) {
        try backend.force(lpar, name)
    }

    func restart(immediate: Bool, within: Int, force: Bool) throws(PartitionError) {
        try stopThenStart(immediate: immediate, within: within, force: force)
    }

    func remove(force: Bool) throws(PartitionError) {
        try backend.remove(lpar, name, force: force)
    }

    func modify(overrides: ProfileOverrides, live: Bool, config: Bool) throws(PartitionError) {
        try backend.modify(lpar, name, overrides: overrides, live: live, config: config)
    }

    func consoleLog() throws(PartitionError) -> String {
        throw unsupported("A WPAR keeps no console log; 'partctl console \(path)' replays its last output when it attaches.")
    }

    func attachConsole(_ terminal: any UserTerminal) throws(PartitionError) -> ConsoleEnding {
        try backend.console(lpar, name, terminal: terminal)
    }

    func login(command: [String], terminal: any UserTerminal) throws(PartitionError) -> Int32 {
        try backend.login(lpar, name, command: command, terminal: terminal)
    }
}
