import LibvirtKit
import PartitionModel
import PartitionProfiles
import WorkloadEngine
#if canImport(Glibc)
import Glibc
#endif

/// Logical partitions: libvirt domains defined from LPAR profiles.
///
/// Every operation checks what it can before libvirt is called, so a refused input changes
/// nothing. Domains without partctl's metadata are unmanaged: listed, never changed.
final class LparBackend {
    let connection: LibvirtConnection
    let configuration: PartctlConfiguration
    /// How often a graceful shutdown re-presses the power button: a guest still booting may miss the first.
    static let shutdownRepeat: Duration = .seconds(5)

    init(connection: LibvirtConnection, configuration: PartctlConfiguration) {
        self.connection = connection
        self.configuration = configuration
    }

    var leases: PartitionLeases {
        let connection = self.connection
        return PartitionLeases(configuration: configuration, libvirt: { connection })
    }

    // MARK: Lookup

    /// A managed domain by name; refuses missing and unmanaged ones with a clear message. The one
    /// place an LPAR's metadata is read for a verb: the manager resolves it into an `LparTarget`.
    func managedDomain(_ name: PartitionName) throws(PartitionError) -> (LibvirtDomain, PartitionMetadata) {
        guard let domain = try connection.lookupDomain(name: name.rawValue) else {
            throw PartitionError(.notFound, "No partition named '\(name)' is defined on \(configuration.connectURI).")
        }
        guard let xml = try domain.metadata(uri: PartitionMetadata.namespaceURI) else {
            throw PartitionError(.unmanaged,
                "The domain '\(name)' was not created by partctl; partctl lists it but leaves it alone.")
        }
        return (domain, try PartitionMetadata(xml: xml, domain: name.rawValue))
    }

    func target(_ name: PartitionName) throws(PartitionError) -> LparTarget {
        let (domain, metadata) = try managedDomain(name)
        return LparTarget(name: name, domain: domain, metadata: metadata)
    }

    func exists(_ name: PartitionName) throws(PartitionError) -> Bool {
        try connection.lookupDomain(name: name.rawValue) != nil
    }

    // MARK: Define

    func define(_ name: PartitionName, resolved: ResolvedProfile, accelerator: Acceleration) throws(PartitionError) {
        guard let profile = resolved.lpar else {
            throw PartitionError(.invalidProfile, "The profile '\(resolved.name)' describes a \(resolved.kind.rawValue), not an LPAR.")
        }
        try checkHostFits(profile)
        try HostPaths.check(profile)
        if try connection.lookupDomain(name: name.rawValue) != nil {
            throw PartitionError(.alreadyExists, "A domain named '\(name)' already exists on \(configuration.connectURI).")
        }
        // Its addresses on managed networks first (a conflict refuses it before anything exists),
        // then its disks (the seed names the domain's UUID); a define that fails takes both back.
        let leases = self.leases
        let adapters = try leases.lparAdapters(name.rawValue, profile: profile)
        do throws(PartitionError) {
            try define(name, resolved: resolved, profile: profile, accelerator: accelerator, adapters: adapters)
        } catch {
            if !adapters.isEmpty { try? leases.releaseAll(name.rawValue) }
            throw error
        }
    }

    private func define(_ name: PartitionName, resolved: ResolvedProfile, profile: LparProfile, accelerator: Acceleration,
                        adapters: [Int: DomainXML.ManagedAdapter]) throws(PartitionError) {
        let disks = lparDisks()
        disks.sweepLeftovers(connection: connection) { other in
            configuration.runtimeRoot + "/locks/" + other.rawValue + ".lock"
        }
        let uuid = try LparDisks.newUUID()
        let made = try disks.create(for: name, profile: profile, uuid: uuid)
        do throws(PartitionError) {
            let xml = try domainDefinition(name, resolved: resolved, accelerator: accelerator, uuid: uuid,
                                           nested: NestedDefinitions(), disks: made, adapters: adapters).xml
            let domain = try connection.defineDomain(xml: xml)
            if profile.autostart {
                do { try domain.setAutostart(true) } catch {
                    try? domain.undefine()
                    throw error
                }
            }
        } catch {
            try? disks.remove(name)
            throw error
        }
    }

    /// The LPAR disks of this managed system (the `partctl` pool).
    func lparDisks() -> LparDisks {
        LparDisks(pool: ImagePool(connection: connection, stateRoot: configuration.stateRoot),
                  runtimeRoot: configuration.runtimeRoot,
                  baseVolume: { profile throws(PartitionError) in try ImagePool.baseVolume(for: profile, stateRoot: self.configuration.stateRoot) })
    }

