import CSpawn
import Glibc
import PartitionModel

/// The parent's side of SpawnPlan.PassedTree: each tree opened on the host without following a
/// symlink and only while it is the object that was checked, cloned, idmapped to the child's user namespace and given its attributes.
enum PassedTreeOpener {
    /// Descriptors of the detached mounts, in order; the caller closes them.
    static func open(_ trees: [SpawnPlan.PassedTree], userNamespaceOf pid: pid_t) throws(PartitionError) -> [Int32] {
        guard !trees.isEmpty else { return [] }
        var userNamespace: Int32 = -1
        if trees.contains(where: \.idmap) {
            let path = "/proc/\(pid)/ns/user"
            userNamespace = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard userNamespace >= 0 else { throw HostSystem.failure("open \(path)") }
        }
        defer { if userNamespace >= 0 { close(userNamespace) } }
        var fds: [Int32] = []
        for tree in trees {
            var failure = cspawn_failure()
            var idmapped: Int32 = 0
            var identity = cspawn_identity(dev: tree.identity?.device ?? 0, ino: tree.identity?.inode ?? 0)
            let fd = cspawn_open_passed_tree(tree.source, &identity, tree.recursive ? 1 : 0, tree.idmap ? userNamespace : -1,
                                             tree.attributes.rawValue, &idmapped, &failure)
            guard fd >= 0 else {
                for open in fds { close(open) }
                throw SpawnFailure.error(failure)
            }
            fds.append(fd)
        }
        return fds
    }
}
