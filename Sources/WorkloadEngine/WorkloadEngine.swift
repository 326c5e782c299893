#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import PartitionModel
import SystemKit

/// The WPAR engine on one host (or inside one LPAR, run by its agent): definitions, lifecycle,
/// processes inside, and transient runs.
///
/// Every command on a WPAR takes the WPAR's lock and first repairs what a killed command left
/// behind (`repair`), so a crash at any point never blocks the next command. Reads (`status`)
/// take no lock.
public final class WorkloadEngine: Sendable {
    public let paths: RuntimePaths
    let host: SpawnHost
    let definitions: WorkloadDefinitions
    let runtimeRecords = DecodedFileCache<WorkloadRuntimeRecord>()

    public init(paths: RuntimePaths = .fromEnvironment()) {
        self.paths = paths
        host = SpawnHost.current(runtimeRoot: paths.root, definitionsRoot: paths.definitions)
        definitions = WorkloadDefinitions(definitionsRoot: paths.definitions)
    }

    /// How long a command waits for another command on the same WPAR before it answers busy.
    static let lockWait = 10.0

    /// Runs `body` holding the WPAR's lock; errors get the WPAR and the operation as context.
    func locked<Result>(_ name: PartitionName, _ operation: String,
                        _ body: () throws(PartitionError) -> Result) throws(PartitionError) -> Result {
        try lockedWithLock(name, operation) { (_: PartitionLock) throws(PartitionError) -> Result in try body() }
    }

    /// `locked`, giving `body` the lock itself (to remove its file when the WPAR goes away).
    ///
    /// Every command also tightens the state directories it passes (an older installation made
    /// them world-readable), and a command on a name that is not (or no longer) a WPAR leaves no
    /// lock file behind: it is unlinked while still held, which waiters notice (PartitionLock).
    func lockedWithLock<Result>(_ name: PartitionName, _ operation: String,
                                _ body: (PartitionLock) throws(PartitionError) -> Result) throws(PartitionError) -> Result {
        do {
            try paths.createDirectories()
            let lock = try PartitionLock.acquire(path: paths.lockFile(for: name), wait: true, timeout: Self.lockWait)
            return try withExtendedLifetime(lock) { () throws(PartitionError) -> Result in
                defer { if !definitions.exists(name) && HostSystem.fileType(runtimeDirectory(name)) == nil { lock.removeFile() } }
                try StateDirectory.tightenIfPresent(definitions.directory(of: name), mode: 0o700)
                try StateDirectory.tightenIfPresent(runtimeDirectory(name), mode: 0o700)
                return try body(lock)
            }
        } catch {
            throw error.with(partition: name.rawValue, operation: operation)
        }
    }

    func runtimeDirectory(_ name: PartitionName) -> String { paths.runtimeDirectory(for: name) }

    // MARK: Definitions

    /// Stores `spec` as the definition of `name`, after validating it against this host. Nothing
    /// else is created until activation.
    public func define(_ name: PartitionName, spec: WorkloadSpec, replacing: Bool = false) throws(PartitionError) {
        var spec = spec
        spec.name = name
        // Refused input creates nothing: no state directory, no lock file.
        do { _ = try SpawnPlan(spec: spec, host: host) } catch { throw error.with(partition: name.rawValue, operation: "define") }
        try locked(name, "define") { () throws(PartitionError) in
            let existing = definitions.exists(name)
            if existing && !replacing {
                throw PartitionError(.alreadyExists, "The WPAR is already defined.")
            }
            guard let request = spec.userNamespace else {
                try definitions.save(spec)
                if existing { try userNamespaceRanges.release(rangeHolder(name)) }
                return
            }
            let previous = existing ? (try? definitions.load(name))?.userNamespace : nil
            // Saved under the ranges' lock, so that no other define takes this lease for a stale one.
            _ = try userNamespaceRanges.acquire(request, for: rangeHolder(name), previous: previous,
                                                isGone: isGoneHolder) { (mapping) throws(PartitionError) in
                spec.userNamespace = mapping
                try definitions.save(spec)
            }
        }
    }

    var userNamespaceRanges: UserNamespaceRanges { UserNamespaceRanges() }

    /// "<name>@<definitions root, %-escaped>": the WPAR in the host-wide leases, so that any engine
    /// can tell whether the holder is still defined.
    func rangeHolder(_ name: PartitionName) -> String { "\(name.rawValue)@\(Self.escape(paths.definitions))" }

    /// A lease holder that no longer exists: a transient run whose partctl is gone, or a WPAR whose
    /// definitions root no longer defines it (its define or remove was killed half-way, or its
    /// test sandbox was deleted).
    func isGoneHolder(_ holder: String) -> Bool {
        if let transient = TransientName(parsing: holder) { return !transient.owner.isAlive() }
        let parts = holder.split(separator: "@", maxSplits: 1)
        guard parts.count == 2, let name = try? PartitionName(String(parts[0])), let root = Self.unescape(String(parts[1])) else {
            return true
        }
        return !WorkloadDefinitions(definitionsRoot: root).exists(name)
    }

