import Glibc
import PartitionModel
import SystemKit

/// A process named so that a reused PID never passes for it: the PID, the start time the kernel
/// recorded for it (clock ticks after boot, field 22 of /proc/PID/stat) and the boot it ran in.
/// Runtime state records this instead of a bare PID.
public struct ProcessIdentity: Codable, Sendable, Hashable {
    public var pid: pid_t
    public var startTime: UInt64
    public var bootID: String

    public init(pid: pid_t, startTime: UInt64, bootID: String) {
        self.pid = pid
        self.startTime = startTime
        self.bootID = bootID
    }

    /// The identity of the process that has `pid` now, or nil when there is none.
    public static func current(pid: pid_t) throws(PartitionError) -> ProcessIdentity? {
        guard let stat = try ProcessStat.read(pid: pid) else { return nil }
        return ProcessIdentity(pid: pid, startTime: stat.startTime, bootID: BootID.current())
    }

    /// Whether this very process still runs: same boot, and `pid` belongs to a process with the same
    /// start time that has not exited. A zombie (exited, not yet reaped) counts as not alive.
    public func isAlive() -> Bool {
        guard let stat = try? ProcessStat.read(pid: pid) else { return false }
        return matches(stat) && !stat.hasExited
    }

    /// Sends `signal` to this process and to no other. The PID is pinned with a pidfd first and the
    /// identity checked after that, so a PID that was reused in between is never signalled. Fails
    /// with `.notFound` when the process is gone.
    public func signal(_ signal: Int32) throws(PartitionError) {
        let pinned: Int32?
        do {
            pinned = try openPidfd()
        } catch {
            guard error.code == .unsupported else { throw error }
            // Without pidfds (kernel < 5.3 or an old libc): check and kill as close together as possible.
            guard bootID == BootID.current(), let stat = try ProcessStat.read(pid: pid), matches(stat) else { throw gone() }
            if kill(pid, signal) != 0 { throw errno == ESRCH ? gone() : SystemCall.failure("send signal \(signal) to process \(pid)") }
            return
        }
        guard let pidfd = pinned else { throw gone() }
        defer { close(pidfd) }
        if PidfdCalls.sendSignal!(pidfd, signal, nil, 0) != 0 {
            throw errno == ESRCH ? gone() : SystemCall.failure("send signal \(signal) to process \(pid)")
        }
    }

    /// A pidfd (close-on-exec) for exactly this process, or nil when it is gone or the PID now
    /// belongs to another process. The caller closes it. It can be polled for the process's exit.
    /// Throws `.unsupported` where the kernel or libc has no pidfd_open.
    public func openPidfd() throws(PartitionError) -> Int32? {
        let unsupported = PartitionError(.unsupported, "This system has no pidfds (Linux 5.3 and glibc 2.36 are needed).")
        guard let open = PidfdCalls.open, PidfdCalls.sendSignal != nil else { throw unsupported }
        guard bootID == BootID.current() else { return nil }
        let pidfd = open(pid, 0)
        if pidfd < 0 {
            if errno == ESRCH { return nil }
            if errno == ENOSYS { throw unsupported }
            throw SystemCall.failure("open a pidfd for process \(pid)")
        }
        // The pidfd now pins whatever process has the PID; only keep it if that process is this one.
        guard let stat = try? ProcessStat.read(pid: pid), matches(stat) else {
            close(pidfd)
            return nil
        }
        return pidfd
    }

    private func matches(_ stat: ProcessStat) -> Bool {
        stat.startTime == startTime && bootID == BootID.current()
    }

    private func gone() -> PartitionError {
        PartitionError(.notFound, "The process \(pid) has exited (its PID may now belong to another process); it was not signalled.")
    }
}

/// The fields of /proc/PID/stat that identify a process.
struct ProcessStat: Equatable {
    var state: UInt8
    var startTime: UInt64

    /// Z (zombie) and X (dead): the process has exited.
    var hasExited: Bool { state == UInt8(ascii: "Z") || state == UInt8(ascii: "X") }

    static func read(pid: pid_t) throws(PartitionError) -> ProcessStat? {
        guard pid > 0 else { return nil }
        switch SystemCall.readFile("/proc/\(pid)/stat", limit: 4096) {
        case .success(let bytes):
            guard let stat = parse(bytes) else {
                throw PartitionError(.internal, "The kernel's /proc/\(pid)/stat has a form partctl does not understand.")
            }
            return stat
        case .failure(.noSuchFileOrDirectory), .failure(.noSuchProcess):
            return nil
        case .failure(let cause):
            throw SystemCall.failure("read /proc/\(pid)/stat", errno: cause.rawValue)
        }
    }

    /// Parses "PID (COMM) STATE PPID … STARTTIME …". COMM may hold spaces and parentheses, even
    /// ") (", so the fields start after the last ')' in the line, never after the first.
    static func parse(_ bytes: [UInt8]) -> ProcessStat? {
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        // After ')': field 3 (state) is the first, so field 22 (starttime) is the 20th.
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count >= 20, let state = fields[fields.startIndex].first,
              let startTime = UInt64(String(decoding: fields[fields.startIndex + 19], as: UTF8.self))
        else { return nil }
        return ProcessStat(state: state, startTime: startTime)
    }
}

/// pidfd_open and pidfd_send_signal, which Swift's Glibc module does not import; glibc ≥ 2.36 has them.
private enum PidfdCalls {
    typealias Open = @convention(c) (pid_t, UInt32) -> Int32
    typealias SendSignal = @convention(c) (Int32, Int32, UnsafeMutableRawPointer?, UInt32) -> Int32

    static let open: Open? = SystemCall.libcFunction("pidfd_open").map { unsafeBitCast($0, to: Open.self) }
    static let sendSignal: SendSignal? =
        SystemCall.libcFunction("pidfd_send_signal").map { unsafeBitCast($0, to: SendSignal.self) }
}