    /// A redefinition keeps the overlay and remakes the seed if its values changed.
    func redefinition(_ target: LparTarget, old: ResolvedProfile?, new: ResolvedProfile, accelerator: Acceleration) throws(PartitionError) -> (xml: String, metadata: PartitionMetadata) {
        guard let profile = new.lpar else {
            throw PartitionError(.invalidProfile, "The profile '\(new.name)' does not describe an LPAR.")
        }
        let uuid = target.domain.uuidString
        let made = try lparDisks().current(for: target.name, old: old?.lpar, new: profile, uuid: uuid)
        let adapters = try leases.lparAdapters(target.name.rawValue, profile: profile)
        return try domainDefinition(target.name, resolved: new, accelerator: accelerator, uuid: uuid,
                                    nested: target.metadata.nested, disks: made, adapters: adapters)
    }

    func domainXML(_ name: PartitionName, resolved: ResolvedProfile, accelerator: Acceleration, uuid: String?,
                   nested: NestedDefinitions = NestedDefinitions(), disks: LparDisks.Made = LparDisks.Made()) throws(PartitionError) -> String {
        try domainDefinition(name, resolved: resolved, accelerator: accelerator, uuid: uuid, nested: nested, disks: disks).xml
    }

    /// The domain's XML and the metadata it carries, so that a redefinition need not read it back.
    func domainDefinition(_ name: PartitionName, resolved: ResolvedProfile, accelerator: Acceleration, uuid: String?,
                          nested: NestedDefinitions, disks: LparDisks.Made,
                          adapters: [Int: DomainXML.ManagedAdapter] = [:]) throws(PartitionError) -> (xml: String, metadata: PartitionMetadata) {
        guard let profile = resolved.lpar else {
            throw PartitionError(.invalidProfile, "The profile '\(resolved.name)' does not describe an LPAR.")
        }
        var metadata = PartitionMetadata(profileName: resolved.name, resolvedProfileJSON: try resolved.jsonString(),
                                         accelerator: accelerator, description: resolved.description)
        metadata.nested = nested
        var builder = DomainXML(name: name, profile: profile, accelerator: accelerator, metadata: metadata,
                                consoleLogPath: DomainXML.defaultConsoleLogPath(for: name))
        builder.uuid = uuid
        if let graphics = profile.graphics { builder.graphicsPassword = try GraphicsPassword.read(graphics) }
        builder.systemDisk = disks.systemDisk
        builder.seedPath = disks.seedPath
        builder.managedAdapters = adapters
        return (builder.serialized(), metadata)
    }

    /// Refuses what the managed system cannot give, before libvirt sees it.
    func checkHostFits(_ profile: LparProfile) throws(PartitionError) {
        let node = try connection.nodeInfo()
        if profile.processors.max > Int(node.cpus) {
            throw PartitionError(.outOfRange,
                "processors.max is \(profile.processors.max), but the managed system has \(node.cpus) CPUs.")
        }
        let hostMemory = ByteSize.kibibytes(node.memoryKiB)
        if profile.memory.max > hostMemory {
            throw PartitionError(.outOfRange,
                "memory.max is \(profile.memory.max), but the managed system has \(hostMemory) of memory.")
        }
    }

    // MARK: Lifecycle

    func activate(_ target: LparTarget, reprofile: ResolvedProfile?, accelerator: Acceleration?) throws(PartitionError) {
        let name = target.name
        var (domain, metadata) = (target.domain, target.metadata)
        if try domain.isActive() {
            throw PartitionError(.invalidState, "The partition is already running.")
        }
        if let reprofile, let accelerator {
            guard let profile = reprofile.lpar else {
                throw PartitionError(.invalidProfile, "The profile '\(reprofile.name)' does not describe an LPAR.")
            }
            try checkHostFits(profile)
            try HostPaths.check(profile)
            let stored = try? ResolvedProfile.decode(json: metadata.resolvedProfileJSON, domain: name.rawValue)
            let definition = try redefinition(target, old: stored, new: reprofile, accelerator: accelerator)
            domain = try connection.defineDomain(xml: definition.xml)
            try domain.setAutostart(profile.autostart)
            metadata = definition.metadata
            (target.domain, target.metadata) = (domain, metadata)
        }
        let resolved = try ResolvedProfile.decode(json: metadata.resolvedProfileJSON, domain: name.rawValue)
        if let profile = resolved.lpar {
            try HostPaths.check(profile)
            let managed = try leases.managedNetworks(of: profile)
            for network in managed { try NetworkActivation.ensureUp(network, stateRoot: configuration.stateRoot) }
            try LparNetworks.startNeeded(profile, connection: connection, managed: Set(managed.map(\.name)))
        }
        try domain.create()
    }

    func shutdown(_ target: LparTarget, within seconds: Int, force: Bool) throws(PartitionError) {
        let (name, domain) = (target.name, target.domain)
        guard try domain.isActive() else {
            throw PartitionError(.invalidState, "The partition is not running.")
        }
        try domain.shutdown()
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(seconds)
        var nextPress = clock.now + LparBackend.shutdownRepeat
        while clock.now < deadline {
            if try !domain.isActive() { return }
            if clock.now >= nextPress {
                try? domain.shutdown()
                nextPress = clock.now + LparBackend.shutdownRepeat
            }
            usleep(100_000)
        }
        if try !domain.isActive() { return }
        guard force else {
            throw PartitionError(.timeout,
                "The partition did not stop within \(seconds) seconds and keeps running; add --force to stop it immediately, or use 'partctl force \(name)'.")
        }
        try destroyIfActive(domain)
    }

