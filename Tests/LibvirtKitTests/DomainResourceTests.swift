import PartitionModel
import Testing
@testable import LibvirtKit

@Suite("Domain resources and metadata on the test driver")
struct DomainResourceTests {
    @Test func vcpusChangeInTheDefinitionAndLive() throws {
        let connection = try openTestDriver()
        try withDomain(on: connection, xml: testDriverDomainXML(name: uniqueTestName("vcpu"))) { domain in
            #expect(try domain.vcpuCount(.config) == 1)
            #expect(try domain.vcpuCount(.config, maximum: true) == 4)
            try domain.setVcpus(2, config: true)
            #expect(try domain.vcpuCount(.config) == 2)
            try domain.setMaxVcpus(3)
            #expect(try domain.vcpuCount(.config, maximum: true) == 3)

            try domain.create()
            try domain.setVcpus(1, live: true)
            #expect(try domain.vcpuCount(.live) == 1)
            #expect(try domain.vcpuCount(.config) == 2)
            expectPartitionError(.invalidArgument) { try domain.setVcpus(9, live: true) }
        }
    }

    @Test func memoryChangesInTheDefinition() throws {
        let connection = try openTestDriver()
        try withDomain(on: connection, xml: testDriverDomainXML(name: uniqueTestName("mem"))) { domain in
            try domain.setMaxMemory(kib: 524_288)
            try domain.setMemory(kib: 65_536, config: true)
            let info = try domain.info()
            #expect(info.maxMemoryKiB == 524_288)
            #expect(info.memoryKiB == 65_536)
        }
    }

    @Test func metadataRoundTripsAndCanBeRemoved() throws {
        let connection = try openTestDriver()
        let uri = "https://partctl.dev/xmlns/lpar/1"
        try withDomain(on: connection, xml: testDriverDomainXML(name: uniqueTestName("meta"))) { domain in
            #expect(try domain.metadata(uri: uri) == nil)
            try domain.setMetadata("<lpar><profile name='small'/></lpar>", key: "partctl", uri: uri, config: true)
            let stored = try #require(try domain.metadata(uri: uri))
            #expect(stored.contains("<profile name=\"small\"/>"))
            #expect(try domain.metadata(uri: "https://other.example/ns") == nil)
            try domain.setMetadata(nil, key: "partctl", uri: uri, config: true)
            #expect(try domain.metadata(uri: uri) == nil)
        }
    }

    @Test func autostartToggles() throws {
        let connection = try openTestDriver()
        try withDomain(on: connection, xml: testDriverDomainXML(name: uniqueTestName("auto"))) { domain in
            #expect(try !domain.autostart())
            try domain.setAutostart(true)
            #expect(try domain.autostart())
            try domain.setAutostart(false)
            #expect(try !domain.autostart())
        }
    }

    @Test func schedulerParametersKeepTheDriversTypes() throws {
        let connection = try openTestDriver()
        try withDomain(on: connection, xml: testDriverDomainXML(name: uniqueTestName("sched"))) { domain in
            // The test driver's scheduler has one parameter, "weight", an unsigned int that stays 50
            // whatever is set (the real round trip runs against QEMU in RealLibvirtTests).
            #expect(try domain.schedulerParameters() == ["weight": .uint32(50)])
            try domain.setSchedulerParameters(["weight": .uint32(77)])
            // QEMU's parameters are unknown to it, and it says so.
            expectPartitionError(.unsupported) {
                try domain.setSchedulerParameters(LibvirtCPUTuning(shares: 200))
            }
            #expect(try domain.cpuTuning() == LibvirtCPUTuning())
        }
    }
}
