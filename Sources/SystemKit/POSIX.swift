import Glibc
import PartitionModel

/// The system-call conventions every target shares: EINTR retried, errno turned into one kind of
/// `PartitionError`, the monotonic clock and sleeping for deadlines.
public enum POSIX {
    /// Calls `body` again for as long as it fails with EINTR.
    @inline(__always)
    public static func retryingInterrupts<R: FixedWidthInteger>(_ body: () -> R) -> R {
        while true {
            let result = body()
            if result == -1 && errno == EINTR { continue }
            return result
        }
    }

    /// The one errno-to-error mapping: "Could not <step>: <cause> (errno N)." EPERM and EACCES are
    /// `.permissionDenied`, everything else `.system`.
    public static func failure(_ step: String, errno code: Int32 = errno) -> PartitionError {
        let kind: PartitionError.Code = (code == EPERM || code == EACCES) ? .permissionDenied : .system
        return PartitionError(kind, "Could not \(step): \(describe(code)) (errno \(code)).")
    }

    /// strerror's text for `code`, e.g. "No such file or directory".
    public static func describe(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    /// Seconds on the monotonic clock, for deadlines.
    public static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// Sleeps for `seconds` (sub-second resolution), restarting after signals.
    public static func sleep(seconds: Double) {
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
        var remaining = timespec()
        while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
    }
}
