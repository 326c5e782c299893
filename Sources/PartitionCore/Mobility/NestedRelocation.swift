import AgentProtocol
import LibvirtKit
import PartitionModel
import PartitionNetworks
import PartitionProfiles
import SystemKit
import WorkloadEngine

extension PartitionManager {
    /// A nested WPAR to another LPAR of this system through the two agents (`NestedRelocation`):
    /// stopped, its writable layer and definition moved, started again when it ran. Both LPARs'
    /// locks are held, taken in name order so that two moves in opposite directions cannot deadlock.
    func relocateNested(_ request: RelocationRequest) throws(PartitionError) -> RelocationReport {
        guard let (source, name) = nestedNames(request.path) else {
            throw PartitionError(.internal, "Not a nested path.", partition: request.path.description, operation: "relocate")
        }
        let path = request.path.description
        do throws(PartitionError) {
            guard let destination = try? PartitionName(request.destination) else {
                throw PartitionError(.invalidArgument,
                    "--to: '\(request.destination.prefix(40))' is not an LPAR's name; a nested WPAR moves to another LPAR of this system (--to lp2).")
            }
            guard destination != source else {
                throw PartitionError(.invalidArgument, "The WPAR \(path) is in LPAR '\(source)' already.")
            }
            if request.mode == .live { throw NestedRelocation.liveRefusal }
            if isHostWpar(destination) {
                throw PartitionError(.invalidArgument, "--to: '\(destination)' is a host WPAR, not an LPAR; a nested WPAR moves to another LPAR.")
            }
            let backend = try nested()
            let ordered = [source, destination].sorted { $0.rawValue < $1.rawValue }
            let first = try PartitionLock.acquire(path: lockPath(PartitionPath(components: [ordered[0]])), wait: true, timeout: 30)
            let second = try PartitionLock.acquire(path: lockPath(PartitionPath(components: [ordered[1]])), wait: true, timeout: 30)
            return try withExtendedLifetime((first, second)) { () throws(PartitionError) -> RelocationReport in
                let move = NestedRelocation(backend: backend, source: source, destination: destination, name: name,
                                            configuration: configuration, progress: progress, path: request.path,
                                            restarts: request.mode != .offline)
                do throws(PartitionError) {
                    let blockers = try move.check(validateOnly: request.validateOnly)
                    if request.validateOnly {
                        return RelocationReport(path: NestedBackend.path(destination, name), destination: destination.rawValue,
                                                mode: "offline", blockers: blockers.map(\.message))
                    }
                    if let blocker = blockers.first { throw blocker }
                    return try move.run()
                } catch {
                    // A destination that does not exist keeps no lock file.
                    if error.code == .notFound, error.partition == destination.rawValue {
                        (ordered[0] == destination ? first : second).removeFile()
                    }
                    throw error
                }
            }
        } catch {
            var located = error
            if located.partition == nil || located.partition == source.rawValue || located.partition == name.rawValue {
                located.partition = path
            }
            throw located.with(operation: "relocate")
        }
    }
}

/// One move of `source/name` to `destination`, under both LPARs' locks.
///
/// The order is chosen so that a crash (kill -9, host down) at any step leaves the WPAR defined in
/// exactly one LPAR, or in a state the next `relocate` of it finishes:
/// 1. checks; nothing changes when one fails (exit 2);
/// 2. the WPAR stops in the source (when it ran), its layer is exported, copied chunk by chunk
///    into the destination's agent, and the destination's agent gets the definition and the layer
///    (a crash here: still defined in the source only, stopped; the destination's guest holds a
///    copy its metadata does not name, which the next move there removes first);
/// 3. the destination's metadata gets the definition marked `relocating-from="source"`;
/// 4. the source's guest copy and metadata entry go;
/// 5. the mark goes (a crash between 3 and 5: the next `relocate source/name --to destination`
///    sees the mark, finishes steps 4 and 5 and reports the WPAR moved; a relocation of the
///    marked copy elsewhere is refused until then);
/// 6. the WPAR starts in the destination when it ran before.
/// A failure (not a crash) in step 2 or 3 undoes what was done and starts the WPAR again in the
/// source when it ran.
struct NestedRelocation {
    let backend: NestedBackend
    let source: PartitionName
    let destination: PartitionName
    let name: PartitionName
    let configuration: PartctlConfiguration
    let progress: OperationProgress
    let path: PartitionPath
    /// Whether a WPAR that ran starts again in the destination (not with --offline).
    let restarts: Bool

    static let liveRefusal = PartitionError(.unsupported,
        "--live is not available for a nested WPAR: CRIU cannot checkpoint partctl's WPARs yet (its dump stops at their masked /proc paths, and a restore would have to run under partctl's supervisor); move it stopped, without --live.")

