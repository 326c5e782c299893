import Foundation
import PartctlTestSupport
import Testing

/// Commands on one partition are serialised: concurrent activates give exactly one success.
@Suite(.serialized) struct LparConcurrencyTests {
    @Test func concurrentActivatesGiveOneSuccess() throws {
        let name = "ptest-lp-race"
        CLI.removeDomain(name)
        defer { CLI.removeDomain(name) }
        try #require(CLI.partctl("define", name, "--profile", "lpar-memtest").status == 0)
        // Ten partctl processes at once (the shared runner: output in files, killed if one hangs).
        let processes = try (0..<10).map { _ in try BackgroundProcess(CLI.binary, ["activate", name]) }
        let results = processes.map { $0.finish(within: 180) }
        let successes = results.filter { $0.status == 0 }.count
        #expect(successes == 1, "\(successes) activates succeeded")
        for result in results where result.status != 0 {
            let line = result.stderr
            #expect(!result.timedOut, "an activate hung: \(result)")
            #expect(line.contains("already running") || line.contains("busy"), "\(line)")
            #expect(line.split(separator: "\n").count == 1, "\(line)")
        }
        #expect(try CLI.partctl("query", name, "-F", "state").stdout == "running\n")
        #expect(try CLI.partctl("remove", name, "--force").status == 0)
    }
}
