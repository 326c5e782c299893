import PartitionModel
import Testing
@testable import PartitionCore

/// Addresses of nested WPARs on their LPAR's guest network (partctl0, 10.78.0.0/24), chosen on the
/// host at define: the lowest free one, or a fixed one checked; and the refusals, one line each.
@Suite struct NestedGuestNetworkTests {
    let lpar = try! PartitionName("lp1")

    func definitions(_ taken: [String: String]) -> NestedDefinitions {
        var definitions = NestedDefinitions()
        for (name, address) in taken.sorted(by: { $0.key < $1.key }) {
            definitions.entries.append(.init(name: try! PartitionName(name), profileJSON: "{}", address: IPv4Address(address)))
        }
        return definitions
    }

    @Test func theLowestFreeAddressIsHandedOut() throws {
        let web = try PartitionName("web")
        #expect(try NestedGuestNetwork.assign(nil, to: web, lpar: lpar, definitions: NestedDefinitions()) == IPv4Address("10.78.0.2"))
        let some = definitions(["a": "10.78.0.2", "b": "10.78.0.3", "c": "10.78.0.5"])
        #expect(try NestedGuestNetwork.assign(nil, to: web, lpar: lpar, definitions: some) == IPv4Address("10.78.0.4"))
        // Its own address again (an activation after modify) is not "taken".
        #expect(try NestedGuestNetwork.assign(IPv4Address("10.78.0.2"), to: try PartitionName("a"), lpar: lpar, definitions: some) == IPv4Address("10.78.0.2"))
    }

    @Test func aFullNetworkIsRefused() throws {
        var all: [String: String] = [:]
        for host in 2...254 { all["w\(host)"] = "10.78.0.\(host)" }
        let error = #expect(throws: PartitionError.self) {
            try NestedGuestNetwork.assign(nil, to: try PartitionName("web"), lpar: lpar, definitions: definitions(all))
        }
        #expect(error?.code == .outOfRange)
        #expect(error?.message.contains("no free address") == true)
    }

    @Test func fixedAddressesAreChecked() throws {
        let web = try PartitionName("web")
        let taken = definitions(["db": "10.78.0.7"])
        let cases: [(String, String)] = [
            ("10.1.2.3", "is outside partctl0 (10.78.0.0/24)"),
            ("10.78.0.1", "is the gateway address of partctl0"),
            ("10.78.0.0", "is the network address of partctl0"),
            ("10.78.0.255", "is the broadcast address of partctl0"),
            ("10.78.0.7", "is already used by its WPAR 'db'"),
        ]
        for (address, expected) in cases {
            let error = #expect(throws: PartitionError.self) {
                try NestedGuestNetwork.assign(IPv4Address(address), to: web, lpar: lpar, definitions: taken)
            }
            #expect(error?.code == .invalidArgument, "\(address)")
            #expect(error?.message.contains(expected) == true, "\(address): \(error?.message ?? "")")
            #expect(error?.message.contains("\n") == false)
        }
        #expect(try NestedGuestNetwork.assign(IPv4Address("10.78.0.200"), to: web, lpar: lpar, definitions: taken) == IPv4Address("10.78.0.200"))
    }

    @Test func onlyTheGuestNetworkExistsInAnLpar() throws {
        #expect(try NestedGuestNetwork.request(.loopback, lpar: lpar) == .none)
        #expect(try NestedGuestNetwork.request(.none, lpar: lpar) == .none)
        #expect(try NestedGuestNetwork.request(.managed(.init(name: "partctl0")), lpar: lpar) == .some(nil))
        #expect(try NestedGuestNetwork.request(.managed(.init(name: "partctl0", address: IPv4Address("10.78.0.9"))), lpar: lpar)
                == .some(IPv4Address("10.78.0.9")))
        // The old form on the guest's bridge: its address is kept and checked like a fixed one.
        #expect(try NestedGuestNetwork.request(.bridge(.init(bridge: "partctl0", address: "10.78.0.4/24", gateway: "10.78.0.1")), lpar: lpar)
                == .some(IPv4Address("10.78.0.4")))
        #expect(try NestedGuestNetwork.request(.bridge(.init(bridge: "br1", address: "10.9.0.4/24")), lpar: lpar) == .none)
        let error = #expect(throws: PartitionError.self) { try NestedGuestNetwork.request(.managed(.init(name: "lan2")), lpar: lpar) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("'lan2' does not exist in LPAR 'lp1'") == true)
    }

    @Test func theAddressIsKeptInTheNestedDefinition() throws {
        let stored = definitions(["web": "10.78.0.2"])
        var plain = NestedDefinitions()
        plain.entries.append(.init(name: try PartitionName("sh"), profileJSON: "{}"))
        let both = NestedDefinitions.Entry(name: try PartitionName("sh"), profileJSON: "{}")
        var merged = stored
        merged.entries.append(both)
        let element = merged.element(prefix: "partctl:")
        let back = try NestedDefinitions(element: element, lpar: "lp1")
        #expect(back == merged)
        #expect(back.entry(try PartitionName("web"))?.address == IPv4Address("10.78.0.2"))
        #expect(back.entry(try PartitionName("sh"))?.address == nil)
        #expect(element.elements(named: "wpar").map { $0.attribute("address") } == ["10.78.0.2", nil])
    }

    @Test func theEngineGetsAVethIntoTheGuestBridgeThroughItsGateway() {
        let attachment = NestedGuestNetwork.attachment(IPv4Address("10.78.0.9")!)
        #expect(attachment.bridge == "partctl0")
        #expect(attachment.address == "10.78.0.9/24")
        #expect(attachment.gateway == "10.78.0.1")
    }
}
