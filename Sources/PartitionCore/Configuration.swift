import PartitionModel
#if canImport(Glibc)
import Glibc
#endif

/// Where partctl finds its managed system, its profiles and its state.
public struct PartctlConfiguration: Sendable {
    public static let defaultConnectURI = "qemu:///system"

    /// The libvirt URI of the managed system.
    public var connectURI: String
    /// Definitions of host WPARs and cached facts (`$PARTCTL_ROOT`, default /var/lib/partctl).
    public var stateRoot: String
    /// Locks and runtime state (/run/partctl).
    public var runtimeRoot: String
    /// The process environment, for profile lookup ($PARTCTL_PROFILES).
    public var environment: [String: String]
    /// The managed system this command works on (`-m NAME`): `local` unless chosen; nil when
    /// `--connect URI` named a URI instead of a system.
    public var systemName: String?
    /// Whether the user chose the system (`-m` or `--connect`): commands that span every managed
    /// system (`tree`, `query`) then keep to that one.
    public var systemChosen: Bool = false
    /// Where partctl's own configuration lives (`$PARTCTL_CONFIG_DIR`, default /etc/partctl):
    /// systems.json (the managed systems).
    public var configDirectory: String
    /// The URI of the system named `local`: `$PARTCTL_CONNECT` or qemu:///system.
    public var localURI: String

    public init(connectURI: String, stateRoot: String, runtimeRoot: String, environment: [String: String],
                systemName: String? = ManagedSystem.localName, configDirectory: String = "/etc/partctl") {
        self.connectURI = connectURI
        self.stateRoot = stateRoot
        self.runtimeRoot = runtimeRoot
        self.environment = environment
        self.systemName = systemName
        self.configDirectory = configDirectory
        self.localURI = connectURI
    }

    /// `--connect` wins over `-m`, which wins over $PARTCTL_CONNECT, which wins over qemu:///system.
    /// `-m NAME` is looked up in the registry of managed systems; an unknown name is refused.
    public static func fromEnvironment(connectURI: String?, system: String?) throws(PartitionError) -> PartctlConfiguration {
        var configuration = fromEnvironment()
        let localURI = configuration.localURI
        if let connectURI {
            configuration.connectURI = connectURI
            configuration.systemName = connectURI == localURI ? ManagedSystem.localName : nil
            configuration.systemChosen = true
        } else if let system {
            let chosen = try SystemRegistry(configuration: configuration).system(named: system)
            configuration.connectURI = chosen.uri
            configuration.systemName = chosen.name
            configuration.systemChosen = true
        }
        return configuration
    }

    /// The local system as the environment says.
    public static func fromEnvironment() -> PartctlConfiguration {
        let environment = ProcessEnvironment.current()
        func value(_ key: String) -> String? { environment[key].flatMap { $0.isEmpty ? nil : $0 } }
        return PartctlConfiguration(
            connectURI: value("PARTCTL_CONNECT") ?? defaultConnectURI,
            stateRoot: value("PARTCTL_ROOT") ?? "/var/lib/partctl",
            runtimeRoot: value("PARTCTL_RUNTIME_ROOT") ?? "/run/partctl",
            environment: environment,
            configDirectory: value("PARTCTL_CONFIG_DIR") ?? "/etc/partctl")
    }

    /// The same configuration pointed at another managed system (relocation's destination, `tree`
    /// over every system).
    public func on(_ system: ManagedSystem) -> PartctlConfiguration {
        var other = self
        other.connectURI = system.uri
        other.systemName = system.name
        other.systemChosen = true
        return other
    }
}

/// The process environment without Foundation.
enum ProcessEnvironment {
    static func current() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }
}

extension PartctlConfiguration {
    /// Whether the managed system is this machine (no host in the URI), so its files are ours to read.
    public var isLocal: Bool { Self.uriIsLocal(connectURI) }

    public static func uriIsLocal(_ uri: String) -> Bool {
        guard let schemeEnd = uri.firstRange(of: "://") else { return true }
        return uri[schemeEnd.upperBound...].first == "/"
    }
}
