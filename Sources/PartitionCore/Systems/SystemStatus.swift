import LibvirtKit
import PartitionModel

/// What `system list` and `system show` say of a managed system: whether its libvirt answers, its
/// version, host name, CPUs and memory (as the tree's root line counts them).
public struct SystemStatus: Sendable {
    public var system: ManagedSystem
    public var reachable: Bool
    public var hostname: String?
    /// libvirt's version on the daemon's side.
    public var libvirt: String?
    public var cpus: Int?
    public var memoryBytes: UInt64?
    /// How many domains (LPARs, managed or not) it has.
    public var lpars: Int?
    /// Why it is not reachable.
    public var reason: String?

    /// Every field, in the order `system list` prints them.
    public static let fields = ["name", "uri", "ssh", "reachable", "libvirt", "cpus", "memory", "hostname", "lpars", "note"]

    public func field(_ key: String) -> FieldValue {
        switch key {
        case "name": return .string(system.name)
        case "uri": return .string(system.uri)
        case "ssh": return system.sshDestination.map { .string($0.destination + ($0.port.map { ":\($0)" } ?? "")) } ?? .none
        case "reachable": return .bool(reachable)
        case "libvirt": return libvirt.map(FieldValue.string) ?? .none
        case "cpus": return cpus.map(FieldValue.int) ?? .none
        case "memory": return memoryBytes.map(FieldValue.bytes) ?? .none
        case "hostname": return hostname.map(FieldValue.string) ?? .none
        case "lpars": return lpars.map(FieldValue.int) ?? .none
        case "note": return reason.map(FieldValue.string) ?? .none
        default: return .none
        }
    }

    /// Every system's status, asked in parallel; one that does not connect within
    /// `$PARTCTL_SYSTEM_TIMEOUT` seconds is unreachable.
    public static func probe(_ systems: [ManagedSystem], configuration: PartctlConfiguration) -> [SystemStatus] {
        let timeout = SystemFanOut.connectTimeout(configuration)
        return SystemFanOut.map(systems, timeout: timeout, { system, connected in
            let connection: LibvirtConnection
            do throws(PartitionError) {
                connection = try LibvirtConnection.open(uri: system.uri)
            } catch {
                connected()
                return SystemStatus(system: system, reachable: false, reason: error.message)
            }
            connected()
            return status(system, connection)
        }, late: { system in
            SystemStatus(system: system, reachable: false, reason: "\(system.uri) did not answer within \(FieldValue.format(timeout)) s")
        })
    }

    static func status(_ system: ManagedSystem, _ connection: LibvirtConnection) -> SystemStatus {
        var status = SystemStatus(system: system, reachable: true)
        status.hostname = try? connection.hostname()
        status.libvirt = (try? connection.libVersion()).map { "libvirt \($0)" }
        // The same figures as the tree's root line: this machine's own for a local daemon.
        let capacity = SystemCapacity.isLocal(system.uri) && !system.uri.hasPrefix("test:")
            ? SystemCapacity.local() : try? SystemCapacity.remote(connection)
        status.cpus = capacity?.cpus
        status.memoryBytes = capacity?.memoryBytes
        status.lpars = (try? connection.listAllDomains())?.count
        return status
    }
}
