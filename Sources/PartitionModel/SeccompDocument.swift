/// A seccomp filter as users already write it: the `linux.seccomp` object of an OCI runtime spec
/// (runc, crun, Docker's `--security-opt seccomp=FILE`).
///
/// Decoding is strict: an unknown key, action, operator or architecture is an error naming where it
/// is; syscall names are checked by the engine, which knows the kernel's table (libseccomp).
public struct SeccompDocument: Codable, Sendable, Hashable {
    /// `SCMP_ACT_*`. `SCMP_ACT_NOTIFY` is not among them: it needs a listener, which partctl has not.
    public enum Action: String, Codable, Sendable, Hashable, CaseIterable {
        case allow = "SCMP_ACT_ALLOW"
        case errno = "SCMP_ACT_ERRNO"
        case kill = "SCMP_ACT_KILL"
        case killThread = "SCMP_ACT_KILL_THREAD"
        case killProcess = "SCMP_ACT_KILL_PROCESS"
        case trap = "SCMP_ACT_TRAP"
        case trace = "SCMP_ACT_TRACE"
        case log = "SCMP_ACT_LOG"
    }

    /// `SCMP_CMP_*`.
    public enum Operator: String, Codable, Sendable, Hashable, CaseIterable {
        case notEqual = "SCMP_CMP_NE"
        case lessThan = "SCMP_CMP_LT"
        case lessOrEqual = "SCMP_CMP_LE"
        case equal = "SCMP_CMP_EQ"
        case greaterOrEqual = "SCMP_CMP_GE"
        case greaterThan = "SCMP_CMP_GT"
        case maskedEqual = "SCMP_CMP_MASKED_EQ"
    }

    /// `SECCOMP_FILTER_FLAG_*` of the OCI document's `flags`: how the kernel installs the filter.
    public enum Flag: String, Codable, Sendable, Hashable, CaseIterable {
        /// Log what the filter does (other than allow).
        case log = "SECCOMP_FILTER_FLAG_LOG"
        /// Leave speculative store bypass mitigation as it was.
        case specAllow = "SECCOMP_FILTER_FLAG_SPEC_ALLOW"
        /// All threads at once; the process that installs it has only one, so it changes nothing.
        case tsync = "SECCOMP_FILTER_FLAG_TSYNC"

        /// The kernel's value (linux/seccomp.h).
        public var value: UInt32 {
            switch self {
            case .tsync: return 1
            case .log: return 2
            case .specAllow: return 4
            }
        }
    }

    /// One comparison of a system call argument: `value` is the mask for `SCMP_CMP_MASKED_EQ`,
    /// `valueTwo` the value it is compared with.
    public struct Argument: Codable, Sendable, Hashable {
        public var index: UInt32
        public var value: UInt64
        public var valueTwo: UInt64?
        public var op: Operator

        public init(index: UInt32, value: UInt64, valueTwo: UInt64? = nil, op: Operator) {
            self.index = index
            self.value = value
            self.valueTwo = valueTwo
            self.op = op
        }

        private enum CodingKeys: String, CodingKey, CaseIterable { case index, value, valueTwo, op }

        public init(from decoder: any Decoder) throws {
            let container = try SeccompDocument.strictContainer(decoder, CodingKeys.self)
            index = try container.decode(UInt32.self, forKey: .index)
            value = try container.decode(UInt64.self, forKey: .value)
            valueTwo = try container.decodeIfPresent(UInt64.self, forKey: .valueTwo)
            op = try SeccompDocument.word(container, .op, Operator.self)
            guard index < 6 else {
                throw DecodingError.dataCorrupted(.init(codingPath: container.codingPath + [CodingKeys.index],
                    debugDescription: "a system call has arguments 0 to 5, not \(index)"))
            }
        }
    }

    /// The action for the system calls named; `errnoRet` is the errno of `SCMP_ACT_ERRNO` (default
    /// EPERM) or the message of `SCMP_ACT_TRACE`.
    public struct Rule: Codable, Sendable, Hashable {
        public var names: [String]
        public var action: Action
        public var errnoRet: UInt32?
        public var args: [Argument]?

        public init(names: [String], action: Action, errnoRet: UInt32? = nil, args: [Argument]? = nil) {
            self.names = names
            self.action = action
            self.errnoRet = errnoRet
            self.args = args
        }

        // OCI's comment fields (Docker's profiles carry them) are accepted and dropped.
        private enum CodingKeys: String, CodingKey, CaseIterable { case names, action, errnoRet, args, comment }

