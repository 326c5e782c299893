import LibvirtKit
import PartitionModel
import PartitionProfiles

/// Builds the partition tree: the managed system at the root, its LPARs (managed and not) and host
/// WPARs below, nested WPARs below their LPAR.
///
/// libvirt unreachable is not fatal: the host WPARs are still listed, and the system's record says
/// in `hypervisor` (unavailable) and `note` (why) that its LPARs cannot be shown.
struct TreeBuilder {
    let manager: PartitionManager
    /// The managed networks' lease books, read once per listing when a running LPAR needs them.
    let leased: LeasedAddresses

    init(manager: PartitionManager) {
        self.manager = manager
        self.leased = LeasedAddresses(leases: PartitionLeases(configuration: manager.configuration, libvirt: { nil }),
                                      here: manager.configuration.hostWparsHere)
    }

    /// `openFailure`: the connection was tried already (`tree` over every system) and failed.
    func build(openFailure: PartitionError? = nil) -> PartitionRecord {
        // Host WPARs are this machine's; another system's come from partctl there, asked over SSH
        // while libvirt answers here (docs/systems.md).
        let reach = manager.hostWparReach
        var remote: SystemFanOut.Background<Result<[PartitionRecord], PartitionError>>?
        if case .ssh(let destination) = reach {
            remote = SystemFanOut.Background { Result { () throws(PartitionError) in try RemoteHostWpars.records(destination) } }
        }
        var children = reach == .here ? HostWparRecords.all(manager.wpars()) : []
        var wparNote: String?
        func addRemote() {
            switch remote?.value {
            case .success(let records)?: children += records
            case .failure(let error)?:
                wparNote = "host WPARs unavailable: " + String(error.message.filter { !$0.isNewline })
            case nil: break
            }
        }
        let connection: LibvirtConnection
        let domains: [LibvirtDomain]
        do throws(PartitionError) {
            if let openFailure { throw openFailure }
            connection = try manager.libvirt()
            domains = try connection.listAllDomains()
        } catch {
            addRemote()
            children.sort { $0.name < $1.name }
            var record = degradedSystemRecord(reason: error.message, children: children, here: reach == .here)
            if let wparNote { record.note = (record.note.map { $0 + "; " } ?? "") + wparNote }
            return record
        }
        for domain in domains {
            children.append(lparRecord(domain))
        }
        addRemote()
        children.sort { $0.name < $1.name }
        var root = systemRecord(connection, children: children)
        root.children = children
        if let wparNote { root.note = wparNote }
        return root
    }

    func systemRecord(_ connection: LibvirtConnection, children: [PartitionRecord]) -> PartitionRecord {
        var record = PartitionRecord(name: (try? connection.hostname()) ?? Self.localHostName(), path: "/", kind: .system, state: .running)
        let capacity: SystemCapacity?
        if SystemCapacity.isLocal(manager.configuration.connectURI), !manager.configuration.connectURI.hasPrefix("test:") {
            capacity = SystemCapacity.local()
        } else {
            capacity = try? SystemCapacity.remote(connection)
        }
        if let capacity { record.fields = SystemAllocation(children: children).fields(total: capacity) }
        // virConnectGetLibVersion is the daemon's version and cheap; virConnectGetVersion can make
        // libvirtd probe QEMU's capabilities for seconds, too slow for every tree.
        record.fields.append(("hypervisor", (try? connection.libVersion()).map { .string("libvirt \($0)") } ?? .none))
        return record
    }

    /// The host without libvirt: its own figures, the host WPARs, nothing assigned that can be counted.
    /// Another machine that does not answer is `unavailable` as a whole; this one still runs its host WPARs.
    func degradedSystemRecord(reason: String, children: [PartitionRecord], here: Bool = true) -> PartitionRecord {
        guard here else {
            var record = PartitionRecord.unavailableSystem(manager.configuration.systemName ?? manager.configuration.connectURI,
                                                           reason: "LPARs unavailable: \(reason)")
            record.children = children
            return record
        }
        var record = PartitionRecord(name: Self.localHostName(), path: "/", kind: .system, state: .running, children: children)
        if SystemCapacity.isLocal(manager.configuration.connectURI), let capacity = SystemCapacity.local() {
            record.fields = [("procs", .int(capacity.cpus)), ("mem", .bytes(capacity.memoryBytes))]
        }
        record.fields.append(("hypervisor", .string("unavailable")))
        record.note = "LPARs unavailable: \(reason)"
        return record
    }

