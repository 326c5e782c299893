import Foundation
import Testing
@testable import PartitionModel
@testable import PartitionProfiles

/// `image:` (issue 10, part 1): an image of the store, a key of both kinds.
@Suite struct ProfileImageKeyTests {
    private let lpar = "kind: lpar\nmemory: {desired: 256MiB}\nprocessors: {desired: 1}\n"

    @Test func bothKindsTakeIt() throws {
        let fixture = try ProfileFixture()
        try fixture.write("ptest-lp", lpar + "image: debian-12\n")
        try fixture.write("ptest-sys", "kind: wpar\ntype: system\nimage: debian-12\n")
        try fixture.write("ptest-app", validWpar + "image: app\n")
        let resolved = try fixture.store.resolve("ptest-lp")
        #expect(resolved.lpar?.image == "debian-12")
        #expect(resolved.origin(of: "image")?.value == "debian-12")
        // A system WPAR with an image needs no rootfs: the image's tree is its root.
        let system = try #require(try fixture.store.resolve("ptest-sys").wpar)
        #expect(system.image == "debian-12" && system.rootfs == nil)
        #expect(try fixture.store.resolve("ptest-app").wpar?.image == "app")
    }

    @Test func absentIsNoneAndExplainSaysSo() throws {
        let fixture = try ProfileFixture()
        try fixture.write("ptest-app", validWpar)
        let resolved = try fixture.store.resolve("ptest-app")
        #expect(resolved.wpar?.image == nil)
        #expect(resolved.origin(of: "image")?.value == "none")
        #expect(resolved.origin(of: "image")?.source == ProfileValueOrigin.defaultSource)
    }

    @Test func theCommandLineSetsIt() throws {
        let fixture = try ProfileFixture()
        try fixture.write("ptest-lp", lpar)
        let resolved = try fixture.store.resolve("ptest-lp", overrides: ProfileOverrides.parse("image=debian-12"))
        #expect(resolved.lpar?.image == "debian-12")
    }

    @Test func storedDefinitionsWithoutItStillDecode() throws {
        let old = WparProfile(type: .system, command: ["/sbin/init"], rootfs: WparRootfs(base: "/var/lib/partctl/rootfs/busybox"))
        var object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(old)) as? [String: Any])
        object["image"] = nil
        let decoded = try JSONDecoder().decode(WparProfile.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(decoded == old && decoded.image == nil)
    }

    @Test func refusals() throws {
        let fixture = try ProfileFixture()
        let slash = try fixture.write("ptest-slash", lpar + "image: ../etc\n")
        expectProfileError(fixture.failure("ptest-slash"), place: slash, keyPath: "image", "contains '/'")
        let upper = try fixture.write("ptest-upper", lpar + "image: Debian\n")
        expectProfileError(fixture.failure("ptest-upper"), place: upper, keyPath: "image", "uppercase")
        let both = try fixture.write("ptest-both", "kind: wpar\ntype: system\nrootfs: /var/lib/partctl/rootfs/busybox\nimage: x\n")
        expectProfileError(fixture.failure("ptest-both"), place: both, keyPath: "image", "both give the WPAR's root")
        #expect(throws: PartitionError.self) {
            try fixture.store.resolve("ptest-slash", overrides: ProfileOverrides.parse("image=a..b"))
        }
    }
}
