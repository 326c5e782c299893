import Glibc
import PartitionModel
import SystemKit

/// A build or import of one image in progress: it holds the name's lock and the lock of its staging
/// directory. Fill `rootfs` and/or `disk`, then `commit` (the image appears whole) or `abandon`
/// (everything goes). Dropped without either, it abandons; killed, the next sweep removes it.
public final class ImageStaging: @unchecked Sendable {
    public let name: ImageName
    /// `store/.staging/<name>.<random>`, mode 0700.
    public let directory: String
    public let store: ImageStore
    /// Whether `commit` replaces an image of the same name (a rebuild).
    public let replacing: Bool
    // Released (set to nil) when the staging is finished, so the name is free again at once.
    private var nameLock: PartitionLock?
    private var stagingLock: PartitionLock?
    private var finished = false

    init(name: ImageName, directory: String, store: ImageStore, nameLock: PartitionLock, stagingLock: PartitionLock,
         replacing: Bool) {
        self.name = name
        self.directory = directory
        self.store = store
        self.nameLock = nameLock
        self.stagingLock = stagingLock
        self.replacing = replacing
    }

    deinit { if !finished { abandon() } }

    /// The descriptor holding this staging's lock, for the programs a producer runs: given to a
    /// child as an open descriptor (dup2 in posix_spawn), it keeps the staging held while the child
    /// still writes into it, so a sweep after `kill -9` of partctl waits for the child to end.
    public var lockDescriptor: Int32? { stagingLock?.descriptor }

    /// Where a producer puts the tree of kinds rootfs and oci.
    public var rootfs: String { directory + "/rootfs" }
    /// Where a producer puts the disk of kind disk, before its upload into the pool.
    public var disk: String { directory + "/disk.qcow2" }

    /// Writes `manifest` into the staging directory and renames the directory to `store/<name>`:
    /// the image appears complete or not at all. With `replacing`, the old image is swapped out in
    /// the same rename and then removed.
    public func commit(_ manifest: ImageManifest) throws(PartitionError) {
        guard !finished else { throw PartitionError(.internal, "The staging of image '\(name)' is already finished.") }
        guard manifest.name == name.text else {
            throw PartitionError(.internal, "The manifest of image '\(manifest.name)' was committed into the staging of '\(name)'.")
        }
        try manifest.check(path: "\(directory)/\(ImageStore.manifestFile)")
        if manifest.hasRootfs {
            var status = stat()
            guard lstat(rootfs, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR else {
                throw PartitionError(.internal, "The image '\(name)' of kind \(manifest.kinds.map(\.rawValue).joined(separator: ",")) has no rootfs directory in its staging.")
            }
        }
        try AtomicFile.write(try manifest.encoded(), to: "\(directory)/\(ImageStore.manifestFile)", mode: 0o600)
        let target = store.directory(name)
        if replacing, store.contains(name) {
            let (aside, asideLock) = try store.newStagingPath(for: name)
            if rename(target, aside) != 0 { throw POSIX.failure("move the old image \(target) aside") }
            if rename(directory, target) != 0 {
                let cause = errno
                _ = rename(aside, target)  // put the old one back: the store keeps an image of that name
                throw POSIX.failure("move the image into \(target)", errno: cause)
            }
            finished = true
            stagingLock?.removeFile()
            try? TreeRemoval.remove(aside)
            asideLock.removeFile()
        } else {
            if rename(directory, target) != 0 { throw POSIX.failure("move the image into \(target)") }
            finished = true
            stagingLock?.removeFile()
        }
        syncStore()
        release()
    }

    /// Removes the staging directory and releases the locks. Safe to call more than once.
    public func abandon() {
        guard !finished else { return }
        finished = true
        if (try? TreeRemoval.remove(directory)) != nil { stagingLock?.removeFile() }
        release()
    }

    private func release() {
        stagingLock = nil
        nameLock = nil
    }

    /// The rename on disk before the command reports the image made.
    private func syncStore() {
        let fd = POSIX.retryingInterrupts { open(store.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        if fd >= 0 { _ = fsync(fd); close(fd) }
    }
}
