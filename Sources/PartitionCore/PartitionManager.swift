import LibvirtKit
import PartitionModel
import PartitionProfiles
import WorkloadEngine

/// The one entry point the CLI verbs call. Resolves a path to its backend (an LPAR on libvirt, a
/// WPAR on the host engine), serialises commands on the same partition with a lock, and adds the
/// partition and the operation to every error.
public final class PartitionManager {
    public let configuration: PartctlConfiguration
    private var openedConnection: LibvirtConnection?
    /// Told what long operations wait for; silent unless the command layer sets it.
    public var progress: OperationProgress = SilentProgress()

    public init(configuration: PartctlConfiguration) {
        self.configuration = configuration
    }

    // MARK: Connections and context

    /// The libvirt connection, opened on first use so that WPAR-only commands never need libvirtd.
    /// Streams (consoles, agent channels) need libvirt's event loop running before the connection
    /// opens, and any LPAR command may reach an agent (activate waits for it, shutdown stops nested
    /// WPARs first), so the loop always starts first; it costs one idle thread.
    func libvirt() throws(PartitionError) -> LibvirtConnection {
        if let openedConnection { return openedConnection }
        try LibvirtEventLoop.start()
        do {
            let connection = try LibvirtConnection.open(uri: configuration.connectURI)
            openedConnection = connection
            return connection
        } catch {
            // LibvirtKit's message names the URI, libvirt's reason and how to start libvirtd.
            throw error
        }
    }

    func lpars() throws(PartitionError) -> LparBackend {
        LparBackend(connection: try libvirt(), configuration: configuration)
    }

    /// WPARs nested in an LPAR talk to its agent over a libvirt stream.
    func nested() throws(PartitionError) -> NestedBackend {
        NestedBackend(configuration: configuration, lpars: { () throws(PartitionError) -> LparBackend in try self.lpars() })
    }

    /// `lp1/web` as (lp1, web); nil for any other depth.
    func nestedNames(_ path: PartitionPath) -> (lpar: PartitionName, wpar: PartitionName)? {
        path.depth == 2 ? (path.components[0], path.components[1]) : nil
    }

    /// Nested commands hold their LPAR's lock: its metadata holds every nested definition.
    func withNested<T>(_ path: PartitionPath, _ operation: String, locked: Bool = true,
                       _ body: (NestedBackend, PartitionName, PartitionName) throws(PartitionError) -> T) throws(PartitionError) -> T {
        guard let (lpar, wpar) = nestedNames(path) else {
            throw PartitionError(.internal, "Not a nested path.", partition: path.description, operation: operation)
        }
        do {
            if locked {
                return try withLock(PartitionPath(components: [lpar]), operation) { () throws(PartitionError) -> T in
                    try body(try nested(), lpar, wpar)
                }
            }
            return try body(try nested(), lpar, wpar)
        } catch {
            var located = error
            if located.partition == lpar.rawValue || located.partition == wpar.rawValue || located.partition == nil {
                located.partition = path.description
            }
            throw located.with(operation: operation)
        }
    }

    /// How long `activate` of an LPAR with an agent waits for it to answer.
    static let agentStartTimeout: Duration = .seconds(90)

    func wpars() -> WparBackend {
        WparBackend(configuration: configuration)
    }

    /// Names are shared by LPARs and host WPARs: a defined host WPAR wins, anything else is asked of libvirt.
    func isHostWpar(_ name: PartitionName) -> Bool {
        wpars().exists(name)
    }

    /// Held while a name is created or deleted, so that an LPAR and a WPAR never get the same name.
    func withNamesLock<T>(_ body: () throws(PartitionError) -> T) throws(PartitionError) -> T {
        let lock = try PartitionLock.acquire(path: configuration.runtimeRoot + "/locks/names.lock", wait: true, timeout: 30)
        return try withExtendedLifetime(lock) { () throws(PartitionError) -> T in try body() }
    }

    var profiles: ProfileStore { ProfileStore.default(environment: configuration.environment) }

