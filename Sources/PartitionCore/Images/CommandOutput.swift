import Glibc
import PartitionModel
import SystemKit

/// Runs a short host tool (curl, sha256sum) and returns what it printed; a failure is an error with
/// the tool's first line of complaint. Not for build steps (BuildStepRunner).
enum CommandOutput {
    static func run(_ arguments: [String], limit: Int) throws(PartitionError) -> String {
        let out = try pipeEnds()
        let err: [Int32]
        do { err = try pipeEnds() } catch {
            close(out[0]); close(out[1])
            throw error
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = [strdup("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), strdup("LC_ALL=C"), nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, arguments[0], &actions, nil, argv, envp)
        close(out[1]); close(err[1])
        defer { close(out[0]); close(err[0]) }
        guard spawned == 0 else { throw POSIX.failure("start \(arguments[0])", errno: spawned) }
        // stderr is small (a line or two); reading stdout to its end first cannot block on it.
        let output = FileIO.readAll(out[0], limit: limit, truncating: true)
        let complaint = FileIO.readAll(err[0], limit: 1 << 16, truncating: true)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? output.get()).map { String(decoding: $0, as: UTF8.self) } ?? ""
        guard status == 0 else {
            let line = (try? complaint.get()).map { String(decoding: $0, as: UTF8.self) }?
                .split(separator: "\n").first.map(String.init) ?? "exit status \((status >> 8) & 0xff)"
            let tool = arguments[0].split(separator: "/").last.map(String.init) ?? arguments[0]
            throw PartitionError(.system, "\(tool) failed: \(line).")
        }
        return text
    }

    /// A pipe whose ends are closed on exec (the spawned program gets them by dup2 only).
    static func pipeEnds() throws(PartitionError) -> [Int32] {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw POSIX.failure("make a pipe") }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        return ends
    }

    /// The SHA-256 of a file in hex, by sha256sum (several hundred MB/s whatever partctl's build).
    static func sha256(of path: String) throws(PartitionError) -> String {
        let output = try run(["/usr/bin/sha256sum", "--", path], limit: 4096)
        guard let hex = output.split(separator: " ").first, hex.count == 64 else {
            throw PartitionError(.system, "sha256sum printed no digest for \(path).")
        }
        return String(hex)
    }

    /// The SHA-256 of bytes, in hex (for the cache key, a few KiB).
    static func sha256(of text: String, scratch: String) throws(PartitionError) -> String {
        try AtomicFile.write(Array(text.utf8), to: scratch, mode: 0o600, durable: false)
        defer { unlink(scratch) }
        return try sha256(of: scratch)
    }
}
