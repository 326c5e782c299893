import Glibc
import PartitionImages
import PartitionModel
import SystemKit

/// `image import dir:/PATH --name NAME`: a directory tree of the administrator's own, copied in as a
/// rootfs image. The source is opened component by component from `/` without following a
/// symlink, and copied from that descriptor (`cp -a`, which never dereferences, staying on the
/// source's file system); the digest is taken over the copy, which is what WPARs will see.
public struct DirectoryImageImporter: ImageImporter {
    public let transports = ["dir:"]

    public init() {}

    public func importImage(reference: String, into staging: ImageStaging,
                            progress: any ImageProgress) throws(PartitionError) -> ImageManifest {
        let path = String(reference.dropFirst("dir:".count))
        let source = try Self.openDirectory(path)
        defer { close(source) }
        progress.step(staging.name, "copying \(path)")
        let copied = try HostProgram(["cp", "-a", "--no-dereference", "--one-file-system", "--",
                                      "/proc/\(getpid())/fd/\(source)/.", staging.rootfs],
                                     holding: staging.lockDescriptor).run()
        guard copied.status == 0 else {
            throw PartitionError(.system, "Could not copy \(path) into the image: \(copied.lastLine)")
        }
        progress.step(staging.name, "computing the digest")
        let (digest, size) = try ImageDigest.tree(at: staging.rootfs)
        return ImageManifest(name: staging.name, digest: digest, kinds: [.rootfs], size: size, source: "dir:\(path)")
    }

    /// Opens `path` (absolute, no `.` or `..`) one component at a time with O_NOFOLLOW: a symlink
    /// anywhere on the way is refused, as partctl refuses them for every host path it is given.
    static func openDirectory(_ path: String) throws(PartitionError) -> Int32 {
        let shown = QuotedText.of(path, limit: 200)
        guard path.hasPrefix("/") else {
            throw PartitionError(.invalidArgument, "dir: needs an absolute path, like dir:/srv/tree; found \(shown).")
        }
        if path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
            throw PartitionError(.invalidArgument, "The path \(shown) contains a control character.")
        }
        let components = path.split(separator: "/").map(String.init)
        if components.contains(where: { $0 == "." || $0 == ".." }) {
            throw PartitionError(.invalidArgument, "The path \(shown) has '.' or '..' in it; give the directory's real path.")
        }
        var fd = POSIX.retryingInterrupts { open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard fd >= 0 else { throw POSIX.failure("open /") }
        for component in components {
            let next = POSIX.retryingInterrupts { openat(fd, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            var cause = errno
            var status = stat()
            // O_DIRECTORY with O_NOFOLLOW says ENOTDIR for a symlink: tell the two apart.
            if next < 0, cause == ENOTDIR, fstatat(fd, component, &status, AT_SYMLINK_NOFOLLOW) == 0,
               (status.st_mode & S_IFMT) == S_IFLNK {
                cause = ELOOP
            }
            close(fd)
            guard next >= 0 else {
                switch cause {
                case ELOOP:
                    throw PartitionError(.invalidArgument, "The path \(shown) goes through the symbolic link '\(component)'; give the directory's real path.")
                case ENOTDIR:
                    throw PartitionError(.invalidArgument, "The path \(shown) is not a directory ('\(component)' is not one).")
                case ENOENT:
                    throw PartitionError(.invalidArgument, "The directory \(shown) does not exist.")
                default:
                    throw POSIX.failure("open \(path)", errno: cause)
                }
            }
            fd = next
        }
        return fd
    }
}
