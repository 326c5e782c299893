import AgentProtocol
import Foundation
import Glibc
import Testing

/// `partctl relocate lp1/web --to lp2` with two real LPARs on the guest image, driven through
/// partctl as a user would: every refusal leaves the WPAR running where it was; the move takes the
/// running WPAR's writable layer along (a file written, a file of the base deleted) and starts it
/// again in the other LPAR, the first one no longer has it, the tree shows it under the second;
/// a stopped WPAR moves back stopped, and a move killed halfway is finished by the next one. Two
/// LPARs booted, shared by every check.
@Suite(.serialized) struct NestedRelocationTests {
    static let first = "ptest-move-a"
    static let second = "ptest-move-b"
    /// Defined only, never started: a destination that does not run, and one without an agent channel.
    static let stopped = "ptest-move-c"
    static let agentless = "ptest-move-d"
    static var all: [String] { [first, second, stopped, agentless] }

    @discardableResult
    func partctl(_ arguments: String..., timeout: TimeInterval = 180) throws -> (status: Int32, stdout: String, stderr: String) {
        try runProgram("/bin/sh", ["-c", "cd \"$0\" && exec \"$@\"", NestedAgentTests.packageRoot, Built.partctl] + arguments,
                       timeout: timeout)
    }

    func removeLpars() {
        for lpar in Self.all {
            _ = try? runProgram("/usr/bin/virsh", ["-c", "qemu:///system", "destroy", lpar])
            _ = try? runProgram("/usr/bin/virsh", ["-c", "qemu:///system", "undefine", lpar, "--nvram"])
            for index in 0..<AgentWire.channelCount { unlink("/run/partctl/agent-channels/\(lpar).\(index)") }
        }
    }

