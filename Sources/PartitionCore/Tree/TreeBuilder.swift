import LibvirtKit
import PartitionModel

/// Builds the partition tree: the managed system at the root, its LPARs (managed and not) below.
struct TreeBuilder {
    let manager: PartitionManager

    func build() throws(PartitionError) -> PartitionRecord {
        // The agents of LPARs with nested WPARs are asked for their live state (over streams).
        let connection = try manager.libvirt()
        var root = try systemRecord(connection)
        var children: [PartitionRecord] = []
        for domain in try connection.listAllDomains() {
            children.append(lparRecord(domain))
        }
        children += manager.wpars().records()
        children.sort { $0.name < $1.name }
        root.children = children
        return root
    }

    func systemRecord(_ connection: LibvirtConnection) throws(PartitionError) -> PartitionRecord {
        let node = try connection.nodeInfo()
        var fields: [(String, FieldValue)] = [
            ("cpus", .int(Int(node.cpus))),
            ("mem", .bytes(node.memoryKiB << 10)),
        ]
        // virConnectGetLibVersion is the daemon's version and cheap; virConnectGetVersion can make
        // libvirtd probe QEMU's capabilities for seconds, too slow for every tree.
        if let version = try? connection.libVersion() {
            fields.append(("hypervisor", .string("libvirt \(version)")))
        }
        return PartitionRecord(name: (try? connection.hostname()) ?? "localhost", path: "/", kind: .system,
                               state: .running, fields: fields)
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
        var profile: LparProfile?
        var metadata: PartitionMetadata?
        do {
            if let xml = try domain.metadata(uri: PartitionMetadata.namespaceURI) {
                metadata = try PartitionMetadata(xml: xml, domain: name)
                profile = StoredLparValues.decode(json: metadata!.resolvedProfileJSON)
            }
        } catch {
            record.note = error.message
        }
        record.managed = metadata != nil
        let active = record.state.isActive
        var fields: [(String, FieldValue)] = [("procs", .int(Int(info.virtualCPUs)))]
        fields.append(("min_procs", profile.map { .int($0.processors.min) } ?? .none))
        fields.append(("desired_procs", profile.map { .int($0.processors.desired) } ?? .none))
        fields.append(("max_procs", profile.map { .int($0.processors.max) } ?? .none))
        fields.append(("mem", .bytes(info.memoryKiB << 10)))
        fields.append(("min_mem", profile.map { .bytes($0.memory.min.bytes) } ?? .none))
        fields.append(("desired_mem", profile.map { .bytes($0.memory.desired.bytes) } ?? .none))
        fields.append(("max_mem", profile.map { .bytes($0.memory.max.bytes) } ?? .bytes(info.maxMemoryKiB << 10)))
        fields.append(("weight", profile.map { .int($0.weight) } ?? .none))
        fields.append(("cap", profile?.cap.map { .number($0) } ?? .none))
        fields.append(("accel", metadata.map { .string($0.accelerator.rawValue) } ?? .none))
        fields.append(("autostart", profile.map { .bool($0.autostart) } ?? .none))
        fields.append(("profile", metadata.map { .string($0.profileName) } ?? .none))
        fields.append(("id", active ? domain.id.map { .int(Int($0)) } ?? .none : .none))
        fields.append(("cpu_time", active ? .number(Double(info.cpuTimeNanoseconds) / 1e9) : .none))
        if let metadata, !metadata.nested.entries.isEmpty, let backend = try? manager.nested() {
            let (agent, children) = backend.records(of: domain, definitions: metadata.nested, lparRunning: active)
            fields.append(("agent", agent))
            record.children = children.sorted { $0.name < $1.name }
        }
        record.fields = fields
        return record
    }
}
