import ArgumentParser
import PartitionCore
import PartitionModel
#if canImport(Glibc)
import Glibc
#endif

/// `partctl snapshot create|list|revert|remove` (docs/snapshots.md).
struct SnapshotVerb: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Take, list, revert to and remove snapshots of an LPAR (disks and memory) or a WPAR (its writable layer).",
        discussion: """
            An LPAR's snapshot lives inside its qcow2 disks (libvirt's internal snapshots), with its memory when it runs; \
            its running nested WPARs are frozen for it. A system WPAR's snapshot is a copy of its writable layer, taken frozen.
            Example: partctl snapshot create lp1 --name before-upgrade
            """,
        subcommands: [SnapshotCreate.self, SnapshotList.self, SnapshotRevert.self, SnapshotRemove.self])
}

/// The fields of a snapshot, for `-F`, `--json` and the table.
enum SnapshotFields {
    static let known: [(String, String)] = [
        ("name", "the snapshot's name"), ("created", "when it was taken (UTC)"),
        ("state", "the partition's state then: running or defined"),
        ("content", "disk+memory, disk (an LPAR) or layer (a WPAR)"),
        ("current", "the LPAR's current snapshot (null for a WPAR)"),
    ]

    static func value(_ key: String, of snapshot: SnapshotInfo) -> FieldValue {
        switch key {
        case "name": return .string(snapshot.name)
        case "created": return .string(created(snapshot.createdAt))
        case "state": return .string(snapshot.state)
        case "content": return .string(snapshot.content)
        case "current": return snapshot.current.map(FieldValue.bool) ?? .none
        default: return .none
        }
    }

    static func json(_ snapshot: SnapshotInfo, only: [String]? = nil) -> String {
        var out = "{"
        for (index, key) in (only ?? known.map(\.0)).enumerated() {
            JSONOutput.pair(key, value(key, of: snapshot), into: &out, first: index == 0)
        }
        return out + "}"
    }

    /// ISO 8601 in UTC, to the second.
    static func created(_ seconds: Double) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ value: Int32, _ width: Int = 2) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday))T\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec))Z"
    }
}

/// Parses a snapshot name with the same rules everywhere; a refusal names the verb.
func snapshotName(_ text: String, _ operation: String) throws(PartitionError) -> SnapshotName {
    do { return try SnapshotName(text) } catch { throw error.with(operation: operation) }
}
