import Foundation
import PartctlTestSupport
import Testing

/// Partitions on partctl's managed network partctl0 (issue 11): a host WPAR and an LPAR get their
/// addresses from the lease book by DHCP and see each other; a fixed address in conflict is
/// refused with nothing made; remove gives the address back. Runs as root under the test lock.
@Suite(.serialized) struct NetworkAttachTests {
    static let network = "partctl0"
    static let book = "/var/lib/partctl/networks/partctl0"

    struct Lease: Decodable, Equatable {
        var partition: String
        var mac: String
        var address: String
        var fixed: Bool
    }

    static func leases(of partition: String) throws -> [Lease] {
        guard let data = FileManager.default.contents(atPath: book + "/leases.json") else { return [] }
        return try JSONDecoder().decode([Lease].self, from: data).filter { $0.partition == partition }
    }

    static func reservation(_ lease: Lease) -> String? {
        try? String(contentsOfFile: book + "/hosts/" + lease.mac.replacingOccurrences(of: ":", with: "-"), encoding: .utf8)
    }

    static func ip(_ name: String) throws -> String {
        try CLI.partctl("query", name, "-F", "ip").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A profile file of its own for a test, removed with the cleanup.
    static func profile(_ text: String, cleanup: Cleanup) throws -> String {
        let path = NSTemporaryDirectory() + TestNames.unique("netprof") + ".yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        cleanup.add { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    @Test func aHostWparGetsItsLeasedAddressByDHCP() throws {
        let name = TestNames.unique("netw")
        let cleanup = Cleanup()
        cleanup.add { removeTestPartition(name) }
        let define = try CLI.partctl("define", name, "--profile", "wpar-system", "-i", "network=\(Self.network)")
        try #require(define.status == 0, "\(define)")
        let lease = try #require(try Self.leases(of: name).first)
        #expect(lease.mac.hasPrefix("02:") && !lease.fixed)
        #expect(Self.reservation(lease) == "\(lease.mac),\(lease.address),\(name)\n")
        let activate = try CLI.partctl("activate", name)
        try #require(activate.status == 0, "\(activate)")
        #expect(try Self.ip(name) == lease.address)
        let eth0 = try CLI.partctl("login", name, "--", "ip", "-4", "addr", "show", "eth0")
        #expect(eth0.stdout.contains("link/ether \(lease.mac)") || eth0.stdout.contains("inet \(lease.address)/24"), "\(eth0)")
        // dnsmasq answers eth0's MAC with exactly the leased address.
        let dhcp = try CLI.partctl("login", name, "--", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "5", "-T", "1", "-s", "/bin/true")
        #expect(dhcp.stdout.contains("lease of \(lease.address) obtained") || dhcp.stderr.contains("lease of \(lease.address) obtained"), "\(dhcp)")
        let ping = try CLI.partctl("login", name, "--", "ping", "-c", "1", "-W", "3", "10.77.0.1")
        #expect(ping.status == 0, "\(ping)")
        // query, tree and --json show it.
        #expect(try CLI.partctl("query", "-F", "path,state,ip").stdout.contains("\(name),running,\(lease.address)"))
        #expect(try CLI.partctl("tree").stdout.contains(lease.address))
        #expect(try CLI.partctl("query", name, "--json").stdout.contains("\"ip\" : \"\(lease.address)\"")
                || CLI.partctl("query", name, "--json").stdout.contains("\"ip\":\"\(lease.address)\""))
        // remove gives it back, reservation and all.
        #expect(try CLI.partctl("remove", name, "--force").status == 0)
        #expect(try Self.leases(of: name).isEmpty)
        #expect(Self.reservation(lease) == nil)
        // dnsmasq's own lease of the DHCP exchange above ends too (DHCPRELEASE), so the address is
        // free for another MAC at once, not an hour later.
        #expect(!Self.dnsmasqHolds(lease), "dnsmasq still leases \(lease.address) to \(lease.mac)")
    }

