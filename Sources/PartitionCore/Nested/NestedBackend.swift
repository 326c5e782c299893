import AgentProtocol
import LibvirtKit
import PartitionModel
import PartitionProfiles
import WorkloadEngine

/// WPARs nested inside an LPAR (`lp1/web`): desired state in the LPAR's metadata, live state and
/// every action through the partctl agent in the guest.
final class NestedBackend {
    let lpars: LparBackend
    /// How long a command waits for an agent that should already be up.
    static let agentTimeout: Duration = .seconds(10)

    init(lpars: LparBackend) { self.lpars = lpars }

    // MARK: Desired state

    func definitions(of domain: LibvirtDomain) throws(PartitionError) -> NestedDefinitions {
        guard let xml = try domain.metadata(uri: PartitionMetadata.namespaceURI) else { return NestedDefinitions() }
        return try PartitionMetadata(xml: xml, domain: domain.name).nested
    }

    /// Rewrites partctl's metadata of the LPAR with new nested definitions, in its definition and,
    /// while it runs, in its live state too.
    func store(_ definitions: NestedDefinitions, in domain: LibvirtDomain) throws(PartitionError) {
        guard let xml = try domain.metadata(uri: PartitionMetadata.namespaceURI) else {
            throw PartitionError(.unmanaged, "The domain '\(domain.name)' has no partctl metadata.")
        }
        var metadata = try PartitionMetadata(xml: xml, domain: domain.name)
        metadata.nested = definitions
        let running = try domain.isActive()
        try domain.setMetadata(metadata.elementForSetMetadata().serialized(), key: PartitionMetadata.prefix,
                               uri: PartitionMetadata.namespaceURI, live: running, config: true)
    }

    /// The LPAR's own profile: nested WPARs need its agent channel and must fit in its resources.
    func lparProfile(_ lpar: PartitionName) throws(PartitionError) -> (LibvirtDomain, LparProfile) {
        let (domain, metadata) = try lpars.managedDomain(lpar)
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
        guard wpar.type == .application else {
            throw PartitionError(.unsupported, "Only application WPARs nest in an LPAR in this version; '\(resolved.name)' is a system WPAR.")
        }
        try Self.checkBudget(wpar, in: lparProfile, lparName: lpar)
        var definitions = try definitions(of: domain)
        if definitions.entry(name) != nil {
            throw PartitionError(.alreadyExists, "A WPAR named '\(name)' is already defined in LPAR '\(lpar)'.")
        }
        definitions.entries.append(.init(name: name, profileJSON: try resolved.jsonString()))
        try store(definitions, in: domain)
    }

    // MARK: Through the agent

    func agent(_ domain: LibvirtDomain, timeout: Duration = NestedBackend.agentTimeout,
               untilPortOpened: ((ContinuousClock.Instant) throws(PartitionError) -> Void)? = nil) throws(PartitionError) -> AgentClient {
        guard try domain.isActive() else {
            throw PartitionError(.invalidState, "Its LPAR '\(domain.name)' is not running; activate it first.")
        }
        return try AgentClient.connect(to: domain, timeout: timeout, untilPortOpened: untilPortOpened)
    }

    func spec(_ name: PartitionName, entry: NestedDefinitions.Entry, lpar: String) throws(PartitionError) -> JSONValue {
        let resolved = try ResolvedProfile.decode(json: entry.profileJSON, domain: "\(lpar)/\(name)")
        let spec = try WorkloadSpecMapping.spec(name: name, resolved: resolved, console: false, annotate: false)
        return try StrictJSON.encode(spec, what: "the WPAR definition")
    }

    /// Hands the guest the stored definition (it may have rebooted since) and starts the WPAR.
    func activate(_ lpar: PartitionName, _ name: PartitionName, client existing: AgentClient? = nil) throws(PartitionError) {
        let (domain, _) = try lparProfile(lpar)
        guard let entry = try definitions(of: domain).entry(name) else {
            throw PartitionError(.notFound, "No WPAR named '\(name)' is defined in LPAR '\(lpar)'.")
        }
        let client: AgentClient
        if let existing { client = existing } else { client = try agent(domain) }
        try client.call(Agent.Define.self, .init(name: name, spec: try spec(name, entry: entry, lpar: lpar.rawValue), replace: true))
        try client.call(Agent.Activate.self, AgentWparName(name: name))
    }

    func shutdown(_ lpar: PartitionName, _ name: PartitionName, within: Int, force: Bool) throws(PartitionError) {
        let (domain, _) = try lparProfile(lpar)
        guard try definitions(of: domain).entry(name) != nil else {
            throw PartitionError(.notFound, "No WPAR named '\(name)' is defined in LPAR '\(lpar)'.")
        }
        try agent(domain).call(Agent.Shutdown.self, .init(name: name, within: Double(within), force: force),
                               timeout: .seconds(within + 15))
    }

    func force(_ lpar: PartitionName, _ name: PartitionName) throws(PartitionError) {
        let (domain, _) = try lparProfile(lpar)
        guard try definitions(of: domain).entry(name) != nil else {
            throw PartitionError(.notFound, "No WPAR named '\(name)' is defined in LPAR '\(lpar)'.")
        }
        try agent(domain).call(Agent.Force.self, AgentWparName(name: name))
    }

