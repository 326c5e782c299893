import Foundation
import Testing

/// `profile check` reports every problem of what a profile names on the managed system at once,
/// one line each with its file and line; `define` refuses with the first and says how many more.
@Suite(.serialized) struct ProfileCheckTests {
    @Test func everyMissingThingIsReportedAtOnce() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-check-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A network that exists but does not run, made by the test and removed after it.
        let idle = "ptest-idle-net"
        let networkXML = directory + "/net.xml"
        try "<network><name>\(idle)</name><bridge name='ptestidle0'/></network>".write(toFile: networkXML, atomically: true, encoding: .utf8)
        _ = try? CLI.virsh("net-undefine", idle)
        try #require(CLI.virsh("net-define", networkXML).status == 0)
        defer { _ = try? CLI.virsh("net-undefine", idle) }
        let profile = directory + "/many.yaml"
        try """
        kind: lpar
        extends: lpar-memtest
        network:
          - network: \(idle)
          - network: ptest-no-such-net
          - bridge: ptest-nobr
        disks:
          - {file: \(directory)/missing-disk.qcow2, format: qcow2}
          - {file: \(directory)/missing-installer.iso, device: cdrom}
        """.write(toFile: profile, atomically: true, encoding: .utf8)

        let check = try CLI.partctl("profile", "check", profile)
        #expect(check.status == 2, "\(check.stdout) \(check.stderr)")
        #expect(check.stdout.isEmpty, "\(check.stdout)")
        let lines = check.stderr.split(separator: "\n").map(String.init)
        let expected = [("many.yaml:8: disks[0].file", "missing-disk.qcow2"), ("many.yaml:9: disks[1].file", "missing-installer.iso"),
                        ("many.yaml:6: network[2].bridge", "ptest-nobr"), ("many.yaml:4: network[0].network", "not active"),
                        ("many.yaml:5: network[1].network", "ptest-no-such-net")]
        #expect(lines.count == expected.count, "\(check.stderr)")
        for (place, word) in expected {
            #expect(lines.contains { $0.contains(place) && $0.contains(word) }, "no line for \(place): \(check.stderr)")
        }

        let before = try CLI.domainNames()
        let define = try CLI.partctl("define", "ptest-check", "--profile", profile)
        // An idle network is left to activation (it must run then, not at define): 3 more, not 4.
        expectRefusal(define, status: 2, mentioning: ["disks[0].file", "and 3 more", "profile check"])
        #expect(try CLI.domainNames() == before)

        // Each problem goes with its cause: with the files there and only the idle network, one line remains.
        for name in ["missing-disk.qcow2", "missing-installer.iso"] {
            try #require(CLI.run("/usr/bin/qemu-img", ["create", "-q", "-f", name.hasSuffix("qcow2") ? "qcow2" : "raw", "\(directory)/\(name)", "1M"]).status == 0)
        }
        try """
        kind: lpar
        extends: lpar-memtest
        network: [{network: \(idle)}]
        disks:
          - {file: \(directory)/missing-disk.qcow2, format: qcow2}
          - {file: \(directory)/missing-installer.iso, device: cdrom}
        """.write(toFile: profile, atomically: true, encoding: .utf8)
        let one = try CLI.partctl("profile", "check", profile)
        expectRefusal(one, status: 2, mentioning: ["network[0].network", "virsh net-start \(idle)"])
    }
}
