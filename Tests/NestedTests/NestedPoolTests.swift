import AgentProtocol
import Foundation
import Glibc
import PartitionModel
import Testing

/// A real LPAR on the guest image, driven only through `partctl` as a script would: the agent takes
/// commands as soon as `activate` returns (three boots, the first nested command at once, the
/// autostart WPAR handed over on each reactivation), a defined but stopped nested WPAR is named in
/// full, and the channel pool lets several commands talk to one agent at once, a fifth saying what
/// it waits for.
@Suite(.serialized) struct NestedPoolTests {
    static let lpar = "ptest-nest-pool"

    @discardableResult
    func partctl(_ arguments: String..., timeout: TimeInterval = 120) throws -> (status: Int32, stdout: String, stderr: String) {
        try runProgram("/bin/sh", ["-c", "cd \"$0\" && exec \"$@\"", NestedAgentTests.packageRoot, Built.partctl] + arguments,
                       timeout: timeout)
    }

    func removeLpar() {
        _ = try? runProgram("/usr/bin/virsh", ["-c", "qemu:///system", "destroy", Self.lpar])
        _ = try? runProgram("/usr/bin/virsh", ["-c", "qemu:///system", "undefine", Self.lpar, "--nvram"])
        for index in 0..<AgentWire.channelCount { unlink("/run/partctl/agent-channels/\(Self.lpar).\(index)") }
    }

    /// Whether a partctl command holds agent channel `index` of the LPAR now (its lock is taken).
    func channelHeld(_ index: Int) -> Bool {
        let descriptor = open("/run/partctl/agent-channels/\(Self.lpar).\(index)", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        return flock(descriptor, LOCK_SH | LOCK_NB) != 0
    }

    /// `partctl login PATH -- /bin/sleep SECONDS` in the background: it holds a channel meanwhile.
    func sleeper(_ path: String, seconds: Int) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Built.partctl)
        process.arguments = ["login", path, "--", "/bin/sleep", "\(seconds)"]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    func waitUntil(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    @Test func theAgentTakesCommandsAtOnceAndServesSeveralClients() throws {
        removeLpar()
        defer { removeLpar() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-nest-pool-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let web = "\(Self.lpar)/web", tools = "\(Self.lpar)/tools"

        let define = try partctl("define", Self.lpar, "--profile", try NestedAgentTests().profile(in: directory))
        try #require(define.status == 0, "\(define.stderr)")
        try #require(try partctl("define", web, "--profile", "wpar-app-web").status == 0)
        try #require(try partctl("define", tools, "--profile", "wpar-app").status == 0)

        // Activate, then at once the first nested command; three boots. wpar-app-web is autostart:
        // activate of the LPAR hands it over and starts it, the first time too.
        for round in 0..<3 {
            let activate = try partctl("activate", Self.lpar, timeout: 180)
            try #require(activate.status == 0, "round \(round): \(activate.stderr)")
            let first = try partctl("login", web, "--", "/bin/true")
            #expect(first.status == 0, "round \(round): the first nested command after activate: \(first.stderr)")
            let state = try partctl("query", web, "-F", "state")
            #expect(state.stdout == "running\n", "round \(round): \(state.stdout) \(state.stderr)")
            if round < 2 { try #require(try partctl("force", Self.lpar).status == 0) }
        }

        // Defined in the LPAR, not running: one line naming the full path and what to do.
        let stopped = try partctl("login", tools, "--", "/bin/true")
        #expect(stopped.status != 0)
        #expect(stopped.stderr.contains("The WPAR \(tools) is defined but not running; activate it with 'partctl activate \(tools)'."),
                "\(stopped.stderr)")
        #expect(stopped.stderr.split(separator: "\n").count == 1, "\(stopped.stderr)")

        // One command holds a channel: the others go on at once.
        let holder = try sleeper(web, seconds: 6)
        #expect(waitUntil(10) { channelHeld(0) })
        let started = Date()
        let query = try partctl("query", web, "-F", "state")
        #expect(query.stdout == "running\n", "\(query.stderr)")
        let echo = try partctl("login", web, "--", "/bin/echo", "beside")
        #expect(echo.stdout == "beside\n", "\(echo.stderr)")
        #expect(Date().timeIntervalSince(started) < 3, "commands beside a held channel took \(Date().timeIntervalSince(started)) s")
        #expect(!query.stderr.contains("busy") && !echo.stderr.contains("busy"))
        holder.waitUntilExit()
        #expect(holder.terminationStatus == 0)

        // All four held: a fifth says so within a second and goes on once one is free.
        var holders: [Process] = []
        for _ in 0..<AgentWire.channelCount {
            holders.append(try sleeper(web, seconds: 4))
            #expect(waitUntil(10) { (0..<AgentWire.channelCount).filter(channelHeld).count == holders.count })
        }
        let waited = try partctl("query", web, "-F", "state")
        #expect(waited.stdout == "running\n", "\(waited.stderr)")
        #expect(waited.stderr.contains("\(Self.lpar): all \(AgentWire.channelCount) agent channels are busy (login of \(web)"), "\(waited.stderr)")
        for process in holders {
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
        }

        #expect(try partctl("force", Self.lpar).status == 0)
    }
}
