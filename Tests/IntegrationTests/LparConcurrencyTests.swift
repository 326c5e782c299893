import Foundation
import Testing

/// Commands on one partition are serialised: concurrent activates give exactly one success.
@Suite(.serialized) struct LparConcurrencyTests {
    @Test func concurrentActivatesGiveOneSuccess() throws {
        let name = "ptest-lp-race"
        CLI.removeDomain(name)
        defer { CLI.removeDomain(name) }
        try #require(CLI.partctl("define", name, "--profile", "lpar-memtest").status == 0)
        // Ten partctl processes at once; their stderr goes to one file each.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-race-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var processes: [(Process, URL)] = []
        for index in 0..<10 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CLI.binary)
            process.arguments = ["activate", name]
            let errorFile = directory.appendingPathComponent("\(index).err")
            FileManager.default.createFile(atPath: errorFile.path, contents: nil)
            process.standardError = try FileHandle(forWritingTo: errorFile)
            process.standardOutput = FileHandle.nullDevice
            processes.append((process, errorFile))
        }
        for (process, _) in processes { try process.run() }
        for (process, _) in processes { process.waitUntilExit() }
        let successes = processes.filter { $0.0.terminationStatus == 0 }.count
        #expect(successes == 1, "\(successes) activates succeeded")
        for (process, errorFile) in processes where process.terminationStatus != 0 {
            let line = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
            #expect(line.contains("already running") || line.contains("busy"), "\(line)")
            #expect(line.split(separator: "\n").count == 1, "\(line)")
        }
        #expect(try CLI.partctl("query", name, "-F", "state").stdout == "running\n")
        #expect(try CLI.partctl("remove", name, "--force").status == 0)
    }
}
