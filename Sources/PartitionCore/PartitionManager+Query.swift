import PartitionModel

/// `query` and `tree`: what the CLI lists. Kept apart from the verbs that change partitions.
extension PartitionManager {
    /// All partitions (the tree, flattened), or one. One partition is read alone: a host WPAR
    /// from its state files (libvirt is never opened), an LPAR from its own domain, a nested WPAR
    /// from its agent. Only `/` needs the whole tree, for what is assigned and free.
    public func query(_ path: PartitionPath?) throws(PartitionError) -> [PartitionRecord] {
        try queryRecords(path).map { $0.onSystem(systemField) }
    }

    private func queryRecords(_ path: PartitionPath?) throws(PartitionError) -> [PartitionRecord] {
        guard let path, !path.isRoot else {
            let root = TreeBuilder(manager: self).build()
            return path == nil ? root.flattened() : [root.flattened()[0]]
        }
        if nestedNames(path) != nil {
            return [try withNested(path, "query", locked: false) { (backend, lpar, wpar) throws(PartitionError) in
                let record = try backend.record(lpar, wpar)
                // What only the definition knows (profile, autostart, configured limits), as the tree shows it.
                // The LPAR as this command already read it, when the agent could not answer alone.
                guard let target = try? backend.lparTarget(lpar) else { return record }
                return NestedRecords.completed([record], definitions: target.metadata.nested)[0]
            }]
        }
        return [try context(path, "query") { () throws(PartitionError) -> PartitionRecord in try record(topLevel: path) }]
    }

    /// An LPAR or a host WPAR, with its nested WPARs as children.
    func record(topLevel path: PartitionPath) throws(PartitionError) -> PartitionRecord {
        guard path.depth == 1, let name = path.name else {
            throw PartitionError(.notFound, "No partition has this path.")
        }
        // A defined host WPAR wins (as for every verb); its state files are all that is read.
        if configuration.hostWparsHere {
            do { return try HostWparRecords.one(wpars(), name) } catch where error.code != .notFound { throw error } catch {}
        }
        guard let domain = try libvirt().lookupDomain(name: name.rawValue) else {
            if !configuration.hostWparsHere { try hostWparElsewhere(path, "query") }
            throw PartitionError(.notFound, "No partition named '\(name)' is defined.")
        }
        return TreeBuilder(manager: self).lparRecord(domain)
    }

    /// The tree from the managed system down, or the subtree at `path`.
    public func tree(_ path: PartitionPath?) throws(PartitionError) -> PartitionRecord {
        try context(path, "tree") { () throws(PartitionError) -> PartitionRecord in
            guard let path, !path.isRoot else { return TreeBuilder(manager: self).build().onSystem(systemField) }
            let top = try record(topLevel: PartitionPath(components: [path.components[0]])).onSystem(systemField)
            guard path.depth == 2 else { return top }
            guard let found = top.children.first(where: { $0.path == path.description }) else {
                throw PartitionError(.notFound, "No partition has this path.")
            }
            return found
        }
    }
}
