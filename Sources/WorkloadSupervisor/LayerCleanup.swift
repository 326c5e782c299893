import Glibc

/// Unmounts a disk-limited WPAR's writable layer once its init has died, so that its loop device
/// detaches without waiting for the next partctl command. The engine mounts that layer on `layer`
/// in the WPAR's definition directory, beside the exit record (WritableLayerImage); a WPAR without
/// a disk limit has nothing mounted there, and the call does nothing.
enum LayerCleanup {
    static func detach(besideExitRecord exitRecord: String) {
        guard let slash = exitRecord.lastIndex(of: "/"), slash != exitRecord.startIndex else { return }
        _ = umount2(String(exitRecord[..<slash]) + "/layer", Int32(MNT_DETACH) | Int32(UMOUNT_NOFOLLOW))
    }
}
