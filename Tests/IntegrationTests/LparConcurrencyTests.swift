import Foundation
import Testing

/// Commands on one partition are serialised: concurrent activates give exactly one success.
@Suite(.serialized) struct LparConcurrencyTests {
    @Test func concurrentActivatesGiveOneSuccess() throws {
        let name = "ptest-lp-race"
        CLI.removeDomain(name)
        defer { CLI.removeDomain(name) }
        try #require(CLI.partctl("define", name, "--profile", "lpar-memtest").status == 0)
        // Ten partctl processes at once, through one shell so that they really overlap.
        let script = (0..<10).map { _ in "'\(CLI.binary)' activate \(name) >/dev/null 2>>/tmp/\(name).err & " }.joined()
            + "wait; true"
        _ = try? FileManager.default.removeItem(atPath: "/tmp/\(name).err")
        defer { _ = try? FileManager.default.removeItem(atPath: "/tmp/\(name).err") }
        try CLI.run("/bin/sh", ["-c", script], timeout: 120)
        let errors = (try? String(contentsOfFile: "/tmp/\(name).err", encoding: .utf8)) ?? ""
        let refusals = errors.split(separator: "\n")
        #expect(refusals.count == 9, "expected nine refusals: \(errors)")
        for line in refusals {
            #expect(line.contains("already running") || line.contains("busy"), "\(line)")
        }
        #expect(try CLI.partctl("query", name, "-F", "state").stdout == "running\n")
        #expect(try CLI.partctl("remove", name, "--force").status == 0)
    }
}
