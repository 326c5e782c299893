import Foundation
import Glibc
import Testing
import PartitionModel
import SystemKit
@testable import PartitionImages

/// A store in a fresh temporary directory, removed with the value: the tests run as any user.
final class TemporaryStore {
    let top: String
    let store: ImageStore

    init() {
        var template = Array("/tmp/ptest-store-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        top = String(cString: template)
        store = ImageStore(stateRoot: top)
    }

    deinit { try? TreeRemoval.remove(top) }

    func write(_ text: String, to path: String, mode: mode_t = 0o644) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        precondition(fd >= 0, "create \(path)")
        _ = FileIO.writeAll(fd, text)
        fchmod(fd, mode)
        close(fd)
    }

    func entries(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    func exists(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0
    }

    /// Stages `name` with a one-file rootfs and commits it.
    @discardableResult
    func commitRootfs(_ name: String, contents: String = "hello") throws -> ImageManifest {
        let imageName = try ImageName(validating: name)
        let staging = try store.stage(imageName)
        mkdir(staging.rootfs, 0o755)
        write(contents, to: staging.rootfs + "/file")
        let (digest, size) = try ImageDigest.tree(at: staging.rootfs)
        let manifest = ImageManifest(name: imageName, digest: digest, kinds: [.rootfs], size: size, source: "test")
        try staging.commit(manifest)
        return manifest
    }
}

@Suite("Image store")
struct ImageStoreTests {
    @Test func anEmptyOrMissingStoreListsNothing() throws {
        let temp = TemporaryStore()
        #expect(try temp.store.list().isEmpty)
        #expect(!temp.exists(temp.store.root), "list created the store")
    }

    @Test func commitMakesTheImageAppearWhole() throws {
        let temp = TemporaryStore()
        let manifest = try temp.commitRootfs("ptest-one")
        #expect(try temp.store.list() == [manifest])
        #expect(try temp.store.image(ImageName(validating: "ptest-one")) == manifest)
        #expect(temp.store.rootfs(manifest) == temp.top + "/store/ptest-one/rootfs")
        #expect(FileIO.readText(temp.store.rootfs(manifest) + "/file") == "hello")
        #expect(temp.entries(temp.top + "/store/.staging").isEmpty, "staging left: \(temp.entries(temp.top + "/store/.staging"))")
        var status = stat()
        #expect(lstat(temp.top + "/store/ptest-one", &status) == 0 && status.st_mode & 0o777 == 0o700)
        #expect(lstat(temp.top + "/store/ptest-one/image.json", &status) == 0 && status.st_mode & 0o777 == 0o600)
    }

    /// Image trees hold setuid files of their own: the store is closed to other users even when
    /// its directories were made wider than partctl makes them (Moby CVE-2021-41091).
    @Test func theStoreIsClosedToOtherUsers() throws {
        let temp = TemporaryStore()
        mkdir(temp.top + "/store", 0o755)
        chmod(temp.top + "/store", 0o755)
        try temp.commitRootfs("ptest-closed")
        for path in ["/store", "/store/.staging", "/store/.locks", "/store/ptest-closed"] {
            var status = stat()
            #expect(lstat(temp.top + path, &status) == 0 && status.st_mode & 0o777 == 0o700, "\(path)")
        }
    }

    @Test func theManifestIsTheContractsJSON() throws {
        let temp = TemporaryStore()
        let manifest = try temp.commitRootfs("ptest-json")
        let bytes = try #require(try AtomicFile.read(temp.top + "/store/ptest-json/image.json", limit: 1 << 20))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(Set(object.keys) == ["name", "digest", "kinds", "size", "created", "source"])
        #expect(object["kinds"] as? [String] == ["rootfs"])
        #expect(object["digest"] as? String == manifest.digest)
        let contract = """
        {"name": "debian-12", "digest": "sha256:\(String(repeating: "ab", count: 32))", "kinds": ["disk", "rootfs"],
         "size": 123, "created": "2026-12-03T07:00:00Z", "source": "mmdebstrap bookworm", "inputs": "sha256:00",
         "disk": {"volume": "image-debian-12-abababababab.qcow2", "format": "qcow2", "capacity": 4294967296,
                  "firmware": ["bios", "uefi"]},
         "config": {"entrypoint": ["/app"], "env": ["A=1"], "workdir": "/srv", "user": "1000:1000"}}
        """
        let decoded = try ImageManifest.decode(Array(contract.utf8), path: "contract")
        #expect(decoded.disk?.volume == ImageDisk.volumeName(image: "debian-12", digest: decoded.digest))
        #expect(decoded.config?.user == "1000:1000" && decoded.config?.cmd == nil)
        #expect(decoded.shortDigest == "abababababab")
    }