    /// Runs `body` holding the partition's lock; errors carry the partition and the operation.
    ///
    /// The lock file goes when the partition does not exist afterwards (the name was not found, a
    /// `define` failed, a `remove` succeeded), so refused input and removed partitions leave none.
    /// Unlinking it while held is safe: a waiter re-checks that the path still names what it locked.
    func withLock<T>(_ path: PartitionPath, _ operation: String, _ body: () throws(PartitionError) -> T) throws(PartitionError) -> T {
        do throws(PartitionError) {
            let lock = try PartitionLock.acquire(path: lockPath(path), wait: true, timeout: 30)
            defer { withExtendedLifetime(lock) {} }
            do throws(PartitionError) {
                let result = try body()
                if operation == "remove" { lock.removeFile() }
                return result
            } catch {
                if error.code == .notFound || operation == "define" { lock.removeFile() }
                throw error
            }
        } catch {
            throw error.with(partition: path.description, operation: operation)
        }
    }

    func context<T>(_ path: PartitionPath?, _ operation: String, _ body: () throws(PartitionError) -> T) throws(PartitionError) -> T {
        do { return try body() } catch { throw error.with(partition: path?.description, operation: operation) }
    }

    func lockPath(_ path: PartitionPath) -> String {
        configuration.runtimeRoot + "/locks/" + path.components.map(\.rawValue).joined(separator: "+") + ".lock"
    }

    /// Only LPARs and host WPARs exist at depth 1 in this version; nested WPARs need the guest agent.
    func topLevelName(_ path: PartitionPath, _ operation: String) throws(PartitionError) -> PartitionName {
        guard let name = path.name, !path.isRoot else {
            throw PartitionError(.invalidArgument, "The managed system itself cannot be the target of \(operation).", operation: operation)
        }
        guard path.depth == 1 else {
            throw PartitionError(.unsupported, "This operation does not apply to a WPAR nested in an LPAR.",
                                 partition: path.description, operation: operation)
        }
        return name
    }

    // MARK: Verbs

    public func define(_ path: PartitionPath, profile: String, overrides: String?) throws(PartitionError) {
        if nestedNames(path) != nil {
            let parsed = try context(path, "define") { () throws(PartitionError) in
                try overrides.map { text throws(PartitionError) in try ProfileOverrides.parse(text) } ?? ProfileOverrides()
            }
            let resolved = try context(path, "define") { () throws(PartitionError) in try profiles.resolve(profile, overrides: parsed) }
            warnIfPrivileged(resolved, path, "define")
            return try withNested(path, "define") { (backend, lpar, wpar) throws(PartitionError) in
                try backend.define(lpar, wpar, resolved: resolved)
            }
        }
        let name = try topLevelName(path, "define")
        try context(path, "define") { () throws(PartitionError) in
            let parsed = try overrides.map { text throws(PartitionError) in try ProfileOverrides.parse(text) }
            let resolved = try profiles.resolve(profile, overrides: parsed ?? ProfileOverrides())
            warnIfPrivileged(resolved, path, "define")
            switch resolved.kind {
            case .lpar:
                let backend = try lpars()
                let accelerator = try AccelerationProbe(configuration: configuration).resolve(resolved.lpar?.accel ?? .auto)
                try withNamesLock { () throws(PartitionError) in
                    if isHostWpar(name) {
                        throw PartitionError(.alreadyExists, "A WPAR named '\(name)' already exists on this host.")
                    }
                    try withLock(path, "define") { () throws(PartitionError) in
                        try backend.define(name, resolved: resolved, accelerator: accelerator)
                    }
                }
            case .wpar:
                try withNamesLock { () throws(PartitionError) in
                    // libvirt down must not stop WPAR work; a domain of that name is refused when it can be seen.
                    if let connection = try? libvirt(), try connection.lookupDomain(name: name.rawValue) != nil {
                        throw PartitionError(.alreadyExists, "An LPAR (libvirt domain) named '\(name)' already exists.")
                    }
                    try wpars().define(name, resolved: resolved)
                }
            case .system:
                throw PartitionError(.invalidProfile, "The profile '\(resolved.name)' is of kind system, which cannot be defined.")
            }
        }
    }

    /// A privileged WPAR is said out loud, on one line naming what it allows (docs/security.md).
    private func warnIfPrivileged(_ resolved: ResolvedProfile, _ path: PartitionPath?, _ verb: String) {
        guard let warning = resolved.wpar?.privilegeWarning else { return }
        writeStderrLine("partctl: \(path.map { "\($0): " } ?? "")\(verb): warning: \(warning)")
    }

