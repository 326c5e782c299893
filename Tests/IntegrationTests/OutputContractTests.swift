import Foundation
import Testing

/// The output contract (docs/output.md) through the real binary: one field set for every kind,
/// `-F --pairs` fed back to `-i`, one JSON shape per answer, exit statuses, and the tree without libvirt.
@Suite(.serialized) struct OutputContractTests {
    static let wpar = "ptest-oc-tools"
    static let lpar = "ptest-oc-lp"
    static let nested = "ptest-oc-lp/web"
    /// A libvirt URI whose socket does not exist: libvirt unreachable, without stopping the shared libvirtd.
    static let unreachable = ["PARTCTL_CONNECT": "qemu:///system?socket=/nonexistent/libvirt-sock"]

    static func cleanup() {
        _ = try? CLI.partctl("remove", wpar, "--force")
        _ = try? CLI.partctl("remove", nested, "--force")
        _ = try? CLI.partctl("remove", lpar, "--force")
        CLI.removeDomain(lpar)
    }

    /// A host WPAR (running), an LPAR (defined) and a WPAR nested in it (defined).
    static func makePartitions() throws {
        cleanup()
        for arguments in [["define", wpar, "--profile", "wpar-system"], ["activate", wpar],
                          ["define", lpar, "--profile", "lpar-minimal"], ["define", nested, "--profile", "wpar-app-web"]] {
            let result = try CLI.partctl(arguments: arguments)
            try #require(result.status == 0, "\(arguments): \(result.stderr)")
        }
    }

    static func object(_ text: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not an object: \(text)")
    }

    /// Every object of a tree, depth first, with its keys in their printed order (from the text).
    static func flatten(_ tree: [String: Any]) -> [[String: Any]] {
        var copy = tree
        copy["children"] = nil
        return [copy] + ((tree["children"] as? [[String: Any]]) ?? []).flatMap(flatten)
    }

