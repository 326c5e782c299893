import Foundation
import PartctlTestSupport
import PartitionModel
import Testing
@testable import LibvirtKit

/// Storage pools, volumes, networks and interface addresses on the test driver. Its built-in pool
/// `default-pool` and network `default` are shared: tests only read them, or make ptest- ones.
@Suite("Storage on the test driver")
struct StorageTests {
    static func dirPoolXML(name: String, path: String) -> String {
        "<pool type='dir'><name>\(name)</name><target><path>\(path)</path><permissions><mode>0711</mode></permissions></target></pool>"
    }

    @Test func definesStartsAndUndefinesAPool() throws {
        let connection = try openTestDriver()
        let name = uniqueTestName("pool")
        #expect(try connection.lookupStoragePool(name: name) == nil)
        let pool = try connection.defineStoragePool(xml: Self.dirPoolXML(name: name, path: "/ptest-nowhere/\(name)"))
        defer {
            if (try? pool.isActive()) == true { try? pool.stop() }
            try? pool.undefine()
        }
        #expect(pool.name == name)
        #expect(try !pool.isActive())
        try pool.start()
        #expect(try pool.isActive())
        try pool.setAutostart(true)
        #expect(try pool.autostart())
        #expect(try connection.lookupStoragePool(name: name)?.name == name)
        #expect(try pool.xmlDesc().contains("<name>\(name)</name>"))
        try pool.stop()
        try pool.undefine()
        #expect(try connection.lookupStoragePool(name: name) == nil)
    }

    @Test func createsLooksUpAndDeletesVolumes() throws {
        let connection = try openTestDriver()
        let pool = try #require(try connection.lookupStoragePool(name: "default-pool"))
        let name = uniqueTestName("vol") + ".qcow2"
        #expect(try pool.lookupVolume(name: name) == nil)
        let volume = try pool.createVolume(xml: """
            <volume><name>\(name)</name><capacity unit='MiB'>64</capacity><allocation>0</allocation>
            <target><format type='qcow2'/></target></volume>
            """)
        defer { try? volume.delete() }
        #expect(volume.name == name)
        #expect(try volume.info().capacity == 64 << 20)
        #expect(try volume.path().hasSuffix("/" + name))
        #expect(try pool.volumes().contains { $0.name == name })
        #expect(try pool.lookupVolume(name: name)?.name == name)
        try volume.delete()
        #expect(try pool.lookupVolume(name: name) == nil)
    }

    @Test func aMissingPoolVolumeOrNetworkIsNil() throws {
        let connection = try openTestDriver()
        #expect(try connection.lookupStoragePool(name: "ptest-lvk-nopool") == nil)
        #expect(try connection.lookupNetwork(name: "ptest-lvk-nonet") == nil)
        let pool = try #require(try connection.lookupStoragePool(name: "default-pool"))
        #expect(try pool.lookupVolume(name: "ptest-lvk-novol") == nil)
    }

    @Test func badPoolXMLIsALibvirtError() throws {
        let connection = try openTestDriver()
        let error = expectPartitionError(.libvirt) { _ = try connection.defineStoragePool(xml: "<pool type='dir'><name>x</name>") }
        #expect(error.map { isOneSentence($0.message) } == true)
    }

    @Test func theBuiltInNetworkIsActive() throws {
        let connection = try openTestDriver()
        let network = try #require(try connection.lookupNetwork(name: "default"))
        #expect(try network.isActive())
        // Starting an active network is refused by libvirt, as an operation in the wrong state.
        expectPartitionError(.invalidState) { try network.start() }
    }

    @Test func runningDomainHasLeaseAddresses() throws {
        let connection = try openTestDriver()
        let test = try #require(try connection.lookupDomain(name: "test"))
        let addresses = try test.interfaceAddresses(source: .lease)
        let first = try #require(addresses.first)
        #expect(first.address.split(separator: ".").count == 4)
        #expect(first.prefix > 0 && first.prefix <= 32)
        #expect(!first.isIPv6)
    }
}