    func remove(_ lpar: PartitionName, _ name: PartitionName, force: Bool) throws(PartitionError) {
        let (domain, _) = try lparProfile(lpar)
        var definitions = try definitions(of: domain)
        guard definitions.entry(name) != nil else {
            throw PartitionError(.notFound, "No WPAR named '\(name)' is defined in LPAR '\(lpar)'.")
        }
        if try domain.isActive() {
            do {
                try agent(domain).call(Agent.Remove.self, .init(name: name, force: force))
            } catch where error.code == .notFound {
                // Defined on the host only: the guest never saw it (or rebooted since).
            }
        }
        definitions.entries.removeAll { $0.name == name }
        try store(definitions, in: domain)
    }

    func login(_ lpar: PartitionName, _ name: PartitionName, command: [String]) throws(PartitionError) -> Int32 {
        guard !command.isEmpty else {
            throw PartitionError(.unsupported, "An interactive shell in a nested WPAR is not available yet; give a command after --.")
        }
        let (domain, _) = try lparProfile(lpar)
        let result = try agent(domain).call(Agent.Exec.self, .init(name: name, argv: command), timeout: .seconds(600))
        StandardStream.write(result.stdout, to: 1)
        StandardStream.write(result.stderr, to: 2)
        return result.exitStatus
    }

    // MARK: After the LPAR starts, before it stops

    /// Whether the LPAR takes nested WPARs (agent channel) and how many it has defined.
    func nestedCount(_ lpar: PartitionName) -> Int? {
        guard let (domain, _) = try? lparProfile(lpar) else { return nil }
        return (try? definitions(of: domain))?.entries.count ?? 0
    }

    /// Waits for the agent of a freshly started LPAR, then brings back the WPARs marked autostart.
    func afterActivation(_ lpar: PartitionName, timeout: Duration) throws(PartitionError) {
        let (domain, _) = try lparProfile(lpar)
        // The channel is opened at once, the first sync sent when the guest has opened its port.
        let client = try agent(domain, timeout: timeout) { (deadline) throws(PartitionError) in
            try AgentChannelState.waitUntilOpened(domain, until: deadline)
        }
        for entry in try definitions(of: domain).entries {
            let resolved = try ResolvedProfile.decode(json: entry.profileJSON, domain: "\(lpar)/\(entry.name)")
            if resolved.wpar?.autostart == true {
                try activate(lpar, entry.name, client: client)
            }
        }
    }

    /// Stops the LPAR's running WPARs first, so they end cleanly before the guest powers off.
    func beforeShutdown(_ lpar: PartitionName) {
        guard let (domain, _) = try? lparProfile(lpar), let client = try? agent(domain, timeout: .seconds(3)),
              let reports = try? client.call(Agent.Statuses.self, AgentEmpty()) else { return }
        for report in reports.wpars {
            guard let status = try? StrictJSON.decode(WorkloadStatus.self, from: report.status, what: "status"),
                  status.state.isActive else { continue }
            _ = try? client.call(Agent.Shutdown.self, .init(name: status.name, within: 10, force: true), timeout: .seconds(25))
        }
    }

    // MARK: The tree

    /// The nested WPARs of one LPAR and the agent's health: `defined` while the LPAR is down,
    /// `unavailable` when its agent does not answer.
    func records(of domain: LibvirtDomain, definitions: NestedDefinitions, lparRunning: Bool) -> (agent: FieldValue, children: [PartitionRecord]) {
        let lpar = domain.name
        var children = definitions.entries.map { entry in
            PartitionRecord(name: entry.name.rawValue, path: "\(lpar)/\(entry.name)", kind: .wpar,
                            state: lparRunning ? .unavailable : .defined, type: "application")
        }
        guard lparRunning else { return (.string("down"), children) }
        let client: AgentClient
        let reports: Agent.Statuses.Result
        do {
            client = try AgentClient.connect(to: domain, timeout: .seconds(2))
            reports = try client.call(Agent.Statuses.self, AgentEmpty(), timeout: .seconds(5))
        } catch {
            for index in children.indices { children[index].note = "its agent does not answer" }
            return (.string("unavailable"), children)
        }
        // The agent answers: what it does not know is defined on the host only (not started since boot).
        for index in children.indices { children[index].state = .defined }
        for report in reports.wpars {
            guard let status = try? StrictJSON.decode(WorkloadStatus.self, from: report.status, what: "status"),
                  let index = children.firstIndex(where: { $0.name == status.name.rawValue }) else { continue }
            let usage = report.usage.flatMap { try? StrictJSON.decode(WorkloadUsage.self, from: $0, what: "usage") }
            children[index].state = status.state
            children[index].type = status.kind.rawValue
            children[index].fields = [
                ("cpu_max", status.limits.cpuMax.map(FieldValue.number) ?? .none),
                ("memory_max", status.limits.memoryMax.map(FieldValue.bytes) ?? .none),
                ("memory_current", usage?.memoryCurrent.map(FieldValue.bytes) ?? .none),
                ("pids_max", status.limits.pidsMax.map(FieldValue.int) ?? .none),
                ("pids_current", usage?.pidsCurrent.map(FieldValue.int) ?? .none),
                ("pid", status.initPID.map { .int(Int($0)) } ?? .none),
            ]
        }
        return (.string("\(client.hello.agentVersion) ok"), children)
    }
}