    @Test func everyKindAnswersWithTheSameFields() throws {
        defer { Self.cleanup() }
        try Self.makePartitions()
        let tree = try CLI.partctl("tree", "--json")
        try #require(tree.status == 0, "\(tree.stderr)")
        let all = Self.flatten(try Self.object(tree.stdout))
        let byPath = Dictionary(all.map { (($0["path"] as? String) ?? "?", $0) }, uniquingKeysWith: { first, _ in first })
        let kinds = ["/", Self.wpar, Self.lpar, Self.nested].map { byPath[$0] }
        try #require(kinds.allSatisfy { $0 != nil }, "missing partitions in \(tree.stdout)")
        let keySets = kinds.map { Set($0!.keys) }
        #expect(keySets.allSatisfy { $0 == keySets[0] }, "\(keySets.map { $0.sorted() })")
        #expect(keySets[0].contains("procs") && !keySets[0].contains("cpus"))

        // The system: the host's own totals, what running partitions hold, what is free.
        let system = kinds[0]!
        let meminfo = try String(contentsOfFile: "/proc/meminfo", encoding: .utf8)
        let kib = meminfo.split(separator: "\n").first { $0.hasPrefix("MemTotal:") }?.split(separator: " ").dropFirst().first
        #expect((system["mem"] as? Int) == kib.flatMap { Int($0) }.map { $0 * 1024 }, "\(system)")
        #expect((system["procs"] as? Int) == ProcessInfo.processInfo.activeProcessorCount)
        let assigned = try #require(system["assigned_mem"] as? Int), free = try #require(system["free_mem"] as? Int)
        #expect(free == max(0, (system["mem"] as? Int ?? 0) - assigned))
        // The running host WPAR's memory max (wpar-system sets one) counts as assigned.
        let wparMax = kinds[1]!["memory_max"] as? Int
        if let wparMax { #expect(assigned >= wparMax) }
        // An LPAR has its UUID, as libvirt knows it.
        let uuid = try CLI.virsh("domuuid", Self.lpar).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect((kinds[2]!["uuid"] as? String) == uuid)
        // A defined nested WPAR shows its configured limits from the LPAR's metadata.
        #expect((kinds[3]!["memory_max"] as? Int) == 64 << 20, "\(kinds[3]!)")
        #expect((kinds[3]!["profile"] as? String) == "wpar-app-web")

        // query PATH is an object with the same fields; a list is an array, also when empty.
        for path in ["/", Self.wpar, Self.lpar, Self.nested] {
            let query = try CLI.partctl("query", path, "--json")
            #expect(query.status == 0, "\(path): \(query.stderr)")
            #expect(Set(try Self.object(query.stdout).keys) == keySets[0], "\(path): \(query.stdout)")
        }
        #expect(try CLI.partctl("query", "--filter", "kind=nosuch", "--json").stdout == "[]\n")
        let lpars = try CLI.partctl("query", "--filter", "kind=LPAR", "-F", "path", "--json")
        #expect(lpars.stdout.contains("{\"path\":\"\(Self.lpar)\"}"), "\(lpars.stdout)")
        #expect(!lpars.stdout.contains(Self.wpar))

        // Text lists paths, so that WPARs of the same name in different LPARs are told apart.
        let table = try CLI.partctl("query")
        #expect(table.stdout.split(separator: "\n").contains { $0.hasPrefix(Self.nested + " ") }, "\(table.stdout)")

        // tree --filter keeps the matches and their ancestors.
        let filtered = try CLI.partctl("tree", "--filter", "path=\(Self.nested)", "--json")
        let kept = Self.flatten(try Self.object(filtered.stdout)).compactMap { $0["path"] as? String }
        #expect(kept == ["/", Self.lpar, Self.nested], "\(kept)")
    }

    @Test func pairsRoundTripIntoDashI() throws {
        defer { Self.cleanup() }
        try Self.makePartitions()
        let lparFields = "min_mem,desired_mem,max_mem,min_procs,desired_procs,max_procs,weight,cap,autostart,accel"
        let wparFields = "cpu_weight,cpu_max,memory_high,memory_max,pids_max,hostname,autostart"
        #expect(try CLI.partctl("shutdown", Self.wpar, "--within", "10").status == 0)
        for (path, fields) in [(Self.lpar, lparFields), (Self.wpar, wparFields), (Self.nested, wparFields)] {
            let before = try CLI.partctl("query", path, "-F", fields, "--pairs")
            try #require(before.status == 0 && !before.stdout.isEmpty, "\(path): \(before.stderr)")
            let pairs = before.stdout.trimmingCharacters(in: .newlines)
            #expect(!pairs.contains("=-") && !pairs.contains("=null"), "absent values must be left out: \(pairs)")
            let modify = try CLI.partctl("modify", path, "-i", pairs)
            #expect(modify.status == 0, "\(path): modify -i \"\(pairs)\": \(modify.stderr)")
            #expect(try CLI.partctl("query", path, "-F", fields, "--pairs").stdout == before.stdout)
        }
        // A changed value comes back changed.
        #expect(try CLI.partctl("modify", Self.wpar, "-i", "memory_max=96MiB").status == 0)
        #expect(try CLI.partctl("query", Self.wpar, "-F", "memory_max", "--pairs").stdout == "memory_max=96MiB\n")
    }

    @Test func refusedInputExitsTwoFailedOperationsOne() throws {
        defer { Self.cleanup() }
        try Self.makePartitions()
        // The nested budget: a WPAR that does not fit its LPAR is refused input.
        let budget = try CLI.partctl("define", "\(Self.lpar)/big", "--profile", "wpar-app-web", "-i", "memory_max=64GiB")
        expectRefusal(budget, status: 2, mentioning: ["memory max", Self.lpar])
        expectRefusal(try CLI.partctl("define", "ptest-oc-none", "--profile", "ptest-no-such-profile"), status: 2, mentioning: ["ptest-no-such-profile"])
        expectRefusal(try CLI.partctl("query", "ptest-oc-none"), status: 2, mentioning: ["ptest-oc-none"])
        expectRefusal(try CLI.partctl("query", "--filter", "colour=red"), status: 2, mentioning: ["colour"])
        expectRefusal(try CLI.partctl("query", Self.wpar, "-F", "cpus"), status: 2, mentioning: ["cpus", "procs"])
        expectRefusal(try CLI.partctl("help", "nosuch"), status: 2, mentioning: ["nosuch"])
        expectRefusal(try CLI.partctl("qurey"), status: 2, mentioning: ["did you mean 'query'?"].map { $0.capitalizedFirst })
        expectRefusal(try CLI.partctl("define", Self.wpar, "--profile", "wpar-system"), status: 2, mentioning: ["already"])
        // A failed operation: the WPAR is not in a state to do it.
        #expect(try CLI.partctl("shutdown", Self.wpar, "--within", "10").status == 0)
        expectRefusal(try CLI.partctl("shutdown", Self.wpar), status: 1, mentioning: ["not running"])
        // With --json an error is one object on stdout, whatever the verb.
        let json = try CLI.partctl("query", "ptest-oc-none", "--json")
        #expect(json.status == 2)
        let error = try #require(try Self.object(json.stdout)["error"] as? [String: Any])
        #expect((error["code"] as? String) == "not-found")
        #expect(!(try CLI.partctl("help", "query").stdout.isEmpty))
    }

    /// libvirt unreachable (a socket that does not exist; the shared libvirtd stays up): host WPARs
    /// are still listed and queried, and the system says why its LPARs are not shown.
    @Test func withoutLibvirtTheTreeStillShowsHostWpars() throws {
        defer { Self.cleanup() }
        try Self.makePartitions()
        let tree = try CLI.partctl("tree", "--json", environment: Self.unreachable)
        #expect(tree.status == 0, "\(tree.stderr)")
        let root = try Self.object(tree.stdout)
        #expect((root["hypervisor"] as? String) == "unavailable")
        #expect((root["note"] as? String)?.hasPrefix("LPARs unavailable: ") == true, "\(root)")
        let paths = Self.flatten(root).compactMap { $0["path"] as? String }
        #expect(paths.contains(Self.wpar) && !paths.contains(Self.lpar), "\(paths)")
        let text = try CLI.partctl("tree", environment: Self.unreachable)
        #expect(text.status == 0 && text.stdout.contains("LPARs unavailable") && text.stdout.contains(Self.wpar), "\(text.stdout)")
        // One host WPAR is read without opening libvirt at all.
        let query = try CLI.partctl("query", Self.wpar, "-F", "state", environment: Self.unreachable)
        #expect(query.status == 0 && query.stdout == "running\n", "\(query.stderr)")
        let list = try CLI.partctl("query", "--filter", "kind=wpar", "-F", "path", environment: Self.unreachable)
        #expect(list.status == 0 && list.stdout.contains(Self.wpar), "\(list.stderr)")
        // An LPAR cannot be known: a failed operation, with libvirt's reason.
        expectRefusal(try CLI.partctl("query", Self.lpar, environment: Self.unreachable), status: 1, mentioning: ["libvirt"])
    }
}

private extension String {
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}
