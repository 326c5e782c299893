import PartitionModel

/// `query` and `tree`: what the CLI lists. Kept apart from the verbs that change partitions.
extension PartitionManager {
    public func query(_ path: PartitionPath?) throws(PartitionError) -> [PartitionRecord] {
        if let path, nestedNames(path) != nil {
            // One nested WPAR: its agent (and at most its LPAR), not the whole tree.
            return [try withNested(path, "query", locked: false) { (backend, lpar, wpar) throws(PartitionError) in
                try backend.record(lpar, wpar)
            }]
        }
        return try context(path, "query") { () throws(PartitionError) in
            let root = try TreeBuilder(manager: self).build()
            let all = root.flattened()
            guard let path else { return all }
            guard let record = all.first(where: { $0.path == path.description }) else {
                throw PartitionError(.notFound, "No partition has this path.")
            }
            return [record]
        }
    }

    public func tree(_ path: PartitionPath?) throws(PartitionError) -> PartitionRecord {
        try context(path, "tree") { () throws(PartitionError) in
            let root = try TreeBuilder(manager: self).build()
            guard let path, !path.isRoot else { return root }
            func find(_ record: PartitionRecord) -> PartitionRecord? {
                if record.path == path.description { return record }
                for child in record.children { if let found = find(child) { return found } }
                return nil
            }
            guard let found = find(root) else { throw PartitionError(.notFound, "No partition has this path.") }
            return found
        }
    }
}
