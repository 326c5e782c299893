import LibvirtKit
import PartitionModel
import PartitionProfiles
import WorkloadEngine
import SystemKit

/// The one entry point the CLI verbs call. Resolves a path to its backend (an LPAR on libvirt, a
/// WPAR on the host engine), serialises commands on the same partition with a lock, and adds the
/// partition and the operation to every error.
public final class PartitionManager {
    public let configuration: PartctlConfiguration
    private var openedConnection: LibvirtConnection?
    /// Where warnings go while a verb runs (a privileged WPAR); the command layer prints them.
    public var warn: (PartitionWarning) -> Void = { _ in }
    /// What a command is told while it waits for something outside it (a busy agent channel): one line.
    public var notice: (String) -> Void = { _ in }
    /// Told what long operations wait for; silent unless the command layer sets it.
    public var progress: OperationProgress = SilentProgress()
    /// Runs this very command on another managed system over SSH, for a host WPAR there (the
    /// command layer sets it; it does not return when it could start ssh). See `hostWparElsewhere`.
    public var runOverSSH: ((SSHDestination) throws(PartitionError) -> Void)?

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
        let backend = NestedBackend(configuration: configuration, lpars: { () throws(PartitionError) -> LparBackend in try self.lpars() })
        backend.notice = notice
        return backend
    }

    /// The nested backend of an LPAR this command has already read: it does not read it again.
    func nested(knowing lpar: LparTarget) throws(PartitionError) -> NestedBackend {
        let backend = try nested()
        backend.remember(lpar)
        return backend
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
                let backend = try nested()
                // The LPAR's lock file stays only when the LPAR was found.
                return try withLock(PartitionPath(components: [lpar]), operation,
                                    exists: { backend.lparTargets[lpar.rawValue] != nil }) { () throws(PartitionError) -> T in
                    try body(backend, lpar, wpar)
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
        let backend = WparBackend(configuration: configuration)
        backend.libvirt = { [weak self] in try? self?.libvirt() }
        return backend
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
    /// After a failure, `exists` says whether the partition was found at all: when it was not (say
    /// libvirtd was down), nothing shows that it exists, and its lock file goes too. Unlinking it
    /// while held is safe: a waiter re-checks that the path still names what it locked.
    func withLock<T>(_ path: PartitionPath, _ operation: String, exists: (() -> Bool)? = nil,
                     _ body: () throws(PartitionError) -> T) throws(PartitionError) -> T {
        do throws(PartitionError) {
            let lock = try PartitionLock.acquire(path: lockPath(path), wait: true, timeout: 30)
            defer { withExtendedLifetime(lock) {} }
            if let lpar = path.components.first { repairLparSnapshot(ifJournaled: lpar) }
            do throws(PartitionError) {
                let result = try body()
                if operation == "remove" { lock.removeFile() }
                return result
            } catch {
                if error.code == .notFound || operation == "define" || exists?() == false { lock.removeFile() }
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
                if let refusal = Self.refusal(try hostProblems(of: resolved, inactiveNetworks: false), profile: profile) { throw refusal }
                let accelerator = try AccelerationProbe(configuration: configuration).resolve(resolved.lpar?.accel ?? .auto)
                try withNamesLock { () throws(PartitionError) in
                    if configuration.hostWparsHere && isHostWpar(name) {
                        throw PartitionError(.alreadyExists, "A WPAR named '\(name)' already exists on this host.")
                    }
                    try withLock(path, "define") { () throws(PartitionError) in
                        try backend.define(name, resolved: resolved, accelerator: accelerator)
                    }
                }
            case .wpar:
                // A host WPAR is made on the machine of the chosen system, never here for another one.
                guard configuration.hostWparsHere else { try hostWparElsewhere(path, "define", lookedUp: false) }
                try withNamesLock { () throws(PartitionError) in
                    // libvirt down must not stop WPAR work; a domain of that name is refused when it can be seen.
                    if let connection = try? libvirt(), try connection.lookupDomain(name: name.rawValue) != nil {
                        throw PartitionError(.alreadyExists, "An LPAR (libvirt domain) named '\(name)' already exists.")
                    }
                    if let refusal = Self.refusal(resolved.hostProblems() + (try managedNetworkProblems(of: resolved)), profile: profile) { throw refusal }
                    try wpars().define(name, resolved: resolved)
                }
            case .system:
                throw PartitionError(.invalidProfile, "The profile '\(resolved.name)' is of kind system, which cannot be defined.")
            }
        }
    }

    /// A privileged WPAR is said out loud, on one line naming what it allows (docs/security.md).
    func warnIfPrivileged(_ resolved: ResolvedProfile, _ path: PartitionPath?, _ verb: String) {
        guard let warning = resolved.wpar?.privilegeWarning else { return }
        warn(PartitionWarning(path: path, operation: verb, message: warning))
    }

    public func run(profile: String, overrides: String?, command: [String]) throws(PartitionError) -> Int32 {
        try context(nil, "run") { () throws(PartitionError) -> Int32 in
            let parsed = try overrides.map { text throws(PartitionError) in try ProfileOverrides.parse(text) } ?? ProfileOverrides()
            let resolved = try profiles.resolve(profile, overrides: parsed)
            warnIfPrivileged(resolved, nil, "run")
            return try wpars().run(resolved: resolved, command: command)
        }
    }
}
