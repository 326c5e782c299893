import Glibc
import PartitionModel
@testable import WorkloadEngine

/// Runs a plan directly (no cgroup, no supervisor) and collects what the process writes to stdout.
enum SpawnProbe {
    struct Outcome {
        var status: Int32
        var output: String
    }

    static func run(_ plan: SpawnPlan) throws(PartitionError) -> Outcome {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw HostSystem.failure("pipe") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(null) }
        let pending: PendingProcess
        do {
            pending = try PendingProcess.start(plan, cgroupFD: -1,
                                               stdio: SpawnStdio(descriptors: (null, fds[1], fds[1]), controllingTerminal: false),
                                               deathSignal: SIGKILL)
        } catch {
            close(fds[0]); close(fds[1])
            throw error
        }
        close(fds[1])
        var released: PartitionError?
        do { try pending.release() } catch { released = error }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let got = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if got < 0 && errno == EINTR { continue }
            if got <= 0 { break }
            output += buffer[..<got]
        }
        close(fds[0])
        var status: Int32 = 0
        while waitpid(pending.pid, &status, 0) < 0 && errno == EINTR {}
        if let released { throw released }
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Outcome(status: code, output: String(decoding: output, as: UTF8.self))
    }
}
