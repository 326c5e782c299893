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

    public init(connectURI: String, stateRoot: String, runtimeRoot: String, environment: [String: String]) {
        self.connectURI = connectURI
        self.stateRoot = stateRoot
        self.runtimeRoot = runtimeRoot
        self.environment = environment
    }

    /// `--connect` wins over $PARTCTL_CONNECT, which wins over qemu:///system.
    public static func fromEnvironment(connectURI: String? = nil) -> PartctlConfiguration {
        let environment = ProcessEnvironment.current()
        let uri = connectURI ?? environment["PARTCTL_CONNECT"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultConnectURI
        return PartctlConfiguration(
            connectURI: uri,
            stateRoot: environment["PARTCTL_ROOT"].flatMap { $0.isEmpty ? nil : $0 } ?? "/var/lib/partctl",
            runtimeRoot: environment["PARTCTL_RUNTIME_ROOT"].flatMap { $0.isEmpty ? nil : $0 } ?? "/run/partctl",
            environment: environment)
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
    public var isLocal: Bool {
        guard let schemeEnd = connectURI.firstRange(of: "://") else { return true }
        return connectURI[schemeEnd.upperBound...].first == "/"
    }
}
