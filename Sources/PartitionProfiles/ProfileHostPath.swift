import Foundation
import PartitionModel

/// Checks of profile paths against the managed system's file system. Run when a definition is made
/// (and again before use), not when a profile is parsed: a profile may name files that come later.
/// Symbolic links are followed and the target checked again, so a link cannot lead into `/etc` or `/dev`.
enum ProfileHostPath {
    /// The qcow2 header's magic, "QFI\xfb".
    static let qcow2Magic: [UInt8] = [0x51, 0x46, 0x49, 0xfb]

    enum Kind {
        case regularFile, directory, device, other
    }

    /// The kind of file at `path` after following links, and the canonical path; nil when it does not exist.
    static func inspect(_ path: String) -> (kind: Kind, resolved: String)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let kind: Kind
        switch info.st_mode & S_IFMT {
        case S_IFREG: kind = .regularFile
        case S_IFDIR: kind = .directory
        case S_IFBLK, S_IFCHR: kind = .device
        default: kind = .other
        }
        return (kind, ProfileFile.canonicalPath(path))
    }

    /// An existing regular file whose real location is not inside `forbidden`.
    static func regularFileProblem(_ path: String, forbidden: [String]) -> String? {
        guard let (kind, resolved) = inspect(path) else { return "'\(path)' does not exist." }
        switch kind {
        case .regularFile: break
        case .directory: return "'\(path)' is a directory, not a file."
        case .device: return "'\(path)' is a device; partctl gives partitions image files, never host devices."
        case .other: return "'\(path)' is not a regular file."
        }
        if resolved != path, let root = forbidden.first(where: { ProfileRules.isWithin(resolved, $0) }) {
            return "'\(path)' leads to '\(resolved)', which lies in \(root)."
        }
        return nil
    }

    /// An existing directory whose real location a WPAR may see.
    static func directoryProblem(_ path: String, allowing allowed: [String] = []) -> String? {
        guard let (kind, resolved) = inspect(path) else { return "'\(path)' does not exist." }
        guard kind == .directory else { return "'\(path)' is not a directory." }
        if resolved != path, let problem = ProfileRules.wparHostPathProblem(resolved, allowing: allowed) {
            return "'\(path)' leads through a symbolic link: \(problem)"
        }
        return nil
    }

    /// An existing file or directory a WPAR may have bind-mounted: no devices, sockets or FIFOs.
    static func bindSourceProblem(_ path: String) -> String? {
        guard let (kind, resolved) = inspect(path) else { return "'\(path)' does not exist." }
        guard kind == .regularFile || kind == .directory else {
            return "'\(path)' is a device, socket or FIFO; only files and directories can be mounted into a WPAR."
        }
        if resolved != path, let problem = ProfileRules.wparHostPathProblem(resolved) {
            return "'\(path)' leads through a symbolic link: \(problem)"
        }
        return nil
    }

    /// A host bridge by that name exists (a network interface with a `bridge` directory in sysfs).
    static func bridgeProblem(_ name: String) -> String? {
        guard inspect("/sys/class/net/\(name)") != nil else { return "there is no bridge '\(name)' on this host (ip link add \(name) type bridge makes one)." }
        guard inspect("/sys/class/net/\(name)/bridge")?.kind == .directory else { return "'\(name)' is a network interface of this host but not a bridge." }
        return nil
    }

    /// Checks the image's header against `format`. A qcow2 image may name a backing file anywhere on
    /// the host, which QEMU would open for the guest; such images are refused.
    static func imageFormatProblem(_ path: String, format: DiskFormat) -> String? {
        // Non-blocking and checked again once open: a FIFO put in the file's place after the check
        // would otherwise hold partctl forever.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else { return "'\(path)' cannot be opened." }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return "'\(path)' is not a regular file." }
        let header = [UInt8]((try? handle.read(upToCount: 24)) ?? Data())
        let isQcow2 = header.count >= 4 && Array(header[0..<4]) == qcow2Magic
        switch format {
        case .raw:
            return isQcow2 ? "'\(path)' is a qcow2 image; set format: qcow2." : nil
        case .qcow2:
            guard isQcow2, header.count >= 16 else {
                return "'\(path)' is not a qcow2 image; set format: raw if it is a raw image."
            }
            let backingOffset = header[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            if backingOffset != 0 {
                return "'\(path)' has a backing file, which could reach any file of the host; give a self-contained image ('qemu-img convert' makes one)."
            }
            return nil
        }
    }
}

extension ProfileHostPath {
    /// A file partctl reads for a partition (user_data): it exists, and it is a regular file that
    /// no component of the path reaches through a symbolic link. PartitionCore reads it the same way.
    static func plainFileProblem(_ path: String) -> String? {
        var walked = ""
        var info = stat()
        for component in path.split(separator: "/") {
            walked += "/" + component
            guard lstat(walked, &info) == 0 else {
                return errno == ENOENT ? "'\(path)' does not exist." : "'\(walked)' cannot be inspected (errno \(errno))."
            }
            if info.st_mode & S_IFMT == S_IFLNK {
                return "'\(path)' goes through a symbolic link at '\(walked)'; give the file's real path."
            }
        }
        guard info.st_mode & S_IFMT == S_IFREG else { return "'\(path)' is not a regular file." }
        return nil
    }
}