    static func localHostName() -> String {
        (try? LocalFile.read("/proc/sys/kernel/hostname", limit: 256))?.split(separator: "\n").first.map(String.init) ?? "localhost"
    }

    /// One LPAR. A domain that vanishes or breaks while we look is shown as unavailable, never fatal.
    func lparRecord(_ domain: LibvirtDomain) -> PartitionRecord {
        let name = domain.name
        var record = PartitionRecord(name: name, path: name, kind: .lpar, state: .unavailable)
        let info: LibvirtDomainInfo
        do { info = try domain.info() } catch {
            record.note = error.message
            return record
        }
        record.state = PartitionState(libvirt: info.state)
        if let lpar = try? PartitionName(name) {  // `starting`/`stopping`, which libvirt does not show
            record.state = LparTransition(runtimeRoot: manager.configuration.runtimeRoot).state(lpar, libvirt: record.state, domain: domain)
        }
        var profile: ListedLparValues?
        var metadata: PartitionMetadata?
        do {
            if let xml = try domain.metadata(uri: PartitionMetadata.namespaceURI) {
                metadata = try PartitionMetadata(xml: xml, domain: name)
                profile = ListedLparValues(json: metadata!.resolvedProfileJSON)
            }
        } catch {
            record.note = error.message
        }
        record.managed = metadata != nil
        let active = record.state.isActive
        var fields: [(String, FieldValue)] = []
        fields.reserveCapacity(20)
        fields.append(("profile", metadata.map { .string($0.profileName) } ?? .none))
        fields.append(("image", profile?.image.map(FieldValue.string) ?? .none))
        fields.append(("autostart", profile?.autostart.map(FieldValue.bool) ?? .none))
        fields.append(("uuid", .string(domain.uuidString)))
        fields.append(("procs", .int(Int(info.virtualCPUs))))
        fields.append(("min_procs", profile?.minProcs.map(FieldValue.int) ?? .none))
        fields.append(("desired_procs", profile?.desiredProcs.map(FieldValue.int) ?? .none))
        fields.append(("max_procs", profile?.maxProcs.map(FieldValue.int) ?? .none))
        fields.append(("mem", .bytes(info.memoryKiB << 10)))
        fields.append(("min_mem", profile?.minMemory.map(FieldValue.bytes) ?? .none))
        fields.append(("desired_mem", profile?.desiredMemory.map(FieldValue.bytes) ?? .none))
        fields.append(("max_mem", profile?.maxMemory.map(FieldValue.bytes) ?? .bytes(info.maxMemoryKiB << 10)))
        fields.append(("weight", profile?.weight.map(FieldValue.int) ?? .none))
        fields.append(("cap", profile?.cap.map(FieldValue.number) ?? .none))
        fields.append(("accel", metadata.map { .string($0.accelerator.rawValue) } ?? .none))
        fields.append(("cpu_time", active ? .number(Double(info.cpuTimeNanoseconds) / 1e9) : .none))
        fields.append(("id", active ? domain.id.map { .int(Int($0)) } ?? .none : .none))
        fields.append(("graphics", Self.graphicsField(domain, kind: profile?.graphics, active: active)))
        fields.append(("ip", LparAddresses.field(domain, active: active, leased: active ? leased.addresses(of: name) : [])))
        if metadata != nil { fields.append(("snapshots", (try? domain.snapshotCount()).map(FieldValue.int) ?? .none)) }
        if let metadata, !metadata.nested.entries.isEmpty, let backend = try? manager.nested() {
            let (agent, children, addresses) = backend.records(of: domain, definitions: metadata.nested, lparRunning: active)
            fields.append(("agent", agent))
            // libvirt knows no address (a bridge without DHCP, before any ARP): the agent's own.
            if let index = fields.firstIndex(where: { $0.0 == "ip" }), fields[index].1 == .none {
                let shown = LparAddresses.ordered(addresses.filter(LparAddresses.isGlobal))
                if !shown.isEmpty { fields[index].1 = .string(shown.joined(separator: " ")) }
            }
            record.children = NestedRecords.completed(children, definitions: metadata.nested).sorted { $0.name < $1.name }
        }
        record.fields = fields
        return record
    }

    /// A running LPAR's display address from its live XML (only for LPARs whose profile has one: the
    /// XML costs a call); the kind while it is stopped.
    static func graphicsField(_ domain: LibvirtDomain, kind: String?, active: Bool) -> FieldValue {
        guard let kind else { return .none }
        guard active, let display = (try? GraphicsDisplay.live(domain))?.first(where: { $0.kind.rawValue == kind }) else {
            return .string(kind)
        }
        return .string(display.uri)
    }
}
