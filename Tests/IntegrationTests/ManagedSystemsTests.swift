import Foundation
import Glibc
import PartctlTestSupport
import Testing

/// Two managed systems: this machine's libvirtd (`local`) and a second libvirtd in its own
/// namespaces (scripts/second-system.sh), registered in a registry of the test's own. The tree
/// shows both; with the second one's libvirtd stopped it is `unavailable` and the first stays
/// fully usable. Root, the real libvirtd; under the test lock.
@Suite(.serialized) struct ManagedSystemsTests {
    static var enabled: Bool { geteuid() == 0 }

    /// The JSON roots of `tree --json` over every system: (system, state, note, child names).
    static func roots(_ result: ProcessResult) throws -> [(system: String, state: String, note: String?, children: [String])] {
        let array = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]], "\(result)")
        return array.map { root in
            (root["system"] as? String ?? "-", root["state"] as? String ?? "-", root["note"] as? String,
             (root["children"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String })
        }
    }

    @Test(.enabled(if: enabled, "needs root and libvirtd")) func bothSystemsThenOneUnavailable() throws {
        let systemName = TestNames.unique("sys")
        let second = try SecondSystem.up(name: systemName)
        defer { second.down() }
        let config = NSTemporaryDirectory() + "ptest-systems-\(getpid())"
        mkdir(config, 0o700)
        defer { _ = try? TestProcess.run("/bin/rm", ["-rf", config]) }
        let environment = ["PARTCTL_CONFIG_DIR": config, "PARTCTL_SYSTEM_TIMEOUT": "20"]
        func partctl(_ arguments: [String]) throws -> ProcessResult {
            try TestProcess.run(BuiltProducts.partctl, arguments, environment: environment, timeout: 120)
        }
        let here = TestNames.unique("here")
        let there = TestNames.unique("there")
        let wpar = TestNames.unique("w")
        let later = TestNames.unique("later")
        defer {
            for name in [here, wpar, later] { _ = try? partctl(["remove", name, "--force"]) }
            CLI.removeDomain(here)
        }
        #expect(try partctl(["system", "add", systemName, second.uri]).status == 0)
        let listed = try partctl(["system", "list", "-F", "name,reachable"])
        #expect(listed.stdout.contains("local,yes\n") && listed.stdout.contains("\(systemName),yes"), "\(listed)")

        // A domain on each system, and a host WPAR here.
        var result = try partctl(["define", here, "--profile", "lpar-minimal"])
        try #require(result.status == 0, "\(result)")
        result = try partctl(["define", there, "--profile", "lpar-minimal", "-m", systemName])
        try #require(result.status == 0, "\(result)")
        result = try partctl(["define", wpar, "--profile", "wpar-app"])
        try #require(result.status == 0, "\(result)")
        #expect(try CLI.run("/usr/bin/virsh", ["-c", second.uri, "domstate", there]).stdout.contains("shut off"))
        #expect(try !CLI.domainNames().contains(there))

        var roots = try Self.roots(try partctl(["tree", "--json"]))
        #expect(roots.map(\.system) == ["local", systemName])
        let local = try #require(roots.first)
        #expect(local.children.contains(here) && local.children.contains(wpar) && !local.children.contains(there))
        // The second system's root has its domain and nothing of this machine's (no host WPAR of ours).
        #expect(roots.last?.children == [there] && roots.last?.state == "running", "\(roots)")
        let one = try partctl(["tree", "--json", "-m", systemName])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(one.stdout.utf8)) as? [String: Any], "\(one)")
        #expect((object["children"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String } == [there])
        let text = try partctl(["tree"])
        // Its host name is its system name (the fixture's UTS namespace): the root line is that name alone.
        #expect(text.stdout.split(separator: "\n").contains { $0.hasPrefix("\(systemName) ") && $0.contains("running") }
                && text.stdout.contains("└─ \(there)"), "\(text)")

        // The second libvirtd stops: its root is unavailable with the reason, this machine's is whole.
        try second.stop()
        let started = Date()
        result = try partctl(["tree", "--json"])
        let elapsed = Date().timeIntervalSince(started)
        #expect(result.status == 0, "\(result)")
        roots = try Self.roots(result)
        #expect(roots.map(\.system) == ["local", systemName])
        #expect(roots.first?.state == "running" && roots.first?.children.contains(here) == true && roots.first?.children.contains(wpar) == true)
        #expect(roots.last?.state == "unavailable" && roots.last?.children == [], "\(roots)")
        #expect(roots.last?.note?.contains(second.address) == true, "\(roots)")
        #expect(elapsed < 10, "tree took \(elapsed) s with one system down")
        let query = try partctl(["query", "-F", "system,path,state"])
        #expect(query.status == 0 && query.stdout.contains("\(systemName),/,unavailable"), "\(query)")
        #expect(try partctl(["system", "list", "-F", "name,reachable"]).stdout.contains("\(systemName),no"))

        // This machine stays fully usable: define, activate, query, remove.
        result = try partctl(["define", later, "--profile", "wpar-system"])
        #expect(result.status == 0, "\(result)")
        result = try partctl(["activate", later])
        #expect(result.status == 0, "\(result)")
        #expect(try partctl(["query", later, "-F", "state"]).stdout == "running\n")
        #expect(try partctl(["remove", later, "--force"]).status == 0)
        #expect(try partctl(["remove", here]).status == 0)
        #expect(try partctl(["query", later]).status == 2)
        // The stopped system refuses verbs with the reason (exit 1), not a local look-up.
        let refused = try partctl(["remove", there, "-m", systemName])
        #expect(refused.status == 1 && refused.stderr.contains(second.address), "\(refused)")
    }
}
