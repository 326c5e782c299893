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

    private static func memoryFile(_ label: String) throws(PartitionError) -> Int32 {
        var template = Array("/tmp/partagent-\(label)-XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw AgentEndpoint.failure("create a file for \(label) in /tmp") }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        return descriptor
    }

    /// The first `outputLimit` bytes as text, and whether there were more.
    private static func contents(_ descriptor: Int32) -> (String, Bool) {
        let limit = AgentWire.outputLimit
        var buffer = [UInt8](repeating: 0, count: limit)
        var filled = 0
        while filled < limit {
            let count = buffer[filled...].withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, off_t(filled)) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            filled += count
        }
        var status = stat()
        let size = fstat(descriptor, &status) == 0 ? Int(status.st_size) : filled
        return (String(decoding: buffer[..<filled], as: UTF8.self), size > filled)
    }
}
