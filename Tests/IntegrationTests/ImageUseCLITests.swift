import Foundation
import Glibc
import PartctlTestSupport
import Testing

/// Images in use (issue 10, part 1): a WPAR's root from an image, the `image` field, and
/// `image remove` refused while host WPARs, LPARs or nested WPARs name the image.
@Suite(.serialized) struct ImageUseCLITests {
    typealias Store = ImageStoreCLITests.Store

    /// A system WPAR profile like wpar-system, its root from an image instead of the busybox tree.
    static func imageProfile(_ store: Store, userNamespace: Bool) throws -> String {
        let path = "\(store.top)/ptest-wpar-image\(userNamespace ? "-userns" : "").yaml"
        try """
        kind: wpar
        extends: \(CLI.packageRoot)/profiles/wpar-system.yaml
        rootfs: ~
        user_namespace: \(userNamespace)
        """.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    static func removeWpar(_ store: Store, _ name: String) {
        precondition(name.hasPrefix("ptest-"))
        _ = try? store.partctl("remove", name, "--force")
    }

    @Test func aWparRunsOnTheImageAndTheImageStaysAsItWas() throws {
        let store = try Store()
        try #require(try store.partctl("image", "import", "dir:/var/lib/partctl/rootfs/busybox", "--name", "ptest-bb").status == 0)
        let rootfs = try store.partctl("image", "show", "ptest-bb", "-F", "rootfs").stdout.trimmingCharacters(in: .newlines)
        // Only the image has this file: the WPARs' root is the image's tree, not the tree it came from.
        try "from the image\n".write(toFile: rootfs + "/etc/ptest-from-image", atomically: false, encoding: .utf8)
        let names = ["ptest-imgw1", "ptest-imgw2"]
        defer { names.forEach { Self.removeWpar(store, $0) } }
        for (name, userNamespace) in zip(names, [false, true]) {
            let define = try store.partctl("define", name, "--profile", try Self.imageProfile(store, userNamespace: userNamespace),
                                           "--image", "ptest-bb")
            try #require(define.status == 0, "\(define.stderr)")
            #expect(try store.partctl("query", name, "-F", "image").stdout == "ptest-bb\n")
            let activate = try store.partctl("activate", name)
            try #require(activate.status == 0, "\(activate.stderr)")
        }
        let tree = try store.partctl("tree")
        #expect(tree.stdout.split(separator: "\n").contains { $0.contains("ptest-imgw1") && $0.contains("image ptest-bb") }, "\(tree.stdout)")

        // Both run on the image's tree; what one writes lands in its own layer only.
        for name in names {
            #expect(try store.partctl("login", name, "--", "cat", "/etc/ptest-from-image").stdout == "from the image\n")
            let written = try store.partctl("login", name, "--", "sh", "-c", "echo \(name) > /etc/ptest-mark && cat /etc/ptest-mark")
            #expect(written.status == 0 && written.stdout == "\(name)\n", "\(written.stderr)")
        }
        #expect(try store.partctl("login", names[0], "--", "cat", "/etc/ptest-mark").stdout == "\(names[0])\n")
        #expect(!FileManager.default.fileExists(atPath: rootfs + "/etc/ptest-mark"), "a WPAR wrote into the image")

        expectRefusal(try store.partctl("image", "remove", "ptest-bb"), status: 2, mentioning: ["used by ptest-imgw1, ptest-imgw2"])
        #expect(try store.partctl("image", "list", "-F", "name,used_by").stdout == "ptest-bb,ptest-imgw1,ptest-imgw2\n")
        #expect(FileManager.default.fileExists(atPath: rootfs + "/bin/busybox"))
        // A running WPAR keeps its image: its definition cannot name another meanwhile.
        expectRefusal(try store.partctl("modify", names[0], "-i", "image=ptest-other", "--config"), status: 1,
                      mentioning: ["image of a running WPAR"])

        for name in names { #expect(try store.partctl("remove", name, "--force").status == 0) }
        #expect(try store.partctl("image", "remove", "ptest-bb").status == 0)
        #expect(store.contents.isEmpty, "\(store.contents)")
    }

    @Test func aWparCannotNameAMissingImage() throws {
        let store = try Store()
        defer { Self.removeWpar(store, "ptest-noimage") }
        expectRefusal(try store.partctl("define", "ptest-noimage", "--profile", try Self.imageProfile(store, userNamespace: false),
                                        "--image", "ptest-absent"), status: 2, mentioning: ["No image named 'ptest-absent'"])
        #expect(try store.partctl("query", "ptest-noimage").status == 2)
    }

    /// A disk-only image (its manifest written as a disk producer commits it) is no WPAR root.
    @Test func aDiskImageIsNoWparRoot() throws {
        let store = try Store()
        defer { Self.removeWpar(store, "ptest-diskroot") }
        let directory = store.store + "/ptest-disk"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let digest = String(repeating: "ab", count: 32)
        try """
        {"name": "ptest-disk", "digest": "sha256:\(digest)", "kinds": ["disk"], "size": 1, "created": "2026-12-03T07:00:00Z",
         "source": "test", "disk": {"volume": "image-ptest-disk-abababababab.qcow2", "format": "qcow2", "capacity": 1,
         "firmware": ["bios"]}}
        """.write(toFile: directory + "/image.json", atomically: false, encoding: .utf8)
        #expect(try store.partctl("image", "list", "-F", "name,kind,volume").stdout == "ptest-disk,disk,image-ptest-disk-abababababab.qcow2\n")
        expectRefusal(try store.partctl("define", "ptest-diskroot", "--profile", try Self.imageProfile(store, userNamespace: false),
                                        "--image", "ptest-disk"), status: 2, mentioning: ["kind disk", "rootfs or oci"])
        #expect(try store.partctl("query", "ptest-diskroot").status == 2)
    }

    /// An LPAR and a WPAR nested in it that name the image in partctl's metadata of the domain:
    /// the domain is written with virsh, so that only the metadata partctl reads is under test.
    @Test func lparsAndNestedWparsThatNameTheImageKeepIt() throws {
        let store = try Store()
        try #require(try store.partctl("image", "import", "dir:\(store.sourceTree())", "--name", "ptest-lpimg").status == 0)
        let domain = "ptest-imglp"
        CLI.removeDomain(domain)
        defer { CLI.removeDomain(domain) }
        let xml = """
        <domain type='qemu'>
          <name>\(domain)</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
          <os><type arch='x86_64'>hvm</type></os>
          <metadata>
            <partctl:partition xmlns:partctl='http://partctl.org/xmlns/partition/1' version='1' accel='tcg'>
              <partctl:profile name='ptest'>{"kind":"lpar","lpar":{"image":"ptest-lpimg"}}</partctl:profile>
              <partctl:wpars><partctl:wpar name='web'>{"kind":"wpar","wpar":{"image":"ptest-lpimg"}}</partctl:wpar></partctl:wpars>
            </partctl:partition>
          </metadata>
        </domain>
        """
        let file = store.top + "/domain.xml"
        try xml.write(toFile: file, atomically: false, encoding: .utf8)
        let defined = try CLI.virsh("define", file)
        try #require(defined.status == 0, "\(defined.stderr)")

        #expect(try store.partctl("image", "list", "-F", "used_by").stdout == "\(domain),\(domain)/web\n")
        expectRefusal(try store.partctl("image", "remove", "ptest-lpimg"), status: 2, mentioning: ["used by \(domain), \(domain)/web"])
        #expect(try store.partctl("image", "show", "ptest-lpimg", "-F", "name").stdout == "ptest-lpimg\n")
        _ = try CLI.virsh("undefine", domain)
        #expect(try store.partctl("image", "remove", "ptest-lpimg").status == 0)
    }
}
