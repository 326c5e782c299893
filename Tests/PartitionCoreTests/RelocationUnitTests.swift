import LibvirtKit
import PartctlTestSupport
import PartitionModel
import Testing
@testable import PartitionCore

/// What `relocate` reads from a domain and a URI, without libvirt.
@Suite struct RelocationUnitTests {
    @Test func needsOfAnLparBuiltByPartctl() throws {
        let xml = try DomainXMLTests.build(DomainXMLTests.minimal(), name: "ptest-needs")
        let needs = try DomainNeeds(xml: xml)
        #expect(needs.virtType == "qemu")
        #expect(needs.maxMemoryKiB == 512 * 1024)
        #expect(needs.currentMemoryKiB == 256 * 1024)
        #expect(needs.maxVcpus == 2)
        #expect(needs.kernel == "/var/lib/partctl/images/partctl-guest/vmlinuz")
        #expect(needs.initrd == "/var/lib/partctl/images/partctl-guest/initrd.img")
        #expect(needs.disks.isEmpty)
        #expect(needs.interfaces.isEmpty)
        #expect(needs.cpuMode == nil)
    }

    @Test func needsOfDisksAndAdapters() throws {
        let xml = try DomainXMLTests.build(DomainXMLTests.diskProfile(), name: "ptest-needs", accel: .kvm)
        let needs = try DomainNeeds(xml: xml)
        #expect(needs.virtType == "kvm")
        #expect(needs.cpuMode == "host-passthrough")
        #expect(needs.interfaces == [.network("default"), .bridge("br0")])
        // The qcow2 disk is writable; the ISO (a cdrom) and the read-only raw disk are not.
        #expect(needs.writableDisks.map(\.file) == ["/var/lib/libvirt/images/os.qcow2"])
        #expect(needs.disks.count == 3)
    }

    @Test func memoryUnitsAsLibvirtWritesThem() throws {
        let xml = "<domain type='qemu'><memory unit='MiB'>1024</memory><currentMemory unit='b'>536870912</currentMemory><vcpu>4</vcpu></domain>"
        let needs = try DomainNeeds(xml: xml)
        #expect(needs.maxMemoryKiB == 1024 * 1024)
        #expect(needs.currentMemoryKiB == 512 * 1024)
        #expect(needs.maxVcpus == 4)
    }

    @Test func hostOfADestinationURI() {
        #expect(LparMove.uriHost("qemu+tcp://10.0.0.2/system") == "10.0.0.2")
        #expect(LparMove.uriHost("qemu+ssh://root@host2:2222/system?keyfile=/k") == "host2")
        #expect(LparMove.uriHost("qemu+tcp://[fd00::2]:16509/system") == "[fd00::2]")
        #expect(LparMove.uriHost("qemu:///system") == nil)
        #expect(LparMove.uriHost("test:///default") == nil)
    }

    @Test func progressLineFromJobStatistics() {
        let stats = LibvirtJobStats(kind: .unbounded, raw: [
            "data_total": .uint64(256 << 20), "data_processed": .uint64(120 << 20),
            "data_remaining": .uint64(136 << 20), "memory_iteration": .uint64(2),
        ])
        #expect(LparMove.progressText(stats, to: "sys2") == "copying to sys2: 120 of 256 MiB, 136 MiB left (pass 2)")
        #expect(LparMove.progressText(LibvirtJobStats(kind: .unbounded, raw: [:]), to: "sys2") == "moving to sys2")
    }
}
