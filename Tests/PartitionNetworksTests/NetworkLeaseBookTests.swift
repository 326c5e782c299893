import Foundation
import Glibc
import PartitionModel
import Testing
@testable import PartitionNetworks

/// The lease book on a temporary root: no root, no dnsmasq (its lease file is written by hand).
@Suite("Network lease book")
struct NetworkLeaseBookTests {
    let root: String
    let network = ManagedNetwork.default

    init() {
        var template = Array("/tmp/ptest-leases-XXXXXX".utf8CString)
        root = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) } + "/networks"
    }

    var book: NetworkLeaseBook { NetworkLeaseBook(root: root, network: network) }

    func cleanUp() {
        _ = try? FileManager.default.removeItem(atPath: String(root.dropLast("/networks".count)))
    }

    func hostsFiles() -> [String: String] {
        let directory = root + "/partctl0/hosts"
        var files: [String: String] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            files[name] = try? String(contentsOfFile: directory + "/" + name, encoding: .utf8)
        }
        return files
    }

    @Test func handsOutTheLowestFreeAddressesAndWritesReservations() throws {
        defer { cleanUp() }
        let web = try book.lease(partition: "web", mac: "02:00:00:00:00:01", requested: nil)
        let db = try book.lease(partition: "db", mac: "52:54:00:AA:bb:02", requested: nil)
        #expect(web.address == IPv4Address("10.77.0.2"))
        #expect(db.address == IPv4Address("10.77.0.3"))
        #expect(db.mac == "52:54:00:aa:bb:02")
        #expect(!web.fixed)
        #expect(try book.leases().count == 2)
        #expect(hostsFiles() == ["02-00-00-00-00-01": "02:00:00:00:00:01,10.77.0.2,web\n",
                                 "52-54-00-aa-bb-02": "52:54:00:aa:bb:02,10.77.0.3,db\n"])
        // A released address is handed out again, lowest first.
        try book.release(partition: "web")
        #expect(hostsFiles().keys.sorted() == ["52-54-00-aa-bb-02"])
        #expect(try book.lease(partition: "app", mac: "02:00:00:00:00:03", requested: nil).address == IPv4Address("10.77.0.2"))
    }

    @Test func leasingAgainIsIdempotentAndAFixedAddressMoves() throws {
        defer { cleanUp() }
        let first = try book.lease(partition: "web", mac: "02:00:00:00:00:01", requested: nil)
        #expect(try book.lease(partition: "web", mac: "02:00:00:00:00:01", requested: nil) == first)
        #expect(try book.lease(partition: "web", mac: "02:00:00:00:00:01", requested: first.address) == first)
        let moved = try book.lease(partition: "web", mac: "02:00:00:00:00:01", requested: IPv4Address("10.77.0.50"))
        #expect(moved.address == IPv4Address("10.77.0.50") && moved.fixed)
        #expect(try book.leases() == [moved])
        #expect(hostsFiles() == ["02-00-00-00-00-01": "02:00:00:00:00:01,10.77.0.50,web\n"])
    }

    @Test(arguments: [
        ("10.78.0.5", "10.78.0.5 is not in partctl0's subnet 10.77.0.0/24."),
        ("10.77.0.1", "10.77.0.1 is partctl0's gateway (the host's own address on partctl0)."),
        ("10.77.0.0", "10.77.0.0 is partctl0's network address, not a host's."),
        ("10.77.0.255", "10.77.0.255 is partctl0's broadcast address, not a host's."),
        ("10.77.0.9", "10.77.0.9 on partctl0 is already leased to db."),
    ])
    func refusesAConflictAndChangesNothing(address: String, message: String) throws {
        defer { cleanUp() }
        let db = try book.lease(partition: "db", mac: "02:00:00:00:00:02", requested: IPv4Address("10.77.0.9"))
        do {
            _ = try book.lease(partition: "web", mac: "02:00:00:00:00:01", requested: IPv4Address(address)!)
            Issue.record("\(address) was leased")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message == message)
        }
        #expect(try book.leases() == [db])
        #expect(hostsFiles().keys.sorted() == ["02-00-00-00-00-02"])
    }

    @Test func aMacOfAnotherPartitionIsRefused() throws {
        defer { cleanUp() }
        _ = try book.lease(partition: "db", mac: "02:00:00:00:00:02", requested: nil)
        #expect(throws: PartitionError.self) { try book.lease(partition: "web", mac: "02:00:00:00:00:02", requested: nil) }
        #expect(throws: PartitionError.self) { try book.lease(partition: "web", mac: "01:00:00:00:00:02", requested: nil) }
        #expect(throws: PartitionError.self) { try book.lease(partition: "web", mac: "52:54:00:zz:00:02", requested: nil) }
    }

    @Test func liveDynamicLeasesAreNeitherGivenNorAccepted() throws {
        defer { cleanUp() }
        _ = try book.lease(partition: "db", mac: "02:00:00:00:00:02", requested: nil)  // makes the directory
        let now = Int(time(nil))
        let file = """
            \(now + 3600) 52:54:00:00:00:07 10.77.0.3 guest7 *
            \(now - 10) 52:54:00:00:00:08 10.77.0.4 expired *
            0 52:54:00:00:00:09 10.77.0.250 * 01:52:54:00:00:00:09
            garbage line

            """
        try file.write(toFile: root + "/partctl0/dnsmasq.leases", atomically: true, encoding: .utf8)
        let dynamic = book.dynamicLeases()
        #expect(dynamic.map(\.address) == [IPv4Address("10.77.0.3")!, IPv4Address("10.77.0.250")!])
        #expect(dynamic.map(\.hostname) == ["guest7", nil])
        do {
            _ = try book.lease(partition: "web", mac: "02:00:00:00:00:01", requested: IPv4Address("10.77.0.250"))
            Issue.record("a live dynamic lease was taken")
        } catch {
            #expect(error.message == "10.77.0.250 on partctl0 is in use by 52:54:00:00:00:09 (a DHCP lease of dnsmasq, until it expires).")
        }
        // dnsmasq keeps 10.77.0.3 for its client (a reservation since released) until the lease
        // expires: the free address skips it, but not 10.77.0.4 (expired).
        #expect(try book.lease(partition: "web", mac: "02:00:00:00:00:01", requested: nil).address == IPv4Address("10.77.0.4"))
        // The client holding a dynamic lease may have its own address reserved.
        #expect(try book.lease(partition: "guest9", mac: "52:54:00:00:00:09", requested: IPv4Address("10.77.0.250")).fixed)
        #expect(try book.lease(partition: "guest7", mac: "52:54:00:00:00:07", requested: IPv4Address("10.77.0.3")).fixed)
    }

    @Test func aFullNetworkIsSaidSo() throws {
        defer { cleanUp() }
        let small = ManagedNetwork(name: "tiny", bridge: "tiny", subnet: IPv4Subnet(cidr: "10.9.0.0/29")!,
                                   gateway: IPv4Address("10.9.0.1")!, nat: false)
        let book = NetworkLeaseBook(root: root, network: small)
        // Hosts .1–.6, leased range .1–.5 without the gateway: .2–.5.
        for index in 2...5 {
            #expect(try book.lease(partition: "p\(index)", mac: "02:00:00:00:00:0\(index)", requested: nil).address == IPv4Address("10.9.0.\(index)"))
        }
        #expect(throws: PartitionError.self) { try book.lease(partition: "p6", mac: "02:00:00:00:00:06", requested: nil) }
        // A fixed address may still come from dnsmasq's quarter.
        #expect(try book.lease(partition: "p6", mac: "02:00:00:00:00:06", requested: IPv4Address("10.9.0.6")).fixed)
    }

    @Test func releasesEveryAdapterAndDropsLeftovers() throws {
        defer { cleanUp() }
        _ = try book.lease(partition: "lp", mac: "52:54:00:00:00:01", requested: nil)
        _ = try book.lease(partition: "lp", mac: "52:54:00:00:00:02", requested: nil)
        let web = try book.lease(partition: "web", mac: "02:00:00:00:00:03", requested: nil)
        _ = try book.lease(partition: "gone", mac: "02:00:00:00:00:04", requested: nil)
        try book.release(partition: "lp")
        try book.release(partition: "never-leased")
        let dropped = try book.dropLeases(ofPartitionsNotIn: { $0 == "web" })
        #expect(dropped.map(\.partition) == ["gone"])
        #expect(try book.leases() == [web])
        #expect(hostsFiles().keys.sorted() == ["02-00-00-00-00-03"])
    }

    @Test func theHostsDirectoryIsRepairedFromTheBook() throws {
        defer { cleanUp() }
        let web = try book.lease(partition: "web", mac: "02:00:00:00:00:01", requested: nil)
        // A command killed between the book and the reservation; a stray file of a released lease.
        unlink(root + "/partctl0/hosts/02-00-00-00-00-01")
        try "02:00:00:00:00:09,10.77.0.9,old\n".write(toFile: root + "/partctl0/hosts/02-00-00-00-00-09", atomically: true, encoding: .utf8)
        #expect(try book.lease(partition: "web", mac: "02:00:00:00:00:01", requested: nil) == web)
        #expect(hostsFiles() == ["02-00-00-00-00-01": "02:00:00:00:00:01,10.77.0.2,web\n"])
    }

    @Test func aCorruptBookIsRefusedNotOverwritten() throws {
        defer { cleanUp() }
        _ = try book.lease(partition: "web", mac: "02:00:00:00:00:01", requested: nil)
        try "not json".write(toFile: root + "/partctl0/leases.json", atomically: true, encoding: .utf8)
        #expect(throws: PartitionError.self) { try book.lease(partition: "db", mac: "02:00:00:00:00:02", requested: nil) }
        #expect(try String(contentsOfFile: root + "/partctl0/leases.json", encoding: .utf8) == "not json")
    }

    @Test func nestedPathsBecomeHostNames() {
        #expect(NetworkLeaseBook.hostName(partition: "lp1/web") == "lp1-web")
        #expect(NetworkLeaseBook.hostsFileName(mac: "52:54:00:aa:bb:cc") == "52-54-00-aa-bb-cc")
    }

    @Test func wparMACsAreStableLocalAndDistinct() throws {
        let web = MACAddress.wpar("web")
        #expect(web == MACAddress.wpar("web"))
        #expect(web.hasPrefix("02:"))
        #expect(web != MACAddress.wpar("web2"))
        #expect(try MACAddress.normalized(web) == web)
        let random = MACAddress.randomLpar()
        #expect(random.hasPrefix("52:54:00:") && random.count == 17)
    }
}
