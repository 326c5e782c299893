import PartitionModel
import Testing
@testable import PartitionCore

/// What partctl reads from and writes into libvirt's snapshot XML, and which LPAR disks can hold an
/// internal snapshot: pure parsing, no libvirt.
@Suite struct LparSnapshotXMLTests {
    let lpar = try! PartitionName("lp1")

    func domain(_ disks: String) -> String {
        "<domain type='qemu'><name>lp1</name><description>mine</description><devices>\(disks)</devices></domain>"
    }

    @Test func everyWritableDiskMustBeQcow2() throws {
        let qcow2 = "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><target dev='vda' bus='virtio'/></disk>"
        let raw = "<disk type='file' device='disk'><driver name='qemu' type='raw'/><target dev='vdb' bus='virtio'/></disk>"
        let seed = "<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><target dev='sda' bus='sata'/><readonly/></disk>"
        let readonlyRaw = "<disk type='file' device='disk'><driver name='qemu' type='raw'/><target dev='vdc' bus='virtio'/><readonly/></disk>"
        try LparSnapshotDisks.check(domain(qcow2 + seed + readonlyRaw), lpar: lpar)
        #expect(throws: PartitionError.self) { try LparSnapshotDisks.check(domain(qcow2 + raw), lpar: lpar) }
        do {
            try LparSnapshotDisks.check(domain(""), lpar: lpar)
            Issue.record("an LPAR without disks was accepted")
        } catch {
            #expect(error.code == .unsupported && error.message.contains("no qcow2 disk") && error.message.contains("lpar-minimal"))
        }
        do {
            try LparSnapshotDisks.check(domain(seed + raw), lpar: lpar)
            Issue.record("a raw disk was accepted")
        } catch {
            #expect(error.message.contains("vdb is not qcow2"))
        }
    }

    @Test func frozenNamesRoundTripThroughTheDescription() throws {
        let web = try PartitionName("web"), batch = try PartitionName("batch")
        let xml = PartitionManager.snapshotXML(try SnapshotName("s1"), frozen: [web, batch])
        #expect(LparSnapshotXML.frozenNames(in: xml) == [web, batch])
        #expect(LparSnapshotXML.frozenNames(in: PartitionManager.snapshotXML(try SnapshotName("s2"), frozen: [])) == [])
        // A snapshot partctl did not take (virsh snapshot-create-as) has no such description: nothing to thaw.
        #expect(LparSnapshotXML.frozenNames(in: "<domainsnapshot><name>x</name><description>by hand</description></domainsnapshot>") == nil)
        // The domain's own description, inside <domain>, is not the snapshot's.
        #expect(LparSnapshotXML.frozenNames(in: "<domainsnapshot><name>x</name>\(domain(""))</domainsnapshot>") == nil)
    }

    @Test func stateAndMemoryAreRead() throws {
        let running = LparSnapshotXML(try XMLReader.parse(
            "<domainsnapshot><name>s1</name><state>running</state><creationTime>1764766800</creationTime><memory snapshot='internal'/></domainsnapshot>"))
        #expect(running.running && running.memory && running.createdAt == 1764766800)
        let stopped = LparSnapshotXML(try XMLReader.parse(
            "<domainsnapshot><name>s1</name><state>shutoff</state><creationTime>1</creationTime><memory snapshot='no'/></domainsnapshot>"))
        #expect(!stopped.running && !stopped.memory)
    }

    @Test(arguments: ["Bad", "", "a b", "../x", "x/y", "-x", String(repeating: "a", count: 33), "<x>"])
    func badSnapshotNamesAreRefused(_ text: String) {
        #expect(SnapshotName.problem(with: text)?.hasPrefix("Bad snapshot name: ") == true)
    }
}
