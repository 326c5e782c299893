import Foundation
import Testing

/// Refused input against the real libvirtd: one clear line, non-zero exit, nothing created.
@Suite(.serialized) struct LparBadInputTests {
    @Test(arguments: ["ptest/x/y", "../x", "..", "ptest<x", "ptest'x", "ptest x", "PTEST", String(repeating: "p", count: 100), "ptest;reboot"])
    func refusesBadNames(_ name: String) throws {
        let before = try CLI.domainNames()
        let result = try CLI.partctl("define", name, "--profile", "lpar-memtest")
        expectRefusal(result, status: 2, mentioning: ["define"])
        #expect(try CLI.domainNames() == before)
    }

    /// `ptest/x` is a nested path: refused because LPAR ptest does not exist (or nesting is not available).
    @Test func refusesNestedPathWithoutItsLpar() throws {
        let before = try CLI.domainNames()
        let result = try CLI.partctl("define", "ptest/x", "--profile", "lpar-memtest")
        expectRefusal(result, mentioning: ["ptest/x", "define"])
        #expect(try CLI.domainNames() == before)
    }

    @Test func refusesBadProfiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-profiles-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let cases: [(String, String, [String])] = [
            ("malformed", "kind: lpar\nmemory: {min: 1GiB\n", ["malformed.yaml"]),
            ("unknown", "kind: lpar\nmemroy: {min: 128MiB, desired: 128MiB, max: 128MiB}\n", ["memroy"]),
            ("range", "extends: lpar-memtest\nmemory: {min: 512MiB, desired: 256MiB, max: 1GiB}\n", ["memory"]),
            ("size", "extends: lpar-memtest\nmemory: {min: 1 gigabyte, desired: 256MiB, max: 1GiB}\n", ["memory.min"]),
            ("procs", "extends: lpar-memtest\nprocessors: {min: 1, desired: 1, max: 999}\n", ["processors"]),
            ("disk", "extends: lpar-memtest\ndisks: [{file: /etc/shadow}]\n", ["/etc/shadow"]),
        ]
        let before = try CLI.domainNames()
        for (name, text, words) in cases {
            let file = dir.appendingPathComponent("\(name).yaml")
            try text.write(to: file, atomically: true, encoding: .utf8)
            let result = try CLI.partctl("define", "ptest-bad-\(name)", "--profile", file.path)
            expectRefusal(result, mentioning: words)
            let check = try CLI.partctl("profile", "check", file.path)
            #expect(check.status != 0, "\(name): profile check accepted it")
        }
        let missing = try CLI.partctl("define", "ptest-bad", "--profile", "no-such-profile")
        expectRefusal(missing, mentioning: ["no-such-profile"])
        #expect(try CLI.domainNames() == before)
    }

    @Test func refusesWhatTheHostCannotGive() throws {
        let before = try CLI.domainNames()
        let tooMuchMemory = try CLI.partctl("define", "ptest-huge", "--profile", "lpar-memtest", "-i", "max_mem=8TiB")
        expectRefusal(tooMuchMemory, mentioning: ["memory"])
        let badAttribute = try CLI.partctl("define", "ptest-huge", "--profile", "lpar-memtest", "-i", "bogus=1")
        expectRefusal(badAttribute, mentioning: ["bogus"])
        #expect(try CLI.domainNames() == before)
    }

    @Test func missingPartitions() throws {
        for verb in ["activate", "shutdown", "force", "remove"] {
            let result = try CLI.partctl(verb, "ptest-nonexistent")
            expectRefusal(result, status: 2, mentioning: ["ptest-nonexistent", verb, "No partition"])
        }
        let query = try CLI.partctl("query", "ptest-nonexistent", "--json")
        #expect(query.status == 2)
        #expect(query.stdout.contains("\"error\""))
        #expect(query.stdout.contains("\"code\":\"not-found\""))
    }

    /// `tree` stays useful without libvirt (OutputContractTests has the details); an LPAR verb fails.
    @Test func libvirtdUnreachable() throws {
        let unreachable = ["PARTCTL_CONNECT": "qemu:///system?socket=/nonexistent/libvirt-sock"]
        let tree = try CLI.partctl("tree", environment: unreachable)
        #expect(tree.status == 0, "\(tree.stderr)")
        #expect(tree.stdout.contains("LPARs unavailable") && tree.stdout.contains("libvirtd"), "\(tree.stdout)")
        let result = try CLI.partctl("activate", "ptest-nonexistent", environment: unreachable)
        expectRefusal(result, status: 1, mentioning: ["libvirt", "libvirtd"])
    }

    @Test func leavesUnmanagedDomainsAlone() throws {
        let name = "ptest-unmanaged"
        defer { CLI.removeDomain(name) }
        let xml = "<domain type='qemu'><name>\(name)</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>"
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).xml")
        try xml.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(try CLI.virsh("define", file.path).status == 0)
        let tree = try CLI.partctl("tree", "--json")
        #expect(tree.status == 0)
        #expect(tree.stdout.contains("\"name\":\"\(name)\",\"path\":\"\(name)\",\"kind\":\"lpar\",\"state\":\"defined\",\"type\":null,\"managed\":false"))
        for arguments in [["activate", name], ["remove", name], ["modify", name, "-i", "desired_procs=1"]] {
            let result = try CLI.partctl(arguments: arguments)
            expectRefusal(result, mentioning: ["not created by partctl"])
        }
        #expect(try CLI.virsh("domstate", name).stdout.contains("shut off"))
    }
}
