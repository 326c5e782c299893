import PartitionModel
import Testing
@testable import WorkloadEngine

@Suite("WPAR network values")
struct NetworkAddressTests {
    @Test("host interface names fit IFNAMSIZ, are stable and differ between WPARs")
    func hostInterfaceNames() {
        let names = ["tools", "web", "a", String(repeating: "x", count: 32)]
        let interfaces = names.map(NetworkSetup.hostInterfaceName(for:))
        #expect(interfaces.allSatisfy { $0.utf8.count == 15 && $0.hasPrefix("pw-") })
        #expect(Set(interfaces).count == names.count)
        #expect(NetworkSetup.hostInterfaceName(for: "tools") == interfaces[0])
    }

    @Test("CIDR addresses parse", arguments: [("10.77.0.2/24", "10.77.0.2", 24), ("fd00::5/64", "fd00::5", 64), ("192.168.1.1/32", "192.168.1.1", 32)])
    func parses(text: String, address: String, length: Int) throws {
        let prefix = try IPAddressPrefix(cidr: text)
        #expect(prefix.address.description == address)
        #expect(prefix.length == length)
    }

    @Test("malformed addresses are refused", arguments: ["10.77.0.2", "10.77.0.2/33", "10.77.0.2/0", "10.77.0/24", "0.0.0.0/8", "tools/24", "10.77.0.2/24/1", ""])
    func refuses(text: String) {
        let error = #expect(throws: PartitionError.self) { try IPAddressPrefix(cidr: text) }
        #expect(error?.code == .invalidArgument)
    }

    @Test("prefix membership")
    func prefixes() throws {
        let network = try IPAddressPrefix(cidr: "10.77.0.2/24")
        #expect(try #require(IPAddress("10.77.0.1")).shares(prefix: network.length, with: network.address))
        #expect(!(try #require(IPAddress("10.77.1.1")).shares(prefix: network.length, with: network.address)))
        #expect(!(try #require(IPAddress("fd00::1")).shares(prefix: 8, with: network.address)))
    }
}
