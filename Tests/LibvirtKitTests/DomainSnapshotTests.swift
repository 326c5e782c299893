import PartitionModel
import Testing
@testable import LibvirtKit

/// The snapshot wrappers (LibvirtDomain+Snapshots.swift) on the test driver: create, count, list,
/// look up, current, revert, delete; an unknown name is nil, not an error.
@Suite("Domain snapshots on the test driver")
struct DomainSnapshotTests {
    @Test func snapshotsAreTakenListedRevertedAndDeleted() throws {
        let connection = try openTestDriver()
        try withDomain(on: connection, xml: testDriverDomainXML(name: uniqueTestName("snap"))) { domain in
            #expect(try domain.snapshotCount() == 0)
            #expect(try domain.snapshot(named: "s1") == nil)
            let first = try domain.createSnapshot(xml: "<domainsnapshot><name>s1</name><description>d</description></domainsnapshot>")
            #expect(first.name == "s1")
            #expect(try first.isCurrent())
            _ = try domain.createSnapshot(xml: "<domainsnapshot><name>s2</name></domainsnapshot>")
            #expect(try domain.snapshotCount() == 2)
            #expect(Set(try domain.snapshots().map(\.name)) == ["s1", "s2"])
            let found = try #require(try domain.snapshot(named: "s1"))
            #expect(try found.xmlDesc().contains("<description>d</description>"))
            try found.revert()
            #expect(try found.isCurrent())
            try found.delete()
            #expect(try domain.snapshot(named: "s1") == nil)
            #expect(try domain.snapshotCount() == 1)
        }
    }
}
