import Foundation
import Glibc
import PartctlTestSupport
import PartitionImages
import PartitionModel
import Testing

/// Images reach WPARs nested in an LPAR (issue 10, part 7): partctl makes a read-only ext4 file
/// system of the image's tree, attaches it to the LPAR as a virtio disk with serial
/// `pimg-<digest 12>`, the agent mounts it as the lower layer of the nested WPAR's root, and the
/// disk is detached once no nested WPAR of that LPAR uses the image.
///
/// The images are committed to the store by the test itself (ImageStore, as `image import` does):
/// the busybox tree of system WPARs with a marker file, and, for the systemd test, a Debian tree
/// (the store's debian-12, or the directory in PARTCTL_TEST_DEBIAN_ROOTFS; without either that test
/// says so and does nothing). The guest is lpar-minimal (or $PARTCTL_GUEST_IMAGE's kernel and initrd).
@Suite(.serialized) struct NestedImageTests {
    static let lpar = "ptest-nimg"
    static let stateRoot = "/var/lib/partctl"
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    @discardableResult
    func partctl(_ arguments: String..., timeout: TimeInterval = 180) throws -> (status: Int32, stdout: String, stderr: String) {
        try runProgram("/bin/sh", ["-c", "cd \"$0\" && exec \"$@\"", Self.packageRoot, Built.partctl] + arguments, timeout: timeout)
    }

    func virsh(_ arguments: String...) throws -> String {
        try runProgram("/usr/bin/virsh", ["-c", "qemu:///system"] + arguments).stdout
    }

    func removeLpar() {
        _ = try? partctl("remove", Self.lpar, "--force")
        _ = try? runProgram("/usr/bin/virsh", ["-c", "qemu:///system", "destroy", Self.lpar])
        _ = try? runProgram("/usr/bin/virsh", ["-c", "qemu:///system", "undefine", Self.lpar, "--nvram"])
    }

    /// Commits `tree` (copied, plus `extra` files) as image `name`; returns its manifest.
    static func commitImage(_ name: String, from tree: String, extra: [String: String] = [:]) throws -> ImageManifest {
        let store = ImageStore(stateRoot: stateRoot)
        let imageName = try ImageName(validating: name)
        removeImage(name)
        let staging = try store.stage(imageName)
        do {
            let copy = try runProgram("/bin/cp", ["-a", tree, staging.rootfs])
            try #require(copy.status == 0, "\(copy.stderr)")
            for (path, text) in extra { try text.write(toFile: staging.rootfs + path, atomically: false, encoding: .utf8) }
            let (digest, size) = try ImageDigest.tree(at: staging.rootfs)
            let manifest = ImageManifest(name: imageName, digest: digest, kinds: [.rootfs], size: size, source: "test:\(tree)")
            try staging.commit(manifest)
            return manifest
        } catch {
            staging.abandon()
            throw error
        }
    }

    /// Removes a test image and the file system image partctl made of it for nested WPARs.
    static func removeImage(_ name: String) {
        precondition(name.hasPrefix("ptest-"))
        let store = ImageStore(stateRoot: stateRoot)
        guard let imageName = try? ImageName(validating: name) else { return }
        if store.contains(imageName), let lock = try? store.lock(imageName) { try? store.remove(imageName, holding: lock) }
        // ImageStore alone (not `partctl image remove`) leaves the file system image partctl made.
        for file in (try? FileManager.default.contentsOfDirectory(atPath: "\(stateRoot)/pool")) ?? []
        where file.hasPrefix("rootfs-\(name)-") {
            try? FileManager.default.removeItem(atPath: "\(stateRoot)/pool/\(file)")
        }
    }

    func lparProfile(in directory: String) throws -> String {
        guard let image = ProcessInfo.processInfo.environment["PARTCTL_GUEST_IMAGE"], !image.isEmpty else { return "lpar-minimal" }
        let path = directory + "/ptest-nimg.yaml"
        try "kind: lpar\nextends: lpar-minimal\nboot:\n  kernel: \(image)/vmlinux\n  initrd: \(image)/initrd.img\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func serial(_ manifest: ImageManifest) -> String {
        "pimg-" + manifest.digest.dropFirst("sha256:".count).prefix(12)
    }

