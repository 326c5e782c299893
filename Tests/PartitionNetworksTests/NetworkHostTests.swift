import Foundation
import Glibc
import PartctlTestSupport
import PartitionModel
import Testing
@testable import PartitionNetworks

/// Managed networks on this host, as root, under the test lock: real bridges, dnsmasq and nftables
/// in partctl's own networks root ($PARTCTL_ROOT/networks), every network and namespace named
/// `ptest-…` / `pt…` and removed at the end, also when the test fails.
@Suite("Managed networks on this host", .serialized)
struct NetworkHostTests {
    static let root = NetworkRegistry.root(stateRoot: ProcessInfo.processInfo.environment["PARTCTL_ROOT"] ?? "/var/lib/partctl")

    /// `program arguments`, its status and output.
    @discardableResult
    static func run(_ arguments: [String], timeout: Double = 30) throws -> ProcessResult {
        try TestProcess.run("/usr/bin/env", arguments, timeout: timeout)
    }

    static func check(_ arguments: [String]) throws {
        let started = monotonicSeconds()
        let result = try run(arguments)
        if ProcessInfo.processInfo.environment["NETTEST_TRACE"] != nil { print("TRACE \(monotonicSeconds() - started) \(arguments)") }
        guard result.status == 0 else { throw TestFailure("\(arguments.joined(separator: " ")): \(result)") }
    }

    /// A managed network of the test's own on a free 10.231.x.0/24, removed (host side too) at the end.
    final class TestNetwork {
        let network: ManagedNetwork
        var registry: NetworkRegistry { NetworkRegistry(root: NetworkHostTests.root) }

        init(nat: Bool) throws {
            network = try TestNetwork.create(nat: nat)
        }

        private static func create(nat: Bool) throws -> ManagedNetwork {
            let registry = NetworkRegistry(root: NetworkHostTests.root)
            for _ in 0..<20 {
                let name = "ptest-" + String(UInt32.random(in: 0x10_0000...0xff_ffff), radix: 16)
                let subnet = IPv4Subnet(cidr: "10.231.\(UInt32.random(in: 100...199)).0/24")!
                let candidate = ManagedNetwork(name: name, bridge: name, subnet: subnet,
                                               gateway: IPv4Address(subnet.network.value + 1), nat: nat)
                let refusal: PartitionError
                do {
                    try registry.create(candidate)
                    return candidate
                } catch {
                    refusal = error
                }
                // Taken by another network or a route: another subnet.
                guard refusal.code == .invalidArgument else { throw refusal }
            }
            throw TestFailure("no free test subnet in 10.231.100-199.0/24")
        }

        deinit {
            let started = monotonicSeconds()
            TestNetwork.remove(network.name)
            if ProcessInfo.processInfo.environment["NETTEST_TRACE"] != nil { print("TRACE \(monotonicSeconds() - started) remove") }
        }

        static func remove(_ name: String) {
            precondition(TestNames.isTestName(name))
            do {
                try NetworkRegistry(root: NetworkHostTests.root).remove(named: name, tearDown: tearDown)
            } catch {
                Issue.record("could not remove the test network \(name): \(error)")
            }
        }

        static func tearDown(_ network: ManagedNetwork) throws(PartitionError) {
            try NetworkHost.tearDown(network, root: NetworkHostTests.root)
        }

        func address(_ host: UInt32) -> IPv4Address { IPv4Address(network.subnet.network.value + host) }
    }

    /// A network namespace with one veth whose peer is on `bridge` (or has `hostAddress` on the
    /// host), deleted at the end.
    final class TestNamespace {
        let name: String
        let hostSide: String

