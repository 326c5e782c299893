import ArgumentParser
import PartitionCore
import PartitionModel

/// `partctl system add|list|show|remove`: the managed systems partctl knows (docs/systems.md).
struct SystemVerb: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "system",
        abstract: "Add, list, show and remove managed systems: named libvirt URIs that -m NAME chooses.",
        discussion: """
            'local' is this machine ($PARTCTL_CONNECT or qemu:///system), always there. Added systems are stored in \
            $PARTCTL_CONFIG_DIR/systems.json (default /etc/partctl). With more than local, 'tree' and 'query' span them all.
            """,
        subcommands: [SystemAdd.self, SystemList.self, SystemShow.self, SystemRemove.self])
}

/// The fields of a managed system, for `-F`, `--json` and the tables.
enum SystemFields {
    static let known: [(String, String)] = [
        ("name", "the name -m takes"), ("uri", "its libvirt URI"),
        ("ssh", "where partctl runs over SSH for its host WPARs (--ssh, or the host of a qemu+ssh URI)"),
        ("reachable", "whether its libvirt answered"), ("libvirt", "libvirt's version on the daemon's side"),
        ("cpus", "its CPUs"), ("memory", "its memory"), ("hostname", "its host name"),
        ("lpars", "how many domains it has"), ("note", "why it is not reachable"),
    ]

    static func fieldList(_ spec: String) throws(PartitionError) -> (fields: [String], delimiter: String) {
        try TextOutput.fieldList(spec, known: known.map(\.0), noun: "a system")
    }

    static func json(_ status: SystemStatus, only: [String]?) -> String {
        var out = "{"
        for (index, key) in (only ?? known.map(\.0)).enumerated() {
            JSONOutput.pair(key, status.field(key), into: &out, first: index == 0)
        }
        return out + "}"
    }

    static func text(_ key: String, of status: SystemStatus) -> String {
        if key == "reachable" { return status.reachable ? "yes" : "no" }
        return status.field(key).humanText
    }

    /// The registry of this machine (`-m` does not apply: the list is kept here).
    static func registry() -> SystemRegistry {
        SystemRegistry(configuration: .fromEnvironment())
    }
}
