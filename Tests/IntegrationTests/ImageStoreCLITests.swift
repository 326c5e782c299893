import Foundation
import Glibc
import PartctlTestSupport
import Testing

/// The image store through the partctl command line, as root (issue 10, parts 1 and the store's
/// bad input): a state root of the test's own ($PARTCTL_ROOT), so that nothing of the host's
/// images or WPAR definitions is seen or touched.
@Suite(.serialized) struct ImageStoreCLITests {
    /// A temporary $PARTCTL_ROOT with a source tree to import, removed with the value.
    final class Store {
        let top: String
        var environment: [String: String] { ["PARTCTL_ROOT": top + "/state"] }
        var store: String { top + "/state/store" }

        init() throws {
            var template = Array("/var/tmp/ptest-images-XXXXXX".utf8CString)
            guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
                throw POSIXError(.EIO)
            }
            top = String(cString: template)
        }

        deinit { _ = try? CLI.run("/bin/rm", ["-rf", "--one-file-system", top]) }

        @discardableResult
        func partctl(_ arguments: String..., timeout: Double = 120) throws -> CLI.Result {
            try CLI.run(CLI.partctlPath, arguments, environment: environment, timeout: timeout)
        }

        /// A small tree with a file, a directory, and symlinks that point at host secrets.
        func sourceTree(_ name: String = "src") throws -> String {
            let path = "\(top)/\(name)"
            try FileManager.default.createDirectory(atPath: path + "/etc", withIntermediateDirectories: true)
            try "ptest-image\n".write(toFile: path + "/etc/hostname", atomically: false, encoding: .utf8)
            try FileManager.default.createSymbolicLink(atPath: path + "/etc/shadow", withDestinationPath: "/etc/shadow")
            try FileManager.default.createSymbolicLink(atPath: path + "/hostroot", withDestinationPath: "/root")
            return path
        }