    /// The names of the WPARs `tree --json` shows under `lpar`.
    func treeChildren(of lpar: String) throws -> [String] {
        let tree = try partctl("tree", "--json")
        let root = try JSONSerialization.jsonObject(with: Data(tree.stdout.utf8)) as? [String: Any]
        func find(_ node: [String: Any]) -> [String: Any]? {
            if node["name"] as? String == lpar && node["kind"] as? String == "lpar" { return node }
            for child in node["children"] as? [[String: Any]] ?? [] { if let found = find(child) { return found } }
            return nil
        }
        guard let root, let node = find(root) else { return [] }
        return (node["children"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
    }

    @Test func aRunningWparMovesWithItsLayerAndEveryRefusalChangesNothing() throws {
        removeLpars()
        defer { removeLpars() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-move-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let noAgent = directory + "/ptest-noagent.yaml"
        try "kind: lpar\nextends: lpar-minimal\nagent: false\n".write(toFile: noAgent, atomically: true, encoding: .utf8)
        let (a, b) = (Self.first, Self.second)
        let sys = "\(a)/sys"

        try #require(try partctl("define", a, "--profile", "lpar-minimal").status == 0)
        // The second LPAR has less memory at most: a WPAR that fits the first may not fit it.
        try #require(try partctl("define", b, "--profile", "lpar-minimal", "-i", "max_mem=384MiB").status == 0)
        try #require(try partctl("define", Self.stopped, "--profile", "lpar-minimal").status == 0)
        try #require(try partctl("define", Self.agentless, "--profile", noAgent).status == 0)
        for lpar in [a, b] {
            let activate = try partctl("activate", lpar)
            try #require(activate.status == 0, "\(lpar): \(activate.stderr)")
        }
        try #require(try partctl("define", sys, "--profile", "wpar-system").status == 0)
        try #require(try partctl("activate", sys).status == 0)
        let write = try partctl("login", sys, "--", "/bin/sh", "-c", "echo moved >/marker && rm /etc/hostname")
        try #require(write.status == 0, "\(write.stderr)")

        // Refusals: exit 2, one line, the WPAR still runs in the first LPAR with its file.
        try #require(try partctl("define", "\(b)/sys", "--profile", "wpar-app").status == 0)
        try #require(try partctl("define", "\(a)/big", "--profile", "wpar-app", "-i", "memory_max=448MiB").status == 0)
        let refusals: [(String, [String], String)] = [
            ("the same LPAR", [sys, "--to", a], "already"),
            ("no such LPAR", [sys, "--to", "ptest-move-nosuch"], "no LPAR named"),
            ("a stopped LPAR", [sys, "--to", Self.stopped], "not running"),
            ("an LPAR without agent", [sys, "--to", Self.agentless], "agent"),
            ("the name taken", [sys, "--to", b], "already defined"),
            ("too big for it", ["\(a)/big", "--to", b], "does not fit"),
            ("--live", [sys, "--to", b, "--live"], "CRIU"),
        ]
        for (label, arguments, words) in refusals {
            let refused = try runProgram("/bin/sh", ["-c", "cd \"$0\" && exec \"$@\"", NestedAgentTests.packageRoot, Built.partctl, "relocate"] + arguments)
            #expect(refused.status == 2, "\(label): \(refused.status) \(refused.stderr)")
            #expect(refused.stderr.contains(words) && refused.stderr.split(separator: "\n").count == 1, "\(label): \(refused.stderr)")
        }
        #expect(try partctl("query", sys, "-F", "state").stdout == "running\n")
        #expect(try partctl("query", "\(b)/sys", "-F", "state").stdout == "defined\n")
        try #require(try partctl("remove", "\(b)/sys").status == 0)
        try #require(try partctl("remove", "\(a)/big").status == 0)
        let validate = try partctl("relocate", sys, "--to", b, "--validate")
        #expect(validate.status == 0, "\(validate.stdout) \(validate.stderr)")
        #expect(try partctl("query", sys, "-F", "state").stdout == "running\n")

        // The move: running before, running after, its layer with it.
        let move = try partctl("relocate", sys, "--to", b)
        try #require(move.status == 0, "\(move.stdout) \(move.stderr)")
        let moved = "\(b)/sys"
        #expect(try partctl("query", moved, "-F", "state").stdout == "running\n")
        let marker = try partctl("login", moved, "--", "/bin/cat", "/marker")
        #expect(marker.status == 0 && marker.stdout == "moved\n", "\(marker.stdout) \(marker.stderr)")
        #expect(try partctl("login", moved, "--", "/bin/test", "-e", "/etc/hostname").status == 1, "the deletion moved too")
        #expect(try partctl("query", sys).status == 2, "the first LPAR no longer defines it")
        let guest = try partctl("login", a, "--", "/bin/ls", "/var/lib/partctl/wpars")
        #expect(guest.status == 0 && !guest.stdout.split(separator: "\n").contains("sys"), "\(guest.stdout) \(guest.stderr)")
        #expect(try treeChildren(of: b).contains("sys"))
        #expect(try !treeChildren(of: a).contains("sys"))

        // Back, stopped, and partctl killed (kill -9) once the first LPAR holds the marked definition:
        // both show it until the same command, run again, finishes the move.
        try #require(try partctl("shutdown", moved, "--within", "5", "--force").status == 0)
        let killed = try runProgram("/bin/sh", ["-c", "cd \"$0\" && PARTCTL_TEST_FAULT=nested-relocate-marked exec \"$@\"",
                                                NestedAgentTests.packageRoot, Built.partctl, "relocate", moved, "--to", a], timeout: 180)
        #expect(killed.status != 0, "\(killed.stdout) \(killed.stderr)")
        #expect(try treeChildren(of: a).contains("sys") && treeChildren(of: b).contains("sys"))
        let back = try partctl("relocate", moved, "--to", a)
        try #require(back.status == 0, "\(back.stdout) \(back.stderr)")
        #expect(try partctl("query", moved).status == 2, "the second LPAR no longer defines it")
        #expect(try partctl("query", sys, "-F", "state").stdout == "defined\n")
        try #require(try partctl("activate", sys).status == 0)
        #expect(try partctl("login", sys, "--", "/bin/cat", "/marker").stdout == "moved\n")
    }
}
