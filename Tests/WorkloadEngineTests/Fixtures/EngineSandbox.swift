import Foundation
import Glibc
import PartctlTestSupport
import PartitionModel
@testable import WorkloadEngine

/// A private state tree for one test (`/tmp/ptest-<id>/{lib,run}`), an engine over it, and the
/// clean-up that leaves nothing behind: every WPAR defined here is force-stopped and removed, and
/// every cgroup named `ptest-…` or left by a transient run of this process goes too.
final class EngineSandbox {
    let base: String
    let paths: RuntimePaths
    let engine: WorkloadEngine

    init() throws {
        base = "/tmp/ptest-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        paths = RuntimePaths(root: base + "/run", definitions: base + "/lib")
        try paths.createDirectories()
        engine = WorkloadEngine(paths: paths)
    }

    deinit {
        for name in engine.definedNames() { try? engine.remove(name, force: true) }
        try? HostSystem.removeTree(base)
    }

    /// The spec of an application WPAR (the host's root read-only) running `script` with /bin/sh.
    func application(_ name: String, _ script: String, capabilities: [String] = WorkloadSpec.defaultCapabilities,
                     limits: WorkloadLimits = WorkloadLimits()) throws -> WorkloadSpec {
        WorkloadSpec(name: try PartitionName(name), kind: .application, root: .host, command: ["/bin/sh", "-c", script],
                     capabilities: capabilities, network: .loopback, limits: limits)
    }

    /// Runs `spec` as a transient WPAR and returns its exit status and everything it wrote.
    func run(_ spec: WorkloadSpec) throws -> (status: Int32, output: String) {
        try Self.capturing { output in try engine.run(spec, input: output.null, output: output.write, error: output.write) }
    }

    /// Runs `command` in the running WPAR `name` and returns its status and output.
    func exec(_ name: String, _ command: [String]) throws -> (status: Int32, output: String) {
        let partition = try PartitionName(name)
        return try Self.capturing { output in
            try engine.exec(partition, WorkloadCommand(arguments: command), input: output.null, output: output.write, error: output.write)
        }
    }

    struct Capture {
        var write: Int32
        var null: Int32
    }

    /// Calls `body` with the write end of a pipe, then reads the pipe until every writer is gone.
    static func capturing(_ body: (Capture) throws -> Int32) throws -> (status: Int32, output: String) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw HostSystem.failure("pipe") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(null) }
        let reader = fds[0]
        var collected: [UInt8] = []
        let status: Int32
        do {
            status = try body(Capture(write: fds[1], null: null))
        } catch {
            close(fds[1])
            close(reader)
            throw error
        }
        close(fds[1])
        var buffer = [UInt8](repeating: 0, count: 4096)
        _ = fcntl(reader, F_SETFL, fcntl(reader, F_GETFL) | O_NONBLOCK)
        while true {
            let got = buffer.withUnsafeMutableBytes { read(reader, $0.baseAddress, $0.count) }
            if got < 0 && errno == EINTR { continue }
            if got <= 0 { break }
            collected += buffer[..<got]
        }
        close(reader)
        return (status, String(decoding: collected, as: UTF8.self))
    }

    /// A minimal system WPAR root: busybox-static and its applets, /etc/inittab, and the
    /// directories a root needs.
    func busyboxRoot(_ name: String = "rootfs", inittab: String = EngineSandbox.defaultInittab) throws -> String {
        let root = base + "/" + name
        for directory in ["bin", "sbin", "etc", "proc", "dev", "sys", "tmp", "run", "root", "usr", "var"] {
            try HostSystem.makeDirectories(root + "/" + directory, mode: 0o755)
        }
        guard copyfile("/bin/busybox", to: root + "/bin/busybox") else { throw HostSystem.failure("copy busybox") }
        for applet in Self.listApplets() where applet != "busybox" {
            symlink("/bin/busybox", root + "/bin/" + applet)
        }
        symlink("/bin/busybox", root + "/sbin/init")
        try inittab.write(toFile: root + "/etc/inittab", atomically: true, encoding: .utf8)
        return root
    }

    static let defaultInittab = """
        ::sysinit:/bin/echo ptest-sysinit
        ::respawn:/bin/sh -c 'exec sleep 100000'
        ::shutdown:/bin/echo ptest-shutdown

        """

    private static func listApplets() -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/busybox")
        process.arguments = ["--list"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try? process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    private func copyfile(_ source: String, to destination: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: source) else { return false }
        return FileManager.default.createFile(atPath: destination, contents: data, attributes: [.posixPermissions: 0o755])
    }

    static func hostname() -> String {
        SystemCall.readText("/proc/sys/kernel/hostname")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }

    /// Whether `pid` is a process that has not exited (zombies have).
    static func isRunning(_ pid: pid_t) -> Bool {
        guard let stat = SystemCall.readText("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    /// Exited children of this process that nobody has reaped.
    static func zombieChildren() -> [pid_t] {
        processes().filter { pid in
            guard let stat = SystemCall.readText("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && fields[0] == "Z" && pid_t(fields[1]) == getpid()
        }
    }

    static func openDescriptors() -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).count
    }

    /// Every PID on the host now.
    static func processes() -> [pid_t] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { pid_t($0) }
    }

    /// Cgroup directories named `name` under partctl's parent in any hierarchy.
    static func cgroupDirectories(named name: String) -> [String] {
        let hierarchies = ["cpu", "cpuacct", "memory", "pids", "freezer", "devices", "unified", ""]
        return hierarchies.map { "/sys/fs/cgroup/\($0.isEmpty ? "" : $0 + "/")partctl/\(name)" }
            .filter { HostSystem.fileType($0) == .directory }
    }

    /// Transient-run cgroups of this test process that are still there after other tests' runs,
    /// which may be going on in parallel, have had time to end: a leak stays, a live run goes.
    static func transientLeftovers(within seconds: Double = 5) -> [String] {
        var left = transientCgroups()
        waitUntil(timeout: seconds, interval: 0.02) {
            left = transientCgroups()
            return left.isEmpty
        }
        return left
    }

    private static func transientCgroups() -> [String] {
        let prefix = "run-\(getpid())-"
        return ["pids", "memory", "cpu", "unified"].flatMap { hierarchy -> [String] in
            let parent = "/sys/fs/cgroup/\(hierarchy)/partctl"
            let names = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
            return names.filter { $0.hasPrefix(prefix) }.map { parent + "/" + $0 }
        }
    }
}
