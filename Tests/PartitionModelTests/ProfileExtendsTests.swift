import Testing
@testable import PartitionModel
@testable import PartitionProfiles

/// `extends`: deep merge of mappings, lists replaced whole, `~` removes, cycles and depth refused,
/// and the provenance of every value.
@Suite struct ProfileExtendsTests {
    let base = """
        kind: lpar
        description: the base
        memory: {min: 128MiB, desired: 256MiB, max: 512MiB}
        processors: {min: 1, desired: 1, max: 4}
        cap: 0.5
        boot:
          firmware: uefi
          order: [disk]
        disks:
          - {file: /srv/a.img}
          - {file: /srv/b.img}
        network: [{network: default}]

        """

    @Test func mappingsMergeAndChildWins() throws {
        let fixture = try ProfileFixture()
        let baseFile = try fixture.write("ptest-base", base)
        let childFile = try fixture.write("ptest-child", """
            extends: ptest-base
            memory: {desired: 384MiB}
            weight: 300

            """)
        let resolved = try fixture.store.resolve("ptest-child")
        let lpar = try #require(resolved.lpar)
        #expect(resolved.kind == .lpar)
        #expect(resolved.chain == ["ptest-child", "ptest-base"])
        #expect(resolved.chainFiles == [childFile, baseFile])
        #expect(lpar.memory == ResourceRange(min: .mebibytes(128), desired: .mebibytes(384), max: .mebibytes(512)))
        #expect(lpar.weight == 300 && lpar.cap == 0.5)
        #expect(lpar.boot.firmware == .uefi && lpar.boot.order == [.disk])
        #expect(lpar.disks.map(\.file) == ["/srv/a.img", "/srv/b.img"])
        #expect(resolved.description == nil, "a description belongs to its own profile")

        #expect(resolved.origin(of: "memory.desired") == ProfileValueOrigin(keyPath: "memory.desired", value: "384MiB",
                                                                             source: "ptest-child", file: childFile, line: 2))
        #expect(resolved.origin(of: "memory.min") == ProfileValueOrigin(keyPath: "memory.min", value: "128MiB",
                                                                         source: "ptest-base", file: baseFile, line: 3))
        #expect(resolved.origin(of: "weight")?.source == "ptest-child")
        #expect(resolved.origin(of: "boot.firmware")?.source == "ptest-base")
        #expect(resolved.origin(of: "accel") == ProfileValueOrigin(keyPath: "accel", value: "auto", source: "default"))
        #expect(resolved.origin(of: "disks[1].bus") == ProfileValueOrigin(keyPath: "disks[1].bus", value: "virtio", source: "default"))
        #expect(resolved.origin(of: "disks[1].file")?.source == "ptest-base")
        #expect(resolved.origin(of: "boot.order")?.value == "[disk]")
    }

    /// The provenance lists every leaf once, in the schema's order, defaults included.
    @Test func provenanceCoversEveryLeafInOrder() throws {
        let fixture = try ProfileFixture()
        try fixture.write("ptest-base", base)
        try fixture.write("ptest-child", "extends: ptest-base\n")
        let keys = try fixture.store.resolve("ptest-child").provenance.map(\.keyPath)
        #expect(keys == [
            "kind", "memory.min", "memory.desired", "memory.max", "processors.min", "processors.desired", "processors.max",
            "weight", "cap", "accel", "boot.firmware", "boot.order",
            "network[0].network", "network[0].model",
            "disks[0].file", "disks[0].device", "disks[0].format", "disks[0].bus", "disks[0].readonly",
            "disks[1].file", "disks[1].device", "disks[1].format", "disks[1].bus", "disks[1].readonly",
            "agent", "autostart", "image",
        ])
        #expect(Set(keys).count == keys.count)
    }

    @Test func listsAreReplacedWhole() throws {
        let fixture = try ProfileFixture()
        try fixture.write("ptest-base", base)
        try fixture.write("ptest-child", "extends: ptest-base\ndisks: [{file: /srv/c.img, format: qcow2}]\nnetwork: []\n")
        let lpar = try #require(try fixture.store.resolve("ptest-child").lpar)
        #expect(lpar.disks == [DiskSpec(file: "/srv/c.img", format: .qcow2)])
        #expect(lpar.network.isEmpty)
    }

    /// `~` removes an inherited value; the removal is the child's doing.
    @Test func nullRemovesAnInheritedValue() throws {
        let fixture = try ProfileFixture()
        try fixture.write("ptest-base", base)
        let childFile = try fixture.write("ptest-child", "extends: ptest-base\ncap: ~\nboot: {order: ~, kernel: /k}\ndisks: ~\n")
        let resolved = try fixture.store.resolve("ptest-child")
        let lpar = try #require(resolved.lpar)
        #expect(lpar.cap == nil && lpar.boot.order.isEmpty && lpar.disks.isEmpty)
        #expect(resolved.origin(of: "cap") == ProfileValueOrigin(keyPath: "cap", value: "none", source: "ptest-child", file: childFile, line: 2))
    }

    @Test func kindIsInheritedButNotChanged() throws {
        let fixture = try ProfileFixture()
        try fixture.write("ptest-base", base)
        let childFile = try fixture.write("ptest-child", "kind: wpar\nextends: ptest-base\n")
        expectProfileError(fixture.failure("ptest-child"), place: "\(childFile):1:", keyPath: "kind", "differs from lpar, the kind of 'ptest-base'")
    }

    @Test func cyclesAreReportedWithTheChain() throws {
        let fixture = try ProfileFixture()
        let a = try fixture.write("ptest-a", "kind: lpar\nextends: ptest-b\n")
        try fixture.write("ptest-b", "extends: ptest-c\n")
        let c = try fixture.write("ptest-c", "extends: ptest-a\n")
        let error = fixture.failure("ptest-a")
        expectProfileError(error, place: "\(c):1:", keyPath: "extends", "in a cycle: ptest-a -> ptest-b -> ptest-c -> ptest-a.")
        _ = a
    }

    @Test func aProfileExtendingItselfIsACycle() throws {
        let fixture = try ProfileFixture()
        let file = try fixture.write("ptest-self", "kind: lpar\nextends: ptest-self\n")
        expectProfileError(fixture.failure("ptest-self"), place: "\(file):2:", keyPath: "extends", "ptest-self -> ptest-self")
    }

    @Test func chainsAreLimited() throws {
        let fixture = try ProfileFixture()
        for level in 0..<10 {
            try fixture.write("ptest-l\(level)", level == 9 ? base : "extends: ptest-l\(level + 1)\n")
        }
        expectProfileError(fixture.failure("ptest-l0"), place: fixture.path("ptest-l7.yaml"), keyPath: "extends",
                           "more than \(ProfileStore.maxChainLength) profiles in one chain")
        try fixture.write("ptest-l2", "extends: ptest-l9\n")
        #expect(try fixture.store.resolve("ptest-l0").chain == ["ptest-l0", "ptest-l1", "ptest-l2", "ptest-l9"])
    }

    @Test func aMissingParentNamesTheExtendingFile() throws {
        let fixture = try ProfileFixture()
        let file = try fixture.write("ptest-orphan", "kind: lpar\nextends: ptest-nowhere\n")
        expectProfileError(fixture.failure("ptest-orphan"), place: "\(file):2:", keyPath: "extends",
                           "The profile 'ptest-nowhere' was not found in \(fixture.directory).", code: .notFound)
    }

    @Test func extendsTakesPathsRelativeToTheFile() throws {
        let fixture = try ProfileFixture()
        try fixture.write("ptest-base.yml", base)
        try fixture.write("ptest-child", "extends: ./ptest-base.yml\nmemory: {desired: 200MiB}\n")
        let resolved = try ProfileStore(searchPath: []).resolve(fixture.path("ptest-child.yaml"))
        #expect(resolved.chain == ["ptest-child", "ptest-base"])
        #expect(resolved.lpar?.memory.desired == .mebibytes(200))
    }

    @Test func extendsMustBeAName() throws {
        let fixture = try ProfileFixture()
        let file = try fixture.write("ptest-child", "kind: lpar\nextends: [a, b]\n")
        expectProfileError(fixture.failure("ptest-child"), place: "\(file):2:", keyPath: "extends", "expected a profile name or path, found a list")
    }

    /// A problem between two values is blamed on the profile that set one of them last.
    @Test func conflictsAreBlamedOnTheLaterProfile() throws {
        let fixture = try ProfileFixture()
        try fixture.write("ptest-base", base)
        let childFile = try fixture.write("ptest-child", "extends: ptest-base\nprocessors: {max: 2}\ncap: 3\n")
        expectProfileError(fixture.failure("ptest-child"), place: "\(childFile):3:", keyPath: "cap", "more than processors.max (2)")
        try fixture.write("ptest-child", "extends: ptest-base\nmemory:\n  desired: 1GiB\n")
        expectProfileError(fixture.failure("ptest-child"), place: "\(childFile):3:", keyPath: "memory", "desired 1GiB is greater than max 512MiB.")
    }

    @Test func wparEnvironmentMergesByName() throws {
        let fixture = try ProfileFixture()
        try fixture.write("ptest-wbase", validWpar + "environment: {A: one, B: two}\n")
        try fixture.write("ptest-wchild", "extends: ptest-wbase\nenvironment: {B: zwei, A: ~, C: drei}\n")
        let resolved = try fixture.store.resolve("ptest-wchild")
        #expect(resolved.wpar?.environment == ["B": "zwei", "C": "drei"])
        #expect(resolved.origin(of: "environment.B")?.source == "ptest-wchild")
    }
}
