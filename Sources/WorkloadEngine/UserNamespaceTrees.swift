import PartitionModel

/// The steps that give a user-namespaced WPAR its host trees through idmapped mounts: the lower
/// layers of its overlay root, shared paths and mounts. Each tree is opened, cloned and idmapped by
/// the parent (only the host may idmap a mount) and passed to the child (SpawnPlan.PassedTree);
/// files owned by host root then show as owned by the WPAR's root, not as the overflow ID.
struct UserNamespaceTrees {
    let active: Bool
    /// A WPAR that keeps CAP_SYS_ADMIN in its user namespace could clear MOUNT_ATTR_RDONLY on a
    /// mount it was passed (the kernel locks the flags only of mounts it copied from a more
    /// privileged namespace), so its read-only trees are not idmapped: read-only, they then show
    /// host root's files as the overflow ID, which its root cannot write through.
    let keepsSysAdmin: Bool
    private(set) var trees: [SpawnPlan.PassedTree] = []

    init(active: Bool, capabilities: CapabilitySet) {
        self.active = active
        keepsSysAdmin = capabilities.contains("sys_admin")
    }

    private mutating func pass(_ source: String, recursive: Bool, idmap: Bool, attributes: SpawnPlan.MountAttributes) -> Int {
        trees.append(SpawnPlan.PassedTree(source: source, recursive: recursive, idmap: idmap, attributes: attributes))
        return trees.count - 1
    }

    mutating func bind(_ source: String, target: String, attributes: SpawnPlan.MountAttributes) -> SpawnPlan.Step {
        let idmap = !(keepsSysAdmin && attributes.contains(.readOnly))
        let index = pass(source, recursive: true, idmap: idmap, attributes: attributes)
        return SpawnPlan.Step(name: "bind \(target)\(idmap ? " idmapped" : "")", operation: .bindPassed(passed: index, target: target))
    }

    /// A host tree as the whole root (an image's, read-only), opened and idmapped by the parent:
    /// the child, in its user namespace, may not reach a store closed to other users.
    mutating func root(_ source: String, attributes: SpawnPlan.MountAttributes) -> SpawnPlan.Step {
        let idmap = !(keepsSysAdmin && attributes.contains(.readOnly))
        let index = pass(source, recursive: true, idmap: idmap, attributes: attributes)
        return SpawnPlan.Step(name: "attach the root \(source)\(idmap ? " idmapped" : "")", operation: .rootPassed(passed: index))
    }

    /// An overlay mounted inside the user namespace (Linux 5.11+, `userxattr`): the lower layers
    /// idmapped and read-only (overlayfs takes idmapped layers since 5.19), the upper directory as it
    /// is on the host, owned by the WPAR's root (WorkloadEngine.prepareOverlay), so what the WPAR
    /// writes is owned on the host by its own range. The layers hang on a scratch tmpfs over the
    /// stage, reached from there by overlayfs: no shared base is ever chowned.
    mutating func overlayRoot(lowers: [String], upper: String, work: String) -> [SpawnPlan.Step] {
        var steps: [SpawnPlan.Step] = []
        var lowerNames: [String] = []
        for lower in lowers {
            let index = pass(lower, recursive: false, idmap: true, attributes: [.readOnly, .noDevices])
            steps.append(SpawnPlan.Step(name: "hang the lower layer \(lower)", operation: .layer(passed: index, name: "l\(index)")))
            lowerNames.append("\(SpawnPlan.stageDirectory)/l\(index)")
        }
        // Upper and work directory must be on one mount: their common parent is passed as it is.
        let parent = Self.parent(of: upper)
        let index = pass(parent, recursive: false, idmap: false, attributes: [.noDevices])
        steps.append(SpawnPlan.Step(name: "hang the upper layer's directory \(parent)", operation: .layer(passed: index, name: "u")))
        let hung = "\(SpawnPlan.stageDirectory)/u/"
        let options = [SpawnPlan.FilesystemOption("lowerdir", lowerNames.joined(separator: ":")),
                       SpawnPlan.FilesystemOption("upperdir", hung + Self.base(of: upper)),
                       SpawnPlan.FilesystemOption("workdir", hung + Self.base(of: work)),
                       SpawnPlan.FilesystemOption("userxattr")]
        steps.append(SpawnPlan.Step(name: "mount the overlay root in the user namespace",
                                    operation: .rootFilesystem(type: "overlay", options: options, attributes: [.noDevices])))
        return steps
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    static func base(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}