    /// How long packing or unpacking a layer may take inside a guest (TCG is slow).
    static let layerTimeout: Duration = .seconds(600)

    var wparPath: String { NestedBackend.path(source, name) }

    // MARK: Checks

    /// Every reason the move cannot be made, as refusals (exit 2) in the order met; an interrupted
    /// earlier move of this WPAR is finished first. Errors that are no refusal (libvirt, an agent
    /// that does not answer) are thrown.
    func check(validateOnly: Bool) throws(PartitionError) -> [PartitionError] {
        let (sourceDomain, _) = try backend.lparProfile(source)
        let destinationTarget: LparTarget
        do { destinationTarget = try backend.lparTarget(destination) } catch where error.code == .notFound {
            throw PartitionError(.notFound, "--to: no LPAR named '\(destination)' is defined on this system.", partition: destination.rawValue)
        }
        let destinationProfile: LparProfile
        do { (_, destinationProfile) = try backend.lparProfile(destination) } catch where error.code == .unsupported {
            throw PartitionError(.unsupported, "The LPAR '\(destination)' has no agent channel (agent: true), so WPARs cannot nest in it.",
                                 partition: destination.rawValue)
        }
        if try interrupted(destinationTarget.domain) {
            if validateOnly {
                return [PartitionError(.invalidState, "An earlier move of \(wparPath) to '\(destination)' is unfinished; relocating it again finishes it.")]
            }
            try finishInterrupted(sourceDomain: sourceDomain, destinationDomain: destinationTarget.domain)
            return []
        }
        var blockers: [PartitionError] = []
        let sourceDefinitions = try backend.definitions(of: sourceDomain)
        guard let entry = sourceDefinitions.entry(name) else { throw NestedBackend.notDefined(source, name) }
        if let from = entry.relocatingFrom {
            blockers.append(PartitionError(.invalidState,
                "The move of \(wparPath) from '\(from)' is unfinished; 'partctl relocate \(from)/\(name) --to \(source)' finishes it first."))
        }
        guard try sourceDomain.isActive() else {
            throw PartitionError(.invalidState, "Its LPAR '\(source)' is not running, so its writable layer cannot be read; activate '\(source)' first.")
        }
        guard try destinationTarget.domain.isActive() else {
            throw PartitionError(.invalidArgument, "The destination LPAR '\(destination)' is not running; activate it first.",
                                 partition: destination.rawValue)
        }
        let destinationDefinitions = try backend.definitions(of: destinationTarget.domain)
        if destinationDefinitions.entry(name) != nil {
            blockers.append(PartitionError(.alreadyExists, "A WPAR named '\(name)' is already defined in LPAR '\(destination)'."))
        }
        let resolved = try ResolvedProfile.decode(json: entry.profileJSON, domain: wparPath)
        guard let wpar = resolved.wpar else {
            throw PartitionError(.invalidProfile, "The stored definition of \(wparPath) is not a WPAR profile.")
        }
        do { try NestedBackend.checkBudget(wpar, in: destinationProfile, lparName: destination) } catch { blockers.append(error) }
        do { _ = try address(for: wpar, in: destinationDefinitions) } catch { blockers.append(error) }
        let forwards = (try? ForwardBook(root: configuration.stateRoot + "/networks").load()) ?? []
        if let forward = forwards.first(where: { $0.partition == wparPath }) {
            blockers.append(PartitionError(.unsupported,
                "Host port \(forward.hostSide) is forwarded to \(wparPath), through '\(source)'; remove its forwards first ('partctl forward remove \(forward.hostPort)').") )
        }
        return blockers
    }

    /// Its address on the destination's guest network (the source's own may be taken there).
    func address(for wpar: WparProfile, in definitions: NestedDefinitions) throws(PartitionError) -> IPv4Address? {
        guard let requested = try NestedGuestNetwork.request(wpar.network, lpar: destination) else { return nil }
        return try NestedGuestNetwork.assign(requested, to: name, lpar: destination, definitions: definitions)
    }

    /// Whether the destination holds the WPAR marked as coming from the source: a move that a
    /// crash interrupted after step 3.
    private func interrupted(_ destinationDomain: LibvirtDomain) throws(PartitionError) -> Bool {
        try backend.definitions(of: destinationDomain).entries.contains { $0.name == name && $0.relocatingFrom == source }
    }

