import Glibc
import PartitionModel

/// A host program that partctl runs to its end or streams from (qemu-img, xorriso, cp, skopeo,
/// umoci, gzip, mmdebstrap's steps, curl): posix_spawn with stdin from /dev/null, every signal at
/// its default and none blocked, and no environment of the caller's but PATH, LC_ALL=C and what
/// `environment` adds. With `holding`, the program also gets that descriptor as fd 3 (a staging
/// lock), so the lock lives as long as the program writes into the staging, whatever happens to
/// partctl. One place for what the image producers and the first-boot seed each did in a copy.
public struct HostProgram: Sendable {
    public static let path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// The program (absolute, or looked up in `path`) and its arguments.
    public var arguments: [String]
    /// Added to (or replacing) PATH and LC_ALL=C.
    public var environment: [String: String]
    public var holding: Int32?

    public init(_ arguments: [String], environment: [String: String] = [:], holding: Int32? = nil) {
        precondition(!arguments.isEmpty, "a program to run")
        self.arguments = arguments
        self.environment = environment
        self.holding = holding
    }

    /// How a program ended and the start of what it wrote (stdout and stderr together).
    public struct Outcome: Sendable {
        public var status: Int32
        public var output: String

        /// Its last line that says something, for a one-line error message.
        public var lastLine: String {
            for line in output.split(separator: "\n").reversed() {
                let text = line.drop { $0 == " " || $0 == "\t" }
                if !text.isEmpty { return String(text) }
            }
            return "it failed without a message (exit status \(status))"
        }
    }

    /// Runs it to its end; the first `limit` bytes of stdout and stderr together are kept, the rest
    /// is read and dropped so the program never blocks on a full pipe.
    public func run(limit: Int = 1 << 16) throws(PartitionError) -> Outcome {
        let ends = try Self.pipe()
        let pid: pid_t
        do throws(PartitionError) {
            pid = try spawn(stdout: ends.write, stderr: ends.write)
        } catch {
            close(ends.read); close(ends.write)
            throw error
        }
        close(ends.write)
        defer { close(ends.read) }
        let kept = (try? FileIO.readAll(ends.read, limit: limit, truncating: true).get()) ?? []
        Self.drain(ends.read)
        return Outcome(status: Self.wait(pid), output: String(decoding: kept, as: UTF8.self))
    }

    /// Runs it to its end; fails unless it exits 0, with its last line in the message
    /// ("Could not WHAT: mkfs.ext4 exited with status 1: …").
    public func check(_ what: String) throws(PartitionError) {
        let outcome = try run()
        guard outcome.status == 0 else {
            throw PartitionError(.system, "Could not \(what): \(name) exited with status \(outcome.status): \(outcome.lastLine)")
        }
    }

    /// Runs it to its end and returns its stdout; a failure is an error with its first line on
    /// stderr (curl, sha256sum: programs whose stdout is the answer).
    public func output(limit: Int) throws(PartitionError) -> String {
        let out = try Self.pipe()
        let err: (read: Int32, write: Int32)
        do { err = try Self.pipe() } catch {
            close(out.read); close(out.write)
            throw error
        }
        let pid: pid_t
        do throws(PartitionError) {
            pid = try spawn(stdout: out.write, stderr: err.write)
        } catch {
            [out.read, out.write, err.read, err.write].forEach { close($0) }
            throw error
        }
        close(out.write); close(err.write)
        defer { close(out.read); close(err.read) }
        // stderr is small (a line or two); reading stdout to its end first cannot block on it.
        let output = FileIO.readAll(out.read, limit: limit, truncating: true)
        Self.drain(out.read)
        let complaint = FileIO.readAll(err.read, limit: 1 << 16, truncating: true)
        let status = Self.wait(pid)
        guard status == 0 else {
            let line = (try? complaint.get()).map { String(decoding: $0, as: UTF8.self) }?
                .split(separator: "\n").first.map(String.init) ?? "exit status \(status)"
            throw PartitionError(.system, "\(name) failed: \(line).")
        }
        return (try? output.get()).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// Starts it with stdout on a pipe that the caller reads (and closes) and stderr on `stderr`;
    /// the caller waits for `pid` (`HostProgram.wait`).
    public func start(stderr: Int32) throws(PartitionError) -> (pid: pid_t, output: Int32) {
        let ends = try Self.pipe()
        do throws(PartitionError) {
            let pid = try spawn(stdout: ends.write, stderr: stderr)
            close(ends.write)
            return (pid, ends.read)
        } catch {
            close(ends.read); close(ends.write)
            throw error
        }
    }

    /// Starts it with stdout and stderr on the given descriptors; the caller waits for `pid`.
    public func spawn(stdout: Int32, stderr: Int32) throws(PartitionError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        // dup2 onto 3 clears close-on-exec there: the program holds the lock too.
        if let holding { posix_spawn_file_actions_adddup2(&actions, holding, 3) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t(), allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let variables = ["PATH": Self.path, "LC_ALL": "C"].merging(environment) { _, given in given }
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = variables.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        // posix_spawnp looks a bare name up in the caller's PATH: search ours instead.
        let program = Self.locate(arguments[0])
        let result = posix_spawn(&pid, program, &actions, &attributes, argv, envp)
        guard result == 0 else {
            if result == ENOENT { throw PartitionError(.unavailable, "\(name) is not installed (no \(program)).") }
            throw POSIX.failure("start \(name)", errno: result)
        }
        return pid
    }

    /// The program's name without its directory, for messages.
    public var name: String { arguments[0].split(separator: "/").last.map(String.init) ?? arguments[0] }

    /// The exit status of `pid`, 128+N when killed by signal N.
    public static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// A pipe whose ends are closed on exec: another thread's spawn must not inherit them, and a
    /// spawned program gets only the ends dup2 gives it.
    public static func pipe() throws(PartitionError) -> (read: Int32, write: Int32) {
        var ends: [Int32] = [-1, -1]
        guard Glibc.pipe(&ends) == 0 else { throw POSIX.failure("make a pipe") }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        return (ends[0], ends[1])
    }

    /// The first of `candidates` that is an executable file, or nil.
    public static func find(_ candidates: [String]) -> String? {
        candidates.first { access($0, X_OK) == 0 }
    }

    static func locate(_ program: String) -> String {
        guard !program.contains("/") else { return program }
        return path.split(separator: ":").map { "\($0)/\(program)" }.first { access($0, X_OK) == 0 } ?? program
    }

    static func drain(_ fd: Int32) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16_384) { buffer in
            while POSIX.retryingInterrupts({ read(fd, buffer.baseAddress, 16_384) }) > 0 {}
        }
    }
}
