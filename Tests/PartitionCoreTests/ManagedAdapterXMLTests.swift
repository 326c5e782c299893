import Foundation
import PartctlTestSupport
import Testing
import PartitionModel
@testable import PartitionCore

/// An LPAR adapter on one of partctl's managed networks is a bridge interface on the network's
/// bridge with the MAC its lease is reserved for; adapters on libvirt networks stay as they were.
@Suite struct ManagedAdapterXMLTests {
    @Test func aManagedAdapterIsABridgeWithItsLeasedMAC() throws {
        var profile = DomainXMLTests.minimal()
        profile.network = [NetworkSpec(attachment: .network("partctl0")), NetworkSpec(attachment: .network("default"), mac: "52:54:00:00:00:09")]
        let partition = try PartitionName("ptest-xml")
        let metadata = PartitionMetadata(profileName: "p", resolvedProfileJSON: "{}", accelerator: .tcg, description: nil)
        var builder = DomainXML(name: partition, profile: profile, accelerator: .tcg, metadata: metadata,
                                consoleLogPath: DomainXML.defaultConsoleLogPath(for: partition))
        builder.managedAdapters = [0: DomainXML.ManagedAdapter(bridge: "partctl0", mac: "52:54:00:ab:cd:ef")]
        let xml = builder.serialized()
        let compact = xml.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined()
        #expect(compact.contains("<interface type=\"bridge\"><source bridge=\"partctl0\"/><mac address=\"52:54:00:ab:cd:ef\"/><model type=\"virtio\"/></interface>"), "\(xml)")
        #expect(xml.contains("network=\"default\"") || xml.contains("network='default'"))
        #expect(!xml.contains("network=\"partctl0\"") && !xml.contains("network='partctl0'"))
        let (status, output) = try DomainXMLTests.validate(xml)
        #expect(status == 0, "\(output)")
    }
}
