import AgentProtocol
import LibvirtKit
import PartitionImages
import PartitionModel
import PartitionNetworks
import SystemKit
import PartitionProfiles
import WorkloadEngine
#if canImport(Glibc)
import Glibc
#endif

/// WPARs nested inside an LPAR (`lp1/web`): desired state in the LPAR's metadata, live state and
/// every action through the partctl agent in the guest.
final class NestedBackend {
    let configuration: PartctlConfiguration
    /// libvirt, connected on first use: a command that reaches the agent directly never loads it.
    private let connectLpars: () throws(PartitionError) -> LparBackend
    private var connectedLpars: LparBackend?
    /// The LPARs this command has read (domain and metadata), by name: read once, kept current.
    var lparTargets: [String: LparTarget] = [:]
    /// How long a command waits for an agent that should already be up.
    static let agentTimeout: Duration = .seconds(10)
    /// Told, once, when a command has to wait for a free agent channel (the command layer prints it).
    var notice: (String) -> Void = { _ in }

    init(configuration: PartctlConfiguration, lpars: @escaping () throws(PartitionError) -> LparBackend) {
        self.configuration = configuration
        self.connectLpars = lpars
    }

    var lpars: LparBackend {
        get throws(PartitionError) {
            if let connectedLpars { return connectedLpars }
            let backend = try connectLpars()
            connectedLpars = backend
            return backend
        }
    }

    // MARK: Desired state

    func definitions(of domain: LibvirtDomain) throws(PartitionError) -> NestedDefinitions {
        if let known = lparTargets[domain.name] { return known.metadata.nested }
        guard let xml = try domain.metadata(uri: PartitionMetadata.namespaceURI) else { return NestedDefinitions() }
        return try PartitionMetadata(xml: xml, domain: domain.name).nested
    }

    /// Rewrites partctl's metadata of the LPAR with new nested definitions, in its definition and,
    /// while it runs, in its live state too.
    func store(_ definitions: NestedDefinitions, in domain: LibvirtDomain) throws(PartitionError) {
        let known = lparTargets[domain.name]
        var metadata: PartitionMetadata
        if let known { metadata = known.metadata } else {
            guard let xml = try domain.metadata(uri: PartitionMetadata.namespaceURI) else {
                throw PartitionError(.unmanaged, "The domain '\(domain.name)' has no partctl metadata.")
            }
            metadata = try PartitionMetadata(xml: xml, domain: domain.name)
        }
        metadata.nested = definitions
        let running = try domain.isActive()
        try domain.setMetadata(metadata.elementForSetMetadata().serialized(), key: PartitionMetadata.prefix,
                               uri: PartitionMetadata.namespaceURI, live: running, config: true)
        known?.metadata = metadata
    }

    /// The LPAR's own profile: nested WPARs need its agent channel and must fit in its resources.
    func lparProfile(_ lpar: PartitionName) throws(PartitionError) -> (LibvirtDomain, LparProfile) {
        let target = try lparTarget(lpar)
        let (domain, metadata) = (target.domain, target.metadata)
        guard let profile = StoredLparValues.decode(json: metadata.resolvedProfileJSON) else {
            throw PartitionError(.invalidProfile, "The stored definition of '\(lpar)' is not readable.")
        }
        guard profile.agent else {
            throw PartitionError(.unsupported, "The LPAR '\(lpar)' has no agent channel; WPARs nest only in LPARs whose profile says agent: true.")
        }
        return (domain, profile)
    }

    /// A nested WPAR's limits must fit inside its LPAR, naming the numbers.
    static func checkBudget(_ wpar: WparProfile, in lpar: LparProfile, lparName: PartitionName) throws(PartitionError) {
        if let max = wpar.resources.memory.max, max > lpar.memory.max {
            throw PartitionError(.outOfRange, "memory max \(max) does not fit in LPAR '\(lparName)', whose memory is at most \(lpar.memory.max).")
        }
        if let high = wpar.resources.memory.high, high > lpar.memory.max {
            throw PartitionError(.outOfRange, "memory high \(high) does not fit in LPAR '\(lparName)', whose memory is at most \(lpar.memory.max).")
        }
        if let cap = wpar.resources.cpu.max, cap > Double(lpar.processors.max) {
            throw PartitionError(.outOfRange,
                "cpu max \(FieldValue.number(cap).text) does not fit in LPAR '\(lparName)', which has at most \(lpar.processors.max) vCPUs.")
        }
    }

