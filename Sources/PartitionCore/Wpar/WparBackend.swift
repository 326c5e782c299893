import LibvirtKit
import PartitionImages
import SystemKit
import PartitionModel
import PartitionProfiles
import WorkloadEngine
#if canImport(Glibc)
import Glibc
#endif

/// Workload partitions on this host, run by partctl's own engine. The engine takes each WPAR's
/// lock and repairs what a killed command left before it acts.
final class WparBackend {
    let engine: WorkloadEngine
    let configuration: PartctlConfiguration

    /// The managed system's libvirt when the manager has it: to tell whether a leftover lease's
    /// LPAR still exists (PartitionLeases.exists).
    var libvirt: () -> LibvirtConnection? = { nil }

    init(configuration: PartctlConfiguration) {
        self.configuration = configuration
        self.engine = WorkloadEngine(paths: RuntimePaths(root: configuration.runtimeRoot, definitions: configuration.stateRoot))
    }

    var leases: PartitionLeases { PartitionLeases(configuration: configuration, libvirt: libvirt) }

    /// The image store WPAR roots come from (`image:`).
    var images: ImageStore { ImageStore(stateRoot: configuration.stateRoot) }

    func exists(_ name: PartitionName) -> Bool {
        target(name) != nil
    }

    /// The host WPAR of this name with its stored definition, or nil when none is defined.
    func target(_ name: PartitionName) -> HostWparTarget? {
        (try? engine.definition(of: name)).map { HostWparTarget(name: name, definition: $0) }
    }

    /// WorkloadSpecMapping's spec, completed from the profile's image where it names one: an
    /// application WPAR takes an OCI image's process (ImageApplicationWpar).
    func spec(_ name: PartitionName, resolved: ResolvedProfile, command: [String] = [], console: Bool,
              transient: Bool = false, attachment: BridgeAttachment? = nil) throws(PartitionError) -> WorkloadSpec {
        let images = self.images
        var spec = try WorkloadSpecMapping.spec(name: name, resolved: resolved, command: command, console: console,
                                                annotate: !transient, imageLower: try WorkloadSpecMapping.imageRoot(of: resolved, in: images),
                                                attachment: attachment)
        try ImageApplicationWpar.apply(to: &spec, resolved: resolved, arguments: command, transient: transient, store: images)
        return spec
    }

    /// The address first (a conflict refuses the define before anything exists), then the
    /// definition; a define that fails after the lease gives it back.
    func define(_ name: PartitionName, resolved: ResolvedProfile) throws(PartitionError) {
        if exists(name) { throw PartitionError(.alreadyExists, "The WPAR is already defined.") }
        let imageLock = try lockImage(of: resolved)
        defer { withExtendedLifetime(imageLock) {} }
        let leases = self.leases
        let attachment = try resolved.wpar.map { (wpar) throws(PartitionError) in try leases.wparAttachment(name.rawValue, network: wpar.network) } ?? nil
        do {
            let spec = try spec(name, resolved: resolved, console: true, attachment: attachment)
            try resolved.validateHostPaths()
            try engine.define(name, spec: spec)
        } catch {
            if attachment != nil { try? leases.releaseAll(name.rawValue) }
            throw error
        }
    }

    /// A redefinition's address: leased again (the same one unless the profile fixes another),
    /// and what the WPAR no longer uses released.
    private func releasingOthers(_ name: PartitionName, network: WparNetwork) throws(PartitionError) -> BridgeAttachment? {
        let leases = self.leases
        let attachment = try leases.wparAttachment(name.rawValue, network: network)
        let kept = try leases.managedNetwork(of: network).flatMap { $0 }
        for other in try leases.registry.list() where other.name != kept?.name || attachment?.mac == nil {
            try leases.book(other).release(partition: name.rawValue)
        }
        return attachment
    }

    /// Before the WPAR starts: its managed network up (bridge, dnsmasq, NAT) and its address
    /// still leased to it (re-recorded if the book lost it; refused if another partition took it).
    private func prepareNetwork(_ name: PartitionName) throws(PartitionError) {
        let spec = try engine.definition(of: name)
        guard case .bridge(let attachment) = spec.network, let mac = attachment.mac else { return }
        let leases = self.leases
        guard let network = try leases.registry.network(onBridge: attachment.bridge) else { return }
        if let address = IPv4Address(attachment.host) {
            _ = try leases.lease(network, partition: name.rawValue, mac: mac, requested: address)
        }
        try NetworkActivation.ensureUp(network, stateRoot: configuration.stateRoot)
    }