    /// `wait` false returns an LPAR's activation once the domain runs (its state is then `starting`
    /// until its agent's port opens); WPARs are running when their activation returns either way.
    public func activate(_ path: PartitionPath, profile: String?, wait: Bool = true) throws(PartitionError) {
        if nestedNames(path) != nil {
            return try withNested(path, "activate") { (backend, lpar, wpar) throws(PartitionError) in try backend.activate(lpar, wpar) }
        }
        let name = try topLevelName(path, "activate")
        if isHostWpar(name) {
            return try context(path, "activate") { () throws(PartitionError) in
                try wpars().activate(name, reprofile: try profile.map { reference throws(PartitionError) in try profiles.resolve(reference) })
            }
        }
        try withLock(path, "activate") { () throws(PartitionError) in
            var reprofile: ResolvedProfile?
            var accelerator: Acceleration?
            if let profile {
                let resolved = try profiles.resolve(profile)
                reprofile = resolved
                accelerator = try AccelerationProbe(configuration: configuration).resolve(resolved.lpar?.accel ?? .auto)
            }
            try activateLpar(name, reprofile: reprofile, accelerator: accelerator, wait: wait)
        }
    }

    /// Starts the domain and, when waiting, its agent and autostart WPARs. Without waiting, an LPAR
    /// with autostart WPARs is refused: only a waiting activation brings them back.
    func activateLpar(_ name: PartitionName, reprofile: ResolvedProfile?, accelerator: Acceleration?, wait: Bool) throws(PartitionError) {
        let path = PartitionPath(components: [name])
        if !wait, let backend = try? nested(), backend.hasAutostartWpars(name) {
            throw PartitionError(.invalidArgument,
                "The LPAR has WPARs marked autostart, which only a waiting activation brings back; drop --no-wait.")
        }
        let transitions = LparTransition(runtimeRoot: configuration.runtimeRoot)
        progress.waiting(path, "starting the domain")
        transitions.note(name, .starting, for: Self.agentStartTimeout)
        do {
            try lpars().activate(name, reprofile: reprofile, accelerator: accelerator)
        } catch {
            transitions.clear(name)
            throw error
        }
        guard wait else { return }
        defer { transitions.clear(name) }
        try bringBackNestedWpars(name)
    }

    /// An LPAR with an agent is up when its agent answers; then its autostart WPARs start.
    func bringBackNestedWpars(_ name: PartitionName) throws(PartitionError) {
        let backend = try nested()
        guard backend.nestedCount(name) != nil else { return }
        progress.waiting(PartitionPath(components: [name]), "waiting for the agent")
        do {
            try backend.afterActivation(name, timeout: Self.agentStartTimeout)
        } catch {
            throw PartitionError(error.code, "The LPAR is running, but its WPARs could not be brought back: \(error.message)")
        }
    }

    /// `wait` false returns once the stop is asked for: the partition then shows as `stopping`
    /// for up to `within` seconds. Not for nested WPARs (the agent has no such request).
    public func shutdown(_ path: PartitionPath, within: Int, force: Bool, wait: Bool = true) throws(PartitionError) {
        if nestedNames(path) != nil {
            return try withNested(path, "shutdown") { (backend, lpar, wpar) throws(PartitionError) in
                guard wait else {
                    throw PartitionError(.invalidArgument, "--no-wait is not available for a WPAR nested in an LPAR.")
                }
                progress.waiting(path, "waiting for it to stop")
                try backend.shutdown(lpar, wpar, within: within, force: force)
            }
        }
        let name = try topLevelName(path, "shutdown")
        if isHostWpar(name) {
            return try context(path, "shutdown") { () throws(PartitionError) in
                guard wait else { return try wpars().requestShutdown(name, within: within) }
                progress.waiting(path, "waiting for it to stop")
                try wpars().shutdown(name, within: within, force: force)
            }
        }
        try withLock(path, "shutdown") { () throws(PartitionError) in
            try shutdownLpar(name, within: within, force: force, wait: wait)
        }
    }

