import LibvirtKit
import PartitionModel
import Testing
@testable import PartitionCore

/// The `ip` field: from libvirt's leases (the test driver's running domain `test` has one), never
/// asked of a stopped LPAR; link-local and loopback left out, IPv4 first.
@Suite struct LparAddressTests {
    @Test func aRunningDomainShowsItsLeaseAndAStoppedOneNothing() throws {
        let connection = try LibvirtConnection.open(uri: "test:///default")
        let domain = try #require(try connection.lookupDomain(name: "test"))
        let leased = try domain.interfaceAddresses(source: .lease).map(\.address)
        try #require(!leased.isEmpty)
        #expect(LparAddresses.field(domain, active: true) == .string(leased.joined(separator: " ")))
        #expect(LparAddresses.field(domain, active: false) == .none)
    }

    @Test func globalAddressesOnlyIPv4First() {
        let all = ["fe80::5054:ff:fe12:3456", "2001:db8::5", "192.168.122.57", "127.0.0.1", "169.254.1.2", "192.168.122.57", "10.0.0.2"]
        #expect(LparAddresses.ordered(all.filter(LparAddresses.isGlobal)) == ["192.168.122.57", "10.0.0.2", "2001:db8::5"])
    }
}