    @Test func aNestedWparRunsOnAnImageThroughAReadOnlyDisk() throws {
        let marker = UUID().uuidString
        let manifest = try Self.commitImage("ptest-img-busybox", from: "/var/lib/partctl/rootfs/busybox", extra: ["/etc/ptest-marker": marker])
        removeLpar()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-nimg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer {
            removeLpar()
            Self.removeImage("ptest-img-busybox")
            try? FileManager.default.removeItem(atPath: directory)
        }
        let wparProfile = directory + "/ptest-imgwpar.yaml"
        try """
            kind: wpar
            description: a nested WPAR on a test image
            type: system
            image: ptest-img-busybox
            command: [/bin/busybox, init]
            resources: {memory: {max: 64MiB}, processes: {max: 64}}
            network: loopback
            environment: {PATH: /sbin:/usr/sbin:/bin:/usr/bin}

            """.write(toFile: wparProfile, atomically: true, encoding: .utf8)

        try #require(try partctl("define", Self.lpar, "--profile", try lparProfile(in: directory)).status == 0)
        let activate = try partctl("activate", Self.lpar)
        try #require(activate.status == 0, "\(activate.stderr)")
        let path = "\(Self.lpar)/ptest-w1"
        let define = try partctl("define", path, "--profile", wparProfile)
        try #require(define.status == 0, "\(define.stderr)")
        let started = try partctl("activate", path)
        try #require(started.status == 0, "\(started.stderr)")

        // The image's own files, through the disk and the guest's mount.
        let login = try partctl("login", path, "--", "cat", "/etc/ptest-marker")
        #expect(login.stdout == marker, "\(login.stderr)")
        // Writes go to the WPAR's own layer in the guest; the image disk is read-only.
        #expect(try partctl("login", path, "--", "/bin/sh", "-c", "echo changed > /etc/ptest-marker && cat /etc/ptest-marker").stdout == "changed\n")
        let serial = serial(manifest)
        #expect(try virsh("dumpxml", Self.lpar).contains("<serial>\(serial)</serial>"))
        #expect(try virsh("dumpxml", "--inactive", Self.lpar).contains("<serial>\(serial)</serial>"))
        let diskXML = try virsh("dumpxml", Self.lpar)
        #expect(diskXML.contains("<readonly/>"))
        // The image's tree as a file system is root's alone, as the store is (it was 0644 in a pool
        // directory every host user may pass).
        for file in (try? FileManager.default.contentsOfDirectory(atPath: "\(Self.stateRoot)/pool")) ?? []
        where file.hasPrefix("rootfs-ptest-img-busybox-") {
            var status = stat()
            #expect(stat("\(Self.stateRoot)/pool/\(file)", &status) == 0 && status.st_mode & 0o077 == 0,
                    "\(file): mode \(String(status.st_mode & 0o777, radix: 8))")
        }

        // A second nested WPAR on the same image shares the disk; the disk stays while one uses it.
        let second = "\(Self.lpar)/ptest-w2"
        try #require(try partctl("define", second, "--profile", wparProfile).status == 0)
        try #require(try partctl("activate", second).status == 0)
        #expect(try virsh("dumpxml", Self.lpar).components(separatedBy: "<serial>\(serial)</serial>").count == 2)
        #expect(try partctl("remove", second, "--force").status == 0)
        #expect(try virsh("dumpxml", "--inactive", Self.lpar).contains(serial))
        #expect(try partctl("login", path, "--", "cat", "/etc/hostname").status == 0)

        // The last one gone, the disk goes: from the definition at once, from the guest once it let go.
        let remove = try partctl("remove", path, "--force")
        #expect(remove.status == 0, "\(remove.stderr)")
        #expect(try !virsh("dumpxml", "--inactive", Self.lpar).contains(serial))
        let detached = waitUntil(timeout: 30, interval: 0.5) { (try? virsh("dumpxml", Self.lpar).contains(serial)) == false }
        #expect(detached, "the image disk is still attached to the running LPAR")
    }

    /// A Debian system WPAR with systemd as PID 1 in lpar-minimal's pure cgroup v2.
    @Test func aNestedDebianWparRunsSystemd() throws {
        let tree: String
        if let given = ProcessInfo.processInfo.environment["PARTCTL_TEST_DEBIAN_ROOTFS"], !given.isEmpty {
            tree = given
        } else if FileManager.default.fileExists(atPath: "\(Self.stateRoot)/store/debian-12/image.json") {
            tree = "\(Self.stateRoot)/store/debian-12/rootfs"
        } else {
            print("NestedImageTests: no debian-12 image in the store and no PARTCTL_TEST_DEBIAN_ROOTFS; build it with 'partctl image build debian-12'.")
            return
        }
        _ = try Self.commitImage("ptest-img-debian", from: tree)
        removeLpar()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-nimg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer {
            removeLpar()
            Self.removeImage("ptest-img-debian")
            try? FileManager.default.removeItem(atPath: directory)
        }
        try #require(try partctl("define", Self.lpar, "--profile", try lparProfile(in: directory)).status == 0)
        try #require(try partctl("activate", Self.lpar).status == 0)
        let path = "\(Self.lpar)/ptest-pg"
        // wpar-debian with the test's image and limits that fit lpar-minimal.
        let define = try partctl("define", path, "--profile", "wpar-debian", "-i", "image=ptest-img-debian,memory_high=160MiB,memory_max=200MiB,pids_max=128")
        try #require(define.status == 0, "\(define.stderr)")
        let activate = try partctl("activate", path, timeout: 300)
        try #require(activate.status == 0, "\(activate.stderr)")
        var state = ""
        _ = waitUntil(timeout: 240, interval: 1) {
            state = (try? partctl("login", path, "--", "systemctl", "is-system-running", "--wait", timeout: 240).stdout) ?? ""
            return !["", "offline\n"].contains(state)
        }
        #expect(["running\n", "degraded\n"].contains(state))
        #expect(try partctl("login", path, "--", "cat", "/proc/1/comm").stdout == "systemd\n")
        // A unit forking beyond the WPAR's pids.max fails inside the guest's cgroup v2 too.
        let bomb = try partctl("login", path, "--", "systemd-run", "--wait", "--quiet", "-p", "Type=exec", "/bin/sh", "-c",
                               "i=0; while [ $i -lt 256 ]; do /bin/sleep 30 & i=$((i+1)); done; wait", timeout: 180)
        #expect(bomb.status != 0)
        let shutdown = try partctl("shutdown", path, "--within", "60", timeout: 120)
        #expect(shutdown.status == 0, "\(shutdown.stderr)")
        #expect(try partctl("query", path, "-F", "state").stdout == "defined\n")
    }
}
