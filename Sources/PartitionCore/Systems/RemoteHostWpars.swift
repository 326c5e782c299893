import AgentProtocol
import PartitionModel
import SystemKit

/// The host WPARs of another managed system, from `ssh DEST partctl tree --json -m local` there:
/// its tree's top-level WPARs, as records of this tree (its LPARs come from libvirt instead).
enum RemoteHostWpars {
    /// How long ssh may take to connect; the whole listing is also bounded by the system's deadline.
    static let connectTimeout = 5

    static func command(_ destination: SSHDestination) -> HostProgram {
        let config = SSHDestination.configFile(ProcessEnvironment.current())
        let arguments = ["ssh"] + destination.arguments(batch: true, connectTimeout: connectTimeout, config: config)
            + ["partctl", "tree", "--json", "-m", ManagedSystem.localName]
        // ssh finds its keys through the user's home and agent; nothing else of ours goes along.
        let passed = ProcessEnvironment.current().filter { $0.key == "HOME" || $0.key == "SSH_AUTH_SOCK" }
        return HostProgram(arguments, environment: passed)
    }

    /// The other machine's host WPARs; an error says why they cannot be listed.
    static func records(_ destination: SSHDestination) throws(PartitionError) -> [PartitionRecord] {
        let output = try command(destination).output(limit: 16 << 20)
        return try wpars(fromTree: output, destination: destination.destination)
    }

    /// The top-level WPARs of a `tree --json` document. Pure.
    static func wpars(fromTree json: String, destination: String) throws(PartitionError) -> [PartitionRecord] {
        guard case .object(let root)? = try? JSONText.parse(Array(json.utf8)), case .array(let children)? = root["children"] else {
            throw PartitionError(.system, "partctl on \(destination) did not answer with a partition tree.")
        }
        return children.compactMap { child in
            guard case .object(let object) = child, let record = record(object), record.kind == .wpar,
                  (try? PartitionPath(record.path))?.depth == 1 else { return nil }
            return record
        }
    }

    /// Sizes are bytes in JSON; these fields print as sizes again.
    static let byteFields: Set<String> = ["mem", "min_mem", "desired_mem", "max_mem", "assigned_mem", "free_mem",
                                          "memory_high", "memory_max", "memory_current"]

    /// One object of partctl's JSON back into a record; nil when a required key is missing or wrong.
    static func record(_ object: [String: JSONValue]) -> PartitionRecord? {
        guard case .string(let name)? = object["name"], case .string(let path)? = object["path"],
              case .string(let kindText)? = object["kind"], let kind = PartitionKind(rawValue: kindText),
              case .string(let stateText)? = object["state"], let state = PartitionState(rawValue: stateText) else { return nil }
        var record = PartitionRecord(name: name, path: path, kind: kind, state: state)
        if case .string(let type)? = object["type"] { record.type = type }
        if case .bool(let managed)? = object["managed"] { record.managed = managed }
        if case .string(let note)? = object["note"] { record.note = note }
        for key in PartitionRecord.attributeKeys {
            guard let value = object[key] else { continue }
            record.fields.append((key, field(value, bytes: byteFields.contains(key))))
        }
        if case .array(let children)? = object["children"] {
            record.children = children.compactMap { child in
                guard case .object(let nested) = child else { return nil }
                return self.record(nested)
            }
        }
        return record
    }

    static func field(_ value: JSONValue, bytes: Bool) -> FieldValue {
        switch value {
        case .string(let text): return .string(text)
        case .bool(let flag): return .bool(flag)
        case .integer(let number): return bytes ? .bytes(UInt64(max(0, number))) : .int(Int(number))
        case .unsigned(let number): return bytes ? .bytes(number) : .int(Int(clamping: number))
        case .number(let number): return .number(number)
        case .null, .array, .object: return .none
        }
    }
}
