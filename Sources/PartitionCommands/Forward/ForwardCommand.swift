import ArgumentParser
import PartitionCore
import PartitionModel
import PartitionNetworks

/// `partctl forward add|list|remove`: host ports published to partitions (docs/forwards.md).
struct ForwardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Publish host ports to partitions' ports (TCP and UDP, through nftables).",
        discussion: "Example: partctl forward add 8080 web:80 ; curl http://127.0.0.1:8080/ ; partctl forward remove 8080",
        subcommands: [ForwardAdd.self, ForwardList.self, ForwardRemove.self])
}

/// The fields of a forward, for `-F`, `--json` and the table.
enum ForwardFields {
    static let known: [(String, String)] = [
        ("host_port", "the host's port"), ("proto", "tcp or udp"), ("partition", "the target partition's path"),
        ("port", "the partition's port"), ("address", "the partition's address when the forward was added"),
        ("via", "a nested WPAR's LPAR address, through which it is reached"),
    ]

    static func value(_ key: String, of forward: Forward) -> FieldValue {
        switch key {
        case "host_port": return .int(forward.hostPort)
        case "proto": return .string(forward.proto.rawValue)
        case "partition": return .string(forward.partition)
        case "port": return .int(forward.port)
        case "address": return .string(forward.address.description)
        case "via": return forward.via.map { .string($0.description) } ?? .none
        default: return .none
        }
    }

    /// `-F host_port,partition` (or `:`-separated), as `query` takes it.
    static func fieldList(_ spec: String) throws(PartitionError) -> (fields: [String], delimiter: String) {
        try TextOutput.fieldList(spec, known: known.map(\.0), noun: "a forward")
    }

    static func json(_ forward: Forward, only: [String]?) -> String {
        var out = "{"
        for (index, key) in (only ?? known.map(\.0)).enumerated() {
            JSONOutput.pair(key, value(key, of: forward), into: &out, first: index == 0)
        }
        return out + "}"
    }
}
