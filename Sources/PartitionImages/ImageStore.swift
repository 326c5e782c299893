import Glibc
import PartitionModel
import SystemKit

/// The images under `$PARTCTL_ROOT/store` (docs/images.md, "The image store"):
///
///     store/<name>/image.json          the manifest; the image exists iff this file is there
///     store/<name>/rootfs/             the read-only tree of kinds rootfs and oci
///     store/.staging/<name>.<random>/  a build, import or removal in progress, owned by whoever
///                                      holds the flock of store/.staging/<name>.<random>.lock
///     store/.locks/<name>.lock         serialises build, import and remove of one name
///
/// An image appears by one rename of a complete staging directory and disappears by one rename into
/// the staging area, so nobody ever lists a half-made or half-removed image. Whatever a killed
/// process left in .staging has a free lock, and the next `image` command removes it (`sweep`).
public struct ImageStore: Sendable {
    /// `$PARTCTL_ROOT/store`.
    public let root: String
    public static let manifestFile = "image.json"
    /// image.json is a few hundred bytes; anything this large is not one partctl wrote.
    static let manifestLimit = 1 << 20

    public init(root: String) {
        self.root = root
    }

    /// The store of the partctl state root (`$PARTCTL_ROOT`, default /var/lib/partctl).
    public init(stateRoot: String) {
        self.init(root: stateRoot + "/store")
    }

    var stagingDirectory: String { root + "/.staging" }
    var locksDirectory: String { root + "/.locks" }

    public func directory(_ name: ImageName) -> String { "\(root)/\(name.text)" }

    /// `<root>/<name>/rootfs`: the tree WPARs use as their read-only lower layer.
    public func rootfs(_ image: ImageManifest) -> String { "\(root)/\(image.name)/rootfs" }

    /// Every committed image, by name, after removing what killed builds, imports and removals left.
    public func list() throws(PartitionError) -> [ImageManifest] {
        sweep()
        var images: [ImageManifest] = []
        for name in try names() {
            if let manifest = try manifest(name) { images.append(manifest) }
        }
        return images
    }

    /// The names of the committed images, sorted, without reading their manifests or sweeping
    /// (shell completion uses it: it must change nothing and be quick).
    public func names() throws(PartitionError) -> [ImageName] {
        guard let handle = opendir(root) else {
            if errno == ENOENT { return [] }
            throw POSIX.failure("read the image store \(root)")
        }
        defer { closedir(handle) }
        var names: [ImageName] = []
        while let entry = readdir(handle) {
            let text = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            // Dot entries are the store's own (.staging, .locks); anything not an image name is not an image.
            guard !text.hasPrefix("."), let name = try? ImageName(validating: text), contains(name) else { continue }
            names.append(name)
        }
        return names.sorted()
    }

    /// The image named `name`; `.notFound` when there is none.
    public func image(_ name: ImageName) throws(PartitionError) -> ImageManifest {
        guard let manifest = try manifest(name) else {
            throw PartitionError(.notFound, "No image named '\(name)'; 'partctl image list' shows the images.")
        }
        return manifest
    }

    /// Whether `name` is committed (its manifest exists), without decoding it.
    public func contains(_ name: ImageName) -> Bool {
        var status = stat()
        return lstat("\(directory(name))/\(ImageStore.manifestFile)", &status) == 0
    }

