import Foundation
import Glibc
import PartitionModel
import Testing
@testable import PartitionNetworks

/// A fresh networks root under /tmp, removed with the value.
final class TemporaryNetworksRoot {
    let path: String

    init() {
        var template = Array("/tmp/ptest-networks-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp")
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/networks"
    }

    deinit {
        let parent = String(path.dropLast("/networks".count))
        _ = try? FileManager.default.removeItem(atPath: parent)
    }
}

func network(_ name: String, _ cidr: String, bridge: String? = nil, nat: Bool = true) -> ManagedNetwork {
    // Built from its parts so that prefixes IPv4Subnet(cidr:) refuses (a /31) can be tried too.
    let parts = cidr.split(separator: "/")
    let subnet = IPv4Subnet(containing: IPv4Address(String(parts[0]))!, prefixLength: Int(parts[1])!)
    return ManagedNetwork(name: name, bridge: bridge ?? name, subnet: subnet,
                          gateway: IPv4Address(subnet.network.value + 1), nat: nat)
}

@Suite("Network registry")
struct NetworkRegistryTests {
    @Test func partctl0IsWrittenOnFirstUse() throws {
        let root = TemporaryNetworksRoot()
        var registry = NetworkRegistry(root: root.path)
        registry.bridgeAddress = nil
        #expect(access("\(root.path)/partctl0/network.json", F_OK) != 0)
        let listed = try registry.list()
        #expect(listed == [ManagedNetwork.default])
        #expect(access("\(root.path)/partctl0/network.json", F_OK) == 0)
        var status = stat()
        #expect(stat(root.path, &status) == 0 && status.st_mode & 0o777 == 0o711)
        #expect(try registry.network(named: "partctl0") == ManagedNetwork.default)
        #expect(try registry.network(named: "lab") == nil)
        #expect(try registry.network(named: "../etc") == nil)
    }

    @Test func bridgeAddressSetsTheDefault() throws {
        let network = try NetworkRegistry.defaultDefinition(bridgeAddress: "10.99.3.1/25")
        #expect(network.subnet == IPv4Subnet(cidr: "10.99.3.0/25"))
        #expect(network.gateway == IPv4Address("10.99.3.1"))
        #expect(network.name == "partctl0" && network.bridge == "partctl0" && network.nat)
        for bad in ["10.99.3.1", "10.99.3.0/24", "x/24", "10.1.1.1/31"] {
            #expect(throws: PartitionError.self) { try NetworkRegistry.defaultDefinition(bridgeAddress: bad) }
        }
    }

    @Test func createdNetworksAreListedAndRemoved() throws {
        let root = TemporaryNetworksRoot()
        var registry = NetworkRegistry(root: root.path)
        registry.bridgeAddress = nil
        let lab = network("ptest-lab", "10.231.7.0/24", nat: false)
        try registry.create(lab)
        #expect(try registry.list().map(\.name) == ["partctl0", "ptest-lab"])
        #expect(try registry.network(named: "ptest-lab") == lab)
        #expect(try registry.network(onBridge: "ptest-lab") == lab)
        try registry.remove(named: "ptest-lab")
        #expect(try registry.network(named: "ptest-lab") == nil)
        #expect(access("\(root.path)/ptest-lab", F_OK) != 0)
    }

