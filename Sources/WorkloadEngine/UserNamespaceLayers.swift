import Glibc
import PartitionModel

/// The writable layer of a user-namespaced WPAR on the host: the overlay is mounted inside its user
/// namespace, so its upper and work directories belong to the WPAR's root (the first ID of its
/// range) and their parent must let that user through.
enum UserNamespaceLayers {
    static func prepare(upper: String, work: String, owner: (uid: UInt32, gid: UInt32)) throws(PartitionError) {
        try HostSystem.makeDirectories(upper, mode: 0o755)
        // The work directory holds nothing between mounts; one left by a mount of another owner
        // (an earlier definition without this range) cannot be cleaned by this one.
        var status = stat()
        if lstat(work, &status) == 0 && (status.st_uid != owner.uid || status.st_gid != owner.gid) {
            try HostSystem.removeTree(work)
        }
        try HostSystem.makeDirectories(work, mode: 0o700)
        for path in [upper, work] where lchown(path, owner.uid, owner.gid) != 0 {
            throw HostSystem.failure("give \(path) to the WPAR's root")
        }
        // The parent stays closed to other host users: the WPAR's root passes as its group.
        let parent = UserNamespaceTrees.parent(of: upper)
        guard lstat(parent, &status) == 0 else { throw HostSystem.failure("stat \(parent)") }
        if status.st_mode & 0o001 == 0 && !(status.st_gid == owner.gid && status.st_mode & 0o010 != 0) {
            guard lchown(parent, status.st_uid, owner.gid) == 0, chmod(parent, (status.st_mode & 0o7777) | 0o010) == 0 else {
                throw HostSystem.failure("let the WPAR's root through \(parent)")
            }
        }
    }
}