        init(bridge: String?, address: String?, gateway: IPv4Address?, mac: String? = nil, hostAddress: String? = nil) throws {
            let tag = String(UInt32.random(in: 0x10_0000...0xff_ffff), radix: 16)
            name = "ptest-ns-\(tag)"
            hostSide = "pt\(tag)h"
            try NetworkHostTests.check(["ip", "netns", "add", name])
            do {
                try NetworkHostTests.check(["ip", "link", "add", hostSide, "type", "veth", "peer", "name", "pt\(tag)n", "netns", name])
                try NetworkHostTests.check(["ip", "-n", name, "link", "set", "pt\(tag)n", "name", "eth0"])
                if let mac { try NetworkHostTests.check(["ip", "-n", name, "link", "set", "eth0", "address", mac]) }
                if let bridge { try NetworkHostTests.check(["ip", "link", "set", hostSide, "master", bridge]) }
                if let hostAddress { try NetworkHostTests.check(["ip", "address", "add", hostAddress, "dev", hostSide]) }
                try NetworkHostTests.check(["ip", "link", "set", hostSide, "up"])
                for command in [["link", "set", "lo", "up"], ["link", "set", "eth0", "up"]] {
                    try NetworkHostTests.check(["ip", "-n", name] + command)
                }
                if let address { try NetworkHostTests.check(["ip", "-n", name, "address", "add", address, "dev", "eth0"]) }
                if let gateway { try NetworkHostTests.check(["ip", "-n", name, "route", "add", "default", "via", "\(gateway)"]) }
            } catch {
                cleanUp()
                throw error
            }
        }

        deinit { cleanUp() }

        private func cleanUp() {
            let started = monotonicSeconds()
            _ = try? NetworkHostTests.run(["ip", "link", "delete", hostSide])
            _ = try? NetworkHostTests.run(["ip", "netns", "delete", name])
            if ProcessInfo.processInfo.environment["NETTEST_TRACE"] != nil { print("TRACE \(monotonicSeconds() - started) cleanup") }
        }

        func exec(_ arguments: [String], timeout: Double = 30) throws -> ProcessResult {
            let started = monotonicSeconds()
            defer { if ProcessInfo.processInfo.environment["NETTEST_TRACE"] != nil { print("TRACE \(monotonicSeconds() - started) \(arguments)") } }
            return try NetworkHostTests.run(["ip", "netns", "exec", name] + arguments, timeout: timeout)
        }

        /// Whether an echo reply comes back within 3 seconds (the first request may wait for ARP).
        /// busybox's ping waits far longer than its -W/-w for a lost reply: it is killed at 3 seconds.
        func reaches(_ address: IPv4Address) throws -> Bool {
            let result = try exec(["/bin/busybox", "ping", "-c", "1", "-W", "3", "\(address)"], timeout: 3)
            return result.status == 0 && !result.timedOut
        }
    }

    static func requireRoot() throws {
        guard getuid() == 0 else { throw TestFailure("these tests need root (and the test lock)") }
    }

    @Test func dnsmasqKilledIsRestartedWithItsLeases() throws {
        try Self.requireRoot()
        let lab = try TestNetwork(nat: true)
        try NetworkHost.ensureUp(lab.network, root: Self.root)
        let dnsmasq = DnsmasqProcess(directory: lab.registry.directory(of: lab.network.name))
        let first = try #require(dnsmasq.runningPid())
        #expect(NetworkHost.state(of: lab.network, root: Self.root).isUp)

        // A DHCP client on the bridge gets an address of dnsmasq's dynamic range.
        let mac = "52:54:00:3a:00:\(String(UInt8.random(in: 16...250), radix: 16))"
        let client = try TestNamespace(bridge: lab.network.bridge, address: nil, gateway: nil, mac: mac)
        let dhcp = try client.exec(["/bin/busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-t", "5", "-T", "1", "-s", "/bin/true"], timeout: 30)
        #expect(dhcp.status == 0, "\(dhcp)")
        #expect(waitUntil(timeout: 5) { (try? String(contentsOfFile: dnsmasq.leasePath, encoding: .utf8))?.contains(mac) == true })
        let leaseLine = try #require(try String(contentsOfFile: dnsmasq.leasePath, encoding: .utf8).split(separator: "\n").first { $0.contains(mac) })
        let leased = try #require(IPv4Address(String(leaseLine.split(separator: " ")[2])))
        #expect(lab.network.dynamicRange.contains(leased))

        kill(first, SIGKILL)
        #expect(waitUntil(timeout: 5) { dnsmasq.runningPid() == nil })
        #expect(!NetworkHost.state(of: lab.network, root: Self.root).isUp)

        try NetworkHost.ensureUp(lab.network, root: Self.root)
        let second = try #require(dnsmasq.runningPid())
        #expect(second != first)
        #expect(try String(contentsOfFile: dnsmasq.leasePath, encoding: .utf8).contains(mac))
        // The restarted dnsmasq knows the lease: the same client gets the same address again.
        let again = try client.exec(["/bin/busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-t", "5", "-T", "1", "-s", "/bin/true"], timeout: 30)
        #expect(again.status == 0 && again.stdout.contains("\(leased)") || again.stderr.contains("\(leased)"), "\(again)")

        // Cheap and idempotent when up: the same dnsmasq stays.
        try NetworkHost.ensureUp(lab.network, root: Self.root)
        #expect(dnsmasq.runningPid() == second)
    }

