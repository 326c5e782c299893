import AgentProtocol
import Foundation
import LibvirtKit
import PartctlTestSupport
import PartitionCore
import PartitionModel
import Testing
import WorkloadEngine

/// A real LPAR on partctl's guest image, its agent driven from the host through libvirt's channel:
/// boot to hello, and an application WPAR defined, run, entered, queried and removed inside the guest.
///
/// Uses the built partctl ($PARTCTL_BIN, else next to the test bundle) and the guest image of
/// lpar-minimal, or the image directory in $PARTCTL_GUEST_IMAGE.
@Suite(.serialized) struct NestedAgentTests {
    static let lpar = "ptest-nest"
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    @discardableResult
    func partctl(_ arguments: String...) throws -> (status: Int32, stdout: String, stderr: String) {
        try runProgram("/bin/sh", ["-c", "cd \"$0\" && exec \"$@\"", Self.packageRoot, Built.partctl] + arguments)
    }

    func removeLpar() {
        _ = try? runProgram("/usr/bin/virsh", ["-c", "qemu:///system", "destroy", Self.lpar])
        _ = try? runProgram("/usr/bin/virsh", ["-c", "qemu:///system", "undefine", Self.lpar, "--nvram"])
    }

    /// lpar-minimal, or a profile extending it with the kernel and initrd of $PARTCTL_GUEST_IMAGE.
    func profile(in directory: String) throws -> String {
        guard let image = ProcessInfo.processInfo.environment["PARTCTL_GUEST_IMAGE"], !image.isEmpty else { return "lpar-minimal" }
        let path = directory + "/ptest-nest.yaml"
        try """
        kind: lpar
        extends: lpar-minimal
        boot:
          kernel: \(image)/vmlinuz
          initrd: \(image)/initrd.img
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func median(_ values: [Duration]) -> Duration { values.sorted()[values.count / 2] }

    @Test func anApplicationWparRunsInsideTheLparThroughTheAgent() throws {
        removeLpar()
        defer { removeLpar() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-nest-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let define = try partctl("define", Self.lpar, "--profile", try profile(in: directory))
        try #require(define.status == 0, "\(define.stderr)")
        try LibvirtEventLoop.start()
        let connection = try LibvirtConnection.open(uri: "qemu:///system")

        // Boot to the agent's hello, three times: `partctl activate` started, then the first answer.
        var bootTimes: [Duration] = []
        var activateTimes: [Duration] = []
        var client: AgentClient?
        for round in 0..<3 {
            let started = ContinuousClock.now
            let activate = try partctl("activate", Self.lpar)
            try #require(activate.status == 0, "\(activate.stderr)")
            activateTimes.append(ContinuousClock.now - started)
            let domain = try #require(try connection.lookupDomain(name: Self.lpar))
            client = try AgentClient.connect(to: domain, timeout: .seconds(60))
            bootTimes.append(ContinuousClock.now - started)
            if round < 2 {
                client?.close()
                client = nil
                try #require(try partctl("force", Self.lpar).status == 0)
            }
        }
        let agent = try #require(client)
        let facts = try agent.facts()
        #expect(facts.protocolVersion == AgentWire.protocolVersion)
        #expect(facts.cgroupLayout == "v2")
        #expect(agent.agentVersion == facts.agentVersion)

        var roundTrips: [Duration] = []
        for _ in 0..<10 {
            let started = ContinuousClock.now
            _ = try agent.call(Agent.Hello.self, .init(), timeout: .seconds(10))
            roundTrips.append(ContinuousClock.now - started)
        }
        print("nested-agent: activate to hello \(bootTimes) median \(Self.median(bootTimes)) (partctl activate itself: median \(Self.median(activateTimes))); hello round trip median \(Self.median(roundTrips))")

        let name = try PartitionName("ptest-web")
        try agent.call(Agent.Define.self, .init(name: name, spec: applicationSpec(name.rawValue, command: ["/bin/sleep", "1000"])))
        try agent.call(Agent.Activate.self, .init(name: name))
        let cmdline = try agent.call(Agent.Exec.self, .init(name: name, argv: ["/bin/cat", "/proc/1/cmdline"]))
        #expect(cmdline.exitStatus == 0, "\(cmdline.stderr)")
        #expect(cmdline.stdout == "/bin/sleep\u{0}1000\u{0}")
        let exitCode = try agent.call(Agent.Exec.self, .init(name: name, argv: ["/bin/sh", "-c", "exit 5"]))
        #expect(exitCode.exitStatus == 5)

        let reports = try agent.call(Agent.Statuses.self, AgentEmpty()).wpars
        try #require(reports.count == 1)
        let status = reports[0].status
        #expect(status.state == .running)
        let usage = reports[0].usage
        #expect(usage?.pidsCurrent == 1)
        #expect((usage?.memoryCurrent ?? 0) > 0)

        // wpar-app-web's shape: busybox httpd in its own network namespace, serving a page of the guest.
        let web = try PartitionName("ptest-httpd")
        try agent.call(Agent.Define.self, .init(name: web, spec: applicationSpec(
            web.rawValue, command: ["/bin/busybox", "httpd", "-f", "-p", "127.0.0.1:8080", "-h", "/etc/partctl"])))
        try agent.call(Agent.Activate.self, .init(name: web))
        var page = ""
        // httpd listens a moment after its WPAR is running: ask until it serves.
        let served = try waitUntil(timeout: 20, interval: 0.1) {
            page = try agent.call(Agent.Exec.self, .init(name: web, argv: ["/bin/busybox", "wget", "-q", "-O", "-", "http://127.0.0.1:8080/image"])).stdout
            return page.contains("image=partctl-guest")
        }
        #expect(served, "httpd served: \(page)")
        try agent.call(Agent.Remove.self, .init(name: web, force: true))

        var execTimes: [Duration] = []
        for _ in 0..<5 {
            let started = ContinuousClock.now
            #expect(try agent.call(Agent.Exec.self, .init(name: name, argv: ["/bin/true"])).exitStatus == 0)
            execTimes.append(ContinuousClock.now - started)
        }
        print("nested-agent: wpar.exec /bin/true round trip median \(Self.median(execTimes))")

        try agent.call(Agent.Shutdown.self, .init(name: name, within: 1, force: true))
        try agent.call(Agent.Remove.self, .init(name: name))
        #expect(try agent.call(Agent.List.self, AgentEmpty()).names.isEmpty)
        agent.close()
        #expect(try partctl("force", Self.lpar).status == 0)
        #expect(try partctl("remove", Self.lpar).status == 0)
    }
}