    /// Steps 4 and 5 of such a move: the WPAR is in the destination afterwards.
    private func finishInterrupted(sourceDomain: LibvirtDomain, destinationDomain: LibvirtDomain) throws(PartitionError) {
        var destinationDefinitions = try backend.definitions(of: destinationDomain)
        guard let index = destinationDefinitions.entries.firstIndex(where: { $0.name == name && $0.relocatingFrom == source }) else { return }
        progress.waiting(path, "finishing its interrupted move to \(destination)")
        try removeFromSource(sourceDomain)
        destinationDefinitions.entries[index].relocatingFrom = nil
        try backend.store(destinationDefinitions, in: destinationDomain)
    }

    // MARK: The move

    func run() throws(PartitionError) -> RelocationReport {
        let started = ContinuousClock.now
        let (sourceDomain, _) = try backend.lparProfile(source)
        let destinationDomain = try backend.lparTarget(destination).domain
        let sourceDefinitions = try backend.definitions(of: sourceDomain)
        // An interrupted move finished by `check`: the WPAR is in the destination already.
        guard var entry = sourceDefinitions.entry(name) else {
            return RelocationReport(path: NestedBackend.path(destination, name), destination: destination.rawValue, mode: "offline",
                                    seconds: seconds(since: started))
        }
        let wpar = try ResolvedProfile.decode(json: entry.profileJSON, domain: wparPath).wpar
        entry.address = try wpar.flatMap { (profile) throws(PartitionError) in try address(for: profile, in: backend.definitions(of: destinationDomain)) }
        entry.relocatingFrom = nil

        let from = try agent(source, sourceDomain, "relocate of \(wparPath)")
        let to = try agent(destination, destinationDomain, "relocate of \(wparPath) to \(destination)")
        try requireMobility(from, source)
        try requireMobility(to, destination)

        // Step 2: stop, export, copy, define and import in the destination.
        var running = false
        var known = true
        do {
            running = try from.call(Agent.Status.self, AgentWparName(name: name)).status.state.isActive
        } catch where error.code == .notFound {
            // Defined on the host only: the guest never started it since its boot, so it has no layer.
            known = false
        }
        var stoppedAt: ContinuousClock.Instant?
        if running {
            progress.waiting(path, "stopping it in \(source)")
            // As `partctl shutdown` by default: its stop signal and 60 s, never SIGKILL, which could
            // leave the layer half written; a WPAR that does not stop stays where it is, running.
            try from.call(Agent.Shutdown.self, .init(name: name, within: 60, force: false), timeout: .seconds(75))
            stoppedAt = .now
        }
        var bytes: UInt64 = 0
        do {
            progress.waiting(path, "copying its writable layer to \(destination)")
            try removeGuestLeftover(to)
            let spec = try backend.spec(name, entry: entry, lpar: destination.rawValue, domain: destinationDomain)
            try to.call(Agent.Define.self, .init(name: name, spec: spec, replace: false))
            if known { bytes = try copyLayer(from: from, to: to) }
            FaultPoint.reach("nested-relocate-imported")
            // Step 3: the destination defines it, marked until the source has let go.
            var marked = entry
            marked.relocatingFrom = source
            var destinationDefinitions = try backend.definitions(of: destinationDomain)
            destinationDefinitions.entries.append(marked)
            try backend.store(destinationDefinitions, in: destinationDomain)
            FaultPoint.reach("nested-relocate-marked")
        } catch {
            throw undo(error, to: to, destinationDomain: destinationDomain, restart: running)
        }
        // Steps 4 and 5.
        do {
            try removeFromSource(sourceDomain, client: from)
            var destinationDefinitions = try backend.definitions(of: destinationDomain)
            if let index = destinationDefinitions.entries.firstIndex(where: { $0.name == name }) {
                destinationDefinitions.entries[index].relocatingFrom = nil
            }
            try backend.store(destinationDefinitions, in: destinationDomain)
        } catch {
            throw PartitionError(error.code,
                "\(error.message) The move of \(wparPath) to '\(destination)' is unfinished: 'partctl relocate \(wparPath) --to \(destination)' finishes it.")
        }
        from.close()
        // Step 6.
        var downtime: Double?
        if running && restarts {
            progress.waiting(PartitionPath(components: [destination, name]), "starting it in \(destination)")
            do { try backend.activate(destination, name, client: to) } catch {
                throw PartitionError(error.code,
                    "\(NestedBackend.path(destination, name)) was moved but did not start there: \(error.message) Start it with 'partctl activate \(destination)/\(name)'.")
            }
            if let stoppedAt { downtime = seconds(since: stoppedAt) * 1000 }
        }
        to.close()
        return RelocationReport(path: NestedBackend.path(destination, name), destination: destination.rawValue, mode: "offline",
                                seconds: seconds(since: started), downtimeMilliseconds: downtime, bytes: bytes)
    }

