import Foundation
import PartctlTestSupport
import Testing

/// An LPAR whose profile names an inactive libvirt network starts it at activation, or says in one
/// line why it cannot and what to run. The networks are the test's own (ptest-…, isolated).
@Suite("LPAR networks", .serialized)
struct LparNetworkTests {
    let directory = NSTemporaryDirectory() + TestNames.unique("lparnet")

    func virsh(_ arguments: String...) throws -> ProcessResult {
        try TestProcess.run("/usr/bin/virsh", ["-c", "qemu:///system"] + arguments)
    }

    /// Defines an isolated network (not started) on `subnet` (a /24 like "10.231.7"), removed after `body`.
    func withNetwork(subnet: String, _ body: (String) throws -> Void) throws {
        let name = TestNames.unique("net")
        let bridge = "ptbr" + String(name.suffix(8).prefix(6))
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = directory + "/\(name).xml"
        try """
            <network><name>\(name)</name><bridge name='\(bridge)'/>
            <ip address='\(subnet).1' netmask='255.255.255.0'/></network>
            """.write(toFile: file, atomically: true, encoding: .utf8)
        let defined = try virsh("net-define", file)
        try #require(defined.status == 0, "\(defined)")
        defer {
            _ = try? virsh("net-destroy", name)
            _ = try? virsh("net-undefine", name)
        }
        try body(name)
    }

    func profile(_ network: String) throws -> String {
        let path = directory + "/\(network).yaml"
        try "kind: lpar\nextends: lpar-minimal\nnetwork: [{network: \(network)}]\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func activationStartsAnInactiveNetwork() throws {
        try withNetwork(subnet: "10.231.\(Int.random(in: 1...250))") { network in
            let lpar = TestNames.unique("net")
            defer { removeTestPartition(lpar) }
            let defined = try TestProcess.run(BuiltProducts.partctl, ["define", lpar, "--profile", try profile(network)])
            try #require(defined.status == 0, "\(defined)")
            #expect(try virsh("net-info", network).stdout.contains("Active:         no"))
            let activated = try TestProcess.run(BuiltProducts.partctl, ["activate", lpar], timeout: 240)
            #expect(activated.status == 0, "\(activated)")
            #expect(try virsh("net-info", network).stdout.contains("Active:         yes"))
        }
    }

    @Test func aNetworkThatCannotStartIsOneLineWithTheHint() throws {
        // Its addresses are those of another active network of the test's own: libvirt refuses to start it.
        let subnet = "10.232.\(Int.random(in: 1...250))"
        try withNetwork(subnet: subnet) { first in
            #expect(try virsh("net-start", first).status == 0)
            try withNetwork(subnet: subnet) { clash in
                let lpar = TestNames.unique("clash")
                defer { removeTestPartition(lpar) }
                let defined = try TestProcess.run(BuiltProducts.partctl, ["define", lpar, "--profile", try profile(clash)])
                try #require(defined.status == 0, "\(defined)")
                let activated = try TestProcess.run(BuiltProducts.partctl, ["activate", lpar], timeout: 120)
                #expect(activated.status == 1, "\(activated)")
                let lines = activated.stderr.split(separator: "\n")
                #expect(lines.count == 1, "\(activated)")
                #expect(activated.stderr.contains("'\(clash)' is not active and could not be started"), "\(activated)")
                #expect(activated.stderr.contains("virsh net-start \(clash)"), "\(activated)")
                #expect(try virsh("domstate", lpar).stdout.contains("shut off"))
            }
        }
    }
}
