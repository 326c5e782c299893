import Foundation
import PartctlTestSupport
import Testing

/// An LPAR moved between this machine and a second managed system (SecondSystem) through
/// libvirt's migration: one booted LPAR, shared by every check (TCG boots are slow).
@Suite(.serialized) struct RelocateLiveTests {
    /// Each partctl call: the test's own systems.json naming sys2.
    struct Environment {
        let values: [String: String]

        func partctl(_ arguments: String..., timeout: TimeInterval = 180) throws -> CLI.Result {
            try CLI.run(CLI.partctlPath, arguments, environment: values, timeout: timeout)
        }
    }

    static func virsh(_ uri: String, _ arguments: String...) throws -> CLI.Result {
        try CLI.run("/usr/bin/virsh", ["-c", uri] + arguments)
    }

    /// The counter of the nested WPAR: an integer in its shell's memory, written to its own /tmp
    /// every half second; a restart would start it again at 1.
    static func count(_ env: Environment, _ path: String, system: String) throws -> Int? {
        Int(try env.partctl("login", path, "-m", system, "--", "cat", "/tmp/count").stdout
            .trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test func liveFaultLiveBackOfflineAndNameTaken() throws {
        let cleanup = Cleanup()
        let sys2 = try SecondSystem.up(name: TestNames.unique("sys"))
        cleanup.add { sys2.down() }
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-reloc-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: config, withIntermediateDirectories: true)
        cleanup.add { try? FileManager.default.removeItem(atPath: config) }
        try "{\"systems\":[{\"name\":\"sys2\",\"uri\":\"\(sys2.uri)\"}]}\n".write(toFile: config + "/systems.json", atomically: true, encoding: .utf8)
        chmod(config + "/systems.json", 0o600)
        let counter = config + "/counter.yaml"
        try """
            extends: wpar-app
            command: [/bin/sh, -c, "i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 0.5; done"]

            """.write(toFile: counter, atomically: true, encoding: .utf8)
        let env = Environment(values: ["PARTCTL_CONFIG_DIR": config])

        let lpar = TestNames.unique("reloc")
        let web = lpar + "/web"
        cleanup.add { CLI.removeDomain(lpar) }
        try #require(env.partctl("define", lpar, "--profile", "lpar-minimal").status == 0)
        let activated = try env.partctl("activate", lpar)
        try #require(activated.status == 0, "\(activated) \(CLI.consoleLog(lpar))")
        try #require(env.partctl("define", web, "--profile", counter).status == 0)
        try #require(env.partctl("activate", web).status == 0)
        #expect(CLI.waitFor(30) { (try? Self.count(env, web, system: "local")).flatMap { $0 } ?? 0 >= 3 })

        // --validate: nothing blocks, nothing changes.
        let validate = try env.partctl("relocate", lpar, "--to", "sys2", "--validate")
        #expect(validate.status == 0, "\(validate)")
        #expect(validate.stdout == "\(lpar) can be relocated to sys2 (live).\n")

        // The destination goes away during the copy (1 MiB/s keeps it copying): one line, exit 1,
        // the LPAR keeps running here and nothing of it stays on sys2.
        let slow = try BackgroundProcess(CLI.partctlPath, ["relocate", lpar, "--to", "sys2", "--bandwidth", "1"], environment: env.values)
        let copying = try CLI.waitFor(60) {
            let info = try Self.virsh("qemu:///system", "domjobinfo", lpar).stdout
            return info.contains("Unbounded") && !info.contains("Data processed:   0.000 B")
        }
        #expect(copying, "the migration never started copying")
        try sys2.stop()
        let failed = slow.finish(within: 120)
        expectRefusal(failed, status: 1, mentioning: [lpar, "relocate", "failed", "keeps running on this system"])
        #expect(try Self.virsh("qemu:///system", "domstate", lpar).stdout.hasPrefix("running"))
        try sys2.start()
        let cleared = try CLI.waitFor(60) {
            // virsh must answer: an empty list from a daemon that is down proves nothing.
            let listed = try Self.virsh(sys2.uri, "list", "--all", "--name")
            return listed.status == 0 && listed.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        }
        #expect(cleared, "a domain stayed on sys2 after the failed move: \((try? Self.virsh(sys2.uri, "list", "--all").stdout) ?? "")")

        // Live to sys2: the counter goes on, the LPAR is gone here and defined there.
        let before = try #require(try Self.count(env, web, system: "local"))
        let moved = try env.partctl("relocate", lpar, "--to", "sys2", "--json")
        try #require(moved.status == 0, "\(moved)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(moved.stdout.utf8)) as? [String: Any])
        #expect(report["mode"] as? String == "live")
        #expect(report["destination"] as? String == "sys2")
        #expect((report["bytes"] as? Int ?? 0) > 1 << 20, "\(moved.stdout)")
        #expect(report["downtime_ms"] is NSNumber, "\(moved.stdout)")
        #expect(try !CLI.domainNames().contains(lpar))
        #expect(try Self.virsh(sys2.uri, "domstate", lpar).stdout.hasPrefix("running"))
        #expect(try Self.virsh(sys2.uri, "dominfo", lpar).stdout.contains("Persistent:     yes"))
        let after = try #require(try Self.count(env, web, system: "sys2"))
        #expect(after >= before, "the nested WPAR restarted: \(before) before the move, \(after) after")
        #expect(CLI.waitFor(20) { ((try? Self.count(env, web, system: "sys2")) ?? nil).map { $0 > after } ?? false }, "the count stopped")
        let tree = try env.partctl("tree", "-m", "sys2")
        #expect(tree.stdout.contains(lpar) && tree.stdout.contains("web") && tree.stdout.contains("running"), "\(tree.stdout)")

        // A name taken on the destination: refused (exit 2), nothing changes on either side.
        try #require(env.partctl("define", lpar, "--profile", "lpar-minimal").status == 0)
        let taken = try env.partctl("relocate", lpar, "-m", "sys2", "--to", "local")
        expectRefusal(taken, status: 2, mentioning: ["has a domain named '\(lpar)' already"])
        #expect(try Self.virsh(sys2.uri, "domstate", lpar).stdout.hasPrefix("running"))
        #expect(try Self.virsh("qemu:///system", "domstate", lpar).stdout.hasPrefix("shut off"))
        try #require(env.partctl("remove", lpar).status == 0)

        // Back to this machine, live, with the counter still going.
        let back = try env.partctl("relocate", lpar, "-m", "sys2", "--to", "local")
        try #require(back.status == 0, "\(back)")
        #expect(back.stdout.hasPrefix("\(lpar) relocated to local (live) in "), "\(back.stdout)")
        #expect(try Self.virsh(sys2.uri, "list", "--all", "--name").stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
        let home = try #require(try Self.count(env, web, system: "local"))
        #expect(home > after, "the nested WPAR restarted on the way back: \(after) on sys2, \(home) here")

        // Offline: stopped, its definition (with the nested WPAR's) moves.
        try #require(env.partctl("force", lpar).status == 0)
        let offline = try env.partctl("relocate", lpar, "--to", "sys2")
        try #require(offline.status == 0, "\(offline)")
        #expect(offline.stdout.hasPrefix("\(lpar) relocated to sys2 (offline) in "), "\(offline.stdout)")
        #expect(try !CLI.domainNames().contains(lpar))
        #expect(try Self.virsh(sys2.uri, "domstate", lpar).stdout.hasPrefix("shut off"))
        #expect(try Self.virsh(sys2.uri, "dumpxml", lpar).stdout.contains("web"), "the nested definition did not travel")
        let query = try env.partctl("query", lpar, "-m", "sys2", "-F", "state")
        #expect(query.stdout == "defined\n", "\(query)")
        cleanup.run()
    }
}
