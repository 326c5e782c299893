import PartitionModel
import PartitionNetworks

/// `partctl forward add|list|remove` (docs/forwards.md). Every command works under the forwards'
/// lock, changes forwards.json first and then re-renders the chains from it, so a command killed at
/// any point is repaired by the next one.
extension PartitionManager {
    /// `$PARTCTL_ROOT/networks`.
    public var networksRoot: String { configuration.stateRoot + "/networks" }

    var forwardBook: ForwardBook { ForwardBook(root: networksRoot) }

    /// Publishes `hostPort` to `target:port`. Refused (nothing changed): the host port forwarded
    /// already or in use on the host, a partition that does not exist, is not running or has no address.
    public func addForward(hostPort: Int, proto: ForwardProtocol, target: PartitionPath, port: Int) throws(PartitionError) -> Forward {
        let operation = "forward add"
        // Forwards are nftables rules of the chosen system's machine: another one's are added there (over SSH).
        _ = try onThisMachine(operation, "port forwards")
        let destination = try context(target, operation) { () throws(PartitionError) in try forwardDestination(target) }
        let forward = Forward(hostPort: hostPort, proto: proto, partition: target.description, port: port,
                              address: destination.address, via: destination.via)
        let book = forwardBook
        return try context(nil, operation) { () throws(PartitionError) -> Forward in
            try book.locked { () throws(PartitionError) -> Forward in
                let before = try book.load()
                if let taken = before.first(where: { $0.hostPort == hostPort && $0.proto == proto }) {
                    try? ForwardTable.render(before, book: book)
                    throw PartitionError(.alreadyExists,
                        "Host port \(taken.hostSide) is already forwarded to \(taken.partition):\(taken.port); remove that first ('partctl forward remove \(taken.hostSide)').")
                }
                if let user = HostPortUse.user(of: hostPort, proto) {
                    try? ForwardTable.render(before, book: book)
                    throw PartitionError(.invalidArgument, "Host port \(forward.hostSide) is in use: \(user); choose another port.")
                }
                try commit(before + [forward], replacing: before, book: book)
                return forward
            }
        }
    }

    /// The forwards, after bringing the chains in line with them.
    public func forwards() throws(PartitionError) -> [Forward] {
        _ = try onThisMachine("forward list", "port forwards")
        let book = forwardBook
        return try context(nil, "forward list") { () throws(PartitionError) -> [Forward] in
            try book.locked { () throws(PartitionError) -> [Forward] in
                let forwards = try book.load()
                try ForwardTable.render(forwards, book: book)
                return ForwardBook.sorted(forwards)
            }
        }
    }

    /// Removes the forwards of `hostPort` (both protocols when `proto` is nil); refused when there is none.
    public func removeForward(hostPort: Int, proto: ForwardProtocol?) throws(PartitionError) -> [Forward] {
        _ = try onThisMachine("forward remove", "port forwards")
        let book = forwardBook
        return try context(nil, "forward remove") { () throws(PartitionError) -> [Forward] in
            try book.locked { () throws(PartitionError) -> [Forward] in
                let before = try book.load()
                let gone = before.filter { $0.hostPort == hostPort && (proto == nil || $0.proto == proto) }
                guard !gone.isEmpty else {
                    try? ForwardTable.render(before, book: book)
                    let port = proto.map { "\(hostPort)/\($0.rawValue)" } ?? "\(hostPort)"
                    throw PartitionError(.notFound, "No forward uses host port \(port); 'partctl forward list' shows them.")
                }
                try commit(before.filter { !gone.contains($0) }, replacing: before, book: book)
                return gone
            }
        }
    }

    /// With `remove` of a partition: its forwards go, and an LPAR's take its nested WPARs' along.
    public func removeForwards(of path: PartitionPath) throws(PartitionError) {
        let book = forwardBook
        guard book.exists else { return }
        try book.locked { () throws(PartitionError) in
            let before = try book.load()
            let kept = before.filter { !$0.targets(path.description, nested: path.depth == 1) }
            guard kept.count != before.count else { return }
            // A removed LPAR has no agent left to tell.
            try commit(kept, replacing: before, book: book, gone: path.depth == 1 ? path.description : nil)
        }
    }

    /// After a reboot: the chains again when forwards.json has forwards and the kernel none.
    public func restoreForwardsIfMissing() {
        do { try ForwardTable.restoreIfMissing(root: networksRoot) } catch {
            warn(PartitionWarning(path: nil, operation: "forwards", message: "The port forwards could not be restored: \(error.message)"))
        }
    }

    /// State first, then the guests' and the host's rules. When a rule cannot be loaded the old
    /// list is put back (and its rules loaded again), so a failed command leaves what was there.
    /// `gone`: an LPAR being removed, whose guest is not told.
    private func commit(_ after: [Forward], replacing before: [Forward], book: ForwardBook, gone: String? = nil) throws(PartitionError) {
        try book.save(after)
        do {
            for (lpar, forwards) in NestedForwardGlue.changedLpars(before, after).sorted(by: { $0.key < $1.key }) where lpar != gone {
                try NestedForwardGlue.publish(lpar: try PartitionName(lpar), forwards, manager: self)
            }
            try ForwardTable.render(after, book: book)
        } catch {
            try? book.save(before)
            try? ForwardTable.render(before, book: book)
            throw error
        }
    }
}