    func define(_ lpar: PartitionName, _ name: PartitionName, resolved: ResolvedProfile) throws(PartitionError) {
        let (domain, lparProfile) = try lparProfile(lpar)
        guard let wpar = resolved.wpar else {
            throw PartitionError(.invalidProfile, "The profile '\(resolved.name)' describes an \(resolved.kind.rawValue), not a WPAR.")
        }
        try Self.checkBudget(wpar, in: lparProfile, lparName: lpar)
        try WorkloadSpecMapping.checkSeccomp(wpar, resolved: resolved)
        var definitions = try definitions(of: domain)
        if definitions.entry(name) != nil {
            throw PartitionError(.alreadyExists, "A WPAR named '\(name)' is already defined in LPAR '\(lpar)'.")
        }
        var entry = NestedDefinitions.Entry(name: name, profileJSON: try resolved.jsonString())
        // On the guest network: its address chosen (or the fixed one checked) here, under the LPAR's lock.
        if let requested = try NestedGuestNetwork.request(wpar.network, lpar: lpar) {
            entry.address = try NestedGuestNetwork.assign(requested, to: name, lpar: lpar, definitions: definitions)
        }
        definitions.entries.append(entry)
        try store(definitions, in: domain)
    }

    // MARK: Through the agent

    /// The agent of a running LPAR through libvirt on a free channel of its pool, synchronised
    /// (see `AgentClient.connect`); `purpose` is what a command waiting for a channel is told.
    func agent(_ domain: LibvirtDomain, _ purpose: String, timeout: Duration = NestedBackend.agentTimeout,
               untilPortOpened: ((Int, ContinuousClock.Instant) throws(PartitionError) -> Void)? = nil) throws(PartitionError) -> AgentClient {
        guard try domain.isActive() else {
            throw PartitionError(.invalidState, "Its LPAR '\(domain.name)' is not running; activate it first.")
        }
        return try AgentClient.connect(to: domain, timeout: timeout, purpose: purpose, configuration: configuration,
                                       notice: notice, untilPortOpened: untilPortOpened)
    }

    /// The agent of `lpar` straight at a free channel's socket when that applies (a local system
    /// connection), else nil: the caller then takes the libvirt path, which also gives the
    /// precise error (LPAR missing, unmanaged, not running, without agent channel).
    func directAgent(_ lpar: PartitionName, _ purpose: String, timeout: Duration = NestedBackend.agentTimeout) throws(PartitionError) -> AgentClient? {
        try AgentClient.openDirect(lpar: lpar.rawValue, purpose: purpose, configuration: configuration, timeout: timeout, notice: notice)
    }

    /// "lp1/web", for messages and for what a waiting command is told.
    static func path(_ lpar: PartitionName, _ name: PartitionName) -> String { "\(lpar)/\(name)" }

    /// The agent's refusal of a WPAR it does not know or that does not run, said with the WPAR's
    /// full path and what to do: whether the LPAR's metadata defines it decides which.
    func explained(_ error: PartitionError, _ lpar: PartitionName, _ name: PartitionName, verb: String) -> PartitionError {
        // Only the agent's answers about the WPAR; "Its LPAR … is not running" says what to do already.
        guard error.code == .notFound || error.code == .invalidState, !error.message.hasPrefix("Its LPAR") else { return error }
        let path = Self.path(lpar, name)
        guard let (domain, _) = try? lpars.managedDomain(lpar), let definitions = try? definitions(of: domain) else { return error }
        guard definitions.entry(name) != nil else { return Self.notDefined(lpar, name) }
        guard error.code == .notFound || error.message.contains("not running") else { return error.with(partition: path) }
        return PartitionError(.invalidState, "The WPAR \(path) is defined but not running; activate it with 'partctl activate \(path)'.",
                              partition: path, operation: verb)
    }