    @Test func aManifestThatNamesAPathIsRefused() throws {
        let temp = TemporaryStore()
        try temp.commitRootfs("ptest-evil")
        let path = temp.top + "/store/ptest-evil/image.json"
        var text = try #require(FileIO.readText(path))
        text = text.replacingOccurrences(of: "\"ptest-evil\"", with: "\"../etc\"")
        temp.write(text, to: path)
        #expect(throws: PartitionError.self) { try temp.store.image(ImageName(validating: "ptest-evil")) }
    }

    @Test func theSameNameTwiceIsRefusedAndChangesNothing() throws {
        let temp = TemporaryStore()
        let first = try temp.commitRootfs("ptest-twice", contents: "first")
        do {
            try temp.commitRootfs("ptest-twice", contents: "second")
            Issue.record("a second image of the same name was made")
        } catch let error as PartitionError {
            #expect(error.code == .alreadyExists)
            #expect(error.message.contains("exists already"))
        }
        #expect(try temp.store.list() == [first])
        #expect(FileIO.readText(temp.store.rootfs(first) + "/file") == "first")
        #expect(temp.entries(temp.top + "/store/.staging").isEmpty)
    }

    @Test func oneNameIsStagedOnceAtATime() throws {
        let temp = TemporaryStore()
        let name = try ImageName(validating: "ptest-busy")
        let staging = try temp.store.stage(name)
        #expect { try temp.store.stage(name) } throws: { ($0 as? PartitionError)?.code == .busy }
        #expect { try temp.store.lock(name) } throws: { ($0 as? PartitionError)?.code == .busy }
        staging.abandon()
        _ = try temp.store.lock(name)
    }

    @Test func abandonedOrDroppedStagingLeavesNothing() throws {
        let temp = TemporaryStore()
        let name = try ImageName(validating: "ptest-drop")
        let staging = try temp.store.stage(name)
        mkdir(staging.rootfs, 0o755)
        temp.write("x", to: staging.rootfs + "/file")
        staging.abandon()
        #expect(temp.entries(temp.top + "/store/.staging").isEmpty)
        do {
            let dropped = try temp.store.stage(name)
            mkdir(dropped.rootfs, 0o755)
        }
        #expect(temp.entries(temp.top + "/store/.staging").isEmpty)
        #expect(try temp.store.list().isEmpty)
    }

    @Test func aStagingWhoseLockIsFreeIsSweptAndAHeldOneKept() throws {
        let temp = TemporaryStore()
        let held = try temp.store.stage(ImageName(validating: "ptest-held"))
        // What a process killed during an import leaves: a directory, its lock file, nobody holding it.
        let dead = temp.top + "/store/.staging/ptest-dead.abc123"
        mkdir(dead, 0o700)
        mkdir(dead + "/rootfs", 0o755)
        if geteuid() == 0 { mkdir(dead + "/rootfs/locked", 0o000) }  // only root can remove what it cannot read
        temp.write("{}", to: dead + "/image.json")
        temp.write("", to: dead + ".lock", mode: 0o600)
        symlink("/etc", dead + "/rootfs/etc")
        #expect(try temp.store.list().isEmpty, "a half-made image was listed")
        let left = temp.entries(temp.top + "/store/.staging")
        #expect(left.count == 2 && left.allSatisfy { $0.hasPrefix("ptest-held.") }, "\(left)")
        #expect(temp.exists("/etc/passwd"), "the sweep followed a symlink")
        held.abandon()
        #expect(temp.entries(temp.top + "/store/.staging").isEmpty)
    }

    @Test func aDirectoryWithoutManifestIsNotAnImage() throws {
        let temp = TemporaryStore()
        try temp.commitRootfs("ptest-real")
        mkdir(temp.top + "/store/ptest-half", 0o700)
        #expect(try temp.store.list().map(\.name) == ["ptest-real"])
        #expect { try temp.store.image(ImageName(validating: "ptest-half")) } throws: {
            ($0 as? PartitionError)?.code == .notFound
        }
    }

