import PartitionModel

/// The syscall filter of a WPAR's processes, as the spec says it. The spec's `seccomp` is nil for
/// the default filter (Docker's default semantics, `SeccompDefaultFilter`), so a definition written
/// before the key existed, or sent by a host that does not know it, gets the default too.
public enum WorkloadSeccomp: Codable, Sendable, Hashable {
    /// No filter at all.
    case unconfined
    /// The user's OCI seccomp document.
    case document(SeccompDocument)

    // Encoded as "unconfined" or as the OCI document itself.
    public init(from decoder: any Decoder) throws {
        if let word = try? decoder.singleValueContainer().decode(String.self) {
            guard word == "unconfined" else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                    debugDescription: "expected unconfined or an OCI seccomp document, found '\(word)'"))
            }
            self = .unconfined
            return
        }
        self = .document(try SeccompDocument(from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .unconfined:
            var container = encoder.singleValueContainer()
            try container.encode("unconfined")
        case .document(let document):
            try document.encode(to: encoder)
        }
    }
}

extension WorkloadEngine {
    /// Compiles `seccomp` once to refuse what libseccomp cannot take (unknown syscall or
    /// architecture names), before anything is defined. nil and `unconfined` need no check.
    public static func checkSeccomp(_ seccomp: WorkloadSeccomp?) throws(PartitionError) {
        try SeccompCompiler.check(seccomp)
    }
}