    static func notDefined(_ lpar: PartitionName, _ name: PartitionName) -> PartitionError {
        PartitionError(.notFound, "No WPAR named '\(name)' is defined in LPAR '\(lpar)'.", partition: path(lpar, name))
    }

    /// The spec the agent gets. A WPAR on an image (`image:`) gets the image's disk attached to the
    /// LPAR first (made once per image digest, see NestedImageDisk); its root's lower layer is the
    /// disk's mount point in the guest.
    func spec(_ name: PartitionName, entry: NestedDefinitions.Entry, lpar: String,
              domain: LibvirtDomain? = nil) throws(PartitionError) -> WorkloadSpec {
        let resolved = try ResolvedProfile.decode(json: entry.profileJSON, domain: "\(lpar)/\(name)")
        var imageLower: String?
        if let wpar = resolved.wpar, let disk = try NestedImageDisk.of(wpar, stateRoot: configuration.stateRoot) {
            if let domain { try disk.attach(to: domain) }
            imageLower = disk.guestPath
        }
        // On the guest network the address is the definition's (the profile names only the network).
        var attachment: BridgeAttachment?
        if case .managed? = resolved.wpar?.network {
            guard let address = entry.address else {
                throw PartitionError(.internal, "The WPAR \(lpar)/\(name) has no address on \(NestedGuestNetwork.Guest.name) yet.")
            }
            attachment = NestedGuestNetwork.attachment(address)
        }
        // With a console, as host WPARs: `partctl console lp1/web` attaches to it through the agent.
        return try WorkloadSpecMapping.spec(name: name, resolved: resolved, console: true, annotate: false, imageLower: imageLower,
                                            attachment: attachment)
    }

    /// Detaches the image disks no nested WPAR of the LPAR uses any more (after a remove).
    func detachUnusedImageDisks(_ domain: LibvirtDomain, definitions: NestedDefinitions) throws(PartitionError) {
        var keeping: Set<String> = []
        for entry in definitions.entries {
            guard let wpar = try? ResolvedProfile.decode(json: entry.profileJSON, domain: domain.name).wpar,
                  let name = wpar.image, let imageName = try? ImageName(validating: name),
                  let manifest = try? ImageStore(stateRoot: configuration.stateRoot).image(imageName) else { continue }
            keeping.insert(NestedImageDisk(image: manifest, stateRoot: configuration.stateRoot).serial)
        }
        try NestedImageDisk.detachUnused(from: domain, keeping: keeping)
    }

    /// Hands the guest the stored definition (it may have rebooted since) and starts the WPAR.
    func activate(_ lpar: PartitionName, _ name: PartitionName, client existing: AgentClient? = nil) throws(PartitionError) {
        let (domain, _) = try lparProfile(lpar)
        guard let entry = try addressed(name, lpar: lpar, domain: domain) else {
            throw Self.notDefined(lpar, name)
        }
        let purpose = "activate of \(Self.path(lpar, name))"
        var client: AgentClient
        if let existing { client = existing } else { client = try agent(domain, purpose) }
        let spec = try spec(name, entry: entry, lpar: lpar.rawValue, domain: domain)
        do {
            try client.call(Agent.Define.self, .init(name: name, spec: spec, replace: true))
            try client.call(Agent.Activate.self, AgentWparName(name: name))
        } catch where Self.channelBroke(error) && (try? domain.isActive()) == true {
            // A libvirt stream can fail under a call right after a channel was (re)opened ("stream
            // had I/O failure"). Handing over the definition is idempotent, and whether the WPAR
            // started is asked, not guessed: once more on a fresh channel.
            client.close()
            client = try agent(domain, purpose)
            try client.call(Agent.Define.self, .init(name: name, spec: spec, replace: true))
            if try client.call(Agent.Status.self, AgentWparName(name: name)).status.state.isActive { return }
            try client.call(Agent.Activate.self, AgentWparName(name: name))
        }
    }

