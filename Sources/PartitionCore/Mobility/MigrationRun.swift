import LibvirtKit
import PartitionModel
#if canImport(Glibc)
import Glibc
#endif

/// One libvirt migration, run on a thread of its own (virDomainMigrateToURI3 blocks until the job
/// ends) while the calling thread reads the job's statistics for the progress line and aborts a
/// job that stopped moving.
final class MigrationRun: @unchecked Sendable {
    private let domain: LibvirtDomain
    private let call: @Sendable () throws(PartitionError) -> Void
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var outcome: Result<Void, PartitionError>?

    /// A job whose byte count has not moved for this long is aborted (the destination went away
    /// without the connection noticing).
    static let stallLimit: Duration = .seconds(30)

    /// `call` is the blocking migration call on `domain`.
    init(domain: LibvirtDomain, call: @escaping @Sendable () throws(PartitionError) -> Void) {
        self.domain = domain
        self.call = call
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    private var finished: Result<Void, PartitionError>? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return outcome
    }

    private func migrate() {
        let result: Result<Void, PartitionError>
        do {
            try call()
            result = .success(())
        } catch {
            result = .failure(error)
        }
        pthread_mutex_lock(mutex)
        outcome = result
        pthread_mutex_unlock(mutex)
    }

    /// Runs the migration; `progress` gets the running job's statistics about four times a second.
    /// `lost` says why the job cannot end well any more (the destination's daemon went away), or
    /// nil: the job is then aborted at once instead of copying on to nowhere.
    func run(lost: () -> String? = { nil }, progress: (LibvirtJobStats) -> Void) throws(PartitionError) {
        var thread = pthread_t()
        let box = Unmanaged.passRetained(self).toOpaque()
        guard pthread_create(&thread, nil, { argument in
            Unmanaged<MigrationRun>.fromOpaque(argument!).takeRetainedValue().migrate()
            return nil
        }, box) == 0 else {
            Unmanaged<MigrationRun>.fromOpaque(box).release()
            throw PartitionError(.system, "A thread for the migration could not be started.")
        }
        var lastBytes: UInt64?
        var lastChange = ContinuousClock.now
        var aborted: String?
        while finished == nil {
            usleep(250_000)
            if aborted == nil, finished == nil, let reason = lost() {
                aborted = reason
                try? domain.abortJob()
            }
            guard finished == nil, let stats = try? domain.jobStats(), stats.kind == .bounded || stats.kind == .unbounded else { continue }
            progress(stats)
            let bytes = stats.dataProcessed
            if bytes != lastBytes {
                (lastBytes, lastChange) = (bytes, .now)
            } else if aborted == nil, ContinuousClock.now - lastChange > Self.stallLimit {
                aborted = "it made no progress for \(Self.stallLimit.components.seconds) seconds"
                try? domain.abortJob()
            }
        }
        pthread_join(thread, nil)
        if case .failure(var error) = finished! {
            if let aborted {
                error.message = "aborted: \(aborted); \(RelocationChecks.trimmed(error.message))"
            }
            throw error
        }
    }
}
