import Foundation
import Testing

/// `partctl snapshot` of an LPAR (docs/snapshots.md), in one LPAR booted from partctl's guest image
/// with a qcow2 data disk and a running nested system WPAR: snapshot, change a file in the WPAR and
/// bytes on the disk, revert: both changes are gone and the WPAR runs (it was frozen in the saved
/// memory and is thawed); a `kill -9` while the WPAR is frozen is cleaned up by the next command.
@Suite(.serialized) struct SnapshotLparTests {
    static let runtimeRoot = WparStateTests.runtimeRoot

    @Test func anLparWithANestedWparRevertsToRunning() throws {
        let lpar = "ptest-snap-lpar"
        let web = "\(lpar)/web"
        let disk = "/var/lib/libvirt/images/\(lpar).qcow2"
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-snap-\(UUID().uuidString)")
        CLI.removeDomain(lpar)
        defer {
            CLI.removeDomain(lpar)
            try? FileManager.default.removeItem(atPath: disk)
            try? FileManager.default.removeItem(at: directory)
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let made = try CLI.run("/usr/bin/qemu-img", ["create", "-q", "-f", "qcow2", disk, "16M"])
        try #require(made.status == 0, "\(made)")
        let profile = directory.appendingPathComponent("lpar.yaml")
        try "kind: lpar\nextends: lpar-minimal\ndisks: [{file: \(disk), format: qcow2}]\n".write(to: profile, atomically: true, encoding: .utf8)

        try #require(CLI.partctl("define", lpar, "--profile", profile.path).status == 0)
        let activate = try CLI.partctl("activate", lpar, timeout: 180)
        try #require(activate.status == 0, "\(activate.stderr)")
        try #require(CLI.partctl("define", web, "--profile", "wpar-system").status == 0)
        let start = try CLI.partctl("activate", web)
        try #require(start.status == 0, "\(start.stderr)")

        func inGuest(_ script: String) throws -> CLI.Result { try CLI.partctl("login", lpar, "--", "/bin/sh", "-c", script, timeout: 60) }
        func inWpar(_ script: String) throws -> CLI.Result { try CLI.partctl("login", web, "--", "/bin/sh", "-c", script, timeout: 60) }
        func diskBytes() throws -> String {
            // Past the guest's page cache: what the disk holds.
            try inGuest("echo 3 > /proc/sys/vm/drop_caches; head -c 3 /dev/vda").stdout
        }
        func freezeState() throws -> String {
            try inGuest("cat /sys/fs/cgroup/partctl/web/cgroup.freeze").stdout
        }

        try #require(try inGuest("echo one | dd of=/dev/vda conv=fsync 2>/dev/null").status == 0)
        try #require(try inWpar("echo one > /marker").status == 0)
        let create = try CLI.partctl("snapshot", "create", lpar, "--name", "s1", "--json", timeout: 300)
        try #require(create.status == 0, "\(create.stderr)")
        #expect(create.stdout.contains("\"content\":\"disk+memory\""), "\(create.stdout)")
        #expect(try freezeState() == "0\n", "the nested WPAR is thawed after the snapshot")
        let json = try CLI.partctl("query", lpar, "--json").stdout
        #expect((try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])?["snapshots"] as? Int == 1, "\(json)")

        try #require(try inGuest("echo two | dd of=/dev/vda conv=fsync 2>/dev/null").status == 0)
        try #require(try inWpar("echo two > /marker").status == 0)
        #expect(try diskBytes() == "two")
        let revert = try CLI.partctl("snapshot", "revert", lpar, "s1", timeout: 300)
        try #require(revert.status == 0, "\(revert.stderr)")
        #expect(try CLI.partctl("query", lpar, "-F", "state").stdout == "running\n")
        #expect(try CLI.partctl("query", web, "-F", "state").stdout == "running\n")
        #expect(try freezeState() == "0\n", "the nested WPAR, frozen in the saved memory, is thawed")
        let marker = try inWpar("cat /marker")
        #expect(marker.status == 0 && marker.stdout == "one\n", "\(marker.stdout) \(marker.stderr)")
        #expect(try diskBytes() == "one", "the disk is back")
        #expect(try CLI.partctl("snapshot", "list", lpar, "-F", "name,state,content,current").stdout == "s1,running,disk+memory,yes\n")

        // kill -9 while the nested WPAR is frozen: the next locked command on the LPAR thaws it.
        let killed = try CLI.partctl("snapshot", "create", lpar, "--name", "k1", environment: ["PARTCTL_TEST_FAULT": "lpar-snapshot-frozen"], timeout: 120)
        #expect(killed.status != 0 && killed.status != 1 && killed.status != 2, "not killed: \(killed.status) \(killed.stderr)")
        #expect(try freezeState() == "1\n", "the test's premise: the nested WPAR is left frozen")
        #expect(FileManager.default.fileExists(atPath: "\(Self.runtimeRoot)/snapshots/lpars/\(lpar)"))
        #expect(try CLI.partctl("snapshot", "list", lpar, "-F", "name").stdout == "s1\n")
        #expect(try freezeState() == "0\n", "the next command thawed it")
        #expect(!FileManager.default.fileExists(atPath: "\(Self.runtimeRoot)/snapshots/lpars/\(lpar)"))

        expectRefusal(try CLI.partctl("snapshot", "create", lpar, "--name", "s1"), status: 2, mentioning: ["already has a snapshot named s1"])
        expectRefusal(try CLI.partctl("snapshot", "revert", lpar, "nope"), status: 2, mentioning: ["no snapshot named nope"])
        let remove = try CLI.partctl("snapshot", "remove", lpar, "s1", timeout: 120)
        #expect(remove.status == 0, "\(remove.stderr)")
        #expect(try CLI.partctl("snapshot", "list", lpar, "-F", "name").stdout == "")
    }

    /// lpar-minimal has no disk to hold a snapshot: one line naming why and what to use, exit 2,
    /// nothing made (no boot needed).
    @Test func anLparWithoutAQcow2DiskIsRefused() throws {
        let lpar = "ptest-snap-nodisk"
        CLI.removeDomain(lpar)
        defer { CLI.removeDomain(lpar) }
        try #require(CLI.partctl("define", lpar, "--profile", "lpar-minimal").status == 0)
        expectRefusal(try CLI.partctl("snapshot", "create", lpar, "--name", "s1"), status: 2, mentioning: ["no qcow2 disk", "lpar-debian"])
        #expect(try CLI.virsh("snapshot-list", lpar, "--name").stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
    }
}