    func shutdownLpar(_ name: PartitionName, within: Int, force: Bool, wait: Bool) throws(PartitionError) {
        let path = PartitionPath(components: [name])
        let transitions = LparTransition(runtimeRoot: configuration.runtimeRoot)
        // Its WPARs stop first, then the guest.
        if let backend = try? nested(), let count = backend.nestedCount(name), count > 0 {
            progress.waiting(path, "stopping its WPARs")
            backend.beforeShutdown(name)
        }
        progress.waiting(path, "guest is shutting down")
        transitions.note(name, .stopping, for: .seconds(max(within, 1)))
        guard wait else { return try lpars().requestShutdown(name) }
        defer { transitions.clear(name) }
        try lpars().shutdown(name, within: within, force: force)
    }

    public func force(_ path: PartitionPath) throws(PartitionError) {
        if nestedNames(path) != nil {
            return try withNested(path, "force") { (backend, lpar, wpar) throws(PartitionError) in try backend.force(lpar, wpar) }
        }
        let name = try topLevelName(path, "force")
        if isHostWpar(name) {
            return try context(path, "force") { () throws(PartitionError) in try wpars().force(name) }
        }
        try withLock(path, "force") { () throws(PartitionError) in
            try lpars().force(name)
        }
    }

    /// Stops (gracefully, for up to `within` seconds; with `force` killed when that runs out;
    /// with `immediate` at once) and activates again. A graceful stop that times out without
    /// `force` leaves the partition running and says so.
    public func restart(_ path: PartitionPath, immediate: Bool, within: Int, force: Bool = false) throws(PartitionError) {
        if nestedNames(path) != nil {
            return try withNested(path, "restart") { (backend, lpar, wpar) throws(PartitionError) in
                progress.waiting(path, "waiting for it to stop")
                try Self.restartTimeout(within) { () throws(PartitionError) in
                    if immediate { try backend.force(lpar, wpar) } else { try backend.shutdown(lpar, wpar, within: within, force: force) }
                }
                progress.waiting(path, "starting it")
                try backend.activate(lpar, wpar)
            }
        }
        let name = try topLevelName(path, "restart")
        if isHostWpar(name) {
            return try context(path, "restart") { () throws(PartitionError) in
                let backend = wpars()
                progress.waiting(path, "waiting for it to stop")
                try Self.restartTimeout(within) { () throws(PartitionError) in
                    if immediate { try backend.force(name) } else { try backend.shutdown(name, within: within, force: force) }
                }
                progress.waiting(path, "starting it")
                try backend.activate(name, reprofile: nil)
            }
        }
        try withLock(path, "restart") { () throws(PartitionError) in
            try Self.restartTimeout(within) { () throws(PartitionError) in
                if immediate {
                    progress.waiting(path, "stopping the domain")
                    try lpars().force(name)
                } else {
                    try shutdownLpar(name, within: within, force: force, wait: true)
                }
            }
            try activateLpar(name, reprofile: nil, accelerator: nil, wait: true)
        }
    }

    /// A graceful stop that timed out in `restart`: one line naming `restart --force`.
    static func restartTimeout(_ within: Int, _ body: () throws(PartitionError) -> Void) throws(PartitionError) {
        do { try body() } catch where error.code == .timeout {
            throw PartitionError(.timeout,
                "It did not stop within \(within) seconds and keeps running, so it was not restarted; add --force to kill it then.")
        }
    }

    public func remove(_ path: PartitionPath, force: Bool) throws(PartitionError) {
        if nestedNames(path) != nil {
            return try withNested(path, "remove") { (backend, lpar, wpar) throws(PartitionError) in
                try backend.remove(lpar, wpar, force: force)
            }
        }
        let name = try topLevelName(path, "remove")
        if isHostWpar(name) {
            return try context(path, "remove") { () throws(PartitionError) in
                try withNamesLock { () throws(PartitionError) in try wpars().remove(name, force: force) }
            }
        }
        try withLock(path, "remove") { () throws(PartitionError) in
            try lpars().remove(name, force: force)
        }
    }

