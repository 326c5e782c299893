import CLibvirt
import Glibc
import PartitionModel

/// How a migration runs (the VIR_MIGRATE_* flags partctl uses).
public struct LibvirtMigrationFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The domain keeps running while its memory is copied.
    public static let live = LibvirtMigrationFlags(rawValue: VIR_MIGRATE_LIVE.rawValue)
    /// The source daemon talks to the destination daemon itself (the client may go away).
    public static let peerToPeer = LibvirtMigrationFlags(rawValue: VIR_MIGRATE_PEER2PEER.rawValue)
    /// The destination keeps a persistent definition.
    public static let persistDestination = LibvirtMigrationFlags(rawValue: VIR_MIGRATE_PERSIST_DEST.rawValue)
    /// The source's definition goes once the destination has the domain.
    public static let undefineSource = LibvirtMigrationFlags(rawValue: VIR_MIGRATE_UNDEFINE_SOURCE.rawValue)
    /// Only the definition moves (a stopped domain).
    public static let offline = LibvirtMigrationFlags(rawValue: VIR_MIGRATE_OFFLINE.rawValue)
    /// Every writable disk is copied whole (storage that is not shared).
    public static let nonSharedDisk = LibvirtMigrationFlags(rawValue: VIR_MIGRATE_NON_SHARED_DISK.rawValue)
    /// Only the top image of each writable disk is copied (the backing chain is on both sides).
    public static let nonSharedIncremental = LibvirtMigrationFlags(rawValue: VIR_MIGRATE_NON_SHARED_INC.rawValue)
    /// Refuse to start the job when the domain would be left on both sides (no tunnel, shared state).
    public static let abortOnError = LibvirtMigrationFlags(rawValue: VIR_MIGRATE_ABORT_ON_ERROR.rawValue)
}

/// The typed parameters of virDomainMigrateToURI3 that partctl sets; nil leaves libvirt's default.
public struct LibvirtMigrationParameters: Sendable, Equatable {
    /// Where QEMU sends the stream (`tcp://ADDRESS`), when the destination's host name does not resolve.
    public var migrationURI: String?
    /// The most the stream may take, MiB/s.
    public var bandwidthMiBPerSecond: UInt64?
    /// The domain XML the destination starts (or defines) instead of the source's.
    public var destinationXML: String?
    /// The persistent definition the destination keeps (with PERSIST_DEST).
    public var persistentXML: String?

    public init(migrationURI: String? = nil, bandwidthMiBPerSecond: UInt64? = nil,
                destinationXML: String? = nil, persistentXML: String? = nil) {
        self.migrationURI = migrationURI
        self.bandwidthMiBPerSecond = bandwidthMiBPerSecond
        self.destinationXML = destinationXML
        self.persistentXML = persistentXML
    }

    /// libvirt's names (VIR_MIGRATE_PARAM_*).
    var typed: [String: LibvirtTypedValue] {
        var values: [String: LibvirtTypedValue] = [:]
        if let migrationURI { values[VIR_MIGRATE_PARAM_URI] = .string(migrationURI) }
        if let bandwidthMiBPerSecond { values[VIR_MIGRATE_PARAM_BANDWIDTH] = .uint64(bandwidthMiBPerSecond) }
        if let destinationXML { values[VIR_MIGRATE_PARAM_DEST_XML] = .string(destinationXML) }
        if let persistentXML { values[VIR_MIGRATE_PARAM_PERSIST_XML] = .string(persistentXML) }
        return values
    }
}

/// A domain job as virDomainGetJobStats reports it: the one running, or the last one completed.
public struct LibvirtJobStats: Sendable {
    public enum Kind: Int32, Sendable {
        case none = 0, bounded, unbounded, completed, failed, cancelled
    }
    public var kind: Kind
    /// Every field libvirt returned (VIR_DOMAIN_JOB_*), by name.
    public var raw: [String: LibvirtTypedValue]

    public init(kind: Kind, raw: [String: LibvirtTypedValue]) {
        self.kind = kind
        self.raw = raw
    }

    func value(_ name: String) -> UInt64? { raw[name]?.uint64Value }