    /// The lock of the image a profile names, held while a definition that names it is stored, so
    /// that `image remove` (which holds it while it looks for users) cannot slip in between.
    func lockImage(of resolved: ResolvedProfile) throws(PartitionError) -> PartitionLock? {
        guard let image = resolved.wpar?.image else { return nil }
        return try images.lock(try ImageName(validating: image), waiting: 30)
    }

    func activate(_ name: PartitionName, reprofile: ResolvedProfile?) throws(PartitionError) {
        if let reprofile {
            let imageLock = try lockImage(of: reprofile)
            defer { withExtendedLifetime(imageLock) {} }
            let status = try engine.status(name)
            if status.state.isActive { throw PartitionError(.invalidState, "The WPAR is already running.") }
            let attachment = try reprofile.wpar.map { (wpar) throws(PartitionError) in try releasingOthers(name, network: wpar.network) } ?? nil
            let spec = try spec(name, resolved: reprofile, console: true, attachment: attachment)
            try reprofile.validateHostPaths()
            try engine.define(name, spec: spec, replacing: true)
        }
        try prepareNetwork(name)
        try engine.activate(name)
    }

    /// Active, or `error`: a WPAR whose supervisor died still has cgroups and state to clean up.
    private func isStoppable(_ name: PartitionName) throws(PartitionError) -> Bool {
        let state = try engine.status(name).state
        return state.isActive || state == .error
    }

    func shutdown(_ name: PartitionName, within seconds: Int, force: Bool) throws(PartitionError) {
        guard try isStoppable(name) else {
            throw PartitionError(.invalidState, "The WPAR is not running.")
        }
        do {
            try engine.shutdown(name, within: Double(seconds), force: force)
        } catch where error.code == .timeout {
            throw PartitionError(.timeout,
                "The WPAR did not stop within \(seconds) seconds and keeps running; add --force to kill it then, or use 'partctl force \(name)'.")
        }
    }

    /// `shutdown --no-wait`: the stop signal sent, the WPAR `stopping` for up to `within` seconds.
    func requestShutdown(_ name: PartitionName, within seconds: Int) throws(PartitionError) {
        guard try isStoppable(name) else {
            throw PartitionError(.invalidState, "The WPAR is not running.")
        }
        try engine.requestShutdown(name, within: Double(seconds))
    }

    func force(_ name: PartitionName) throws(PartitionError) {
        guard try isStoppable(name) else {
            throw PartitionError(.invalidState, "The WPAR is not running.")
        }
        try engine.force(name)
    }

    func remove(_ name: PartitionName, force: Bool) throws(PartitionError) {
        if try engine.status(name).state.isActive && !force {
            throw PartitionError(.invalidState,
                "The WPAR is running; shut it down first, or add --force to stop it immediately and remove it.")
        }
        try engine.remove(name, force: force)
        try leases.releaseAll(name.rawValue)
    }

    /// WPAR limits change live in the cgroup and/or in the stored definition.
    func modify(_ name: PartitionName, overrides: ProfileOverrides, live: Bool, config: Bool) throws(PartitionError) {
        var spec = try engine.definition(of: name)
        guard let current = WorkloadSpecMapping.resolvedProfile(of: spec) else {
            throw PartitionError(.unmanaged, "The WPAR's definition has no partctl profile to change.")
        }
        let updated = try current.applying(overrides)
        guard let old = current.wpar, let new = updated.wpar else {
            throw PartitionError(.invalidProfile, "The stored definition is not a WPAR profile.")
        }
        let running = try engine.status(name).state.isActive
        let change = try WparModification(from: old, to: new, running: running, live: live, config: config)
        let imageLock = change.config ? try lockImage(of: updated) : nil
        defer { withExtendedLifetime(imageLock) {} }
        if change.config {
            let attachment = new.network != old.network ? try releasingOthers(name, network: new.network)
                                                        : try self.leases.wparAttachment(name.rawValue, network: new.network)
            let fresh = try self.spec(name, resolved: updated, console: spec.console, attachment: attachment)
            spec = fresh
        }
        let limits = WorkloadSpecMapping.limits(new.resources)
        if change.config {
            try engine.define(name, spec: spec, replacing: true)
        }
        if change.live {
            try engine.modify(name, limits: limits, live: true, persistent: false)
        }
    }