    /// `shutdown --no-wait`: the power button pressed once.
    func requestShutdown(_ target: LparTarget) throws(PartitionError) {
        let domain = target.domain
        guard try domain.isActive() else {
            throw PartitionError(.invalidState, "The partition is not running.")
        }
        try domain.shutdown()
    }

    func force(_ target: LparTarget) throws(PartitionError) {
        let domain = target.domain
        guard try domain.isActive() else {
            throw PartitionError(.invalidState, "The partition is not running.")
        }
        try destroyIfActive(domain)
    }

    /// Destroy, tolerating the guest having stopped by itself in the meantime.
    private func destroyIfActive(_ domain: LibvirtDomain) throws(PartitionError) {
        do {
            try domain.destroy()
        } catch {
            if try domain.isActive() { throw error }
        }
    }

    func remove(_ target: LparTarget, force: Bool) throws(PartitionError) {
        let (name, domain) = (target.name, target.domain)
        if try domain.isActive() {
            guard force else {
                throw PartitionError(.invalidState,
                    "The partition is running; shut it down first, or add --force to stop it immediately and remove it.")
            }
            try destroyIfActive(domain)
        }
        try domain.undefine()
        // Its addresses, overlay and seed go with it (the base stays: it is the image's).
        try leases.releaseAll(name.rawValue)
        try lparDisks().remove(name)
        if configuration.isLocal {
            // The console log is partctl's (its path is in the definition it made); libvirt would keep it forever.
            _ = unlink(DomainXML.defaultConsoleLogPath(for: name))
        }
    }

    // MARK: Modify

    /// Applies `overrides` to the definition (`config`) and/or the running domain (`live`).
    func modify(_ target: LparTarget, overrides: ProfileOverrides, live: Bool, config: Bool) throws(PartitionError) {
        let (name, domain, metadata) = (target.name, target.domain, target.metadata)
        let current = try ResolvedProfile.decode(json: metadata.resolvedProfileJSON, domain: name.rawValue)
        let updated = try current.applying(overrides)
        guard let old = current.lpar, let new = updated.lpar else {
            throw PartitionError(.invalidProfile, "The stored definition is not an LPAR profile.")
        }
        let running = try domain.isActive()
        let applyLive = live || (!live && !config && running)
        let applyConfig = config || (!live && !config)
        if applyLive {
            guard running else {
                throw PartitionError(.invalidState, "The partition is not running; drop --live to change only its definition.")
            }
            let liveOnly = LparLiveChange(old: old, new: new)
            if let refused = liveOnly.refusedAttribute {
                throw PartitionError(.invalidArgument,
                    "\(refused) cannot change on a running partition; use --config, it takes effect at the next activation.")
            }
            try liveOnly.checkWithinBounds(of: old)
            try liveOnly.apply(to: domain)
        }
        if applyConfig {
            // A running guest keeps its adapters' addresses until it stops: they stay leased till then.
            if running, new.network != old.network {
                let leases = self.leases
                let before = try leases.managedNetworks(of: old), after = try leases.managedNetworks(of: new)
                if !before.isEmpty || !after.isEmpty {
                    throw PartitionError(.invalidState, "The network of a running LPAR on a managed network cannot change; shut it down first.")
                }
            }
            try checkHostFits(new)
            let definition = try redefinition(target, old: current, new: updated, accelerator: metadata.accelerator)
            let redefined = try connection.defineDomain(xml: definition.xml)
            if new.autostart != old.autostart { try redefined.setAutostart(new.autostart) }
            (target.domain, target.metadata) = (redefined, definition.metadata)
        }
    }

    // MARK: Console

    func consoleLog(_ target: LparTarget) throws(PartitionError) -> String {
        guard configuration.isLocal else {
            throw PartitionError(.unsupported,
                "console --log reads the log file on the managed system, which is remote here (\(configuration.connectURI)); attach with 'partctl console' instead.")
        }
        let path = DomainXML.defaultConsoleLogPath(for: target.name)
        return try LocalFile.read(path, limit: 16 << 20, missingIsEmpty: true)
    }

    /// Attaches `terminal` to the running LPAR's serial console until `~.` or until it closes.
    func attachConsole(_ target: LparTarget, terminal: any UserTerminal) throws(PartitionError) -> ConsoleEnding {
        guard try target.domain.isActive() else {
            throw PartitionError(.invalidState, "The partition is not running; its console output so far is in 'partctl console \(target.name) --log'.")
        }
        let stream = try target.domain.openConsole()
        terminal.consoleAttached(PartitionPath(components: [target.name]))
        let ending = try terminal.withRawMode { () throws(PartitionError) in try ConsoleSession(stream: stream).run() }
        switch ending {
        case .streamClosed: return .closed(nil)
        case .escaped, .inputClosed, .stopped: return .left
        }
    }
}