    static func dnsmasqHolds(_ lease: Lease) -> Bool {
        let text = (try? String(contentsOfFile: book + "/dnsmasq.leases", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").contains { $0.contains(" \(lease.mac) \(lease.address) ") }
    }

    @Test func aConflictingStaticAddressIsRefusedWithNothingMade() throws {
        let holder = TestNames.unique("netholder")
        let other = TestNames.unique("netother")
        let cleanup = Cleanup()
        cleanup.add { removeTestPartition(holder); removeTestPartition(other) }
        try #require(try CLI.partctl("define", holder, "--profile", "wpar-system", "-i", "network=\(Self.network)").status == 0)
        let taken = try #require(try Self.leases(of: holder).first).address
        let refusals: [(String, [String])] = [
            ("network: {name: partctl0, address: \(taken)}", ["\(taken) on partctl0 is already leased to \(holder)."]),
            ("network: {name: partctl0, address: 10.99.0.5}", ["network.address", "10.99.0.5 is not in partctl0's subnet 10.77.0.0/24."]),
            ("network: {name: partctl0, address: 10.77.0.1}", ["gateway"]),
            // The complaint: the old form with an address already in use.
            ("network: {bridge: partctl0, address: \(taken)/24, gateway: 10.77.0.1}", ["already leased to \(holder)"]),
            ("network: ptest-nonet", ["no managed network 'ptest-nonet'", "partctl network list"]),
        ]
        for (line, words) in refusals {
            let file = try Self.profile("extends: wpar-system\n\(line)\n", cleanup: cleanup)
            expectRefusal(try CLI.partctl("define", other, "--profile", file), status: 2, mentioning: words)
            #expect(try CLI.partctl("query", other).status == 2, "\(other) was defined by: \(line)")
            #expect(try Self.leases(of: other).isEmpty, "a lease was left by: \(line)")
        }
        // An LPAR is refused the same way, on a network that is neither managed nor libvirt's.
        let domains = try CLI.domainNames()
        expectRefusal(try CLI.partctl("define", other, "--profile", "lpar-minimal", "-i", "network=ptest-nonet"), status: 2,
                      mentioning: ["'ptest-nonet' is neither a managed network nor a libvirt network", "partctl network list"])
        #expect(try CLI.domainNames() == domains)
        // A free fixed address is taken, and given back at remove.
        let free = try Self.profile("extends: wpar-system\nnetwork: {name: partctl0, address: 10.77.0.190}\n", cleanup: cleanup)
        try #require(try CLI.partctl("define", other, "--profile", free).status == 0)
        #expect(try Self.leases(of: other).map(\.address) == ["10.77.0.190"])
        #expect(try Self.leases(of: other).first?.fixed == true)
        #expect(try CLI.partctl("remove", other).status == 0)
        #expect(try CLI.partctl("remove", holder).status == 0)
        #expect(try Self.leases(of: other).isEmpty && Self.leases(of: holder).isEmpty)
    }

    /// A lease whose partition is gone (a command killed during remove, after the definition went)
    /// does not block its address for good: the next define that wants it drops the leftover.
    @Test func aLeftoverLeaseOfAPartitionThatIsGoneGivesWay() throws {
        let ghost = TestNames.unique("netghost")
        let other = TestNames.unique("netnext")
        let cleanup = Cleanup()
        cleanup.add { removeTestPartition(ghost); removeTestPartition(other) }
        let file = try Self.profile("extends: wpar-system\nnetwork: {name: partctl0, address: 10.77.0.189}\n", cleanup: cleanup)
        try #require(try CLI.partctl("define", ghost, "--profile", file).status == 0)
        try #require(try Self.leases(of: ghost).map(\.address) == ["10.77.0.189"])
        // The definition goes behind partctl's back; its lease stays.
        try FileManager.default.removeItem(atPath: "/var/lib/partctl/wpars/\(ghost)")
        #expect(try CLI.partctl("query", ghost).status == 2)
        let define = try CLI.partctl("define", other, "--profile", file)
        #expect(define.status == 0, "\(define)")
        #expect(try Self.leases(of: ghost).isEmpty)
        #expect(try Self.leases(of: other).map(\.address) == ["10.77.0.189"])
    }

    @Test func anLparOnTheNetworkGetsItsLeaseAndTheWparReachesIt() throws {
        let lpar = TestNames.unique("netl")
        let wpar = TestNames.unique("netlw")
        let cleanup = Cleanup()
        cleanup.add { CLI.removeDomain(lpar); removeTestPartition(wpar) }
        let define = try CLI.partctl("define", lpar, "--profile", "lpar-minimal", "-i", "network=\(Self.network)")
        try #require(define.status == 0, "\(define)")
        let lease = try #require(try Self.leases(of: lpar).first)
        #expect(lease.mac.hasPrefix("52:54:00:"))
        let xml = try CLI.virsh("dumpxml", lpar).stdout
        #expect(xml.contains("<interface type='bridge'>") && xml.contains("<mac address='\(lease.mac)'/>")
                && xml.contains("<source bridge='partctl0'/>"), "\(xml)")
        try #require(try CLI.partctl("activate", lpar).status == 0, "\(CLI.consoleLog(lpar))")
        #expect(try Self.ip(lpar).split(separator: " ").first.map(String.init) == lease.address)
        try #require(try CLI.partctl("define", wpar, "--profile", "wpar-system", "-i", "network=\(Self.network)").status == 0)
        try #require(try CLI.partctl("activate", wpar).status == 0)
        // The guest asks by DHCP at boot (udhcpc) and is given the reserved address.
        let reached = try CLI.waitFor(120, interval: 1) {
            try CLI.partctl("login", wpar, "--", "ping", "-c", "1", "-W", "1", lease.address).status == 0
        }
        #expect(reached, "the WPAR did not reach the LPAR at \(lease.address): \(CLI.consoleLog(lpar).suffix(2000))")
        #expect(try CLI.partctl("remove", lpar, "--force").status == 0)
        #expect(try Self.leases(of: lpar).isEmpty)
        #expect(Self.reservation(lease) == nil)
        #expect(!Self.dnsmasqHolds(lease), "dnsmasq still leases \(lease.address) to \(lease.mac)")
    }
}