    @Test func removeTakesTheImageOutWhole() throws {
        let temp = TemporaryStore()
        try temp.commitRootfs("ptest-gone")
        let name = try ImageName(validating: "ptest-gone")
        let lock = try temp.store.lock(name)
        try temp.store.remove(name, holding: lock)
        #expect(try temp.store.list().isEmpty)
        #expect(!temp.exists(temp.top + "/store/ptest-gone"))
        #expect(temp.entries(temp.top + "/store/.staging").isEmpty)
        #expect { try temp.store.remove(name, holding: lock) } throws: { ($0 as? PartitionError)?.code == .notFound }
        #expect { try temp.store.image(name) } throws: {
            ($0 as? PartitionError)?.message == "No image named 'ptest-gone'; 'partctl image list' shows the images."
        }
    }

    @Test func aRebuildReplacesTheImage() throws {
        let temp = TemporaryStore()
        let old = try temp.commitRootfs("ptest-again", contents: "old")
        let name = try ImageName(validating: "ptest-again")
        let staging = try temp.store.stage(name, replacing: true)
        mkdir(staging.rootfs, 0o755)
        temp.write("new", to: staging.rootfs + "/file")
        let (digest, size) = try ImageDigest.tree(at: staging.rootfs)
        try staging.commit(ImageManifest(name: name, digest: digest, kinds: [.rootfs], size: size, source: "test"))
        let now = try temp.store.image(name)
        #expect(now.digest != old.digest)
        #expect(FileIO.readText(temp.store.rootfs(now) + "/file") == "new")
        #expect(temp.entries(temp.top + "/store/.staging").isEmpty)
    }

    @Test func aCommitWithoutItsRootfsIsRefused() throws {
        let temp = TemporaryStore()
        let name = try ImageName(validating: "ptest-empty")
        let staging = try temp.store.stage(name)
        let manifest = ImageManifest(name: name, digest: "sha256:" + String(repeating: "0", count: 64), kinds: [.rootfs],
                                     size: 0, source: "test")
        #expect(throws: PartitionError.self) { try staging.commit(manifest) }
        staging.abandon()
        #expect(try temp.store.list().isEmpty)
    }
}

@Suite("Image digests")
struct ImageDigestTests {
    private func tree(_ temp: TemporaryStore, _ name: String, _ files: [(String, String)]) -> String {
        let top = temp.top + "/" + name
        mkdir(top, 0o755)
        for (path, text) in files {
            if path.hasSuffix("/") { mkdir(top + "/" + path, 0o755) } else { temp.write(text, to: top + "/" + path) }
        }
        return top
    }

    @Test func theSameTreeHasTheSameDigestWhateverTheOrderOfCreation() throws {
        let temp = TemporaryStore()
        let one = tree(temp, "one", [("a", "1"), ("d/", ""), ("d/b", "2")])
        let two = tree(temp, "two", [("d/", ""), ("d/b", "2"), ("a", "1")])
        #expect(try ImageDigest.tree(at: one).digest == ImageDigest.tree(at: two).digest)
        #expect(ImageDigest.isValid(try ImageDigest.tree(at: one).digest))
    }

    @Test func contentsModesAndNamesChangeTheDigest() throws {
        let temp = TemporaryStore()
        let base = try ImageDigest.tree(at: tree(temp, "base", [("a", "1")])).digest
        #expect(try ImageDigest.tree(at: tree(temp, "content", [("a", "2")])).digest != base)
        #expect(try ImageDigest.tree(at: tree(temp, "name", [("b", "1")])).digest != base)
        let mode = tree(temp, "mode", [("a", "1")])
        chmod(mode + "/a", 0o600)
        #expect(try ImageDigest.tree(at: mode).digest != base)
    }

    @Test func symlinksAreDigestedAsLinksNeverFollowed() throws {
        let temp = TemporaryStore()
        let outside = tree(temp, "outside", [("secret", "one")])
        let top = tree(temp, "links", [])
        symlink(outside + "/secret", top + "/link")
        symlink(outside, top + "/dir")
        let first = try ImageDigest.tree(at: top).digest
        temp.write("two", to: outside + "/secret")
        #expect(try ImageDigest.tree(at: top).digest == first, "the digest read through a symlink")
        #expect(throws: PartitionError.self) { try ImageDigest.tree(at: top + "/dir") }
    }
}
