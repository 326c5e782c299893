import AgentProtocol
import PartitionModel
import PartitionProfiles
import WorkloadEngine

/// Host WPARs: the engine's record plus what only the stored profile knows.
enum HostWparRecords {
    static func all(_ backend: WparBackend) -> [PartitionRecord] {
        backend.engine.statuses().map { record(backend, $0) }
    }

    /// One host WPAR from its state alone: no libvirt, no other partition.
    static func one(_ backend: WparBackend, _ name: PartitionName) throws(PartitionError) -> PartitionRecord {
        record(backend, try backend.engine.status(name))
    }

    /// The engine's record plus `hostname`, which `-i` takes and so must round-trip through `-F`.
    static func record(_ backend: WparBackend, _ status: WorkloadStatus) -> PartitionRecord {
        var record = backend.record(status)
        if !record.fields.contains(where: { $0.0 == "hostname" }) {
            record.fields.append(("hostname", hostname(annotations: status.annotations).map(FieldValue.string) ?? .none))
        }
        record.fields.append(("snapshots", .int(backend.engine.snapshotCount(status.name))))
        return record
    }

    /// `wpar.hostname` of the stored profile, read with partctl's own JSON parser: re-resolving
    /// the whole profile for one string cost more than the rest of `query`.
    static func hostname(annotations: [String: String]?) -> String? {
        guard let json = annotations?[WorkloadSpecMapping.profileAnnotation],
              case .object(let root)? = try? JSONText.parse(Array(json.utf8)),
              case .object(let wpar)? = root["wpar"], case .string(let name)? = wpar["hostname"] else { return nil }
        return name
    }
}

/// Nested WPARs: the agent reports what runs; the LPAR's metadata holds what was defined. A
/// WPAR the agent does not report (LPAR down, agent silent, not started since boot) still shows
/// its configured limits, profile and autostart from the stored definition.
enum NestedRecords {
    static func completed(_ records: [PartitionRecord], definitions: NestedDefinitions) -> [PartitionRecord] {
        records.map { record in
            guard let entry = definitions.entries.first(where: { $0.name.rawValue == record.name }),
                  let resolved = try? ResolvedProfile.decode(json: entry.profileJSON, domain: record.path) else { return record }
            return completed(record, resolved: resolved)
        }
    }

    static func completed(_ record: PartitionRecord, resolved: ResolvedProfile) -> PartitionRecord {
        var record = record
        guard let wpar = resolved.wpar else { return record }
        let stored: [(String, FieldValue)] = [
            ("profile", .string(resolved.name)),
            ("image", wpar.image.map(FieldValue.string) ?? .none),
            ("autostart", .bool(wpar.autostart)),
            ("cpu_weight", .int(wpar.resources.cpu.weight)),
            ("cpu_max", wpar.resources.cpu.max.map(FieldValue.number) ?? .none),
            ("memory_high", wpar.resources.memory.high.map { .bytes($0.bytes) } ?? .none),
            ("memory_max", wpar.resources.memory.max.map { .bytes($0.bytes) } ?? .none),
            ("pids_max", wpar.resources.processes.max.map(FieldValue.int) ?? .none),
            ("hostname", wpar.hostname.map(FieldValue.string) ?? .none),
        ]
        for (key, value) in stored {
            if let index = record.fields.firstIndex(where: { $0.0 == key }) {
                if record.fields[index].1 == .none { record.fields[index].1 = value }
            } else {
                record.fields.append((key, value))
            }
        }
        return record
    }
}