        public init(from decoder: any Decoder) throws {
            let container = try SeccompDocument.strictContainer(decoder, CodingKeys.self)
            names = try container.decode([String].self, forKey: .names)
            action = try SeccompDocument.word(container, .action, Action.self)
            errnoRet = try container.decodeIfPresent(UInt32.self, forKey: .errnoRet)
            args = try container.decodeIfPresent([Argument].self, forKey: .args)
            guard !names.isEmpty else {
                throw DecodingError.dataCorrupted(.init(codingPath: container.codingPath + [CodingKeys.names],
                    debugDescription: "names must list at least one system call"))
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(names, forKey: .names)
            try container.encode(action, forKey: .action)
            try container.encodeIfPresent(errnoRet, forKey: .errnoRet)
            try container.encodeIfPresent(args, forKey: .args)
        }
    }

    public var defaultAction: Action
    public var defaultErrnoRet: UInt32?
    /// `SCMP_ARCH_*`: the ABIs the rules also apply to besides the host's own; every other ABI is refused.
    public var architectures: [String]?
    public var flags: [Flag]?
    public var syscalls: [Rule]?

    public init(defaultAction: Action, defaultErrnoRet: UInt32? = nil, architectures: [String]? = nil, flags: [Flag]? = nil,
                syscalls: [Rule]? = nil) {
        self.defaultAction = defaultAction
        self.defaultErrnoRet = defaultErrnoRet
        self.architectures = architectures
        self.flags = flags
        self.syscalls = syscalls
    }

    private enum CodingKeys: String, CodingKey, CaseIterable { case defaultAction, defaultErrnoRet, architectures, flags, syscalls }

    public init(from decoder: any Decoder) throws {
        let container = try SeccompDocument.strictContainer(decoder, CodingKeys.self)
        defaultAction = try SeccompDocument.word(container, .defaultAction, Action.self)
        defaultErrnoRet = try container.decodeIfPresent(UInt32.self, forKey: .defaultErrnoRet)
        architectures = try container.decodeIfPresent([String].self, forKey: .architectures)
        if container.contains(.flags) {
            var list = try container.nestedUnkeyedContainer(forKey: .flags)
            var flags: [Flag] = []
            while !list.isAtEnd {
                let text = try list.decode(String.self)
                guard let flag = Flag(rawValue: text) else {
                    throw DecodingError.dataCorrupted(.init(codingPath: container.codingPath + [CodingKeys.flags],
                        debugDescription: "'\(text)' is not one of \(Flag.allCases.map(\.rawValue).joined(separator: ", "))"))
                }
                flags.append(flag)
            }
            self.flags = flags
        } else {
            flags = nil
        }
        syscalls = try container.decodeIfPresent([Rule].self, forKey: .syscalls)
    }

    /// Any key as a coding key, to list what an object holds.
    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// The object's container, after refusing keys that `Keys` does not name (a misspelt key would
    /// otherwise be silently ignored, and the filter be other than the user meant).
    static func strictContainer<Keys: CodingKey & CaseIterable>(_ decoder: any Decoder,
                                                               _ keys: Keys.Type) throws -> KeyedDecodingContainer<Keys> {
        let all = try decoder.container(keyedBy: AnyKey.self)
        let known = Set(Keys.allCases.map(\.stringValue))
        if let unknown = all.allKeys.map(\.stringValue).sorted().first(where: { !known.contains($0) }) {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "unknown key '\(unknown)'; known here: \(Keys.allCases.map(\.stringValue).joined(separator: ", "))"))
        }
        return try decoder.container(keyedBy: Keys.self)
    }

    /// A closed-vocabulary word, with the list of accepted ones when it is none of them.
    static func word<Keys: CodingKey, Word: RawRepresentable & CaseIterable>(_ container: KeyedDecodingContainer<Keys>,
                                                                              _ key: Keys, _ type: Word.Type) throws -> Word
        where Word.RawValue == String {
        let text = try container.decode(String.self, forKey: key)
        guard let word = Word(rawValue: text) else {
            let hint = text == "SCMP_ACT_NOTIFY" ? " (it needs a user-space listener, which partctl does not run)" : ""
            throw DecodingError.dataCorrupted(.init(codingPath: container.codingPath + [key],
                debugDescription: "'\(text)' is not one of \(Word.allCases.map(\.rawValue).joined(separator: ", "))\(hint)"))
        }
        return word
    }
}
