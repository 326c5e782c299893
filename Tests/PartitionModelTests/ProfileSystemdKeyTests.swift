import Foundation
import Testing
@testable import PartitionModel
@testable import PartitionProfiles

/// `systemd:` (issue 10, part 6): a system WPAR whose init is systemd.
@Suite struct ProfileSystemdKeyTests {
    static let system = "kind: wpar\ntype: system\nrootfs: /var/lib/partctl/rootfs/busybox\n"

    @Test func defaultsToFalseAndIsKeptOutOfTheDefinition() throws {
        let fixture = try ProfileFixture()
        try fixture.write("ptest-sys", Self.system)
        let resolved = try fixture.store.resolve("ptest-sys")
        #expect(resolved.wpar?.systemd == nil)
        #expect(resolved.origin(of: "systemd")?.value == "false")
    }

    @Test func trueForASystemWpar() throws {
        let fixture = try ProfileFixture()
        try fixture.write("ptest-sys", Self.system + "systemd: true\n")
        #expect(try fixture.store.resolve("ptest-sys").wpar?.systemd == true)
    }

    @Test func refusals() throws {
        let fixture = try ProfileFixture()
        let bad = try fixture.write("ptest-bad", Self.system + "systemd: maybe\n")
        expectProfileError(fixture.failure("ptest-bad"), place: bad, keyPath: "systemd", "true or false")
        let application = try fixture.write("ptest-app", validWpar + "systemd: true\n")
        expectProfileError(fixture.failure("ptest-app"), place: application, keyPath: "systemd", "system WPARs only")
    }
}
