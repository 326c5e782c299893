import LibvirtKit
import PartitionModel
import SystemKit
#if canImport(Glibc)
import Glibc
#endif

extension PartitionManager {
    /// An LPAR to another managed system through libvirt's migration API (docs/relocation.md):
    /// peer to peer, persistent on the destination, undefined on the source; live when it runs,
    /// its definition alone when it is stopped. The domain XML carries partctl's metadata (the
    /// profile, the nested WPAR definitions), so the LPAR is the same partition there.
    func relocateLpar(_ request: RelocationRequest) throws(PartitionError) -> RelocationReport {
        let path = request.path
        let name = try topLevelName(path, "relocate")
        let started = ContinuousClock.now
        do throws(PartitionError) {
            let system = try SystemRegistry(configuration: configuration).system(named: request.destination)
            if configuration.isLocal, isHostWpar(name) {
                throw PartitionError(.unsupported, "'\(name)' is a host WPAR; only LPARs move between managed systems.")
            }
            let lock = try PartitionLock.acquire(path: lockPath(path), wait: true, timeout: 30)
            defer { withExtendedLifetime(lock) {} }
            let backend = try lpars()
            let target: LparTarget
            do { target = try backend.target(name) } catch {
                if error.code == .notFound { lock.removeFile() }
                throw error
            }
            let move = try LparMove(manager: self, target: target, system: system, request: request)
            if request.validateOnly {
                return RelocationReport(path: path.description, destination: system.name, mode: move.mode.rawValue,
                                        blockers: move.blockers().map(\.message))
            }
            let all = move.blockers()
            if let first = all.first {
                throw PartitionError(first.code, all.count == 1 ? first.message :
                    "\(all.count) things block the move (partctl relocate \(path) --to \(system.name) --validate lists them): " +
                    all.map { RelocationChecks.trimmed($0.message) }.joined(separator: "; ") + ".")
            }
            var report = try move.run(progress: progress, path: path, bandwidth: request.bandwidthMiBPerSecond)
            report.seconds = (ContinuousClock.now - started) / .seconds(1)
            forgetMovedLpar(name)
            lock.removeFile()
            return report
        } catch {
            throw error.with(partition: path.description, operation: "relocate")
        }
    }

    /// What this host kept for an LPAR that now lives on another system: its agent channel locks
    /// and its console log (libvirt would keep that forever; the destination writes its own).
    /// Leases and forwards never get here: an LPAR that has any is refused (RelocationChecks).
    private func forgetMovedLpar(_ name: PartitionName) {
        guard configuration.isLocal else { return }
        AgentChannelPool.forget(name.rawValue, configuration: configuration)
        _ = unlink(DomainXML.defaultConsoleLogPath(for: name))
    }
}

/// One LPAR's move, from the checks to the report.
struct LparMove {
    enum Mode: String { case live, offline }

    let manager: PartitionManager
    let target: LparTarget
    let system: ManagedSystem
    let destination: LibvirtConnection
    let mode: Mode
    let needs: DomainNeeds

    init(manager: PartitionManager, target: LparTarget, system: ManagedSystem, request: RelocationRequest) throws(PartitionError) {
        self.manager = manager
        self.target = target
        self.system = system
        let running = try target.domain.isActive()
        switch (request.mode, running) {
        case (.live, false):
            throw PartitionError(.invalidState, "The LPAR is not running; move it with --offline (or without --live).")
        case (.offline, true):
            throw PartitionError(.invalidState, "The LPAR is running; move it live (without --offline), or shut it down first.")
        default:
            mode = running ? .live : .offline
        }
        needs = try DomainNeeds(xml: try target.domain.xmlDesc())
        do {
            destination = try LibvirtConnection.open(uri: system.uri)
        } catch {
            throw PartitionError(.unavailable, "The managed system \(system.name) (\(system.uri)) cannot be reached: \(RelocationChecks.trimmed(error.message)).")
        }
        if let here = try Self.hostUUID(target.domain.connection), here == (try Self.hostUUID(destination)) {
            throw PartitionError(.invalidArgument, "The LPAR is on \(system.name) already (the same libvirt host).")
        }
    }

