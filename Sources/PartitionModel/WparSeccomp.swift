/// The profile key `seccomp`: Docker's default filter, none at all, or the user's own document.
public enum WparSeccomp: Sendable, Hashable, Codable {
    case `default`
    /// No filter: must be written out, `profile check` says so.
    case unconfined
    /// An OCI seccomp document read from `file` when the profile was resolved; the definition keeps
    /// the document, so a later edit of the file changes nothing until the profile is applied again.
    case file(path: String, document: SeccompDocument)

    private enum CodingKeys: String, CodingKey { case file, document }

    // Encoded as in a profile: "default", "unconfined", or {file, document}.
    public init(from decoder: any Decoder) throws {
        if let word = try? decoder.singleValueContainer().decode(String.self) {
            switch word {
            case "default": self = .default
            case "unconfined": self = .unconfined
            default:
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                    debugDescription: "expected default, unconfined or {file, document}, found '\(word)'"))
            }
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self = .file(path: try container.decode(String.self, forKey: .file),
                     document: try container.decode(SeccompDocument.self, forKey: .document))
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .default:
            var container = encoder.singleValueContainer()
            try container.encode("default")
        case .unconfined:
            var container = encoder.singleValueContainer()
            try container.encode("unconfined")
        case .file(let path, let document):
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(path, forKey: .file)
            try container.encode(document, forKey: .document)
        }
    }
}