    @Test func removeIsRefusedWhileUsed() throws {
        let root = TemporaryNetworksRoot()
        var registry = NetworkRegistry(root: root.path)
        registry.bridgeAddress = nil
        let lab = network("ptest-lab", "10.231.8.0/24")
        try registry.create(lab)
        var tornDown = false
        do {
            try registry.remove(named: "ptest-lab", users: ["web"]) { _ in tornDown = true }
            Issue.record("removed while used")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("used by web"), "\(error.message)")
        }
        // A lease in the book counts as a user too.
        let leases = [NetworkLease(partition: "lp2", mac: "52:54:00:00:00:01", address: IPv4Address("10.231.8.2")!, fixed: false)]
        try Data(JSONEncoder().encode(leases)).write(to: URL(fileURLWithPath: "\(root.path)/ptest-lab/leases.json"))
        #expect(try registry.leasedPartitions(of: "ptest-lab") == ["lp2"])
        do {
            try registry.remove(named: "ptest-lab") { _ in tornDown = true }
            Issue.record("removed while leased")
        } catch {
            #expect(error.message.contains("used by lp2"), "\(error.message)")
        }
        #expect(!tornDown)
        #expect(try registry.network(named: "ptest-lab") == lab)
        do {
            try registry.remove(named: "ptest-nothing")
            Issue.record("removed a network that does not exist")
        } catch {
            #expect(error.code == .notFound)
        }
    }

    @Test func partctl0MayBeRemovedAndComesBack() throws {
        let root = TemporaryNetworksRoot()
        var registry = NetworkRegistry(root: root.path)
        registry.bridgeAddress = "10.99.4.1/24"
        _ = try registry.list()
        try registry.remove(named: "partctl0")
        #expect(access("\(root.path)/partctl0", F_OK) != 0)
        #expect(try registry.network(named: "partctl0")?.subnet == IPv4Subnet(cidr: "10.99.4.0/24"))
    }

    static let refusals: [(ManagedNetwork, String)] = [
        (network("Lab", "10.231.9.0/24"), "uppercase"),
        (network("none", "10.231.9.0/24"), "cannot name a network"),
        (network("loopback", "10.231.9.0/24"), "cannot name a network"),
        (network("ptest-a-long-name", "10.231.9.0/24"), "at most 15"),
        (network("ptest-b", "10.231.9.0/24", bridge: "br/0"), "not a network interface name"),
        (network("ptest-c", "10.231.9.0/31"), "/8 to /30"),
        (network("partctl0", "10.231.9.0/24"), "exists already"),
        (network("ptest-d", "10.231.9.0/24", bridge: "partctl0"), "bridge of the network 'partctl0'"),
        (network("ptest-e", "10.77.0.128/25"), "overlaps 10.77.0.0/24 of the network 'partctl0'"),
        (network("ptest-f", "10.0.0.0/8"), "overlaps 10.77.0.0/24"),
        (network("default", "10.231.9.0/24"), "libvirt's network 'default'"),
        (network("ptest-g", "10.231.9.0/24", bridge: "virbr0"), "bridge of libvirt's network 'default'"),
        (network("ptest-h", "192.168.122.64/26"), "overlaps 192.168.122.0/24 of libvirt's network 'default'"),
        (network("ptest-i", "172.30.0.0/16"), "the host's route to 172.30.5.0/24 via eth7"),
        (network("ptest-j", "10.231.9.0/24", bridge: "eth7"), "interface named eth7"),
    ]

    @Test(arguments: refusals)
    func createRefusals(network: ManagedNetwork, words: String) {
        let existing = [ManagedNetwork.default]
        let foreign = [ForeignNetwork(name: "default", bridge: "virbr0", subnets: [IPv4Subnet(cidr: "192.168.122.0/24")!])]
        let routes = [HostRoute(interface: "eth7", subnet: IPv4Subnet(cidr: "172.30.5.0/24")!),
                      HostRoute(interface: "partctl0", subnet: IPv4Subnet(cidr: "10.77.0.0/24")!)]
        let problem = NetworkRegistry.problem(creating: network, existing: existing, foreign: foreign, routes: routes,
                                              interfaceExists: { $0 == "eth7" || $0 == "partctl0" })
        #expect(problem?.contains(words) == true, "\(problem ?? "accepted")")
        #expect(problem?.contains("\n") != true)
    }

    @Test func aFreeNetworkIsAccepted() {
        let problem = NetworkRegistry.problem(creating: network("ptest-k", "10.231.10.0/24"), existing: [.default], foreign: [],
                                              routes: [HostRoute(interface: "partctl0", subnet: IPv4Subnet(cidr: "10.77.0.0/24")!)],
                                              interfaceExists: { _ in false })
        #expect(problem == nil)
    }

    /// The real create() reads the host: a subnet of one of its routes and an interface it has are refused.
    @Test func createChecksTheHost() throws {
        let root = TemporaryNetworksRoot()
        var registry = NetworkRegistry(root: root.path)
        registry.bridgeAddress = nil
        do {
            try registry.create(network("ptest-lo", "10.231.11.0/24", bridge: "lo"))
            Issue.record("a bridge named lo was accepted")
        } catch {
            #expect(error.code == .invalidArgument && error.message.contains("interface named lo"), "\(error.message)")
        }
        if let route = HostNetworkFacts.routes().first(where: { $0.subnet.prefixLength <= 30 && $0.interface != "partctl0" }) {
            let subnet = IPv4Subnet(containing: route.subnet.network, prefixLength: max(route.subnet.prefixLength, 8))
            do {
                try registry.create(network("ptest-route", subnet.description))
                Issue.record("\(subnet) was accepted over the host's route via \(route.interface)")
            } catch {
                #expect(error.code == .invalidArgument, "\(error.message)")
            }
        }
        #expect(try registry.list().map(\.name) == ["partctl0"])
        #expect(access("\(root.path)/ptest-lo", F_OK) != 0)
    }

    @Test func routesAreParsed() {
        let text = """
        Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
        eth0\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
        eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
        partctl0\t00004D0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
        """
        let routes = HostNetworkFacts.parseRoutes(text)
        #expect(routes == [HostRoute(interface: "eth0", subnet: IPv4Subnet(cidr: "192.168.0.0/24")!),
                           HostRoute(interface: "partctl0", subnet: IPv4Subnet(cidr: "10.77.0.0/24")!)])
    }

    @Test func rangesOfTheSmallestSubnet() {
        let small = network("ptest-s", "10.231.12.0/30")
        #expect(small.dynamicRange.lowerBound <= small.dynamicRange.upperBound)
        #expect(!small.leasedRange.overlaps(small.dynamicRange))
        #expect(ManagedNetwork.default.dynamicRange == IPv4Address("10.77.0.192")!...IPv4Address("10.77.0.254")!)
    }
}