    /// Every byte but letters, digits, '-' and '_' as %XX: no '/' or '.' in a lease's file name.
    static func escape(_ text: String) -> String {
        var escaped = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"):
                escaped.unicodeScalars.append(UnicodeScalar(byte))
            default:
                escaped += "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 15, radix: 16, uppercase: true)
            }
        }
        return escaped
    }

    static func unescape(_ text: String) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard let high = iterator.next(), let low = iterator.next(),
                  let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(value)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    public func definition(of name: PartitionName) throws(PartitionError) -> WorkloadSpec {
        try definitions.load(name)
    }

    /// Every defined WPAR.
    public func definedNames() -> [PartitionName] { definitions.names() }

    /// Deletes the definition (and its overlay upper layer). An active WPAR is refused unless
    /// `force`, which stops it first.
    public func remove(_ name: PartitionName, force: Bool = false) throws(PartitionError) {
        try locked(name, "remove") { () throws(PartitionError) in
            guard definitions.exists(name) else { throw PartitionError(.notFound, "The WPAR is not defined.") }
            if let record = try repair(name) {
                guard force else {
                    throw PartitionError(.invalidState, "The WPAR is active; shut it down first, or remove it with --force.")
                }
                try stopLocked(name, record: record, signal: nil, within: 0, force: true)
            }
            try definitions.remove(name)
            try userNamespaceRanges.release(rangeHolder(name))
        }
    }

    // MARK: Status

    /// The WPAR's state from its runtime record and the liveness of its processes. Takes no lock
    /// and changes nothing.
    /// Limits changed live (`modify --live`) on the running WPAR; gone when it stops.
    func liveLimitsFile(_ name: PartitionName) -> String { runtimeDirectory(name) + "/live-limits.json" }

    public func status(_ name: PartitionName) throws(PartitionError) -> WorkloadStatus {
        let spec: WorkloadSpec
        do { spec = try definitions.load(name) } catch { throw error.with(partition: name.rawValue, operation: "query") }
        var status = WorkloadStatus(name: name, kind: spec.kind, state: .defined, limits: spec.limits,
                                    lastExit: definitions.lastExit(of: name), annotations: spec.annotations)
        status.userNamespace = spec.userNamespace
        let runtime = runtimeDirectory(name)
        if let record = WorkloadRuntimeRecord.read(from: runtime, cache: runtimeRecords), record.supervisor.bootID == BootID.current() {
            if record.supervisor.isAlive() {
                if let bytes = try? AtomicFile.read(liveLimitsFile(name), limit: 4096),
                   let live = try? JSONDecoder().decode(WorkloadLimits.self, from: Data(bytes)) {
                    status.limits = live
                }
                status.supervisorPID = record.supervisor.pid
                status.initPID = record.initProcess.pid
                status.startedAt = record.startedAt
                status.network = record.network ?? spec.network
                switch record.phase {
                case _ where !WorkloadRuntimeRecord.isCommitted(in: runtime): status.state = .starting
                case .starting: status.state = .starting
                case .stopping where record.isStopping(at: Self.now()), .running where !record.initProcess.isAlive():
                    status.state = .stopping
                case .stopping, .running: status.state = .running
                }
            } else {
                status.state = .error
                status.problem = "Its supervisor is gone; the next command on it cleans up."
            }
        } else if let supervisor = WorkloadRuntimeRecord.supervisorFromPidFile(in: runtime), supervisor.isAlive() {
            status.state = .starting
            status.supervisorPID = supervisor.pid
        }
        return status
    }

    /// Status of every defined WPAR.
    public func statuses() -> [WorkloadStatus] {
        definedNames().compactMap { try? status($0) }
    }

    /// CPU time, memory and task count of an active WPAR; nil when it is not active.
    public func usage(_ name: PartitionName) throws(PartitionError) -> WorkloadUsage? {
        do {
            return try usage(of: status(name))
        } catch {
            throw error.with(partition: name.rawValue, operation: "query")
        }
    }

    /// The same, for a status just read (a listing reads each definition once).
    public func usage(of status: WorkloadStatus) throws(PartitionError) -> WorkloadUsage? {
        guard status.state.isActive else { return nil }
        do {
            return try WorkloadCgroup.open(layout: CgroupLayout.current(), name: status.name.rawValue)?.usage()
        } catch {
            throw error.with(partition: status.name.rawValue, operation: "query")
        }
    }

    /// Changes limits: `live` applies them to the running WPAR's cgroups at once, `persistent`
    /// stores them in its definition for the next activation.
    public func modify(_ name: PartitionName, limits: WorkloadLimits, live: Bool, persistent: Bool) throws(PartitionError) {
        try locked(name, "modify") { () throws(PartitionError) in
            try WorkloadSpecCheck.checkLimits(limits, host: host)
            var spec = try definitions.load(name)
            if live {
                guard try repair(name) != nil,
                      let cgroup = try WorkloadCgroup.open(layout: CgroupLayout.current(), name: name.rawValue) else {
                    throw PartitionError(.invalidState, "The WPAR is not active, so there is nothing to change live.")
                }
                try cgroup.apply(limits)
                // What runs now, for status: the runtime directory goes away with the WPAR.
                if let data = try? JSONEncoder().encode(limits) {
                    try AtomicFile.write(Array(data), to: liveLimitsFile(name), mode: 0o600, durable: false)
                }
            }
            if persistent {
                spec.limits = limits
                try definitions.save(spec)
            }
        }
    }
}
