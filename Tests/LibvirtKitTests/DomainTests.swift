import PartitionModel
import Testing
@testable import LibvirtKit

@Suite("Domains on the test driver")
struct DomainTests {
    @Test func listsTheBuiltInDomain() throws {
        let connection = try openTestDriver()
        let domains = try connection.listAllDomains()
        let test = try #require(domains.first { $0.name == "test" })
        #expect(test.uuidString.count == 36)
        #expect(try connection.lookupDomain(uuid: test.uuidString)?.name == "test")
    }

    @Test func lookingUpAMissingDomainGivesNil() throws {
        let connection = try openTestDriver()
        #expect(try connection.lookupDomain(name: "ptest-lvk-missing") == nil)
        #expect(try connection.lookupDomain(uuid: "00000000-0000-0000-0000-0000000000aa") == nil)
    }

    @Test func definesStartsStopsAndUndefines() throws {
        let connection = try openTestDriver()
        let name = uniqueTestName("life")
        let domain = try connection.defineDomain(xml: testDriverDomainXML(name: name))
        defer { remove(domain) }

        #expect(domain.name == name)
        #expect(domain.id == nil)
        #expect(try domain.isPersistent())
        #expect(try !domain.isActive())
        #expect(try domain.state().state == .shutoff)
        #expect(try connection.listAllDomains().contains { $0.name == name })

        try domain.create()
        #expect(try domain.isActive())
        #expect(try domain.info().state == .running)
        #expect(try connection.lookupDomain(name: name)?.id != nil)

        try domain.suspend()
        #expect(try domain.state().state == .paused)
        try domain.resume()
        #expect(try domain.state().state == .running)

        try domain.shutdown(.hypervisorDefault)
        #expect(try domain.state().state == .shutoff)
        try domain.create()
        try domain.destroy()
        #expect(try domain.state().state == .shutoff)

        try domain.undefine()
        #expect(try connection.lookupDomain(name: name) == nil)
    }

    @Test func xmlDescriptionNamesTheDomain() throws {
        let connection = try openTestDriver()
        try withDomain(on: connection, xml: testDriverDomainXML(name: uniqueTestName("xml"))) { domain in
            let xml = try domain.xmlDesc([.inactive, .secure])
            #expect(xml.contains("<name>\(domain.name)</name>"))
        }
    }

    @Test func statsOfAllDomainsInOneCall() throws {
        let connection = try openTestDriver()
        try withDomain(on: connection, xml: testDriverDomainXML(name: uniqueTestName("stats"))) { domain in
            let stats = try connection.allDomainStats()
            let test = try #require(stats.first { $0.domain.name == "test" })
            #expect(test.status?.state == .running)
            let mine = try #require(stats.first { $0.domain.name == domain.name })
            #expect(mine.status?.state == .shutoff)
            #expect(mine.raw["state.state"] == .int32(LibvirtDomainState.shutoff.rawValue))
        }
    }
}