    @Test func natReachesOutsideAndAnIsolatedNetworkDoesNot() throws {
        try Self.requireRoot()
        let natted = try TestNetwork(nat: true)
        let isolated = try TestNetwork(nat: false)
        try NetworkHost.ensureUp(natted.network, root: Self.root)
        try NetworkHost.ensureUp(isolated.network, root: Self.root)
        // "Outside": a namespace behind a veth of the host, 10.231.250.0/30, with no route back to
        // the managed subnets: only a masqueraded packet gets an answer.
        let outside = try TestNamespace(bridge: nil, address: "10.231.250.2/30", gateway: nil, hostAddress: "10.231.250.1/30")
        let outsideAddress = IPv4Address("10.231.250.2")!
        let inNat = try TestNamespace(bridge: natted.network.bridge, address: "\(natted.address(10))/24", gateway: natted.network.gateway)
        let inIsolated = try TestNamespace(bridge: isolated.network.bridge, address: "\(isolated.address(10))/24", gateway: isolated.network.gateway)

        #expect(try inNat.reaches(natted.network.gateway))
        #expect(try inNat.reaches(outsideAddress), "the NAT network does not reach outside")
        // Now the outside could answer the isolated subnet directly: only partctl's rule stops it.
        try Self.check(["ip", "-n", outside.name, "route", "add", "default", "via", "10.231.250.1"])
        #expect(try inIsolated.reaches(isolated.network.gateway), "the isolated network does not reach its gateway")
        #expect(try !inIsolated.reaches(outsideAddress), "the isolated network reaches outside")
        #expect(try !outside.reaches(isolated.address(10)), "outside reaches into the isolated network")
        #expect(try inNat.reaches(outsideAddress))
        withExtendedLifetime((outside, inNat, inIsolated)) {}
    }

    @Test func networksDoNotReachEachOther() throws {
        try Self.requireRoot()
        let one = try TestNetwork(nat: true)
        let two = try TestNetwork(nat: true)
        try NetworkHost.ensureUp(one.network, root: Self.root)
        try NetworkHost.ensureUp(two.network, root: Self.root)
        let a = try TestNamespace(bridge: one.network.bridge, address: "\(one.address(10))/24", gateway: one.network.gateway)
        let b = try TestNamespace(bridge: two.network.bridge, address: "\(two.address(10))/24", gateway: two.network.gateway)
        let a2 = try TestNamespace(bridge: one.network.bridge, address: "\(one.address(11))/24", gateway: one.network.gateway)
        #expect(try a.reaches(one.address(11)), "two partitions on one network do not see each other")
        #expect(try !a.reaches(two.address(10)), "one network reaches into another")
        #expect(try !b.reaches(one.address(10)), "one network reaches into another")
        withExtendedLifetime((a, b, a2)) {}
    }

    @Test func aRemovedNetworkLeavesNothingInTheTable() throws {
        try Self.requireRoot()
        var lab: TestNetwork? = try TestNetwork(nat: true)
        let network = lab!.network
        try NetworkHost.ensureUp(network, root: Self.root)
        let before = try Self.run(["nft", "list", "table", "ip", "partctl"])
        #expect(before.stdout.contains("\"\(network.bridge)\"") && before.stdout.contains("\(network.subnet)"), "\(before)")
        let pid = DnsmasqProcess(directory: lab!.registry.directory(of: network.name)).runningPid()
        #expect(pid != nil)
        lab = nil  // removes it, host side too
        let after = try Self.run(["nft", "list", "table", "ip", "partctl"])
        #expect(!after.stdout.contains(network.bridge) && !after.stdout.contains("\(network.subnet)"), "\(after)")
        #expect(!HostNetworkFacts.interfaceExists(network.bridge))
        #expect(waitUntil(timeout: 5) { pid.map { kill($0, 0) != 0 } ?? true }, "its dnsmasq still runs")
        #expect(access(NetworkRegistry(root: Self.root).directory(of: network.name), F_OK) != 0)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
