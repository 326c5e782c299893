import PartitionModel

/// Attribute overrides given with `-i "desired_procs=2,desired_mem=384MiB"`, HMC style.
///
/// Each attribute names one key of the profile. Overrides are set into the profile's tree (with the
/// source "command line") before typed decoding, so every check a profile file gets applies to them too.
public struct ProfileOverrides: Sendable, Codable, Hashable {
    public struct Assignment: Sendable, Codable, Hashable {
        public var attribute: String
        public var value: String

        public init(attribute: String, value: String) {
            self.attribute = attribute
            self.value = value
        }
    }

    public private(set) var assignments: [Assignment]

    public init(_ assignments: [Assignment] = []) {
        self.assignments = assignments
    }

    public var isEmpty: Bool { assignments.isEmpty }

    /// LPAR attributes and the key paths they set.
    public static let lparAttributes: [(attribute: String, keyPath: String)] = [
        ("min_mem", "memory.min"), ("desired_mem", "memory.desired"), ("max_mem", "memory.max"),
        ("min_procs", "processors.min"), ("desired_procs", "processors.desired"), ("max_procs", "processors.max"),
        ("weight", "weight"), ("cap", "cap"), ("autostart", "autostart"), ("accel", "accel"), ("image", "image"),
        ("hostname", "hostname"), ("network", "network"),
    ]

    /// WPAR attributes and the key paths they set.
    public static let wparAttributes: [(attribute: String, keyPath: String)] = [
        ("cpu_weight", "resources.cpu.weight"), ("cpu_max", "resources.cpu.max"),
        ("memory_high", "resources.memory.high"), ("memory_max", "resources.memory.max"),
        ("pids_max", "resources.processes.max"), ("hostname", "hostname"), ("autostart", "autostart"),
        ("image", "image"), ("network", "network"),
    ]

    public static func attributes(for kind: PartitionKind) -> [(attribute: String, keyPath: String)] {
        switch kind {
        case .lpar: return lparAttributes
        case .wpar: return wparAttributes
        case .system: return []
        }
    }

    static var allAttributeNames: [String] {
        var names: [String] = []
        for (attribute, _) in lparAttributes + wparAttributes where !names.contains(attribute) {
            names.append(attribute)
        }
        return names
    }

    /// Parses `k=v,k=v`. Several `-i` options may be given; pass them all, in order.
    public static func parse(_ texts: [String]) throws(PartitionError) -> ProfileOverrides {
        var overrides = ProfileOverrides()
        for text in texts {
            for item in text.split(separator: ",", omittingEmptySubsequences: false) {
                let trimmed = item.trimmingSpaces
                guard let equals = trimmed.firstIndex(of: "=") else {
                    let shown = trimmed.isEmpty ? "an empty item" : ProfileRules.quoted(trimmed)
                    throw PartitionError(.invalidArgument, "-i: \(shown) is not of the form attribute=value.")
                }
                let attribute = String(trimmed[..<equals]).trimmingSpaces
                let value = String(trimmed[trimmed.index(after: equals)...]).trimmingSpaces
                guard allAttributeNames.contains(attribute) else {
                    let hint = ProfileReader.closest(to: attribute, among: allAttributeNames).map { "did you mean '\($0)'? " } ?? ""
                    throw PartitionError(.invalidArgument,
                        "-i: \(ProfileRules.quoted(attribute)) is not an attribute; \(hint)The attributes are: \(allAttributeNames.joined(separator: ", ")).")
                }
                if value.isEmpty {
                    throw PartitionError(.invalidArgument, "-i \(attribute): has no value; write \(attribute)=VALUE.")
                }
                if ProfileRules.hasControlCharacters(value) {
                    throw PartitionError(.invalidArgument, "-i \(attribute): the value contains a control character.")
                }
                if overrides.assignments.contains(where: { $0.attribute == attribute }) {
                    throw PartitionError(.invalidArgument, "-i \(attribute): is given more than once.")
                }
                overrides.assignments.append(Assignment(attribute: attribute, value: value))
            }
        }
        return overrides
    }

    public static func parse(_ text: String) throws(PartitionError) -> ProfileOverrides {
        try parse([text])
    }

    /// These overrides followed by `later`'s; an attribute in both takes `later`'s value.
    public func merging(_ later: ProfileOverrides) -> ProfileOverrides {
        var merged = assignments.filter { own in !later.assignments.contains { $0.attribute == own.attribute } }
        merged += later.assignments
        return ProfileOverrides(merged)
    }

    /// Sets each override into `root`, a profile of `kind`.
    func apply(to root: ProfileNode, kind: PartitionKind) throws(PartitionError) -> ProfileNode {
        let table = ProfileOverrides.attributes(for: kind)
        var result = root
        for assignment in assignments {
            guard let keyPath = table.first(where: { $0.attribute == assignment.attribute })?.keyPath else {
                let names = table.map(\.attribute).joined(separator: ", ")
                throw PartitionError(.invalidArgument,
                    "-i \(assignment.attribute): does not apply to a profile of kind \(kind.rawValue); its attributes are: \(names).")
            }
            let node = ProfileNode(.scalar(assignment.value), origin: ProfileOrigin(.commandLine(attribute: assignment.attribute)))
            result = result.setting(node, at: keyPath.split(separator: ".").map(String.init)[...])
        }
        return result
    }

    /// The attribute that sets `keyPath` in a profile of `kind`, to name it in messages.
    static func attribute(forKeyPath keyPath: String, kind: PartitionKind) -> String {
        attributes(for: kind).first(where: { $0.keyPath == keyPath })?.attribute ?? keyPath
    }
}
