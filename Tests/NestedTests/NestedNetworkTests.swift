import Foundation
import Glibc
import PartctlTestSupport
import PartitionModel
import Testing
@testable import PartitionCore

/// A nested WPAR on its LPAR's guest network (docs/nested-networks.md), on a real LPAR booted from
/// the guest image with one adapter on libvirt's `default` network (DHCP from the image's udhcpc):
/// its address handed out at define, refusals that create nothing, the guest's NAT out to the
/// LPAR's gateway on the host, and a page served from the WPAR to curl on the host through a
/// guest forward (NestedForwards.publish, the agent's `network.forwards`).
@Suite("Nested networks", .serialized)
struct NestedNetworkTests {
    let directory = NSTemporaryDirectory() + TestNames.unique("nnet")

    func partctl(_ arguments: String...) throws -> ProcessResult {
        try TestProcess.run(BuiltProducts.partctl, arguments, timeout: 240)
    }

    func write(_ name: String, _ text: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/\(name).yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// `network: partctl0` where the profile reader knows managed networks (issue 11's profile
    /// keys), else the same network in the form every version reads: a fixed address on the
    /// guest's bridge, which define checks and keeps the same way.
    func webProfile() throws -> (path: String, managed: Bool) {
        let managed = try write("ptest-nnet-web", "kind: wpar\nextends: wpar-app-web\nnetwork: partctl0\n")
        if try partctl("profile", "check", managed).status == 0 { return (managed, true) }
        let fixed = try write("ptest-nnet-web", """
            kind: wpar
            extends: wpar-app-web
            network: {bridge: partctl0, address: 10.78.0.2/24, gateway: 10.78.0.1}
            """)
        return (fixed, false)
    }

    /// The old form with a fixed address on the guest's bridge, its gateway the .1 of its /24.
    func fixedProfile(_ address: String) throws -> String {
        let gateway = address.split(separator: ".").prefix(3).joined(separator: ".") + ".1"
        return try write("ptest-nnet-\(address)", """
            kind: wpar
            extends: wpar-app-web
            network: {bridge: partctl0, address: \(address)/24, gateway: \(gateway)}
            """)
    }

    /// A page fetched from inside the nested WPAR with busybox nc (busybox wget -T crashes there
    /// with status 139, a problem of its own, noted in the report).
    func fetchInWpar(_ path: String, host: String, port: Int) throws -> ProcessResult {
        try partctl("login", path, "--", "sh", "-c", "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 10 nc \(host) \(port)")
    }

    /// The guest's output of `command` (run as root in the guest itself, outside every WPAR).
    func inGuest(_ lpar: String, _ command: String) throws -> ProcessResult {
        try partctl("login", lpar, "--", "sh", "-c", command)
    }

    @Test func aNestedWparReachesOutAndServesThroughAGuestForward() throws {
        let lpar = TestNames.unique("nnet")
        defer {
            removeTestPartition(lpar)
            try? FileManager.default.removeItem(atPath: directory)
        }
        let lparProfile = try write("ptest-nnet-lpar", "kind: lpar\nextends: lpar-minimal\nnetwork: [{network: default}]\n")
        try #require(try partctl("define", lpar, "--profile", lparProfile).status == 0)
        let (web, managed) = try webProfile()
        let defined = try partctl("define", "\(lpar)/web", "--profile", web)
        try #require(defined.status == 0, "\(defined)")

        // Refused, one line each, exit 2, nothing defined: an address taken, one outside partctl0.
        for (name, address, reason) in [("dup", "10.78.0.2", "is already used by its WPAR 'web'"),
                                        ("out", "10.1.2.3", "is outside partctl0 (10.78.0.0/24)")] {
            let refused = try partctl("define", "\(lpar)/\(name)", "--profile", try fixedProfile(address))
            #expect(refused.status == 2, "\(refused)")
            #expect(refused.stderr.contains(reason), "\(refused.stderr)")
            #expect(refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
            #expect(try partctl("query", "\(lpar)/\(name)").status == 2)
        }

        let activated = try partctl("activate", lpar)
        try #require(activated.status == 0, "\(activated)")
        // wpar-app-web starts with its LPAR (autostart); its address is the one define chose.
        var state = ""
        _ = try waitUntil(timeout: 60, interval: 0.5) {
            state = try partctl("query", "\(lpar)/web", "-F", "state,ip").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            return state.hasPrefix("running")
        }
        #expect(state == "running,10.78.0.2", "managed: \(managed)")

        // The LPAR's own address and gateway, from DHCP on libvirt's network.
        var route = ""
        _ = try waitUntil(timeout: 60, interval: 0.5) {
            route = try inGuest(lpar, "ip -4 route show default; ip -4 -o addr show dev eth0").stdout
            return route.contains("default via") && route.contains("inet ")
        }
        let words = route.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        let gateway = try #require(words.firstIndex(of: "via").map { words[$0 + 1] }, "\(route)")
        let lparAddress = try #require(words.firstIndex(of: "inet").map { String(words[$0 + 1].split(separator: "/")[0]) }, "\(route)")

        // The guest network's gateway, reached from the WPAR: a page the guest serves on 10.78.0.1.
        let served = try inGuest(lpar, "mkdir -p /tmp/ptest-g && echo guest-ok >/tmp/ptest-g/index.html && httpd -p 10.78.0.1:8099 -h /tmp/ptest-g </dev/null >/dev/null 2>&1")
        #expect(served.status == 0, "\(served)")
        let toGateway = try fetchInWpar("\(lpar)/web", host: "10.78.0.1", port: 8099)
        #expect(toGateway.stdout.contains("guest-ok"), "\(toGateway)")

        // Beyond the guest, through its NAT: the name server on the LPAR network's gateway, on the
        // host (libvirt's dnsmasq; its firewall takes only DNS and DHCP there). The host has no
        // route to 10.78.0.0/24, so only a masqueraded connection is answered.
        let toHost = try partctl("login", "\(lpar)/web", "--", "sh", "-c", "timeout 10 nc \(gateway) 53 </dev/null; echo \"nc: $?\"")
        #expect(toHost.stdout.contains("nc: 0"), "\(toHost)")

        // A guest forward: the LPAR's port 8081 to the WPAR's 8080, fetched by curl on the host.
        let manager = PartitionManager(configuration: .fromEnvironment())
        let lparName = try PartitionName(lpar)
        let forward = GuestForward(proto: "tcp", port: 8081, address: IPv4Address("10.78.0.2")!, targetPort: 8080)
        try NestedForwards.publish([forward], in: lparName, backend: try manager.nested())
        let fetched = try TestProcess.run("/usr/bin/curl", ["-sS", "--max-time", "10", "http://\(lparAddress):8081/"])
        #expect(fetched.stdout.contains("partctl web"), "\(fetched)")
        #expect(try NestedForwards.address(of: try PartitionName("web"), in: lparName, backend: try manager.nested()) == IPv4Address("10.78.0.2"))
        let rules = try inGuest(lpar, "nft list chain ip partctl guest_prerouting").stdout
        #expect(rules.contains("tcp dport 8081 dnat to 10.78.0.2:8080"), "\(rules)")

        // The whole set replaces the last one: none left, nothing forwarded.
        try NestedForwards.publish([], in: lparName, backend: try manager.nested())
        let gone = try TestProcess.run("/usr/bin/curl", ["-sS", "--max-time", "5", "http://\(lparAddress):8081/"])
        #expect(gone.status != 0, "\(gone)")
        #expect(!(try inGuest(lpar, "nft list chain ip partctl guest_prerouting").stdout.contains("dnat")))
    }

    @Test func anotherNetworkNameIsRefusedInAnLpar() throws {
        // Only partctl0, loopback and none exist in an LPAR. Where the profile reader does not know
        // network names yet, it refuses them itself (also exit 2, one line).
        let lpar = TestNames.unique("nnet")
        defer {
            removeTestPartition(lpar)
            try? FileManager.default.removeItem(atPath: directory)
        }
        let lparProfile = try write("ptest-nnet-lpar", "kind: lpar\nextends: lpar-minimal\n")
        try #require(try partctl("define", lpar, "--profile", lparProfile).status == 0)
        let other = try write("ptest-nnet-lan", "kind: wpar\nextends: wpar-app-web\nnetwork: lan2\n")
        let refused = try partctl("define", "\(lpar)/web", "--profile", other)
        #expect(refused.status == 2, "\(refused)")
        #expect(refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
        #expect(refused.stderr.contains("network"), "\(refused.stderr)")
        if try partctl("profile", "check", other).status == 0 {
            #expect(refused.stderr.contains("'lan2' does not exist in LPAR"), "\(refused.stderr)")
        }
        #expect(try partctl("query", "\(lpar)/web").status == 2)
    }
}