    /// Milliseconds since the job started (VIR_DOMAIN_JOB_TIME_ELAPSED).
    public var elapsedMilliseconds: UInt64? { value(VIR_DOMAIN_JOB_TIME_ELAPSED) }
    /// How long the domain was paused at the switch-over, ms (VIR_DOMAIN_JOB_DOWNTIME); completed jobs.
    public var downtimeMilliseconds: UInt64? { value(VIR_DOMAIN_JOB_DOWNTIME) }
    /// Memory and disk bytes: all there is, moved so far, still to move (VIR_DOMAIN_JOB_DATA_*).
    public var dataTotal: UInt64? { value(VIR_DOMAIN_JOB_DATA_TOTAL) }
    public var dataProcessed: UInt64? { value(VIR_DOMAIN_JOB_DATA_PROCESSED) }
    public var dataRemaining: UInt64? { value(VIR_DOMAIN_JOB_DATA_REMAINING) }
    public var memoryProcessed: UInt64? { value(VIR_DOMAIN_JOB_MEMORY_PROCESSED) }
    public var memoryRemaining: UInt64? { value(VIR_DOMAIN_JOB_MEMORY_REMAINING) }
    public var diskProcessed: UInt64? { value(VIR_DOMAIN_JOB_DISK_PROCESSED) }
    public var diskRemaining: UInt64? { value(VIR_DOMAIN_JOB_DISK_REMAINING) }
    /// Copy passes over memory so far (VIR_DOMAIN_JOB_MEMORY_ITERATION).
    public var memoryIteration: UInt64? { value(VIR_DOMAIN_JOB_MEMORY_ITERATION) }
    /// Why a completed job failed, when libvirt says (VIR_DOMAIN_JOB_ERRMSG).
    public var errorMessage: String? {
        if case .string(let text) = raw[VIR_DOMAIN_JOB_ERRMSG] { return text }
        return nil
    }
}

extension LibvirtDomain {
    /// Migrates the domain to the daemon at `destinationURI` (virDomainMigrateToURI3; with
    /// `.peerToPeer` the source daemon connects there itself). Blocks until the job ends; another
    /// thread may read `jobStats()` or `abortJob()` meanwhile.
    public func migrate(to destinationURI: String, parameters: LibvirtMigrationParameters,
                        flags: LibvirtMigrationFlags) throws(PartitionError) {
        let list = try TypedParameterList(parameters.typed)
        try LibvirtCall.run("virDomainMigrateToURI3") {
            virDomainMigrateToURI3(pointer, destinationURI, list.parameters, UInt32(list.count), flags.rawValue)
        }
    }

    /// Migrates the domain to `destination`, a connection this process holds (virDomainMigrate3,
    /// without `.peerToPeer`: the client drives it, so the destination need not be reachable from
    /// the source's daemon, only its QEMU from the source's QEMU). Returns the domain there.
    @discardableResult
    public func migrate(to destination: LibvirtConnection, parameters: LibvirtMigrationParameters,
                        flags: LibvirtMigrationFlags) throws(PartitionError) -> LibvirtDomain {
        let list = try TypedParameterList(parameters.typed)
        let moved = try LibvirtCall.run("virDomainMigrate3") {
            virDomainMigrate3(pointer, destination.pointer, list.parameters, UInt32(list.count), flags.rawValue)
        }
        return LibvirtDomain(owning: moved, connection: destination)
    }

    /// The running job (`completed: false`) or the last completed one (virDomainGetJobStats).
    /// `keepCompleted` leaves a completed job's statistics for the next reader.
    public func jobStats(completed: Bool = false, keepCompleted: Bool = false) throws(PartitionError) -> LibvirtJobStats {
        var type: Int32 = 0
        var parameters: virTypedParameterPtr?
        var count: Int32 = 0
        var flags: UInt32 = 0
        if completed { flags |= VIR_DOMAIN_JOB_STATS_COMPLETED.rawValue }
        if keepCompleted { flags |= VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED.rawValue }
        try LibvirtCall.run("virDomainGetJobStats") { virDomainGetJobStats(pointer, &type, &parameters, &count, flags) }
        defer { virTypedParamsFree(parameters, count) }
        return LibvirtJobStats(kind: LibvirtJobStats.Kind(rawValue: type) ?? .none,
                               raw: LibvirtTypedValue.dictionary(parameters, count: count))
    }