    /// Seconds since `start`, to the millisecond.
    private func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = (ContinuousClock.now - start).components
        return ((Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18) * 1000).rounded() / 1000
    }

    /// The LPAR's agent straight at a channel's socket on a local system (the layer's chunks then
    /// skip libvirtd's stream RPC), else through libvirt.
    private func agent(_ lpar: PartitionName, _ domain: LibvirtDomain, _ purpose: String) throws(PartitionError) -> AgentClient {
        if let direct = try backend.directAgent(lpar, purpose) { return direct }
        return try backend.agent(domain, purpose)
    }

    /// A harmless request the agent knows only when it knows relocation (an unknown transfer is no error).
    private func requireMobility(_ client: AgentClient, _ lpar: PartitionName) throws(PartitionError) {
        do {
            try client.call(Agent.TransferDiscard.self, .init(transfer: "0000000000000000"))
        } catch {
            throw Agent.explainMobilityRefusal(error, lpar: lpar.rawValue)
        }
    }

    /// A copy of the WPAR in the destination's guest that its metadata does not name: what a crash
    /// in step 2 of an earlier move (or of a remove) left. The metadata is the desired state.
    private func removeGuestLeftover(_ to: AgentClient) throws(PartitionError) {
        do {
            _ = try to.call(Agent.Status.self, AgentWparName(name: name))
        } catch where error.code == .notFound {
            return
        }
        try to.call(Agent.Remove.self, .init(name: name, force: true))
    }

    /// Export in the source, chunks through this process, into the destination's engine definition.
    /// Returns the archive's size (0 without a layer).
    private func copyLayer(from: AgentClient, to: AgentClient) throws(PartitionError) -> UInt64 {
        let export = try from.call(Agent.Export.self, AgentWparName(name: name), timeout: Self.layerTimeout)
        guard export.layer, let sourceTransfer = export.transfer else { return 0 }
        defer { _ = try? from.call(Agent.TransferDiscard.self, .init(transfer: sourceTransfer)) }
        var offset: UInt64 = 0
        var destinationTransfer: String?
        repeat {
            let length = Int(min(UInt64(Agent.transferChunk), export.bytes - offset))
            let chunk = try from.call(Agent.TransferRead.self, .init(transfer: sourceTransfer, offset: offset, length: max(length, 1)))
            guard let data = Base64.decode(chunk.data), data.count == length else {
                throw PartitionError(.agent, "The agent in '\(source)' returned a chunk of the layer that is not the \(length) bytes asked for.")
            }
            destinationTransfer = try to.call(Agent.TransferWrite.self, .init(transfer: destinationTransfer, offset: offset, data: chunk.data)).transfer
            offset += UInt64(length)
        } while offset < export.bytes
        guard let destinationTransfer else { return 0 }
        do {
            try to.call(Agent.Import.self, .init(name: name, transfer: destinationTransfer, bytes: export.bytes, checksum: export.checksum),
                        timeout: Self.layerTimeout)
        } catch {
            _ = try? to.call(Agent.TransferDiscard.self, .init(transfer: destinationTransfer))
            throw error
        }
        return export.bytes
    }

    /// After a failure in steps 2-3: the destination's guest copy goes, the WPAR runs again in the
    /// source when it ran; the error says so.
    private func undo(_ error: PartitionError, to: AgentClient, destinationDomain: LibvirtDomain, restart: Bool) -> PartitionError {
        _ = try? to.call(Agent.Remove.self, .init(name: name, force: true))
        // An image disk attached for it alone is detached again.
        if let definitions = try? backend.definitions(of: destinationDomain) {
            try? backend.detachUnusedImageDisks(destinationDomain, definitions: definitions)
        }
        var message = "\(error.message) Nothing was moved"
        if restart {
            do {
                try backend.activate(source, name)
                message += "; \(wparPath) runs again."
            } catch let restartError {
                message += "; \(wparPath) did not start again: \(restartError.message)"
            }
        } else {
            message += "."
        }
        return PartitionError(error.code, message, partition: error.partition, operation: error.operation)
    }

    /// Step 4: the source's guest copy (its layer with it) and its definition go.
    private func removeFromSource(_ sourceDomain: LibvirtDomain, client: AgentClient? = nil) throws(PartitionError) {
        if try sourceDomain.isActive() {
            let agent: AgentClient
            if let client { agent = client } else { agent = try backend.agent(sourceDomain, "relocate of \(wparPath)") }
            do { try agent.call(Agent.Remove.self, .init(name: name, force: true)) } catch where error.code == .notFound {}
        }
        var definitions = try backend.definitions(of: sourceDomain)
        guard definitions.entry(name) != nil else { return }
        definitions.entries.removeAll { $0.name == name }
        try backend.store(definitions, in: sourceDomain)
        try backend.detachUnusedImageDisks(sourceDomain, definitions: definitions)
    }
}
