import Foundation
import Glibc
import PartitionModel
import SystemKit

/// A managed system: a name for a libvirt URI (the HMC's managed system, `-m NAME`).
public struct ManagedSystem: Codable, Equatable, Sendable {
    /// The name users type after `-m`; partition name rules (lowercase, digits, `-`, `_`).
    public var name: String
    /// The libvirt URI of its daemon: `qemu:///system`, `qemu+ssh://host/system`, `qemu+tcp://…`, `test:///…`.
    public var uri: String
    /// `user@host` for running partctl on that system over SSH (its host WPARs); nil: taken from a
    /// qemu+ssh URI, else the system's host WPARs cannot be reached.
    public var ssh: String?

    public init(name: String, uri: String, ssh: String? = nil) {
        self.name = name
        self.uri = uri
        self.ssh = ssh
    }

    /// The name of the system partctl runs on; always present, never stored.
    public static let localName = "local"

    /// Whether the URI names a daemon on this machine (no host part).
    public var isLocal: Bool { PartctlConfiguration.uriIsLocal(uri) }
}

/// The managed systems partctl knows: `local` (this machine, `$PARTCTL_CONNECT` or qemu:///system)
/// and those added with `partctl system add`, stored in `<configDirectory>/systems.json`
/// (`/etc/partctl`, or `$PARTCTL_CONFIG_DIR`), 0600, written atomically under a flock.
public struct SystemRegistry: Sendable {
    public let configDirectory: String
    /// The URI of `local`.
    public let localURI: String

    public init(configDirectory: String, localURI: String) {
        self.configDirectory = configDirectory
        self.localURI = localURI
    }

    public init(configuration: PartctlConfiguration) {
        self.init(configDirectory: configuration.configDirectory, localURI: configuration.localURI)
    }

    public var file: String { configDirectory + "/systems.json" }

    /// `local` first, then the added systems by name.
    public func list() throws(PartitionError) -> [ManagedSystem] {
        [ManagedSystem(name: ManagedSystem.localName, uri: localURI)] + (try stored()).sorted { $0.name < $1.name }
    }

    /// The system named `name`; refused (.invalidArgument, exit 2) when there is none.
    public func system(named name: String) throws(PartitionError) -> ManagedSystem {
        if let found = try list().first(where: { $0.name == name }) { return found }
        throw PartitionError(.invalidArgument,
            "There is no managed system named '\(name.prefix(40))'; 'partctl system list' lists them, 'partctl system add' adds one.")
    }

    /// Why `system` cannot be added beside these, or nil. Pure.
    public static func problem(adding system: ManagedSystem, existing: [ManagedSystem]) -> String? {
        if (try? PartitionName(system.name)) == nil {
            return "'\(system.name.prefix(40))' is not a valid system name: use 1-32 lowercase letters, digits, '-' or '_', starting with a letter or digit."
        }
        if existing.contains(where: { $0.name == system.name }) {
            return "A managed system named '\(system.name)' exists already."
        }
        if let problem = uriProblem(system.uri) { return problem }
        if let ssh = system.ssh, let problem = sshProblem(ssh) { return problem }
        return nil
    }

    /// A libvirt URI: scheme `driver[+transport]://[host]/path`, printable ASCII, no spaces or quotes.
    public static func uriProblem(_ uri: String) -> String? {
        guard uri.utf8.count <= 1024, !uri.isEmpty,
              uri.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f && !"\"'`\\".unicodeScalars.contains($0) }),
              let schemeEnd = uri.firstRange(of: "://"),
              uri[..<schemeEnd.lowerBound].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "+" }),
              !uri[..<schemeEnd.lowerBound].isEmpty else {
            return "'\(uri.prefix(80))' is not a libvirt URI like qemu+ssh://host/system or qemu+tcp://10.0.0.2/system."
        }
        return nil
    }

    /// `user@host` or `host`: no option-like or shell-special text reaches ssh's command line.
    public static func sshProblem(_ destination: String) -> String? {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_@:[]")
        guard !destination.isEmpty, destination.count <= 255, destination.first != "-", destination.allSatisfy(allowed.contains) else {
            return "'\(destination.prefix(80))' is not an SSH destination like root@host2."
        }
        return nil
    }

    public func add(_ system: ManagedSystem) throws(PartitionError) {
        try update { (systems) throws(PartitionError) in
            if let problem = Self.problem(adding: system, existing: [ManagedSystem(name: ManagedSystem.localName, uri: localURI)] + systems) {
                throw PartitionError(.invalidArgument, problem)
            }
            systems.append(system)
        }
    }

    public func remove(named name: String) throws(PartitionError) {
        if name == ManagedSystem.localName {
            throw PartitionError(.invalidArgument, "The system 'local' is this machine; it cannot be removed.")
        }
        try update { (systems) throws(PartitionError) in
            guard let index = systems.firstIndex(where: { $0.name == name }) else {
                throw PartitionError(.invalidArgument, "There is no managed system named '\(name.prefix(40))'; 'partctl system list' lists them.")
            }
            systems.remove(at: index)
        }
    }

    // MARK: The file

    func stored() throws(PartitionError) -> [ManagedSystem] {
        guard let bytes = try AtomicFile.read(file, limit: 1 << 20) else { return [] }
        do {
            return try JSONDecoder().decode(StoredSystems.self, from: Data(bytes)).systems
        } catch {
            throw PartitionError(.invalidState, "\(file) cannot be read: \(error). Fix or remove it.")
        }
    }

    private func update(_ change: (inout [ManagedSystem]) throws(PartitionError) -> Void) throws(PartitionError) {
        if mkdir(configDirectory, 0o755) != 0 && errno != EEXIST {
            throw POSIX.failure("create \(configDirectory)")
        }
        let lock = try PartitionLock.acquire(path: configDirectory + "/.systems.lock", wait: true, timeout: 30)
        defer { withExtendedLifetime(lock) {} }
        var systems = try stored()
        try change(&systems)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do { data = try encoder.encode(StoredSystems(systems: systems.sorted { $0.name < $1.name })) } catch {
            throw PartitionError(.internal, "The managed systems cannot be encoded: \(error).")
        }
        try AtomicFile.write(Array(data) + [0x0a], to: file, mode: 0o600)
    }

    private struct StoredSystems: Codable {
        var systems: [ManagedSystem]
    }
}