    /// Cancels the running job (virDomainAbortJob); a migration ends with the domain still here.
    public func abortJob() throws(PartitionError) {
        try LibvirtCall.run("virDomainAbortJob") { virDomainAbortJob(pointer) }
    }

    /// The longest pause the switch-over of a live migration may take, ms (virDomainMigrateSetMaxDowntime).
    public func setMaxMigrationDowntime(milliseconds: UInt64) throws(PartitionError) {
        try LibvirtCall.run("virDomainMigrateSetMaxDowntime") { virDomainMigrateSetMaxDowntime(pointer, milliseconds, 0) }
    }

    /// The longest pause a live migration's switch-over may take, ms (virDomainMigrateGetMaxDowntime).
    public func maxMigrationDowntime() throws(PartitionError) -> UInt64 {
        var value: UInt64 = 0
        try LibvirtCall.run("virDomainMigrateGetMaxDowntime") { virDomainMigrateGetMaxDowntime(pointer, &value, 0) }
        return value
    }
}

/// What virConnectCompareCPU says about a CPU on this host.
public enum LibvirtCPUComparison: Sendable, Equatable {
    case incompatible, identical, superset
}

extension LibvirtConnection {
    /// Whether this host's CPU can run a domain with `cpuXML` (a `<cpu>` element, virConnectCompareCPU).
    public func compareCPU(_ cpuXML: String) throws(PartitionError) -> LibvirtCPUComparison {
        let result = try LibvirtCall.run("virConnectCompareCPU") { virConnectCompareCPU(pointer, cpuXML, 0) }
        switch result {
        case Int32(VIR_CPU_COMPARE_IDENTICAL.rawValue): return .identical
        case Int32(VIR_CPU_COMPARE_SUPERSET.rawValue): return .superset
        default: return .incompatible
        }
    }

    /// The host interface (a bridge, say) of that name, whether it is up; nil when there is none
    /// (virInterfaceLookupByName, virInterfaceIsActive).
    public func hostInterfaceIsActive(name: String) throws(PartitionError) -> Bool? {
        let result = LibvirtCall.result("virInterfaceLookupByName") { virInterfaceLookupByName(pointer, name) }
        switch result {
        case .success(let interface):
            defer { virInterfaceFree(interface) }
            return try LibvirtCall.run("virInterfaceIsActive") { virInterfaceIsActive(interface) } == 1
        case .failure(let info) where info.is(VIR_ERR_NO_INTERFACE):
            return nil
        case .failure(let info):
            throw info.partitionError
        }
    }

    /// The host's memory in bytes that is free or held only by caches the kernel gives back
    /// (virNodeGetMemoryStats: free + buffers + cached); nil when the driver does not say.
    public func reclaimableFreeMemoryBytes() throws(PartitionError) -> UInt64? {
        var count: Int32 = 0
        let cell: Int32 = -1  // VIR_NODE_MEMORY_STATS_ALL_CELLS
        guard case .success = LibvirtCall.result("virNodeGetMemoryStats", { virNodeGetMemoryStats(pointer, cell, nil, &count, 0) }),
              count > 0 else { return nil }
        var stats = [virNodeMemoryStats](repeating: virNodeMemoryStats(), count: Int(count))
        try LibvirtCall.run("virNodeGetMemoryStats") { virNodeGetMemoryStats(pointer, cell, &stats, &count, 0) }
        var fields: [String: UInt64] = [:]
        for stat in stats.prefix(Int(count)) { fields[stringFromCharArray(stat.field)] = stat.value }
        guard let free = fields[VIR_NODE_MEMORY_STATS_FREE] else { return nil }
        return (free + (fields[VIR_NODE_MEMORY_STATS_BUFFERS] ?? 0) + (fields[VIR_NODE_MEMORY_STATS_CACHED] ?? 0)) * 1024
    }
}