    /// The WPAR's definition, given its address on the guest network first if it is on it and has
    /// none yet (its network changed by `modify`): chosen as at define, and stored.
    private func addressed(_ name: PartitionName, lpar: PartitionName, domain: LibvirtDomain) throws(PartitionError) -> NestedDefinitions.Entry? {
        var definitions = try definitions(of: domain)
        guard let index = definitions.entries.firstIndex(where: { $0.name == name }) else { return nil }
        let entry = definitions.entries[index]
        guard entry.address == nil,
              let wpar = try? ResolvedProfile.decode(json: entry.profileJSON, domain: "\(lpar)/\(name)").wpar,
              let requested = try NestedGuestNetwork.request(wpar.network, lpar: lpar) else { return entry }
        definitions.entries[index].address = try NestedGuestNetwork.assign(requested, to: name, lpar: lpar, definitions: definitions)
        try store(definitions, in: domain)
        return definitions.entries[index]
    }

    /// The channel, not the agent, failed under a call: libvirt's stream broke or closed.
    static func channelBroke(_ error: PartitionError) -> Bool {
        error.code == .libvirt || (error.code == .unavailable && error.message.contains("channel"))
    }

    func shutdown(_ lpar: PartitionName, _ name: PartitionName, within: Int, force: Bool) throws(PartitionError) {
        let (domain, _) = try lparProfile(lpar)
        guard try definitions(of: domain).entry(name) != nil else {
            throw Self.notDefined(lpar, name)
        }
        do {
            try agent(domain, "shutdown of \(Self.path(lpar, name))").call(Agent.Shutdown.self, .init(name: name, within: Double(within), force: force),
                                                                          timeout: .seconds(within + 15))
        } catch {
            throw explained(error, lpar, name, verb: "shutdown")
        }
    }

    func force(_ lpar: PartitionName, _ name: PartitionName) throws(PartitionError) {
        let (domain, _) = try lparProfile(lpar)
        guard try definitions(of: domain).entry(name) != nil else {
            throw Self.notDefined(lpar, name)
        }
        do {
            try agent(domain, "force of \(Self.path(lpar, name))").call(Agent.Force.self, AgentWparName(name: name))
        } catch {
            throw explained(error, lpar, name, verb: "force")
        }
    }

    func remove(_ lpar: PartitionName, _ name: PartitionName, force: Bool) throws(PartitionError) {
        let (domain, _) = try lparProfile(lpar)
        var definitions = try definitions(of: domain)
        guard definitions.entry(name) != nil else {
            throw Self.notDefined(lpar, name)
        }
        if try domain.isActive() {
            do {
                try agent(domain, "remove of \(Self.path(lpar, name))").call(Agent.Remove.self, .init(name: name, force: force))
            } catch where error.code == .notFound {
                // Defined on the host only: the guest never saw it (or rebooted since).
            }
        }
        definitions.entries.removeAll { $0.name == name }
        try store(definitions, in: domain)
        // The agent unmounted what its remaining WPARs do not use; the host lets go of those disks.
        try detachUnusedImageDisks(domain, definitions: definitions)
    }

    /// Attaches this terminal to the nested WPAR's console until `~.`; the WPAR runs on.
    func console(_ lpar: PartitionName, _ name: PartitionName, terminal: any UserTerminal) throws(PartitionError) -> ConsoleEnding {
        let path = Self.path(lpar, name)
        let client = try commandAgent(lpar, "console of \(path)")
        do {
        return try client.session(.init(name: name, mode: .console)) { (session) throws(PartitionError) -> ConsoleEnding in
            terminal.consoleAttached(PartitionPath(components: [lpar, name]))
            let relay = NestedTerminal(session: session, escape: ConsoleEscape(), terminal: true)
            let ending = try terminal.withRawMode { () throws(PartitionError) in try relay.run() }
            if case .closed(let reason) = ending { return .closed(reason) }
            return .left
        }
        } catch {
            throw explained(error, lpar, name, verb: "console")
        }
    }