    func attachConsole(_ name: PartitionName, terminal: any UserTerminal) throws(PartitionError) -> ConsoleEnding {
        terminal.consoleAttached(PartitionPath(components: [name]))
        try terminal.withRawMode { () throws(PartitionError) in try engine.attachConsole(name) }
        return .left
    }

    func login(_ name: PartitionName, command: [String], terminal: any UserTerminal) throws(PartitionError) -> Int32 {
        let interactive = terminal.isInteractive
        let arguments = command.isEmpty ? ["/bin/sh", "-l"] : command
        let run = { () throws(PartitionError) -> Int32 in
            try self.engine.exec(name, WorkloadCommand(arguments: arguments, terminal: interactive))
        }
        return interactive ? try terminal.withRawMode(run) : try run()
    }

    /// A transient application WPAR: its name is for messages and the cgroup; nothing is stored.
    func run(resolved: ResolvedProfile, command: [String]) throws(PartitionError) -> Int32 {
        guard let profile = resolved.wpar, profile.type == .application else {
            throw PartitionError(.invalidProfile, "run needs an application WPAR profile; '\(resolved.name)' is not one.")
        }
        let name = try PartitionName("run-\(getpid())")
        // On a managed network it holds an address for as long as it runs (a leftover of a killed
        // run is dropped when it stands in the way: no partition has its name).
        let leases = self.leases
        let attachment = try leases.wparAttachment(name.rawValue, network: profile.network)
        defer { if attachment != nil { try? leases.releaseAll(name.rawValue) } }
        let spec = try spec(name, resolved: resolved, command: command, console: false, transient: true, attachment: attachment)
        if case .bridge(let bridge) = spec.network, let network = try leases.registry.network(onBridge: bridge.bridge) {
            try NetworkActivation.ensureUp(network, stateRoot: configuration.stateRoot)
        }
        return try engine.run(spec)
    }

    // MARK: The tree

    func records() -> [PartitionRecord] {
        engine.statuses().map(record)
    }

    func record(_ status: WorkloadStatus) -> PartitionRecord {
        let resolved = WorkloadSpecMapping.resolvedProfile(annotations: status.annotations, name: status.name)
        let usage = (try? engine.usage(of: status)) ?? nil
        var fields: [(String, FieldValue)] = []
        fields.append(("cpu_weight", status.limits.cpuWeight.map(FieldValue.int) ?? .none))
        fields.append(("cpu_max", status.limits.cpuMax.map(FieldValue.number) ?? .none))
        fields.append(("memory_high", status.limits.memoryHigh.map(FieldValue.bytes) ?? .none))
        fields.append(("memory_max", status.limits.memoryMax.map(FieldValue.bytes) ?? .none))
        fields.append(("memory_current", usage?.memoryCurrent.map(FieldValue.bytes) ?? .none))
        fields.append(("pids_max", status.limits.pidsMax.map(FieldValue.int) ?? .none))
        fields.append(("pids_current", usage?.pidsCurrent.map(FieldValue.int) ?? .none))
        fields.append(("cpu_time", usage?.cpuNanoseconds.map { .number(Double($0) / 1e9) } ?? .none))
        fields.append(("pid", status.initPID.map { .int(Int($0)) } ?? .none))
        // What its eth0 was given at activation: a lease on a managed network, or the bridge form's own.
        fields.append(("ip", status.state.isActive ? status.address.map(FieldValue.string) ?? .none : .none))
        fields.append(("exit_status", status.lastExit.map { exit in
            exit.code.map { FieldValue.int(Int($0)) } ?? exit.signal.map { FieldValue.string("signal \($0)") } ?? .none
        } ?? .none))
        fields.append(("uid_map", status.userNamespace.map { mapping in
            .string(mapping.uids.map { "\($0.inside) \($0.outside) \($0.count)" }.joined(separator: ","))
        } ?? .none))
        fields.append(("autostart", resolved?.wpar.map { .bool($0.autostart) } ?? .none))
        fields.append(("profile", status.annotations?[WorkloadSpecMapping.profileNameAnnotation].map(FieldValue.string) ?? .none))
        fields.append(("image", resolved?.wpar?.image.map(FieldValue.string) ?? .none))
        return PartitionRecord(name: status.name.rawValue, path: status.name.rawValue, kind: .wpar, state: status.state,
                               type: status.kind.rawValue, managed: true, fields: fields, note: status.problem)
    }
}
