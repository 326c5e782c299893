import Foundation
import Testing

/// Each command reads an LPAR's partctl metadata once (issue 9: up to seven times before). Debug
/// builds count virDomainGetMetadata calls and print the count at exit with
/// PARTCTL_DEBUG_METADATA_READS set (LibvirtKit's MetadataReadCount); this needs that build.
@Suite(.serialized) struct MetadataReadTests {
    @Test func everyCommandReadsTheLparOnce() throws {
        let lpar = "ptest-meta-reads", web = "ptest-meta-reads/web"
        CLI.removeDomain(lpar)
        defer { CLI.removeDomain(lpar) }
        try #require(CLI.partctl("define", lpar, "--profile", "lpar-minimal").status == 0)
        // Before: define 3, modify 3, activate with an autostart WPAR 7, shutdown 4, remove 3.
        for arguments in [
            ["define", web, "--profile", "wpar-app-web"],
            ["modify", web, "-i", "memory_max=64MiB"],
            ["activate", lpar],
            ["shutdown", lpar, "--within", "60"],
            ["remove", web],
        ] {
            let result = try CLI.run(CLI.partctlPath, arguments, environment: ["PARTCTL_DEBUG_METADATA_READS": "1"])
            #expect(result.status == 0, "\(arguments.joined(separator: " ")): \(result.stderr)")
            let prefix = "partctl-debug: libvirt metadata reads: "
            guard let line = result.stderr.split(separator: "\n").last(where: { $0.hasPrefix(prefix) }) else {
                Issue.record("no metadata read count from \(CLI.partctlPath): a debug build is needed")
                return
            }
            #expect(Int(line.dropFirst(prefix.count)) == 1, "\(arguments.joined(separator: " ")): \(line)")
        }
    }
}