    /// The agent for a command on a nested WPAR: straight at its socket when that applies, else
    /// through libvirt after the LPAR's checks.
    private func commandAgent(_ lpar: PartitionName, _ purpose: String) throws(PartitionError) -> AgentClient {
        if let direct = try directAgent(lpar, purpose) { return direct }
        let (domain, _) = try lparProfile(lpar)
        return try agent(domain, purpose)
    }

    /// Whether the LPAR stops within a few seconds, for explaining a channel that closed: QEMU
    /// closes it as it exits, a moment before libvirt reports the domain inactive.
    private func lparStops(_ lpar: PartitionName) -> Bool {
        guard let domain = try? lpars.connection.lookupDomain(name: lpar.rawValue) else { return true }
        let deadline = ContinuousClock.now + .seconds(3)
        while ContinuousClock.now < deadline {
            guard let active = try? domain.isActive() else { return false }
            if !active { return true }
            usleep(100_000)
        }
        return false
    }

    /// Changes a nested WPAR's attributes: `live` in its cgroup inside the guest (limits only),
    /// `config` in its definition in the LPAR's metadata; neither means the definition, and the
    /// running WPAR too. Whatever is asked must fit inside the LPAR; a refusal names the numbers
    /// and changes nothing.
    func modify(_ lpar: PartitionName, _ name: PartitionName, overrides: ProfileOverrides,
                live: Bool, config: Bool) throws(PartitionError) {
        let (domain, lparProfile) = try lparProfile(lpar)
        var definitions = try definitions(of: domain)
        guard let index = definitions.entries.firstIndex(where: { $0.name == name }) else {
            throw Self.notDefined(lpar, name)
        }
        let current = try ResolvedProfile.decode(json: definitions.entries[index].profileJSON, domain: "\(lpar)/\(name)")
        let updated = try current.applying(overrides)
        guard let old = current.wpar, let new = updated.wpar else {
            throw PartitionError(.invalidProfile, "The stored definition of '\(lpar)/\(name)' is not a WPAR profile.")
        }
        try Self.checkBudget(new, in: lparProfile, lparName: lpar)
        // The guest's state: whether its agent knows the WPAR and whether it runs.
        var client: AgentClient?
        var running = false
        if try domain.isActive() {
            let agent = try agent(domain, "modify of \(Self.path(lpar, name))")
            do {
                let report = try agent.call(Agent.Status.self, AgentWparName(name: name), timeout: Self.agentTimeout)
                running = report.status.state.isActive
                client = agent
            } catch where error.code == .notFound {
                // Defined on the host only: the guest gets the definition at its next activation.
            }
        }
        let change = try WparModification(from: old, to: new, running: running, live: live, config: config)
        // The guest's copy of the definition is replaced at each activation from the metadata.
        if change.live, let client {
            let limits = WorkloadSpecMapping.limits(new.resources)
            try client.call(Agent.Modify.self, .init(name: name, limits: limits, live: change.live, persistent: change.config))
        }
        if change.config {
            definitions.entries[index].profileJSON = try updated.jsonString()
            try store(definitions, in: domain)
        }
    }

    /// A command in the nested WPAR, its output and exit status passed on. The agent knows which
    /// WPARs run; the LPAR's metadata is read only when the direct path does not apply.
    func login(_ lpar: PartitionName, _ name: PartitionName, command: [String], terminal: any UserTerminal) throws(PartitionError) -> Int32 {
        do {
            return try loginThroughAgent(lpar, name, command: command, terminal: terminal)
        } catch {
            throw explained(error, lpar, name, verb: "login")
        }
    }

