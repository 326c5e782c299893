import Foundation
import PartctlTestSupport
import Testing
import PartitionModel
@testable import PartitionCore

@Suite struct DomainXMLTests {
    static func minimal() -> LparProfile {
        LparProfile(
            memory: ResourceRange(min: .mebibytes(128), desired: .mebibytes(256), max: .mebibytes(512)),
            processors: ResourceRange(min: 1, desired: 1, max: 2),
            boot: BootSpec(kernel: "/var/lib/partctl/images/partctl-guest/vmlinuz",
                           initrd: "/var/lib/partctl/images/partctl-guest/initrd.img",
                           cmdline: "console=ttyS0,115200 panic=-1"),
            agent: true)
    }

    static func diskProfile() -> LparProfile {
        LparProfile(
            memory: ResourceRange(min: .mebibytes(1024), desired: .mebibytes(2048), max: .mebibytes(4096)),
            processors: ResourceRange(min: 1, desired: 2, max: 2), weight: 400, cap: 1.5,
            boot: BootSpec(firmware: .uefi, order: [.disk, .cdrom]),
            network: [NetworkSpec(attachment: .network("default"), mac: "52:54:00:12:34:56"),
                      NetworkSpec(attachment: .bridge("br0"), model: .e1000)],
            disks: [DiskSpec(file: "/var/lib/libvirt/images/os.qcow2", format: .qcow2),
                    DiskSpec(file: "/var/lib/libvirt/images/install.iso", device: .cdrom, bus: .sata),
                    DiskSpec(file: "/var/lib/libvirt/images/data.raw", bus: .virtio, readonly: true)])
    }

    static func build(_ profile: LparProfile, name: String = "ptest-xml", accel: Acceleration = .tcg,
                      json: String = "{\"k\":1}") throws -> String {
        let partition = try PartitionName(name)
        let metadata = PartitionMetadata(profileName: "p", resolvedProfileJSON: json, accelerator: accel, description: "d")
        return DomainXML(name: partition, profile: profile, accelerator: accel, metadata: metadata,
                         consoleLogPath: DomainXML.defaultConsoleLogPath(for: partition)).serialized()
    }

    /// Runs libvirt's own schema check on the XML.
    static func validate(_ xml: String) throws -> (Int32, String) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-\(UUID().uuidString).xml")
        try xml.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try TestProcess.run("/usr/bin/virt-xml-validate", [file.path, "domain"], timeout: 60)
        return (result.status, result.stdout + result.stderr)
    }

    @Test(arguments: [("minimal", minimal(), Acceleration.tcg), ("disk", diskProfile(), .kvm), ("minimal-kvm", minimal(), .kvm)])
    func validatesWithLibvirtSchema(_ label: String, _ profile: LparProfile, _ accel: Acceleration) throws {
        let xml = try Self.build(profile, accel: accel)
        let (status, output) = try Self.validate(xml)
        #expect(status == 0, "\(label): \(output)\n\(xml)")
    }

    @Test func mapsProfileToDomainElements() throws {
        let root = try XMLReader.parse(try Self.build(Self.minimal()))
        #expect(root.attribute("type") == "qemu")
        #expect(root.element(named: "memory")?.text == "524288")
        #expect(root.element(named: "currentMemory")?.text == "262144")
        #expect(root.element(named: "vcpu")?.attribute("current") == "1")
        #expect(root.element(named: "vcpu")?.text == "2")
        #expect(root.element(named: "cputune")?.element(named: "shares")?.text == "1024")
        #expect(root.element(named: "cputune")?.element(named: "global_quota") == nil)
        let os = try #require(root.element(named: "os"))
        #expect(os.element(named: "kernel")?.text == "/var/lib/partctl/images/partctl-guest/vmlinuz")
        let devices = try #require(root.element(named: "devices"))
        #expect(devices.elements(named: "channel").map { $0.element(named: "target")?.attribute("name") }
                == ["org.partctl.agent.0", "org.partctl.agent.1", "org.partctl.agent.2", "org.partctl.agent.3"])
        #expect(devices.element(named: "serial")?.element(named: "log")?.attribute("file") == "/var/log/libvirt/qemu/ptest-xml-console.log")
        let metadata = try #require(root.element(named: "metadata")?.element(named: "partition"))
        #expect(metadata.attribute("xmlns:partctl") == PartitionMetadata.namespaceURI)
    }

    @Test func capIsForTheWholePartition() throws {
        let root = try XMLReader.parse(try Self.build(Self.diskProfile(), accel: .kvm))
        let tune = try #require(root.element(named: "cputune"))
        #expect(tune.element(named: "shares")?.text == "4096")
        #expect(tune.element(named: "global_period")?.text == "100000")
        #expect(tune.element(named: "global_quota")?.text == "150000")
        #expect(root.element(named: "os")?.attribute("firmware") == "efi")
        let disks = root.element(named: "devices")!.elements(named: "disk")
        #expect(disks.map { $0.element(named: "target")!.attribute("dev")! } == ["vda", "sda", "vdb"])
        #expect(disks[1].element(named: "readonly") != nil)
        // An image's header never leads QEMU to another file of the host.
        #expect(disks.allSatisfy { $0.element(named: "backingStore") != nil && $0.element(named: "backingStore")?.children.isEmpty == true })
    }

    /// Markup in a value stays a value: the document keeps its structure and the text comes back unchanged.
    @Test func valuesCannotInjectMarkup() throws {
        var profile = Self.minimal()
        let hostile = "console=ttyS0 </cmdline><qemu:commandline xmlns:qemu='x'><qemu:arg value='-x'/></qemu:commandline><cmdline>& \"'"
        profile.boot.cmdline = hostile
        let json = "{\"a\":\"</partctl:profile><evil/>&amp;\"}"
        let xml = try Self.build(profile, json: json)
        #expect(!xml.contains("<qemu:commandline"))
        let root = try XMLReader.parse(xml)
        #expect(root.element(named: "os")?.element(named: "cmdline")?.text == hostile)
        let metadata = try PartitionMetadata(xml: root.element(named: "metadata")!.element(named: "partition")!.serialized(), domain: "x")
        #expect(metadata.resolvedProfileJSON == json)
        let (status, output) = try Self.validate(xml)
        #expect(status == 0, "\(output)")
    }

    @Test func diskTargetLetters() {
        #expect(DiskTargetNames.letters(0) == "a")
        #expect(DiskTargetNames.letters(25) == "z")
        #expect(DiskTargetNames.letters(26) == "aa")
    }
}

@Suite struct XMLReaderTests {
    @Test func readsEntitiesCDATAAndComments() throws {
        let root = try XMLReader.parse("<?xml version='1.0'?><!-- c --><a x='1 &amp; 2'><b>&lt;t&gt;&#65;&#x42;</b><![CDATA[<raw>&]]></a>")
        #expect(root.attribute("x") == "1 & 2")
        #expect(root.element(named: "b")?.text == "<t>AB")
        #expect(root.text == "<raw>&")
    }

    @Test(arguments: ["", "<a>", "<a></b>", "<a x=1/>", "<!DOCTYPE a><a/>", "<a>&bogus;</a>", "<a/><b/>",
                      String(repeating: "<a>", count: 300) + String(repeating: "</a>", count: 300)])
    func refusesMalformed(_ text: String) {
        #expect(throws: PartitionError.self) { try XMLReader.parse(text) }
    }
}
