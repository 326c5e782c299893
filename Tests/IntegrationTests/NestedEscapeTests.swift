import Foundation
import Testing

/// Issue 8's finding 1 in a WPAR nested in an LPAR, through the partctl command line: the guest runs
/// the same engine on Debian bookworm's 6.1 kernel, where overlay layers go to the kernel as
/// /proc/self/fd/N and mount sources are opened before the root moves.
///
/// Boots lpar-minimal, or the kernel and initrd of $PARTCTL_GUEST_IMAGE (an image built from this
/// tree into a directory of its own, so the shared one need not change for a test).
@Suite(.serialized) struct NestedEscapeTests {
    static func lparProfile(in directory: URL) throws -> String {
        guard let image = ProcessInfo.processInfo.environment["PARTCTL_GUEST_IMAGE"], !image.isEmpty else { return "lpar-minimal" }
        let path = directory.appendingPathComponent("ptest-nest-paths.yaml")
        try "kind: lpar\nextends: lpar-minimal\nboot:\n  kernel: \(image)/vmlinux\n  initrd: \(image)/initrd.img\n"
            .write(to: path, atomically: true, encoding: .utf8)
        return path.path
    }

    /// The repro inside the guest: a system WPAR plants `ln -s / /ptest-rt-share` in its root;
    /// a WPAR on that root with a mount of the guest's /tmp/ptest-rt-share must get that directory.
    /// (A nested `activate --profile` keeps the stored definition, so the second WPAR is a new one.)
    @Test func plantedSymlinkUnderTheStageDoesNotRedirectANestedMount() throws {
        let lpar = "ptest-nest-paths"
        CLI.removeDomain(lpar)
        defer { CLI.removeDomain(lpar) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-nest-paths-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        try #require(CLI.partctl("define", lpar, "--profile", try Self.lparProfile(in: directory)).status == 0)
        let boot = try CLI.partctl("activate", lpar, timeout: 180)
        try #require(boot.status == 0, "\(boot.stderr)")
        // The guest's directory the profile names, with a marker the guest's root does not have.
        try NestedWparTests.typeOnConsole(lpar, "mkdir -p /tmp/ptest-rt-share && echo share > /tmp/ptest-rt-share/ptest-marker")

        // A system WPAR on a directory root (the guest's busybox tree itself, the LPAR is the test's)
        // plants the symlink; a second one on the same root mounts the guest's directory.
        let plain = directory.appendingPathComponent("plain.yaml")
        try "extends: wpar-system\nrootfs:\n  overlay: false\n".write(to: plain, atomically: true, encoding: .utf8)
        let mounted = directory.appendingPathComponent("mounted.yaml")
        try "extends: wpar-system\nrootfs:\n  overlay: false\nmounts: [{source: /tmp/ptest-rt-share, target: /mnt/share, readonly: false}]\n"
            .write(to: mounted, atomically: true, encoding: .utf8)

        let planter = "\(lpar)/planter"
        try #require(CLI.partctl("define", planter, "--profile", plain.path).status == 0)
        let first = try CLI.partctl("activate", planter)
        try #require(first.status == 0, "\(first.stderr)")
        // While the root sits on the stage directory /tmp, /tmp/ptest-rt-share lands on /ptest-rt-share.
        #expect(try CLI.partctl("login", planter, "--", "ln", "-s", "/", "/ptest-rt-share").status == 0)
        #expect(try CLI.partctl("remove", planter, "--force").status == 0)

        let wpar = "\(lpar)/rt"
        try #require(CLI.partctl("define", wpar, "--profile", mounted.path).status == 0)
        let again = try CLI.partctl("activate", wpar)
        if again.status == 0 {
            let inside = try CLI.partctl("login", wpar, "--", "sh", "-c",
                "[ -e /mnt/share/ptest-marker ] && ! [ -e /mnt/share/usr/sbin/partagent ]"
                + " || { ls -a /mnt/share; grep -E ' / | /mnt/share ' /proc/self/mountinfo; exit 1; }")
            #expect(inside.status == 0, "the nested WPAR did not get the guest directory its profile names: \(inside.stdout) \(inside.stderr)")
        } else {
            // Refused is fail-closed; it must not be for a reason other than the planted symlink.
            #expect(again.stderr.contains("symlink"), "\(again.stderr)")
        }
        #expect(try CLI.partctl("remove", wpar, "--force").status == 0)

        // An overlay root on this kernel: the layers reach overlayfs as /proc/self/fd/N of the
        // directories opened before the root moved (no layers by descriptor before Linux 6.13).
        let layered = directory.appendingPathComponent("layered.yaml")
        try "extends: wpar-system\n".write(to: layered, atomically: true, encoding: .utf8)
        let overlay = "\(lpar)/ov"
        try #require(CLI.partctl("define", overlay, "--profile", layered.path).status == 0)
        let start = try CLI.partctl("activate", overlay)
        #expect(start.status == 0, "\(start.stderr)")
        let root = try CLI.partctl("login", overlay, "--", "sh", "-c", "touch /ptest-upper && grep ' / / ' /proc/self/mountinfo")
        #expect(root.status == 0 && root.stdout.contains(" overlay "), "\(root.stdout) \(root.stderr)")
        #expect(try CLI.partctl("remove", overlay, "--force").status == 0)
        #expect(try CLI.partctl("remove", lpar, "--force").status == 0)
    }
}
