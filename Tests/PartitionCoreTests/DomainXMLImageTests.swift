import Foundation
import PartctlTestSupport
import Testing
import PartitionModel
@testable import PartitionCore

/// An LPAR from an image: its overlay as vda with the chain spelled out, boot from it, its seed as a
/// read-only SCSI cdrom on virtio-scsi (the cloud kernel has no AHCI driver); valid for libvirt.
@Suite struct DomainXMLImageTests {
    static let disk = LparSystemDisk(overlayPath: "/var/lib/partctl/pool/lpar-ptest-xml.qcow2",
                                     basePath: "/var/lib/partctl/pool/image-debian-12-0123456789ab.qcow2", baseFormat: "qcow2")
    static let seed = "/var/lib/partctl/pool/lpar-ptest-xml-seed.iso"

    static func build(kernel: Bool) throws -> String {
        var profile = DomainXMLTests.minimal()
        if !kernel { profile.boot = BootSpec(firmware: .bios) }
        profile.image = "debian-12"
        let name = try PartitionName("ptest-xml")
        var builder = DomainXML(name: name, profile: profile, accelerator: .tcg,
                                metadata: PartitionMetadata(profileName: "p", resolvedProfileJSON: "{}", accelerator: .tcg),
                                consoleLogPath: DomainXML.defaultConsoleLogPath(for: name))
        builder.systemDisk = disk
        builder.seedPath = seed
        return builder.serialized()
    }

    @Test func theOverlayIsVdaWithItsWholeChainAndTheSeedAScsiCdrom() throws {
        let root = try XMLReader.parse(try Self.build(kernel: false))
        let disks = try #require(root.element(named: "devices")).elements(named: "disk")
        #expect(disks.count == 2)
        let system = disks[0]
        #expect(system.element(named: "source")?.attribute("file") == Self.disk.overlayPath)
        #expect(system.element(named: "driver")?.attribute("type") == "qcow2")
        #expect(system.element(named: "target")?.attribute("dev") == "vda")
        let backing = try #require(system.element(named: "backingStore"))
        #expect(backing.element(named: "source")?.attribute("file") == Self.disk.basePath)
        #expect(backing.element(named: "format")?.attribute("type") == "qcow2")
        // The chain ends at the base: an empty backingStore behind it.
        let end = try #require(backing.element(named: "backingStore"))
        #expect(end.children.isEmpty)
        let seed = disks[1]
        #expect(seed.attribute("device") == "cdrom")
        #expect(seed.element(named: "target")?.attribute("bus") == "scsi")
        #expect(seed.element(named: "readonly") != nil)
        #expect(root.element(named: "devices")?.elements(named: "controller").contains { $0.attribute("model") == "virtio-scsi" } == true)
        #expect(root.element(named: "os")?.elements(named: "boot").map { $0.attribute("dev") } == ["hd"])
    }

    @Test func aKernelGivenDirectlyGetsNoBootOrder() throws {
        let root = try XMLReader.parse(try Self.build(kernel: true))
        #expect(root.element(named: "os")?.elements(named: "boot").isEmpty == true)
    }

    @Test(arguments: [false, true])
    func validatesWithLibvirtSchema(_ kernel: Bool) throws {
        let xml = try Self.build(kernel: kernel)
        let (status, output) = try DomainXMLTests.validate(xml)
        #expect(status == 0, "\(output)\n\(xml)")
    }
}