    /// The host UUID a daemon reports in its capabilities, nil when it reports none.
    static func hostUUID(_ connection: LibvirtConnection) throws(PartitionError) -> String? {
        try XMLReader.parse(try connection.capabilities()).element(named: "host")?.element(named: "uuid")?.text
    }

    func blockers() -> [RelocationBlocker] {
        var checks = RelocationChecks(name: target.name, destinationName: system.name, destination: destination,
                                      needs: needs, live: mode == .live)
        checks.hostRecords = hostRecords()
        return checks.blockers()
    }

    /// This host's records for the LPAR that would point at nothing after the move: addresses on
    /// partctl's managed networks (their dnsmasq and lease books are this host's) and forwards.
    /// They refuse the move; partctl does not guess what the user wants done with them.
    func hostRecords() -> [RelocationBlocker] {
        guard manager.configuration.isLocal else { return [] }
        var found: [RelocationBlocker] = []
        let leases = PartitionLeases(configuration: manager.configuration, libvirt: { target.domain.connection })
        if let addresses = leases.allAddresses()[target.name.rawValue], !addresses.isEmpty {
            found.append(RelocationBlocker(code: .unsupported,
                message: "it holds \(addresses.joined(separator: ", ")) on partctl's managed network of this host, which \(system.name) does not share; attach it to a libvirt network or bridge both systems have (partctl modify \(target.name) -i network=...) first."))
        }
        let book = manager.forwardBook
        if book.exists, let forwards = try? book.locked({ () throws(PartitionError) in try book.load() }) {
            for forward in forwards where forward.targets(target.name.rawValue, nested: true) {
                found.append(RelocationBlocker(code: .unsupported,
                    message: "host port \(forward.hostSide) is forwarded to \(forward.partition):\(forward.port) on this host; remove it first (partctl forward remove \(forward.hostSide))."))
            }
        }
        return found
    }

    /// How the migration is driven. A destination with a host in its URI is reached by the source's
    /// daemon itself (peer to peer); one without (this machine's qemu:///system, moving an LPAR
    /// back from another system) only by this process, which then drives the migration with a
    /// connection to each side.
    enum Route: Equatable {
        case peerToPeer(migrationURI: String?)
        case direct(migrationURI: String?)
    }

    func route() -> Route {
        if let host = Self.uriHost(system.uri) {
            // The stream goes to the host the URI names, which reaches that system by definition.
            // libvirt's default (the destination's own host name) may not resolve here, and asking
            // whether it does can stall for the resolver's timeout (10 s here) on every move.
            return .peerToPeer(migrationURI: "tcp://\(host)")
        }
        // The source's QEMU sends to the address this machine has toward the source's host.
        let address = Self.uriHost(manager.configuration.connectURI).flatMap(RouteAddress.toward)
        return .direct(migrationURI: address.map { "tcp://\($0)" })
    }

    /// `qemu+tcp://user@10.0.0.2:16509/system` -> `10.0.0.2`; `[fd00::2]` keeps its brackets.
    static func uriHost(_ uri: String) -> String? {
        guard let schemeEnd = uri.firstRange(of: "://") else { return nil }
        var authority = uri[schemeEnd.upperBound...].prefix { $0 != "/" && $0 != "?" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            return String(authority[...close])
        }
        let host = authority.prefix { $0 != ":" }
        return host.isEmpty ? nil : String(host)
    }

    func flags(_ route: Route) -> LibvirtMigrationFlags {
        var flags: LibvirtMigrationFlags = [.persistDestination, .undefineSource, mode == .live ? .live : .offline]
        if case .peerToPeer = route { flags.insert(.peerToPeer) }
        return flags
    }