    /// The manifest of `name`, nil when no committed image has that name.
    func manifest(_ name: ImageName) throws(PartitionError) -> ImageManifest? {
        var status = stat()
        guard lstat(directory(name), &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR else { return nil }
        let path = "\(directory(name))/\(ImageStore.manifestFile)"
        guard let bytes = try AtomicFile.read(path, limit: ImageStore.manifestLimit) else { return nil }
        let manifest = try ImageManifest.decode(bytes, path: path)
        guard manifest.name == name.text else {
            throw PartitionError(.invalidState, "The image manifest \(path) names the image '\(manifest.name)', not '\(name)'.")
        }
        return manifest
    }

    /// Takes `name`'s lock (refused with `.busy` while another command builds, imports or removes
    /// it) and a fresh staging directory for a new image of that name. An existing image of that
    /// name is refused (`.alreadyExists`) unless `replacing`, when `commit` swaps the new one in.
    public func stage(_ name: ImageName, replacing: Bool = false) throws(PartitionError) -> ImageStaging {
        try makeDirectories()
        let lock = try self.lock(name)
        sweep()
        if !replacing, contains(name) {
            throw PartitionError(.alreadyExists,
                "An image named '\(name)' exists already; 'partctl image remove \(name)' removes it, or choose another name.")
        }
        let (path, stagingLock) = try newStagingPath(for: name)
        if mkdir(path, 0o700) != 0 { throw POSIX.failure("create the staging directory \(path)") }
        return ImageStaging(name: name, directory: path, store: self, nameLock: lock, stagingLock: stagingLock,
                            replacing: replacing)
    }

    /// The lock that serialises build, import and remove of `name` (and a partition's define that
    /// names it, against its removal); `.busy` when another command holds it (after `waiting`
    /// seconds, when given).
    public func lock(_ name: ImageName, waiting: Double? = nil) throws(PartitionError) -> PartitionLock {
        try makeDirectories()
        do {
            return try PartitionLock.acquire(path: "\(locksDirectory)/\(name.text).lock", wait: waiting != nil, timeout: waiting)
        } catch where error.code == .busy {
            throw PartitionError(.busy, "The image '\(name)' is busy: another partctl command is building, importing or removing it.")
        }
    }

    /// Removes the image `name`, whose lock the caller holds (`lock(_:)`) and whose users it has
    /// checked: one rename takes it out of the store, then its files go; a kill in between leaves
    /// a staging directory that the next sweep removes. A missing image is `.notFound`.
    public func remove(_ name: ImageName, holding lock: PartitionLock) throws(PartitionError) {
        guard lock.path == "\(locksDirectory)/\(name.text).lock" else {
            throw PartitionError(.internal, "The image '\(name)' was to be removed without its lock.")
        }
        var status = stat()
        guard lstat(directory(name), &status) == 0 else {
            throw PartitionError(.notFound, "No image named '\(name)'; 'partctl image list' shows the images.")
        }
        let (path, stagingLock) = try newStagingPath(for: name)
        if rename(directory(name), path) != 0 { throw POSIX.failure("move the image \(directory(name)) out of the store") }
        lock.removeFile()  // no image, no lock file; a waiter on it retries on a new one
        // The image is gone from the store with the rename: what cannot be deleted now (a mount
        // someone made below it) stays in the staging area, whose lock is free, for the next sweep.
        if (try? TreeRemoval.remove(path)) != nil { stagingLock.removeFile() }
    }

    /// Removes every staging directory whose lock is free (its owner died) and locks without a
    /// directory; returns how many it removed. Never fails: what it cannot remove stays for the next.
    @discardableResult
    public func sweep() -> Int {
        guard let handle = opendir(stagingDirectory) else { return 0 }
        var bases = Set<String>()
        while let entry = readdir(handle) {
            var text = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if text == "." || text == ".." || text.contains("/") { continue }
            if text.hasSuffix(".lock") { text.removeLast(5) }
            bases.insert(text)
        }
        closedir(handle)
        var removed = 0
        for base in bases.sorted() {
            guard let lock = try? PartitionLock.acquire(path: "\(stagingDirectory)/\(base).lock", wait: false, timeout: nil) else {
                continue  // its owner is alive
            }
            do {
                try TreeRemoval.remove("\(stagingDirectory)/\(base)")
                lock.removeFile()
                removed += 1
            } catch {
                continue
            }
        }
        return removed
    }

    /// A new `.staging/<name>.<random>` path and the lock that makes it ours, taken before the
    /// directory exists, so that a sweep never sees the directory without its held lock.
    func newStagingPath(for name: ImageName) throws(PartitionError) -> (String, PartitionLock) {
        while true {
            let path = "\(stagingDirectory)/\(name.text).\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
            var status = stat()
            if lstat(path, &status) == 0 || lstat(path + ".lock", &status) == 0 { continue }
            return (path, try PartitionLock.acquire(path: path + ".lock", wait: false, timeout: nil))
        }
    }

    /// store/, store/.staging and store/.locks, 0700: nothing in the store is for other users. A
    /// missing state root above the store is made 0700 too.
    func makeDirectories() throws(PartitionError) {
        var parent = ""
        if let slash = root.lastIndex(of: "/"), slash != root.startIndex { parent = String(root[..<slash]) }
        for path in [parent, root, stagingDirectory, locksDirectory] where !path.isEmpty {
            if mkdir(path, 0o700) != 0 {
                guard errno == EEXIST else { throw POSIX.failure("create the image store directory \(path)") }
                var status = stat()
                guard lstat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR else {
                    throw PartitionError(.invalidState, "The image store path \(path) is not a directory.")
                }
                // Image trees hold setuid files and device nodes of their own (Moby CVE-2021-41091):
                // no other user may reach into the store, whoever made its directories wider.
                if path != parent, status.st_mode & 0o077 != 0, chmod(path, 0o700) != 0 {
                    throw POSIX.failure("close the image store directory \(path) to other users")
                }
            }
        }
    }
}
