import Foundation
import Testing
@testable import PartitionModel
@testable import PartitionProfiles

/// `init:` (issue 9, part 4): whether an application WPAR's command runs under the minimal init.
@Suite struct ProfileInitKeyTests {
    @Test func applicationDefaultsToTheInit() throws {
        let fixture = try ProfileFixture()
        try fixture.write("ptest-app", validWpar)
        let resolved = try fixture.store.resolve("ptest-app")
        let wpar = try #require(resolved.wpar)
        #expect(wpar.minimalInit == nil)
        #expect(wpar.usesMinimalInit)
        // `profile explain` shows where the value came from: the built-in default.
        #expect(resolved.origin(of: "init")?.value == "true")
        #expect(resolved.origin(of: "init")?.source == ProfileValueOrigin.defaultSource)
    }

    @Test func falseTurnsItOff() throws {
        let fixture = try ProfileFixture()
        try fixture.write("ptest-app", validWpar + "init: false\n")
        let wpar = try #require(try fixture.store.resolve("ptest-app").wpar)
        #expect(wpar.minimalInit == false)
        #expect(!wpar.usesMinimalInit)
    }

    @Test func aSystemWparHasNone() throws {
        let fixture = try ProfileFixture()
        let system = "kind: wpar\ntype: system\nrootfs: /var/lib/partctl/rootfs/busybox\n"
        try fixture.write("ptest-sys", system)
        #expect(try fixture.store.resolve("ptest-sys").wpar?.usesMinimalInit == false)
    }

    @Test func refusals() throws {
        let fixture = try ProfileFixture()
        let file = try fixture.write("ptest-bad", validWpar + "init: sometimes\n")
        expectProfileError(fixture.failure("ptest-bad"), place: file, keyPath: "init", "true or false")
        let system = try fixture.write("ptest-sys", "kind: wpar\ntype: system\nrootfs: /var/lib/partctl/rootfs/busybox\ninit: true\n")
        expectProfileError(fixture.failure("ptest-sys"), place: system, keyPath: "init", "application WPARs only")
    }
}
