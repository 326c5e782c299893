import Glibc
import PartitionModel
import SystemKit

/// The stdio a workload gets instead of its caller's descriptors: three pipes whose other ends only
/// this process holds. It relays its own input and outputs through them while the command runs and
/// closes them once the command has ended, so a process the command left behind holds only dead
/// pipes: it can neither reopen the caller's files through /proc/self/fd nor read the caller's
/// terminal (issue 8, finding 4).
final class StdioPipes {
    /// What the workload gets as its descriptors 0, 1 and 2.
    let workloadEnds: (Int32, Int32, Int32)
    private let toInput: Int32
    private let fromOutput: Int32
    private let fromError: Int32
    private var workloadEndsOpen = true
    private var relayed = false

    init() throws(PartitionError) {
        var made: [Int32] = []
        for _ in 0..<3 {
            guard let pair = StdioPipes.pipeAboveStdio() else {
                let error = HostSystem.failure("create a pipe for the workload's stdio")
                made.forEach { close($0) }
                throw error
            }
            made += [pair.read, pair.write]
        }
        workloadEnds = (made[0], made[3], made[5])
        (toInput, fromOutput, fromError) = (made[1], made[2], made[4])
    }

    deinit {
        closeWorkloadEnds()
        if !relayed { [toInput, fromOutput, fromError].forEach { close($0) } }
    }

    /// Once the child has its copies: from then on only the workload holds these ends.
    func closeWorkloadEnds() {
        guard workloadEndsOpen else { return }
        workloadEndsOpen = false
        [workloadEnds.0, workloadEnds.1, workloadEnds.2].forEach { close($0) }
    }

    /// A close-on-exec pipe (pipe2 is not in Swift's Glibc; children started by CSpawn close every
    /// descriptor above 2 anyway) with both ends above 2, so that neither is mistaken for a standard
    /// stream when this process was started with one of them closed.
    private static func pipeAboveStdio() -> (read: Int32, write: Int32)? {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return nil }
        for index in 0..<2 {
            if ends[index] > 2 {
                _ = fcntl(ends[index], F_SETFD, FD_CLOEXEC)
            } else {
                let moved = fcntl(ends[index], F_DUPFD_CLOEXEC, 3)
                close(ends[index])
                ends[index] = moved
            }
        }
        guard ends[0] >= 0, ends[1] >= 0 else {
            ends.filter { $0 >= 0 }.forEach { close($0) }
            return nil
        }
        return (ends[0], ends[1])
    }

    /// Relays `input` into the workload's stdin and its stdout and stderr into `output` and `error`
    /// until `exit` says the child (whose end is the command's end) has exited, then what the
    /// command left in the pipes; closes every end. End of `input` closes the workload's stdin; an
    /// output nobody reads any more is closed towards the workload (which then gets EPIPE).
    func relay(until exit: ChildExit, input: Int32, output: Int32, error: Int32) {
        closeWorkloadEnds()
        relayed = true
        let previousActions = HostSystem.ignoreRelaySignals()
        defer { HostSystem.restoreRelaySignals(previousActions) }
        for descriptor in [toInput, fromOutput, fromError] {
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        }
        var stdin: Int32? = toInput
        var inputOpen = fcntl(input, F_GETFD) >= 0
        var pending: [UInt8] = []
        var pendingStart = 0
        var outputs: [(from: Int32, to: Int32)] = [(fromOutput, output), (fromError, error)]
        // Uninitialised: a command that prints little touches few of its pages (run competes on speed).
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        defer { buffer.deallocate() }

        func closeStdin() {
            if let descriptor = stdin { close(descriptor) }
            stdin = nil
            pending = []
            inputOpen = false
        }

        /// Copies what one of the workload's outputs has; false once it is done (end, error, or
        /// its destination gone).
        func pump(_ from: Int32, to: Int32) -> Bool? {
            let got = read(from, buffer.baseAddress, buffer.count)
            if got < 0 { return errno == EINTR || errno == EAGAIN ? nil : false }
            if got == 0 { return false }
            return StdioPipes.writeAll(to, buffer.baseAddress!, got)
        }

        var exited = false
        while !exited {
            var fds: [pollfd] = []
            let wantInput = inputOpen && stdin != nil && pending.isEmpty
            if wantInput { fds.append(pollfd(fd: input, events: Int16(POLLIN), revents: 0)) }
            if let stdin, !pending.isEmpty { fds.append(pollfd(fd: stdin, events: Int16(POLLOUT), revents: 0)) }
            for entry in outputs { fds.append(pollfd(fd: entry.from, events: Int16(POLLIN), revents: 0)) }
            if fds.isEmpty { break }  // nothing left to relay: only the exit to wait for, which the caller does
            fds.append(pollfd(fd: exit.pidfd, events: Int16(POLLIN), revents: 0))
            let ready = poll(&fds, nfds_t(fds.count), -1)
            if ready < 0 && errno != EINTR { break }
            for entry in fds where entry.revents != 0 {
                if entry.fd == exit.pidfd {
                    exited = true
                } else if wantInput && entry.fd == input {
                    let got = read(input, buffer.baseAddress, buffer.count)
                    if got > 0 {
                        pending = Array(buffer[..<got])
                        pendingStart = 0
                    } else if got == 0 || (errno != EINTR && errno != EAGAIN) {
                        closeStdin()  // the workload reads end-of-file
                    }
                } else if let descriptor = stdin, entry.fd == descriptor {
                    let written = pending[pendingStart...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
                    if written > 0 {
                        pendingStart += written
                        if pendingStart == pending.count { pending = [] }
                    } else if written < 0 && errno != EINTR && errno != EAGAIN {
                        closeStdin()  // the workload closed its stdin: stop reading ours
                    }
                } else if let index = outputs.firstIndex(where: { $0.from == entry.fd }) {
                    if pump(entry.fd, to: outputs[index].to) == false {
                        close(entry.fd)
                        outputs.remove(at: index)
                    }
                }
            }
        }
        // What the command wrote before it ended is in the pipes now (at most their size, which a
        // leftover process could have raised to 1 MiB); nothing later is relayed.
        for entry in outputs {
            var rounds = 0
            while rounds < 32, pump(entry.from, to: entry.to) == true { rounds += 1 }
            close(entry.from)
        }
        closeStdin()
    }

    /// Writes everything, waiting when `fd` is non-blocking and full; false when it cannot take more.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Bool {
        FileIO.writeAll(fd, bytes, count)
    }
}

