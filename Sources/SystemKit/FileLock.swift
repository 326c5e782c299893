import Glibc
import PartitionModel

/// An exclusive `flock` on a partition's lock file, held for as long as this object lives.
///
/// flock locks belong to the open file description, so the lock is released when the last
/// descriptor closes: when this object is deinitialised, or when the process dies, however it dies.
/// The descriptor is close-on-exec, so programs partctl starts never inherit the lock.
///
/// The file may be unlinked while it is held (`removeFile()`, when a partition goes away). A waiter
/// that then gets the lock on the unlinked inode notices that the path no longer names it and retries
/// on the new file, so two commands never both believe they hold the partition.
public final class PartitionLock: Sendable {
    public let path: String
    private let fd: Int32

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit { close(fd) }

    /// Takes the lock at `path`, creating the file (and its directory, mode 0700) when missing.
    /// Without `wait`, a lock held by another command fails at once with `.busy`; with `wait`, it
    /// waits up to `timeout` seconds (forever when nil) and then fails with `.busy`.
    public static func acquire(path: String, wait: Bool, timeout: Double?) throws(PartitionError) -> PartitionLock {
        let deadline = timeout.map { POSIX.monotonicSeconds() + $0 }
        var pause = 0.001
        while true {
            let fd = try openLockFile(path)
            let blocking = wait && deadline == nil
            let locked = POSIX.retryingInterrupts { flock(fd, blocking ? LOCK_EX : LOCK_EX | LOCK_NB) } == 0
            if locked {
                if stillNamedBy(path, fd) { return PartitionLock(path: path, fd: fd) }
                close(fd)  // the file was removed while we waited for it: lock the new one
                continue
            }
            let cause = errno
            close(fd)
            guard cause == EWOULDBLOCK else { throw POSIX.failure("lock \(path)", errno: cause) }
            guard wait, let deadline, POSIX.monotonicSeconds() < deadline else {
                throw PartitionError(.busy, "\(subject(of: path)) is busy: another partctl command is working on it.")
            }
            POSIX.sleep(seconds: min(pause, max(0, deadline - POSIX.monotonicSeconds())))
            pause = min(pause * 2, 0.05)
        }
    }

    /// The descriptor that holds the lock: a child process given a copy of it (dup2, without
    /// close-on-exec) keeps the lock held until it ends too, even if this process is killed.
    public var descriptor: Int32 { fd }

    /// Unlinks the lock file while the lock is still held, for a partition that is being removed.
    public func removeFile() {
        unlink(path)
    }

    private static func openLockFile(_ path: String) throws(PartitionError) -> Int32 {
        var fd = POSIX.retryingInterrupts { open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600) }
        if fd < 0 && errno == ENOENT, let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            let directory = String(path[..<slash])
            if mkdir(directory, 0o700) != 0 && errno != EEXIST {
                throw POSIX.failure("create the lock directory \(directory)")
            }
            fd = POSIX.retryingInterrupts { open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600) }
        }
        if fd < 0 { throw POSIX.failure("open the lock file \(path)") }
        return fd
    }

    /// Whether `path` still names the file that `fd` has open (same device and inode).
    private static func stillNamedBy(_ path: String, _ fd: Int32) -> Bool {
        var held = stat()
        var named = stat()
        guard fstat(fd, &held) == 0, stat(path, &named) == 0 else { return false }
        return held.st_dev == named.st_dev && held.st_ino == named.st_ino
    }

    /// "tools" for ".../locks/tools.lock": the name the busy message shows.
    private static func subject(of path: String) -> String {
        var name = path.split(separator: "/").last.map(String.init) ?? path
        if name.hasSuffix(".lock") { name.removeLast(5) }
        return name
    }
}
