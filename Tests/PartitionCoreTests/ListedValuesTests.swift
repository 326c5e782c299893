import Foundation
import Testing
import PartitionModel
import PartitionProfiles
@testable import PartitionCore

/// `tree` reads an LPAR's listed values with partctl's own JSON parser; they must be the values
/// the full decoder finds in the same stored profile.
@Suite struct ListedValuesTests {
    static var profiles: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("profiles").path
    }

    @Test(arguments: ["lpar-minimal", "lpar-memtest"])
    func listedValuesAreTheStoredOnes(_ name: String) throws {
        let overrides = try ProfileOverrides.parse("cap=0.5,weight=300,autostart=yes,desired_mem=384MiB")
        let resolved = try ProfileStore(searchPath: [Self.profiles]).resolve(name, overrides: overrides)
        let json = try resolved.jsonString()
        let listed = try #require(ListedLparValues(json: json))
        let full = try #require(StoredLparValues.decode(json: json))
        #expect(listed.minMemory == full.memory.min.bytes && listed.desiredMemory == full.memory.desired.bytes)
        #expect(listed.maxMemory == full.memory.max.bytes && listed.desiredMemory == 384 << 20)
        #expect(listed.minProcs == full.processors.min && listed.desiredProcs == full.processors.desired)
        #expect(listed.maxProcs == full.processors.max)
        #expect(listed.weight == 300 && listed.cap == 0.5 && listed.autostart == true)
    }

    @Test func anUncappedProfileHasNoCap() throws {
        let json = try ProfileStore(searchPath: [Self.profiles]).resolve("lpar-minimal").jsonString()
        #expect(try #require(ListedLparValues(json: json)).cap == nil)
        #expect(ListedLparValues(json: "{\"lpar\": 3}") == nil)
        #expect(ListedLparValues(json: "not json") == nil)
    }

    @Test(arguments: [
        (#"{"kind":"lpar","lpar":{"a":[1,{"b":"}"}]},"x":2}"#, #"{"a":[1,{"b":"}"}]}"#),
        (#"{"x":{"lpar":1},"lpar" : 7}"#, " 7"), (#"{"s":"\"lpar\":","lpar":"v"}"#, #""v""#),
        (#"{"lpar":[1,2],"y":0}"#, "[1,2]"), (#"{"kind":"lpar"}"#, nil), (#"[{"lpar":1}]"#, nil),
    ] as [(String, String?)])
    func topLevelMemberIsFoundByScanning(_ json: String, _ member: String?) {
        #expect(ListedLparValues.topLevelMember("lpar", of: Array(json.utf8)).map { String(decoding: $0, as: UTF8.self) } == member)
    }

    @Test func memTotalIsReadInBytes() {
        #expect(SystemCapacity.memTotalBytes("MemTotal:       24683568 kB\nMemFree: 1 kB\n") == 24683568 * 1024)
        #expect(SystemCapacity.memTotalBytes("MemFree: 1 kB\n") == nil)
        #expect(SystemCapacity.isLocal("qemu:///system") && SystemCapacity.isLocal("test:///default"))
        #expect(!SystemCapacity.isLocal("qemu+ssh://host/system") && !SystemCapacity.isLocal("qemu+tcp://10.0.0.2/system"))
    }

    @Test func assignedCountsActiveLparsAndHostWparLimits() {
        let children = [
            PartitionRecord(name: "a", path: "a", kind: .lpar, state: .running, fields: [("procs", .int(2)), ("mem", .bytes(512 << 20))]),
            PartitionRecord(name: "b", path: "b", kind: .lpar, state: .defined, fields: [("procs", .int(4)), ("mem", .bytes(1 << 30))]),
            PartitionRecord(name: "c", path: "c", kind: .wpar, state: .running, fields: [("memory_max", .bytes(128 << 20))]),
            PartitionRecord(name: "d", path: "d", kind: .wpar, state: .running, fields: [("memory_max", .none)]),
        ]
        let allocation = SystemAllocation(children: children)
        #expect(allocation.procs == 2 && allocation.memoryBytes == 640 << 20)
        let fields = allocation.fields(total: SystemCapacity(cpus: 1, memoryBytes: 1 << 30))
        #expect(fields.first { $0.0 == "free_procs" }?.1 == .int(0))
        #expect(fields.first { $0.0 == "free_mem" }?.1 == .bytes(384 << 20))
    }
}
