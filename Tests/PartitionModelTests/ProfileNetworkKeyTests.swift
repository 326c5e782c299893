import Foundation
import Testing
@testable import PartitionModel
@testable import PartitionProfiles

/// `network:` on managed networks (issue 11): a WPAR's `NAME` / `{name, address}`, an LPAR's
/// `NAME` shorthand for one adapter, and `-i network=NAME` for both.
@Suite struct ProfileNetworkKeyTests {
    func resolve(_ yaml: String, overrides: String? = nil) throws -> ResolvedProfile {
        let fixture = try ProfileFixture()
        try fixture.write("ptest-net", yaml)
        return try fixture.store.resolve("ptest-net", overrides: overrides.map { try ProfileOverrides.parse($0) } ?? ProfileOverrides())
    }

    @Test func aWparNamesAManagedNetwork() throws {
        let plain = try resolve(validWpar + "network: partctl0\n")
        #expect(plain.wpar?.network == .managed(WparManagedNetwork(name: "partctl0")))
        #expect(plain.origin(of: "network")?.value == "partctl0")
        let fixed = try resolve(validWpar + "network: {name: lab, address: 10.88.0.50}\n")
        #expect(fixed.wpar?.network == .managed(WparManagedNetwork(name: "lab", address: IPv4Address("10.88.0.50"))))
        #expect(fixed.origin(of: "network.address")?.value == "10.88.0.50")
        // The old form stays.
        let bridged = try resolve(validWpar + "network: {bridge: partctl0, address: 10.77.0.2/24, gateway: 10.77.0.1}\n")
        #expect(bridged.wpar?.network == .bridge(WparBridgeNetwork(bridge: "partctl0", address: "10.77.0.2/24", gateway: "10.77.0.1")))
    }

    @Test func theStoredProfileKeepsTheManagedNetwork() throws {
        let resolved = try resolve(validWpar + "network: {name: partctl0, address: 10.77.0.50}\n")
        let json = try JSONEncoder().encode(resolved.wpar!.network)
        #expect(try JSONDecoder().decode(WparNetwork.self, from: json) == resolved.wpar!.network)
    }

    static let badWparNetworks: [(String, String, String)] = [
        ("network: {name: partctl0, address: 10.77.0.300}\n", "network.address", "'10.77.0.300' is not an IPv4 address"),
        ("network: {name: partctl0, address: 10.77.0.5/24}\n", "network.address", "no prefix length"),
        ("network: {name: partctl0, adress: 10.77.0.5}\n", "network.adress", "did you mean 'address'?"),
        ("network: {name: partctl0, gateway: 10.77.0.1}\n", "network.gateway", "belongs to the {bridge, address, gateway} form"),
        ("network: {address: 10.77.0.5}\n", "network.name", "is required"),
        ("network: {name: partctl0, bridge: partctl0, address: 10.77.0.2/24}\n", "network.name", "not both"),
        ("network: \"a b\"\n", "network", "only letters, digits"),
        ("network: [partctl0]\n", "network", "expected none, loopback, a managed network"),
    ]

    @Test(arguments: badWparNetworks)
    func refusesABadWparNetwork(_ line: String, _ keyPath: String, _ fragment: String) throws {
        let fixture = try ProfileFixture()
        let file = try fixture.write("ptest-bad", validWpar + line)
        expectProfileError(fixture.failure("ptest-bad"), place: file, keyPath: keyPath, fragment)
    }

    @Test func anLparNamesOneNetwork() throws {
        let resolved = try resolve(validLpar + "network: partctl0\n")
        #expect(resolved.lpar?.network == [NetworkSpec(attachment: .network("partctl0"))])
        #expect(resolved.origin(of: "network[0].network")?.value == "partctl0")
        // The list form is unchanged.
        let listed = try resolve(validLpar + "network: [{network: partctl0, mac: \"52:54:00:00:00:01\"}, {bridge: br0}]\n")
        #expect(listed.lpar?.network == [NetworkSpec(attachment: .network("partctl0"), mac: "52:54:00:00:00:01"),
                                         NetworkSpec(attachment: .bridge("br0"))])
    }

    @Test func dashINetworkReplacesTheAdaptersOrTheWparNetwork() throws {
        let lpar = try resolve(validLpar + "network: [{network: default}, {bridge: br0}]\n", overrides: "network=partctl0")
        #expect(lpar.lpar?.network == [NetworkSpec(attachment: .network("partctl0"))])
        #expect(lpar.origin(of: "network[0].network")?.isCommandLine == true)
        let wpar = try resolve(validWpar + "network: {bridge: br0, address: 10.1.0.2/24}\n", overrides: "network=partctl0")
        #expect(wpar.wpar?.network == .managed(WparManagedNetwork(name: "partctl0")))
        let none = try resolve(validWpar + "network: partctl0\n", overrides: "network=none")
        #expect(none.wpar?.network == WparNetwork.none)
    }

    @Test func dashINetworkIsCheckedLikeTheFile() throws {
        let fixture = try ProfileFixture()
        try fixture.write("ptest-net", validLpar)
        let error = fixture.failure("ptest-net", overrides: try ProfileOverrides.parse("network=a;b"))
        #expect(error?.code == .invalidProfile)
        #expect(error?.message.hasPrefix("-i network: network: ") == true, "\(String(describing: error))")
    }
}
