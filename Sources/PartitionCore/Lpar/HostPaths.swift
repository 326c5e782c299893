import PartitionModel
#if canImport(Glibc)
import Glibc
#endif

/// Checks at define and activate time that the files a profile names exist on the managed system
/// and are what they claim: regular files, never devices (no raw block devices through a profile).
enum HostPaths {
    static func check(_ profile: LparProfile) throws(PartitionError) {
        if let kernel = profile.boot.kernel { try regularFile(kernel, key: "boot.kernel") }
        if let initrd = profile.boot.initrd { try regularFile(initrd, key: "boot.initrd") }
        for (index, disk) in profile.disks.enumerated() {
            try regularFile(disk.file, key: "disks[\(index)].file")
        }
    }

    static func regularFile(_ path: String, key: String) throws(PartitionError) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            throw PartitionError(.notFound, "\(key): '\(path)' cannot be used: \(reason).")
        }
        let type = info.st_mode & S_IFMT
        if type == S_IFBLK || type == S_IFCHR {
            throw PartitionError(.permissionDenied, "\(key): '\(path)' is a device; partctl only attaches image files.")
        }
        guard type == S_IFREG else {
            throw PartitionError(.invalidArgument, "\(key): '\(path)' is not a regular file.")
        }
    }
}