    /// Runs the migration with progress; on failure, makes sure the LPAR is whole on the source
    /// and nothing of it is left on the destination, and says so in one line.
    func run(progress: OperationProgress, path: PartitionPath, bandwidth: UInt64?) throws(PartitionError) -> RelocationReport {
        let domain = target.domain
        let route = route()
        let flags = flags(route)
        let (destination, uri) = (self.destination, system.uri)
        let migration: MigrationRun
        switch route {
        case .peerToPeer(let migrationURI):
            let parameters = LibvirtMigrationParameters(migrationURI: migrationURI, bandwidthMiBPerSecond: bandwidth)
            migration = MigrationRun(domain: domain) { () throws(PartitionError) in
                try domain.migrate(to: uri, parameters: parameters, flags: flags)
            }
        case .direct(let migrationURI):
            let parameters = LibvirtMigrationParameters(migrationURI: migrationURI, bandwidthMiBPerSecond: bandwidth)
            migration = MigrationRun(domain: domain) { () throws(PartitionError) in
                try domain.migrate(to: destination, parameters: parameters, flags: flags)
            }
        }
        progress.waiting(path, "moving to \(system.name)")
        do {
            let (destination, name) = (self.destination, system.name)
            try migration.run(lost: { destination.isAlive ? nil : "\(name)'s libvirt stopped answering" }) { stats in
                progress.waiting(path, Self.progressText(stats, to: name))
            }
        } catch {
            throw recover(after: error)
        }
        var report = RelocationReport(path: path.description, destination: system.name, mode: mode.rawValue)
        // The completed job's statistics: the source's domain is gone, the destination keeps them.
        // libvirt 9.0 fills the downtime in a moment after the call returns: asked again for a while.
        if mode == .live, let moved = try? destination.lookupDomain(name: target.name.rawValue) {
            let deadline = ContinuousClock.now + .seconds(3)
            var stats = try? moved.jobStats(completed: true, keepCompleted: true)
            while (stats?.downtimeMilliseconds ?? 0) == 0, ContinuousClock.now < deadline {
                usleep(50_000)
                stats = try? moved.jobStats(completed: true, keepCompleted: true)
            }
            if let stats {
                report.downtimeMilliseconds = stats.downtimeMilliseconds.flatMap { $0 == 0 ? nil : Double($0) }
                report.bytes = stats.dataProcessed ?? stats.memoryProcessed.map { $0 + (stats.diskProcessed ?? 0) }
            }
        }
        return report
    }

    /// "copying to sys2: 120 of 256 MiB, 136 MiB left (pass 2)".
    static func progressText(_ stats: LibvirtJobStats, to system: String) -> String {
        func mib(_ bytes: UInt64) -> String { "\(bytes / (1 << 20))" }
        guard let processed = stats.dataProcessed, let total = stats.dataTotal else { return "moving to \(system)" }
        var text = "copying to \(system): \(mib(processed)) of \(mib(total)) MiB"
        if let remaining = stats.dataRemaining { text += ", \(mib(remaining)) MiB left" }
        if let pass = stats.memoryIteration, pass > 1 { text += " (pass \(pass))" }
        return text
    }

    /// After a failed migration: the source is what counts. A domain of this UUID left on the
    /// destination (an incoming QEMU, a definition) is removed; the source's domain is resumed if
    /// the failure left it paused.
    func recover(after error: PartitionError) -> PartitionError {
        let cause = RelocationChecks.trimmed(error.message)
        let name = target.name.rawValue
        guard let source = try? target.domain.connection.lookupDomain(name: name) else {
            return PartitionError(error.code, "The move to \(system.name) failed (\(cause)), and the LPAR is no longer on this system; look for it with 'partctl query \(name) -m \(system.name)'.")
        }
        let status = try? source.state()
        if mode == .live, status?.state == .paused { try? source.resume() }
        var leftover = ""
        if destination.isAlive, let uuid = needs.uuid, let stray = try? destination.lookupDomain(uuid: uuid) {
            if (try? stray.isActive()) == true { try? stray.destroy() }
            if (try? stray.isPersistent()) == true { try? stray.undefine() }
            if (try? destination.lookupDomain(uuid: uuid)) != nil { leftover = "; a copy is left on \(system.name), remove it there" }
        }
        let state = mode == .live ? ((try? source.isActive()) == true ? "keeps running" : "is not running") : "stays defined"
        return PartitionError(error.code, "The move to \(system.name) failed (\(cause)); the LPAR \(state) on this system\(leftover).")
    }
}
