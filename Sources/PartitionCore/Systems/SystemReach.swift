import PartitionModel

/// Where a managed system's host WPARs are, seen from this command: host WPARs are processes of
/// the machine they run on, so only the system `local` (or a raw `--connect` URI to a daemon on
/// this machine) has them here. Any other system's are reached by running partctl there over SSH
/// (docs/systems.md), never through a local look-up that would find this machine's.
public enum HostWparReach: Equatable, Sendable {
    /// On this machine: the engine and $PARTCTL_ROOT here are theirs.
    case here
    /// On another machine, reached by `ssh DESTINATION partctl ... -m local`.
    case ssh(SSHDestination)
    /// On another machine that partctl knows no SSH destination for (its name; nil for a raw URI).
    case unreachable(system: String?)
}

/// `user@host` (and a port) to run partctl on another managed system.
public struct SSHDestination: Equatable, Sendable {
    public var destination: String
    public var port: Int?

    public init(destination: String, port: Int? = nil) {
        self.destination = destination
        self.port = port
    }

    /// ssh's options before the destination: batch mode when no one can answer a prompt; `config`:
    /// an ssh_config of partctl's own (`$PARTCTL_SSH_CONFIG`: keys, ports, ControlMaster per host).
    public func arguments(batch: Bool, terminal: Bool = false, connectTimeout: Int? = nil, config: String? = nil) -> [String] {
        var arguments: [String] = []
        if let config { arguments += ["-F", config] }
        if batch { arguments += ["-o", "BatchMode=yes"] }
        if let connectTimeout { arguments += ["-o", "ConnectTimeout=\(connectTimeout)"] }
        if terminal { arguments.append("-t") }
        if let port { arguments += ["-p", String(port)] }
        return arguments + ["--", destination]
    }

    /// `$PARTCTL_SSH_CONFIG`, when set.
    public static func configFile(_ environment: [String: String]) -> String? {
        environment["PARTCTL_SSH_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The SSH destination of a `driver+ssh://[user@]host[:port]/path` URI, or nil.
    public static func of(uri: String) -> SSHDestination? {
        guard let schemeEnd = uri.firstRange(of: "://"), uri[..<schemeEnd.lowerBound].hasSuffix("+ssh") else { return nil }
        let rest = uri[schemeEnd.upperBound...]
        let authority = String(rest.prefix { $0 != "/" && $0 != "?" })
        guard !authority.isEmpty else { return nil }
        var host = authority
        var port: Int?
        // host:port, but not an IPv6 literal's colons ([::1]:22).
        if let colon = authority.lastIndex(of: ":"), !authority[colon...].contains("]"),
           let number = Int(authority[authority.index(after: colon)...]) {
            host = String(authority[..<colon])
            port = number
        }
        guard SystemRegistry.sshProblem(host) == nil else { return nil }
        return SSHDestination(destination: host, port: port)
    }
}

extension ManagedSystem {
    /// `--ssh` as given, else the host of a qemu+ssh URI.
    public var sshDestination: SSHDestination? {
        if let ssh { return SSHDestination(destination: ssh) }
        return SSHDestination.of(uri: uri)
    }
}

extension PartctlConfiguration {
    /// Whether this command's host WPARs are this machine's: the system `local` or a raw `--connect`
    /// URI, and a daemon on this machine (a remote `PARTCTL_CONNECT` names another machine's).
    public var hostWparsHere: Bool {
        (systemName == nil || systemName == ManagedSystem.localName) && isLocal
    }

    /// Where this command's host WPARs are (`system` is the registry's entry, when one was chosen by name).
    public func hostWparReach(system: ManagedSystem?) -> HostWparReach {
        if hostWparsHere { return .here }
        if systemName == ManagedSystem.localName || systemName == nil {
            // local pointed elsewhere by $PARTCTL_CONNECT, or a raw URI: only a qemu+ssh URI says how.
            return SSHDestination.of(uri: connectURI).map(HostWparReach.ssh) ?? .unreachable(system: systemName)
        }
        return system?.sshDestination.map(HostWparReach.ssh) ?? .unreachable(system: systemName)
    }
}