    private func loginThroughAgent(_ lpar: PartitionName, _ name: PartitionName, command: [String],
                                   terminal: any UserTerminal) throws(PartitionError) -> Int32 {
        let client = try commandAgent(lpar, "login of \(Self.path(lpar, name))")
        let interactive = terminal.isInteractive
        if command.isEmpty || interactive {
            // A shell, or a command on this terminal: stdin and output streamed as the session runs.
            let window = interactive ? terminal.windowSize : nil
            let arguments = Agent.Attach.Arguments(name: name, mode: .login, argv: command.isEmpty ? ["/bin/sh", "-l"] : command,
                                                   terminal: interactive, rows: window?.rows,
                                                   columns: window?.columns)
            let ending = try client.session(arguments) { (session) throws(PartitionError) -> NestedTerminal.Ending in
                let relay = NestedTerminal(session: session, escape: nil, terminal: interactive)
                return interactive ? try terminal.withRawMode { () throws(PartitionError) in try relay.run() } : try relay.run()
            }
            guard case .exited(let status) = ending else {
                throw PartitionError(.agent, "The agent ended the login session without an exit status.")
            }
            return status
        }
        let result: Agent.Exec.Result
        do {
            result = try client.call(Agent.Exec.self, .init(name: name, argv: command), timeout: .seconds(600))
        } catch where error.code == .unavailable && lparStops(lpar) {
            throw PartitionError(.unavailable, "Its LPAR '\(lpar)' stopped while the command ran; what the command did is unknown.")
        }
        terminal.passOn(stdout: result.stdout, stderr: result.stderr)
        return result.exitStatus
    }

    // MARK: After the LPAR starts, before it stops

    /// Whether the LPAR takes nested WPARs (agent channel) and how many it has defined.
    func nestedCount(_ lpar: PartitionName) -> Int? {
        guard let (domain, _) = try? lparProfile(lpar) else { return nil }
        return (try? definitions(of: domain))?.entries.count ?? 0
    }

    /// Waits for the agent of a freshly started LPAR, then brings back the WPARs marked autostart
    /// and the guest side of the forwards to its nested WPARs (a guest's rules end with its boot).
    func afterActivation(_ lpar: PartitionName, timeout: Duration) throws(PartitionError) {
        let (domain, _) = try lparProfile(lpar)
        // The channel is opened at once, the first sync sent when the guest has opened its port.
        let client = try agent(domain, "activate of \(lpar)", timeout: timeout) { (index, deadline) throws(PartitionError) in
            try AgentChannelState.waitUntilOpened(domain, index: index, until: deadline)
        }
        for entry in try definitions(of: domain).entries where try NestedDefinitions.startsWithItsLpar(entry, lpar: lpar) {
            try activate(lpar, entry.name, client: client)
        }
        let prefix = "\(lpar)/"
        let forwards = try ForwardBook(root: configuration.stateRoot + "/networks").load()
            .filter { $0.via != nil && $0.partition.hasPrefix(prefix) }
        if !forwards.isEmpty {
            try NestedForwards.publish(forwards.map { GuestForward(proto: $0.proto.rawValue, port: $0.hostPort, address: $0.address, targetPort: $0.port) },
                                       in: lpar, backend: self)
        }
    }

    /// Stops the LPAR's running WPARs first, so they end cleanly before the guest powers off.
    func beforeShutdown(_ lpar: PartitionName) {
        guard let (domain, _) = try? lparProfile(lpar), let client = try? agent(domain, "shutdown of \(lpar)", timeout: .seconds(3)),
              let reports = try? client.call(Agent.Statuses.self, AgentEmpty(), timeout: .seconds(3)) else { return }
        for report in reports.wpars where report.status.state.isActive {
            _ = try? client.call(Agent.Shutdown.self, .init(name: report.status.name, within: 10, force: true), timeout: .seconds(25))
        }
    }

    // MARK: The tree

