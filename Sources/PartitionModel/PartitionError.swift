/// The one error type every layer of partctl throws.
///
/// `code` is stable for scripts (`--json` prints it); `message` is a full sentence for people.
/// The partition path and the operation are optional context that the CLI puts in front of the
/// message, so that every refusal is one line naming what is wrong and where.
public struct PartitionError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Sendable, CaseIterable {
            case invalidArgument = "invalid-argument"
            case invalidProfile = "invalid-profile"
            case notFound = "not-found"
            case alreadyExists = "already-exists"
            case invalidState = "invalid-state"
            case busy
            case unmanaged
            case outOfRange = "out-of-range"
            case unavailable
            case timeout
            case unsupported
            case permissionDenied = "permission-denied"
            case libvirt
            case system
            case agent
            case `internal`
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// A value the user gave (name, attribute, flag) is malformed.
        public static let invalidArgument = Code(.invalidArgument)
        /// A profile file is malformed or inconsistent.
        public static let invalidProfile = Code(.invalidProfile)
        public static let notFound = Code(.notFound)
        public static let alreadyExists = Code(.alreadyExists)
        /// The operation does not fit the partition's current state.
        public static let invalidState = Code(.invalidState)
        /// Another command holds the partition.
        public static let busy = Code(.busy)
        /// The partition exists but partctl did not create it and leaves it alone.
        public static let unmanaged = Code(.unmanaged)
        /// A value lies outside its allowed range (min/max, host capacity).
        public static let outOfRange = Code(.outOfRange)
        /// A service partctl needs (libvirtd, an agent) cannot be reached.
        public static let unavailable = Code(.unavailable)
        public static let timeout = Code(.timeout)
        public static let unsupported = Code(.unsupported)
        public static let permissionDenied = Code(.permissionDenied)
        /// libvirt refused an operation; the message carries libvirt's own words.
        public static let libvirt = Code(.libvirt)
        /// A system call failed; the message names the step and errno.
        public static let system = Code(.system)
        /// The guest agent misbehaved or answered with an error.
        public static let agent = Code(.agent)
        public static let `internal` = Code(.internal)

        public var description: String { value.rawValue }

        /// Every code, for the agent's wire (which carries codes by their `description`).
        public static var all: [Code] { Value.allCases.map(Code.init) }

        /// The code whose `description` is `name`; nil for a name this version does not know.
        public init?(name: String) {
            guard let value = Value(rawValue: name) else { return nil }
            self.init(value)
        }
    }

    public var code: Code
    public var message: String
    /// The partition path the error concerns, when there is one.
    public var partition: String?
    /// The verb or step that failed, e.g. "activate".
    public var operation: String?

    public init(_ code: Code, _ message: String, partition: String? = nil, operation: String? = nil) {
        self.code = code
        self.message = message
        self.partition = partition
        self.operation = operation
    }

    /// Adds context without overwriting context that a lower layer already set.
    public func with(partition: String? = nil, operation: String? = nil) -> PartitionError {
        var copy = self
        if copy.partition == nil { copy.partition = partition }
        if copy.operation == nil { copy.operation = operation }
        return copy
    }

    /// "lp1: activate: the partition is not defined."
    public var description: String {
        var parts: [String] = []
        if let partition { parts.append(partition) }
        if let operation { parts.append(operation) }
        parts.append(message)
        return parts.joined(separator: ": ")
    }
}
