import PartitionModel
import Testing
@testable import PartitionCore

/// The mark of an unfinished relocation in the destination's nested definitions (NestedRelocation,
/// step 3): kept through the metadata's XML, absent on every other definition, and a bad one refused.
@Suite struct NestedRelocationMarkTests {
    @Test func theMarkSurvivesTheMetadataAndOnlyMarkedEntriesCarryIt() throws {
        var definitions = NestedDefinitions()
        definitions.entries.append(.init(name: try PartitionName("web"), profileJSON: "{}", relocatingFrom: try PartitionName("lp1")))
        definitions.entries.append(.init(name: try PartitionName("db"), profileJSON: "{}"))
        let element = definitions.element(prefix: "partctl:")
        #expect(element.elements(named: "wpar").map { $0.attribute("relocating-from") } == ["lp1", nil])
        let back = try NestedDefinitions(element: element, lpar: "lp2")
        #expect(back == definitions)
        #expect(back.entry(try PartitionName("web"))?.relocatingFrom == (try PartitionName("lp1")))
    }

    @Test func aMarkThatNamesNoLparIsRefused() throws {
        var xml = XMLNode("partctl:wpars")
        xml.append(XMLNode("partctl:wpar", [("name", "web"), ("relocating-from", "../x")], text: "{}"))
        #expect(throws: PartitionError.self) { try NestedDefinitions(element: xml, lpar: "lp2") }
    }

    @Test func liveIsRefusedInOneLineBeforeAnythingIsLookedUp() throws {
        let manager = PartitionManager(configuration: .fromEnvironment())
        let request = RelocationRequest(path: try PartitionPath("lp1/web"), destination: "lp2", mode: .live, validateOnly: false)
        let error = #expect(throws: PartitionError.self) { try manager.relocate(request) }
        #expect(error?.code == .unsupported)
        #expect(error?.message.contains("CRIU") == true && error?.message.contains("\n") == false)
    }
}
