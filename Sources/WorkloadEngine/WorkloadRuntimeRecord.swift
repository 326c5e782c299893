#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import PartitionModel
import SystemKit

/// `<runtime>/wpar/<name>/state.json`: what partctl knows about a WPAR while it is active. Written
/// atomically by partctl; removed by the supervisor when the WPAR ends, or by the next command's
/// repair when a crash left it behind.
struct WorkloadRuntimeRecord: Codable, Sendable, Equatable {
    enum Phase: String, Codable, Sendable {
        /// Spawned, not yet handed to the supervisor.
        case starting
        case running
        /// A shutdown has been asked for.
        case stopping
    }

    var phase: Phase
    var supervisor: ProcessIdentity
    /// The init, as the host sees it.
    var initProcess: ProcessIdentity
    /// Seconds since the epoch.
    var startedAt: Double
    /// While `phase` is `stopping`: until when (seconds since the epoch) the command stopping it
    /// waits. Past it the WPAR shows as running again, so a stop that gave up, or whose command
    /// was killed, never leaves it `stopping` for good. Absent in records of older versions.
    var stoppingUntil: Double?
    /// The network it was attached to at activation (its `eth0` address: the `ip` field), which a
    /// `modify --config` of the definition does not change. Absent in records of older versions.
    var network: WorkloadNetwork?

    /// Whether a stop is under way at `now`: asked for, and its command still waiting.
    func isStopping(at now: Double) -> Bool {
        phase == .stopping && (stoppingUntil.map { now < $0 } ?? false)
    }

    static func file(in runtimeDirectory: String) -> String { runtimeDirectory + "/state.json" }
    /// Written by the supervisor itself as soon as it runs: partctl finds a supervisor through it
    /// even when the command that started it died before writing state.json.
    static func pidFile(in runtimeDirectory: String) -> String { runtimeDirectory + "/supervisor.pid" }

    /// Made by the supervisor once partctl has handed it the WPAR: without it, a live supervisor
    /// belongs to an activation that died half-way and is about to give up.
    static func isCommitted(in runtimeDirectory: String) -> Bool {
        HostSystem.fileType(runtimeDirectory + "/committed") == .regular
    }

    /// The record, nil when there is none or it cannot be read; decoded once per version of the
    /// file through `cache`.
    static func read(from runtimeDirectory: String, cache: DecodedFileCache<WorkloadRuntimeRecord>) -> WorkloadRuntimeRecord? {
        let record = try? cache.value(at: file(in: runtimeDirectory), limit: 1 << 16) { (bytes) throws(PartitionError) -> WorkloadRuntimeRecord in
            do { return try JSONDecoder().decode(WorkloadRuntimeRecord.self, from: Data(bytes)) } catch {
                throw PartitionError(.invalidState, "The runtime record in \(runtimeDirectory) cannot be read: \(error).")
            }
        }
        return record ?? nil
    }

    static func supervisorFromPidFile(in runtimeDirectory: String) -> ProcessIdentity? {
        guard let bytes = try? AtomicFile.read(pidFile(in: runtimeDirectory), limit: 4096) else { return nil }
        return try? JSONDecoder().decode(ProcessIdentity.self, from: Data(bytes))
    }

    func write(to runtimeDirectory: String) throws(PartitionError) {
        let data: Data
        do { data = try JSONEncoder().encode(self) } catch {
            throw PartitionError(.internal, "The runtime record cannot be encoded: \(error).")
        }
        try AtomicFile.write(Array(data), to: WorkloadRuntimeRecord.file(in: runtimeDirectory), mode: 0o600)
    }
}