/// A pidfd of a child of this process, readable once it has exited (it is not reaped by this).
/// pidfds are there wherever the engine runs: joining a WPAR uses them already.
struct ChildExit {
    private typealias Open = @convention(c) (pid_t, UInt32) -> Int32
    private static let open: Open? = SystemCall.libcFunction("pidfd_open").map { unsafeBitCast($0, to: Open.self) }
    let pidfd: Int32

    init(_ pid: pid_t) throws(PartitionError) {
        guard let open = ChildExit.open else {
            throw PartitionError(.unsupported, "This system has no pidfds (Linux 5.3 and glibc 2.36 are needed).")
        }
        let descriptor = open(pid, 0)
        guard descriptor >= 0 else { throw HostSystem.failure("open a pidfd for process \(pid)") }
        pidfd = descriptor
    }

    func close() { Glibc.close(pidfd) }
}

extension HostSystem {
    /// While relaying: a write to a pipe nobody reads fails with EPIPE instead of killing this
    /// process; in a background job, reading the terminal fails with EIO (taken as the end of
    /// input, as `ssh -n`) and writing to it goes ahead (as the workload's own writes did) instead
    /// of stopping this process. Children never inherit it (CSpawn resets every signal).
    static let relaySignals = [SIGPIPE, SIGTTIN, SIGTTOU]

    static func ignoreRelaySignals() -> [sigaction] {
        var ignore = sigaction()
        ignore.__sigaction_handler.sa_handler = SIG_IGN
        return relaySignals.map { signal in
            var previous = sigaction()
            sigaction(signal, &ignore, &previous)
            return previous
        }
    }

    static func restoreRelaySignals(_ previous: [sigaction]) {
        for (signal, action) in zip(relaySignals, previous) {
            var action = action
            sigaction(signal, &action, nil)
        }
    }
}