    public func modify(_ path: PartitionPath, attributes: String, live: Bool, config: Bool) throws(PartitionError) {
        if nestedNames(path) != nil {
            let overrides = try context(path, "modify") { () throws(PartitionError) in try ProfileOverrides.parse(attributes) }
            return try withNested(path, "modify") { (backend, lpar, wpar) throws(PartitionError) in
                try backend.modify(lpar, wpar, overrides: overrides, live: live, config: config)
            }
        }
        let name = try topLevelName(path, "modify")
        if isHostWpar(name) {
            return try context(path, "modify") { () throws(PartitionError) in
                try wpars().modify(name, overrides: try ProfileOverrides.parse(attributes), live: live, config: config)
            }
        }
        try withLock(path, "modify") { () throws(PartitionError) in
            let overrides = try ProfileOverrides.parse(attributes)
            try lpars().modify(name, overrides: overrides, live: live, config: config)
        }
    }

    public func consoleLog(_ path: PartitionPath) throws(PartitionError) -> String {
        if nestedNames(path) != nil {
            throw PartitionError(.unsupported,
                "A WPAR keeps no console log; 'partctl console \(path)' replays its last output when it attaches.",
                partition: path.description, operation: "console")
        }
        let name = try topLevelName(path, "console")
        if isHostWpar(name) {
            throw PartitionError(.unsupported,
                "A WPAR keeps no console log; 'partctl console \(name)' replays its last output when it attaches.",
                partition: path.description, operation: "console")
        }
        return try context(path, "console") { () throws(PartitionError) in try lpars().consoleLog(name) }
    }

    public func attachConsole(_ path: PartitionPath) throws(PartitionError) {
        if nestedNames(path) != nil {
            return try withNested(path, "console", locked: false) { (backend, lpar, wpar) throws(PartitionError) in
                try backend.console(lpar, wpar)
            }
        }
        let name = try topLevelName(path, "console")
        if isHostWpar(name) {
            return try context(path, "console") { () throws(PartitionError) in try wpars().attachConsole(name) }
        }
        try context(path, "console") { () throws(PartitionError) in try lpars().attachConsole(name) }
    }

    public func login(_ path: PartitionPath, command: [String]) throws(PartitionError) -> Int32 {
        if nestedNames(path) != nil {
            return try withNested(path, "login", locked: false) { (backend, lpar, wpar) throws(PartitionError) -> Int32 in
                try backend.login(lpar, wpar, command: command)
            }
        }
        let name = try topLevelName(path, "login")
        return try context(path, "login") { () throws(PartitionError) -> Int32 in
            guard isHostWpar(name) else {
                if try lpars().exists(name) {
                    throw PartitionError(.unsupported, "login runs commands in WPARs; reach an LPAR's shell with 'partctl console \(name)'.")
                }
                throw PartitionError(.notFound, "No partition named '\(name)' is defined.")
            }
            return try wpars().login(name, command: command)
        }
    }

    public func run(profile: String, overrides: String?, command: [String]) throws(PartitionError) -> Int32 {
        try context(nil, "run") { () throws(PartitionError) -> Int32 in
            let parsed = try overrides.map { text throws(PartitionError) in try ProfileOverrides.parse(text) } ?? ProfileOverrides()
            let resolved = try profiles.resolve(profile, overrides: parsed)
            warnIfPrivileged(resolved, nil, "run")
            return try wpars().run(resolved: resolved, command: command)
        }
    }

    public func query(_ path: PartitionPath?) throws(PartitionError) -> [PartitionRecord] {
        if let path, nestedNames(path) != nil {
            // One nested WPAR: its agent (and at most its LPAR), not the whole tree.
            return [try withNested(path, "query", locked: false) { (backend, lpar, wpar) throws(PartitionError) in
                try backend.record(lpar, wpar)
            }]
        }
        return try context(path, "query") { () throws(PartitionError) in
            let root = try TreeBuilder(manager: self).build()
            let all = root.flattened()
            guard let path else { return all }
            guard let record = all.first(where: { $0.path == path.description }) else {
                throw PartitionError(.notFound, "No partition has this path.")
            }
            return [record]
        }
    }

    public func tree(_ path: PartitionPath?) throws(PartitionError) -> PartitionRecord {
        try context(path, "tree") { () throws(PartitionError) in
            let root = try TreeBuilder(manager: self).build()
            guard let path, !path.isRoot else { return root }
            func find(_ record: PartitionRecord) -> PartitionRecord? {
                if record.path == path.description { return record }
                for child in record.children { if let found = find(child) { return found } }
                return nil
            }
            guard let found = find(root) else { throw PartitionError(.notFound, "No partition has this path.") }
            return found
        }
    }
}