    /// The nested WPARs of one LPAR and the agent's health: `defined` while the LPAR is down,
    /// `unavailable` when its agent does not answer.
    func records(of domain: LibvirtDomain, definitions: NestedDefinitions, lparRunning: Bool)
        -> (agent: FieldValue, children: [PartitionRecord], addresses: [String]) {
        let lpar = domain.name
        var children = definitions.entries.map { Self.placeholder(lpar: lpar, entry: $0, lparRunning: lparRunning) }
        guard lparRunning else { return (.string("down"), children, []) }
        let client: AgentClient
        let reports: Agent.Statuses.Result
        do {
            client = try AgentClient.connect(to: domain, timeout: .seconds(2), purpose: "status of \(lpar)'s WPARs",
                                             configuration: configuration)
            reports = try client.call(Agent.Statuses.self, AgentEmpty(), timeout: .seconds(5))
        } catch {
            for index in children.indices { children[index].note = "its agent does not answer" }
            return (.string("unavailable"), children, [])
        }
        // The agent answers: what it does not know is defined on the host only (not started since boot).
        for index in children.indices { children[index].state = .defined }
        for report in reports.wpars {
            guard let index = children.firstIndex(where: { $0.name == report.status.name.rawValue }) else { continue }
            Self.fill(&children[index], status: report.status, usage: report.usage,
                      address: definitions.entry(report.status.name)?.address)
        }
        // The guest's own addresses, while we talk to it anyway; an older agent refuses the request: none.
        let addresses = (try? client.call(Agent.Addresses.self, AgentEmpty(), timeout: .seconds(2)))?.addresses ?? []
        return (.string("\(client.agentVersion ?? "?") ok"), children, addresses)
    }

    /// One nested WPAR, as the tree shows it. A WPAR the agent reports is defined, so its answer
    /// alone makes the record; anything else (not known to the agent, LPAR down, no direct path)
    /// takes the LPAR's metadata.
    func record(_ lpar: PartitionName, _ name: PartitionName) throws(PartitionError) -> PartitionRecord {
        if let client = try? directAgent(lpar, "query of \(Self.path(lpar, name))"),
           let report = try? client.call(Agent.Status.self, AgentWparName(name: name), timeout: .seconds(2)) {
            var record = Self.placeholder(lpar: lpar.rawValue, entry: .init(name: name, profileJSON: ""), lparRunning: true)
            // The address is the definition's: read only for a running WPAR, which is the only one that shows it.
            let address = report.status.state.isActive
                ? (try? lparTarget(lpar)).flatMap { try? self.definitions(of: $0.domain).entry(name)?.address } : nil
            Self.fill(&record, status: report.status, usage: report.usage, address: address)
            return record
        }
        let domain = try lparTarget(lpar).domain
        let definitions = try definitions(of: domain)
        guard let entry = definitions.entry(name) else {
            throw Self.notDefined(lpar, name)
        }
        var single = NestedDefinitions()
        single.entries = [entry]
        let (_, children, _) = records(of: domain, definitions: single, lparRunning: try domain.isActive())
        return children[0]
    }

    private static func placeholder(lpar: String, entry: NestedDefinitions.Entry, lparRunning: Bool) -> PartitionRecord {
        let stored = try? ResolvedProfile.decode(json: entry.profileJSON, domain: "\(lpar)/\(entry.name)")
        return PartitionRecord(name: entry.name.rawValue, path: "\(lpar)/\(entry.name)", kind: .wpar,
                               state: lparRunning ? .unavailable : .defined, type: stored?.wpar?.type.rawValue)
    }

    /// `address`: the WPAR's on the guest network (its definition's), shown as `ip` while it runs.
    private static func fill(_ record: inout PartitionRecord, status: WorkloadStatus, usage: WorkloadUsage?, address: IPv4Address?) {
        record.state = status.state
        record.type = status.kind.rawValue
        record.fields = [
            ("cpu_max", status.limits.cpuMax.map(FieldValue.number) ?? .none),
            ("memory_max", status.limits.memoryMax.map(FieldValue.bytes) ?? .none),
            ("memory_current", usage?.memoryCurrent.map(FieldValue.bytes) ?? .none),
            ("pids_max", status.limits.pidsMax.map(FieldValue.int) ?? .none),
            ("pids_current", usage?.pidsCurrent.map(FieldValue.int) ?? .none),
            ("pid", status.initPID.map { .int(Int($0)) } ?? .none),
            ("ip", status.state.isActive ? address.map { .string($0.description) } ?? .none : .none),
        ]
    }
}
