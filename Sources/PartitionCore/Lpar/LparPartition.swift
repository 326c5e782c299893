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

    func supports(_ verb: PartitionVerb) -> Bool { verb != .login }

    func activate(reprofile: ResolvedProfile?) throws(PartitionError) {
        var accelerator: Acceleration?
        if let reprofile {
            accelerator = try AccelerationProbe(configuration: manager.configuration).resolve(reprofile.lpar?.accel ?? .auto)
        }
        try backend.activate(lpar, reprofile: reprofile, accelerator: accelerator)
        try bringBackNestedWpars()
    }

    /// An LPAR with an agent is up when its agent answers; then its autostart WPARs start.
    func bringBackNestedWpars() throws(PartitionError) {
        let backend = try manager.nested(knowing: lpar)
        guard backend.nestedCount(lpar.name) != nil else { return }
        do {
            try backend.afterActivation(lpar.name, timeout: PartitionManager.agentStartTimeout)
        } catch {
            throw PartitionError(error.code, "The LPAR is running, but its WPARs could not be brought back: \(error.message)")
        }
    }

    func shutdown(within: Int, force: Bool) throws(PartitionError) {
        // Its WPARs stop first, then the guest.
        if let backend = try? manager.nested(knowing: lpar), let count = backend.nestedCount(lpar.name), count > 0 {
            backend.beforeShutdown(lpar.name)
        }
        try backend.shutdown(lpar, within: within, force: force)
    }

    func force() throws(PartitionError) {
        try backend.force(lpar)
    }

    func restart(immediate: Bool, within: Int) throws(PartitionError) {
        if immediate {
            try backend.force(lpar)
        } else {
            try backend.shutdown(lpar, within: within, force: false)
        }
        try backend.activate(lpar, reprofile: nil, accelerator: nil)
        try bringBackNestedWpars()
    }

    func remove(force: Bool) throws(PartitionError) {
        try backend.remove(lpar, force: force)
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
        throw unsupported("login runs commands in WPARs; reach an LPAR's shell with 'partctl console \(lpar.name)'.")
    }
}
