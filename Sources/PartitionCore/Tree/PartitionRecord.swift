import PartitionModel

/// One value of a partition's attribute, typed so that each output format can render it well:
/// sizes as `256MiB` in text and bytes in JSON.
public enum FieldValue: Sendable, Equatable {
    case string(String)
    case int(Int)
    case bytes(UInt64)
    case number(Double)
    case bool(Bool)
    case none

    /// Text form, as `-F` prints it and `-i` reads it back.
    public var text: String {
        switch self {
        case .string(let value): return value
        case .int(let value): return String(value)
        case .bytes(let value): return ByteSize(bytes: value).description
        case .number(let value): return FieldValue.format(value)
        case .bool(let value): return value ? "yes" : "no"
        case .none: return "-"
        }
    }

    /// For people (tables, the tree): sizes rounded to one decimal in the largest fitting unit.
    public var humanText: String {
        guard case .bytes(let value) = self, ByteSize(bytes: value).description.hasSuffix("B"),
              value % (1 << 20) != 0 else { return text }
        for (unit, factor) in [("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] as [(String, UInt64)]
        where value >= factor {
            return FieldValue.format((Double(value) / Double(factor) * 10).rounded() / 10) + unit
        }
        return text
    }

    /// Up to two decimals, no trailing zeros: 0.5, 1.25, 2.
    static func format(_ value: Double) -> String {
        let scaled = (value * 100).rounded()
        let whole = Int(scaled) / 100
        let fraction = abs(Int(scaled) % 100)
        if fraction == 0 { return String(whole) }
        return fraction % 10 == 0 ? "\(whole).\(fraction / 10)" : "\(whole).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}

/// What `query` and `tree` know about one partition: the stable fields of DESIGN §2 plus
/// kind-specific attributes in a fixed order.
public struct PartitionRecord: Sendable, Equatable {
    public var name: String
    /// `lp1`, `lp1/web`; `/` for the managed system.
    public var path: String
    public var kind: PartitionKind
    public var state: PartitionState
    /// For WPARs: `system` or `application`.
    public var type: String?
    /// False for domains partctl did not create: shown, never changed.
    public var managed: Bool
    /// Kind-specific attributes, in display order (`procs`, `mem`, `accel`, …).
    public var fields: [(String, FieldValue)]
    public var children: [PartitionRecord]
    /// Why the state is `error` or `unavailable`, when known.
    public var note: String?
    /// The managed system it is on (`local`, a registered name); nil for a raw `--connect` URI.
    public var system: String?

    public init(name: String, path: String, kind: PartitionKind, state: PartitionState, type: String? = nil,
                managed: Bool = true, fields: [(String, FieldValue)] = [], children: [PartitionRecord] = [], note: String? = nil) {
        self.name = name
        self.path = path
        self.kind = kind
        self.state = state
        self.type = type
        self.managed = managed
        self.fields = fields
        self.children = children
        self.note = note
    }

    public func field(_ key: String) -> FieldValue? {
        switch key {
        case "name": return .string(name)
        case "path": return .string(path)
        case "kind": return .string(kind.rawValue)
        case "state": return .string(state.rawValue)
        case "type": return type.map(FieldValue.string) ?? FieldValue.none
        case "managed": return .bool(managed)
        case "note": return note.map(FieldValue.string) ?? FieldValue.none
        case "system": return system.map(FieldValue.string) ?? FieldValue.none
        default: return fields.first { $0.0 == key }?.1 ?? (Self.attributeKeys.contains(key) ? FieldValue.none : nil)
        }
    }

    /// This record and all below it, depth first.
    public func flattened() -> [PartitionRecord] {
        var all: [PartitionRecord] = []
        var copy = self
        copy.children = []
        all.append(copy)
        for child in children { all += child.flattened() }
        return all
    }

    public static func == (lhs: PartitionRecord, rhs: PartitionRecord) -> Bool {
        lhs.name == rhs.name && lhs.path == rhs.path && lhs.kind == rhs.kind && lhs.state == rhs.state
            && lhs.type == rhs.type && lhs.managed == rhs.managed && lhs.system == rhs.system && lhs.children == rhs.children
            && lhs.fields.map(\.0) == rhs.fields.map(\.0) && lhs.fields.map(\.1) == rhs.fields.map(\.1)
    }

    /// Refuses a field name `-F` or `--filter` does not know, listing the ones it does.
    public static func checkField(_ name: String, option: String) throws(PartitionError) {
        guard !knownFields.contains(where: { $0.0 == name }) else { return }
        throw PartitionError(.invalidArgument,
            "\(option): '\(name)' is not a field; the fields are \(knownFields.map(\.0).joined(separator: ", ")).")
    }

    /// The fields every record carries beyond name, path, kind, state, type and managed, in the
    /// order JSON prints them. One list for every kind: a field that does not apply is null.
    public static let attributeKeys: [String] = knownFields.map(\.0).filter { !identityKeys.contains($0) }

    /// Printed by JSON before the attributes, from the record's own properties.
    static let identityKeys: Set<String> = ["name", "path", "kind", "state", "type", "managed", "system", "note"]

    /// This record's value for each of `attributeKeys`, `.none` where the backend had nothing.
    public var attributeValues: [(String, FieldValue)] {
        Self.attributeKeys.map { key in (key, fields.first { $0.0 == key }?.1 ?? .none) }
    }

    /// Every field name `-F` and `--filter` accept, with what it means (docs/output.md has the long form).
    public static let knownFields: [(String, String)] = [
        ("name", "the partition's name"), ("path", "its path in the tree (/, lp1, lp1/web)"),
        ("kind", "system, lpar or wpar"), ("state", "defined, starting, running, paused, stopping, error, unavailable"),
        ("type", "WPAR type: system or application"), ("managed", "whether partctl created it"),
        ("system", "the managed system it is on ('partctl system list'; null for a --connect URI)"),
        ("profile", "the profile it was defined from"),
        ("image", "the image it runs: a WPAR's root, an LPAR's system disk"),
        ("autostart", "starts with the host (or with its LPAR)"),
        ("uuid", "LPAR: libvirt's UUID"),
        ("procs", "CPUs it has now: an LPAR's vCPUs, the system's online CPUs"),
        ("min_procs", "LPAR vCPU floor"), ("desired_procs", "LPAR vCPUs at activation"), ("max_procs", "LPAR vCPU ceiling"),
        ("assigned_procs", "system: vCPUs of running LPARs"), ("free_procs", "system: procs - assigned_procs, at least 0"),
        ("mem", "memory it has now: an LPAR's current memory, the system's MemTotal"),
        ("min_mem", "LPAR memory floor"), ("desired_mem", "LPAR memory at activation"), ("max_mem", "LPAR memory ceiling"),
        ("assigned_mem", "system: memory of running LPARs plus memory_max of running host WPARs"),
        ("free_mem", "system: mem - assigned_mem, at least 0"),
        ("weight", "LPAR share of spare CPU"), ("cap", "LPAR hard CPU ceiling in CPUs"), ("accel", "LPAR: kvm or tcg"),
        ("cpu_weight", "WPAR CPU weight"), ("cpu_max", "WPAR CPU cap in CPUs"), ("memory_high", "WPAR soft memory limit"),
        ("memory_max", "WPAR hard memory limit"), ("pids_max", "WPAR task limit"), ("hostname", "WPAR host name"),
        ("cpu_time", "CPU time used, seconds"), ("memory_current", "WPAR memory in use"), ("pids_current", "WPAR tasks now"),
        ("id", "LPAR: libvirt's domain id while running"),
        ("ip", "its addresses while running, space-separated: a host WPAR's eth0; an LPAR's leases on managed networks, then libvirt's DHCP leases, else ARP"), ("pid", "WPAR init's PID (in its LPAR for nested WPARs)"),
        ("exit_status", "WPAR init's last exit status"), ("uid_map", "WPAR user namespace: inside, host, count"),
        ("agent", "LPAR: its agent (version ok, down, unavailable)"),
        ("graphics", "LPAR: its display, vnc://127.0.0.1:PORT while running (vnc or spice while stopped)"), ("hypervisor", "system: libvirt's version, or unavailable"),
        ("snapshots", "how many snapshots it has (snapshot list): a managed LPAR's, a host WPAR's"),
        ("note", "why a partition is in error or unavailable"),
    ]
}
