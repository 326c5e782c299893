import PartitionModel

/// Which host paths may reach a WPAR, and in what form paths must be given.
///
/// Checked in Swift before anything is created, against the objects the paths name (opened without
/// following symlinks, see HostObject.swift); the C child opens each source again the same way
/// before the new root moves and refuses one that is no longer the object checked here, and it
/// re-checks each target (a target turned into a symlink) when it opens it.
struct HostPathRules: Sendable {
    /// Host trees that are never bound into a WPAR: the kernel's interfaces (a WPAR gets fresh,
    /// masked ones) and the control sockets of libvirt and of partctl itself.
    let forbiddenTrees: [String]
    /// partctl's definitions (other WPARs' specs and writable layers): not bound into a WPAR, though
    /// a root or a lower layer may live there.
    let definitionTrees: [String]
    /// Directories holding host control sockets: no ancestor of them may be bound either, or the
    /// sockets come along (a unix socket on a read-only mount still accepts connections).
    let socketDirectories: [String]

    init(runtimeRoot: String, definitionsRoot: String) {
        var sockets = ["/run/libvirt", "/var/run/libvirt", runtimeRoot]
        sockets += sockets.compactMap { HostSystem.realPath($0) }
        socketDirectories = Array(Set(sockets)).sorted()
        forbiddenTrees = Array(Set(["/proc", "/sys", "/dev"] + socketDirectories)).sorted()
        definitionTrees = Array(Set([definitionsRoot] + [definitionsRoot].compactMap { HostSystem.realPath($0) })).sorted()
    }

    /// An absolute path without "." or ".." components, empty components or NUL bytes.
    static func checkForm(_ path: String, _ what: String) throws(PartitionError) {
        let shown = QuotedText.of(path)
        guard path.hasPrefix("/") else {
            throw PartitionError(.invalidArgument, "The \(what) \(shown) is not an absolute path.")
        }
        guard !path.utf8.contains(0) else {
            throw PartitionError(.invalidArgument, "The \(what) \(shown) contains a NUL byte.")
        }
        guard path.utf8.count < 4096 else {
            throw PartitionError(.invalidArgument, "The \(what) \(shown) is longer than 4095 bytes.")
        }
        let components = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        if path != "/" {
            for component in components {
                if component == ".." || component == "." {
                    throw PartitionError(.invalidArgument, "The \(what) \(shown) contains '\(component)'; give a plain absolute path.")
                }
                if component.isEmpty {
                    throw PartitionError(.invalidArgument, "The \(what) \(shown) contains an empty component ('//' or a trailing '/').")
                }
            }
        }
    }

    /// Whether `path` is `tree` or lies below it.
    static func path(_ path: String, isWithin tree: String) -> Bool {
        tree == "/" || path == tree || path.hasPrefix(tree + "/")
    }

    /// Checks a host path that is to be bound into a WPAR (a share, a mount source, or with
    /// `isRoot` a root directory or a layer, which may live among partctl's definitions) and
    /// returns it opened: the rules hold for the object the path names now, reached without
    /// following any symlink, and the child mounts only that object (its identity is pinned).
    func checkSource(_ path: String, _ what: String, isRoot: Bool = false) throws(PartitionError) -> HostObject {
        try Self.checkForm(path, what)
        guard let resolved = HostSystem.realPath(path) else {
            throw PartitionError(.notFound, "The \(what) \(QuotedText.of(path)) does not exist on the host.")
        }
        // The text first, for a message that says which rule it breaks; then the opened object.
        try checkRules(resolved, given: path, what, isRoot: isRoot)
        let object = try Self.open(path, what)
        try checkRules(object.path, given: path, what, isRoot: isRoot)
        return object
    }

    private func checkRules(_ resolved: String, given path: String, _ what: String, isRoot: Bool) throws(PartitionError) {
        let shown = resolved == path ? QuotedText.of(path) : "\(QuotedText.of(path)) (which is \(QuotedText.of(resolved)))"
        if resolved == "/" {
            throw PartitionError(.invalidArgument, "The \(what) \(shown) is the host's root; bind the directories the WPAR needs instead.")
        }
        for tree in forbiddenTrees + (isRoot ? [] : definitionTrees)
        where Self.path(resolved, isWithin: tree) || Self.path(path, isWithin: tree) {
            throw PartitionError(.permissionDenied,
                "The \(what) \(shown) lies in \(tree), which is never bound into a WPAR (kernel interfaces and control sockets stay on the host).")
        }
        for sockets in socketDirectories where Self.path(sockets, isWithin: resolved) {
            throw PartitionError(.permissionDenied,
                "The \(what) \(shown) contains \(sockets), whose control sockets must not be reachable from a WPAR; bind a narrower directory.")
        }
    }

    /// A path inside the WPAR that something is mounted on: not `/`, and not in /proc, /sys or
    /// /dev, which the engine sets up and masks itself.
    static func checkTarget(_ path: String, _ what: String) throws(PartitionError) {
        try checkForm(path, what)
        if path == "/" {
            throw PartitionError(.invalidArgument, "The \(what) cannot be '/'; the WPAR's root is set by its root, not by a mount.")
        }
        for tree in ["/proc", "/sys", "/dev"] where Self.path(path, isWithin: tree) {
            throw PartitionError(.permissionDenied,
                "The \(what) \(QuotedText.of(path)) lies in \(tree), which partctl sets up itself (fresh, masked and read-only where needed).")
        }
    }
}
