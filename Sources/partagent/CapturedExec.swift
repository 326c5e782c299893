import AgentProtocol
import Glibc
import PartitionModel
import WorkloadEngine

/// `wpar.exec`: a command in a running WPAR with stdin from /dev/null and stdout/stderr captured in
/// unlinked files under /tmp (a tmpfs in the guest), of which the first `AgentWire.outputLimit` bytes each are returned.
enum CapturedExec {
    static func run(_ engine: WorkloadEngine, _ name: PartitionName, _ command: WorkloadCommand) throws(PartitionError) -> Agent.Exec.Result {
        let input = open("/dev/null", O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw AgentEndpoint.failure("open /dev/null") }
        defer { close(input) }
        let output = try memoryFile("stdout")
        defer { close(output) }
        let error = try memoryFile("stderr")
        defer { close(error) }
        let status = try engine.exec(name, command, input: input, output: output, error: error)
        let (stdout, stdoutTruncated) = contents(output)
        let (stderr, stderrTruncated) = contents(error)
        return Agent.Exec.Result(exitStatus: status, stdout: stdout, stderr: stderr,
                                 stdoutTruncated: stdoutTruncated, stderrTruncated: stderrTruncated)
    }

    /// An unlinked file: the child writes through its own descriptor, so a command that prints much
    /// never blocks on a pipe nobody drains while the agent waits for its exit.
    private static func memoryFile(_ label: String) throws(PartitionError) -> Int32 {
        var template = Array("/tmp/partagent-\(label)-XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw AgentEndpoint.failure("create a file for \(label) in /tmp") }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        return descriptor
    }

    /// The first `outputLimit` bytes as text, and whether there were more. Only what was written
    /// is read: most commands print little, and the guest pays for every page touched.
    private static func contents(_ descriptor: Int32) -> (String, Bool) {
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_size > 0 else { return ("", false) }
        let size = Int(status.st_size)
        let wanted = min(size, AgentWire.outputLimit)
        var buffer = [UInt8](repeating: 0, count: wanted)
        var filled = 0
        while filled < wanted {
            let count = buffer[filled...].withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, off_t(filled)) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            filled += count
        }
        return (String(decoding: buffer[..<filled], as: UTF8.self), size > filled)
    }
}