        func entries(_ path: String) -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
        }

        /// What the store holds besides its lock files: images and staging directories.
        var contents: [String] {
            entries(store).filter { $0 != ".locks" && $0 != ".staging" } + entries(store + "/.staging").map { ".staging/" + $0 }
        }
    }

    @Test func importListShowAndRemoveAPlainTree() throws {
        let store = try Store()
        let source = try store.sourceTree()
        let imported = try store.partctl("image", "import", "dir:\(source)", "--name", "ptest-tree")
        try #require(imported.status == 0, "\(imported.stderr)")

        let list = try store.partctl("image", "list")
        #expect(list.stdout.contains("ptest-tree") && list.stdout.contains("rootfs"), "\(list.stdout)")
        let fields = try store.partctl("image", "list", "-F", "name,kind,used_by")
        #expect(fields.stdout == "ptest-tree,rootfs,-\n")
        let json = try store.partctl("image", "show", "ptest-tree", "--json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let digest = try #require(object["digest"] as? String)
        #expect(digest.hasPrefix("sha256:") && digest.count == 71)
        #expect(object["kind"] as? [String] == ["rootfs"] && object["used_by"] as? [String] == [])
        #expect(object["source"] as? String == "dir:\(source)")

        // The planted symlinks came along as symlinks: nothing of the host's was read through them.
        let rootfs = try #require(object["rootfs"] as? String)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: rootfs + "/etc/shadow") == "/etc/shadow")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: rootfs + "/hostroot") == "/root")
        #expect(try String(contentsOfFile: rootfs + "/etc/hostname", encoding: .utf8) == "ptest-image\n")
        var status = stat()
        #expect(lstat(store.store + "/ptest-tree", &status) == 0 && status.st_mode & 0o777 == 0o700)

        // The same tree imported again under another name has the same digest: it is the content's.
        let again = try store.partctl("image", "import", "dir:\(source)", "--name", "ptest-same", "--json")
        #expect(again.status == 0 && again.stdout.contains(digest), "\(again.stdout)\(again.stderr)")

        #expect(try store.partctl("image", "remove", "ptest-tree").status == 0)
        #expect(try store.partctl("image", "remove", "ptest-same").status == 0)
        #expect(try store.partctl("image", "list", "-F", "name").stdout == "")
        #expect(store.contents.isEmpty, "left in the store: \(store.contents)")
        expectRefusal(try store.partctl("image", "remove", "ptest-tree"), status: 2, mentioning: ["No image named 'ptest-tree'"])
    }

    @Test func theSameNameTwiceIsRefusedAndNothingChanges() throws {
        let store = try Store()
        let source = try store.sourceTree()
        try #require(try store.partctl("image", "import", "dir:\(source)", "--name", "ptest-twice").status == 0)
        let before = try store.partctl("image", "show", "ptest-twice", "--json").stdout
        try "changed\n".write(toFile: source + "/etc/hostname", atomically: false, encoding: .utf8)
        expectRefusal(try store.partctl("image", "import", "dir:\(source)", "--name", "ptest-twice"), status: 2,
                      mentioning: ["'ptest-twice' exists already"])
        #expect(try store.partctl("image", "show", "ptest-twice", "--json").stdout == before)
        #expect(store.contents == ["ptest-twice"], "\(store.contents)")
    }

    @Test(arguments: ["a/b", "..", "../etc", "Debian", "", String(repeating: "x", count: 64), "_x", "a b", "a..b"])
    func badNamesAreRefusedAndNothingIsMade(name: String) throws {
        let store = try Store()
        let source = try store.sourceTree()
        expectRefusal(try store.partctl("image", "import", "dir:\(source)", "--name", name), status: 2, mentioning: ["image name"])
        expectRefusal(try store.partctl("image", "show", name), status: 2, mentioning: ["image name"])
        expectRefusal(try store.partctl("image", "remove", name), status: 2, mentioning: ["image name"])
        expectRefusal(try store.partctl("define", "ptest-badimage", "--profile", "wpar-system", "--image", name), status: 2,
                      mentioning: ["image name"])
        #expect(store.contents.isEmpty, "\(store.contents)")
        #expect(store.entries(store.top + "/state").filter { $0 != "store" }.isEmpty || !store.entries(store.top + "/state/wpars").contains("ptest-badimage"))
    }

    @Test func sourcesThatAreNotPlainDirectoriesAreRefused() throws {
        let store = try Store()
        let source = try store.sourceTree()
        try FileManager.default.createSymbolicLink(atPath: store.top + "/link", withDestinationPath: source)
        try FileManager.default.createSymbolicLink(atPath: store.top + "/etclink", withDestinationPath: "/etc")
        for (reference, words) in [
            ("dir:\(store.top)/link", ["symbolic link"]), ("dir:\(store.top)/link/etc", ["symbolic link"]),
            ("dir:\(store.top)/etclink", ["symbolic link"]),
            ("dir:\(source)/etc/hostname", ["not a directory"]), ("dir:\(store.top)/none", ["does not exist"]),
            ("dir:src", ["absolute path"]), ("dir:\(source)/../src", ["'..'"]),
            ("nosuch:/x", ["no transport"]),
        ] {
            expectRefusal(try store.partctl("image", "import", reference, "--name", "ptest-src"), status: 2, mentioning: words)
        }
        expectRefusal(try store.partctl("image", "build", "ptest-norecipe"), status: 2, mentioning: ["no recipe named 'ptest-norecipe'"])
        #expect(store.contents.isEmpty, "\(store.contents)")
    }

    /// kill -9 of an import half way: the image never appears; the next `image list` (once the
    /// copy the import started has ended, since it holds the staging's lock) removes the staging.
    @Test func anImportKilledHalfWayIsSweptAndNeverListed() throws {
        let store = try Store()
        let source = try store.sourceTree()
        // Enough data that the copy and the digest take a while; zeros written out, not a hole.
        let big = try #require(FileHandle(forWritingAtPath: { FileManager.default.createFile(atPath: source + "/big", contents: nil); return source + "/big" }()))
        let chunk = Data(count: 1 << 20)
        for _ in 0..<768 { big.write(chunk) }
        try big.close()

        let importing = try BackgroundProcess(CLI.partctlPath, ["image", "import", "dir:\(source)", "--name", "ptest-killed"],
                                              environment: store.environment)
        let staged = CLI.waitFor(30, interval: 0.005) { !store.entries(store.store + "/.staging").filter { !$0.hasSuffix(".lock") }.isEmpty }
        #expect(try store.partctl("image", "list", "-F", "name").stdout == "", "a half-made image is listed")
        kill(importing.pid, SIGKILL)
        let result = importing.finish(within: 10)
        try #require(staged, "the import finished before it could be killed: \(result.stderr)")
        #expect(result.status != 0)
        // Sweeps only once nothing holds the staging's lock any more, whatever it held.
        let swept = CLI.waitFor(60, interval: 0.1) {
            (try? store.partctl("image", "list", "-F", "name").stdout) == "" && store.contents.isEmpty
        }
        #expect(swept, "left after kill -9: \(store.contents)")
        #expect(try store.partctl("image", "show", "ptest-killed").status == 2)
        // The name is free again.
        #expect(try store.partctl("image", "import", "dir:\(store.sourceTree("small"))", "--name", "ptest-killed").status == 0)
    }
}
