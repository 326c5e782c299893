import PartitionModel
import PartitionProfiles

/// A WPAR on this host behind the verbs: the engine, which takes the WPAR's own lock.
struct HostWparPartition: PartitionBackend {
    let wpar: HostWparTarget
    let backend: WparBackend
    let progress: OperationProgress

    var target: PartitionTarget { .hostWpar(wpar) }
    var name: PartitionName { wpar.name }

    func supports(_ verb: PartitionVerb) -> Bool { verb != .consoleLog }

    func activate(reprofile: ResolvedProfile?, wait: Bool) throws(PartitionError) {
        try backend.activate(name, reprofile: reprofile)
    }

    func shutdown(within: Int, force: Bool, wait: Bool) throws(PartitionError) {
        guard wait else { return try backend.requestShutdown(name, within: within) }
        progress.waiting(path, "waiting for it to stop")
        try backend.shutdown(name, within: within, force: force)
    }

    func force() throws(PartitionError) {
        try backend.force(name)
    }

    func restart(immediate: Bool, within: Int, force: Bool) throws(PartitionError) {
        try stopThenStart(immediate: immediate, within: within, force: force)
    }

    func remove(force: Bool) throws(PartitionError) {
        try backend.remove(name, force: force)
    }

    func modify(overrides: ProfileOverrides, live: Bool, config: Bool) throws(PartitionError) {
        try backend.modify(name, overrides: overrides, live: live, config: config)
    }

    func consoleLog() throws(PartitionError) -> String {
        throw unsupported("A WPAR keeps no console log; 'partctl console \(name)' replays its last output when it attaches.")
    }

    func attachConsole(_ terminal: any UserTerminal) throws(PartitionError) -> ConsoleEnding {
        try backend.attachConsole(name, terminal: terminal)
    }

    func login(command: [String], terminal: any UserTerminal) throws(PartitionError) -> Int32 {
        try backend.login(name, command: command, terminal: terminal)
    }
}
