import PartitionModel

/// Where one value of a profile came from: a line of a profile file, a `-i` attribute, or partctl's
/// built-in default. Error messages and `profile explain` are made from it.
struct ProfileOrigin: Hashable, Sendable {
    enum Source: Hashable, Sendable {
        case profile(name: String, file: String)
        case commandLine(attribute: String)
        case builtInDefault
    }

    var source: Source
    var line: Int?

    init(_ source: Source, line: Int? = nil) {
        self.source = source
        self.line = line
    }

    static let builtInDefault = ProfileOrigin(.builtInDefault)

    /// What `profile explain` prints as the source: the profile's name, "command line" or "default".
    var sourceName: String {
        switch source {
        case .profile(let name, _): return name
        case .commandLine: return ProfileValueOrigin.commandLineSource
        case .builtInDefault: return ProfileValueOrigin.defaultSource
        }
    }

    var file: String? {
        if case .profile(_, let file) = source { return file }
        return nil
    }

    /// Where to point the user: `profiles/a.yaml:7`, `-i desired_mem`, or `default`.
    var place: String {
        switch source {
        case .profile(_, let file): return line.map { "\(file):\($0)" } ?? file
        case .commandLine(let attribute): return "-i \(attribute)"
        case .builtInDefault: return ProfileValueOrigin.defaultSource
        }
    }
}

/// A key path into a profile: `memory.max`, `disks[1].file`, `environment.PATH`.
struct ProfileKeyPath: Hashable, Sendable, CustomStringConvertible {
    enum Segment: Hashable, Sendable {
        case key(String)
        case index(Int)
    }

    var segments: [Segment]

    static let root = ProfileKeyPath(segments: [])

    init(segments: [Segment]) { self.segments = segments }

    static func / (path: ProfileKeyPath, key: String) -> ProfileKeyPath {
        ProfileKeyPath(segments: path.segments + [.key(key)])
    }

    subscript(index: Int) -> ProfileKeyPath {
        ProfileKeyPath(segments: segments + [.index(index)])
    }

    var parent: ProfileKeyPath? {
        segments.isEmpty ? nil : ProfileKeyPath(segments: Array(segments.dropLast()))
    }

    var description: String {
        var text = ""
        for segment in segments {
            switch segment {
            case .key(let key): text += text.isEmpty ? key : ".\(key)"
            case .index(let index): text += "[\(index)]"
            }
        }
        return text
    }
}

/// A profile's content as a tree whose every node knows where it came from. Files are parsed into it,
/// `extends` merges trees, `-i` overrides are set into it, and typed decoding reads it.
struct ProfileNode: Hashable, Sendable {
    enum Content: Hashable, Sendable {
        case scalar(String)
        /// An explicit `~`/`null`/empty value: it removes an inherited value.
        case null
        case mapping([ProfileEntry])
        case sequence([ProfileNode])
    }

    var content: Content
    var origin: ProfileOrigin

    init(_ content: Content, origin: ProfileOrigin) {
        self.content = content
        self.origin = origin
    }

    var entries: [ProfileEntry]? {
        if case .mapping(let entries) = content { return entries }
        return nil
    }

    subscript(key: String) -> ProfileNode? {
        entries?.first(where: { $0.key == key })?.value
    }

    var isNull: Bool { content == .null }

    /// How the value looks, for "expected …, found …" messages.
    var shapeDescription: String {
        switch content {
        case .scalar(let text): return text.isEmpty ? "empty text" : "\(ProfileRules.quoted(text))"
        case .null: return "nothing"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        }
    }

    /// `extends` semantics: mappings merge key by key (this node wins), anything else replaces whole.
    func merged(over parent: ProfileNode) -> ProfileNode {
        guard case .mapping(let mine) = content, case .mapping(var result) = parent.content else { return self }
        for entry in mine {
            if let index = result.firstIndex(where: { $0.key == entry.key }) {
                result[index] = ProfileEntry(key: entry.key, keyLine: entry.keyLine,
                                             value: entry.value.merged(over: result[index].value))
            } else {
                result.append(entry)
            }
        }
        return ProfileNode(.mapping(result), origin: origin)
    }

    /// This mapping without `key`.
    func removing(_ key: String) -> ProfileNode {
        guard case .mapping(let entries) = content else { return self }
        return ProfileNode(.mapping(entries.filter { $0.key != key }), origin: origin)
    }

    /// Sets `value` at `keys`, making the mappings on the way. A non-mapping on the way is left as it is,
    /// so decoding reports the profile's own mistake rather than hiding it.
    func setting(_ value: ProfileNode, at keys: ArraySlice<String>) -> ProfileNode {
        guard let key = keys.first else { return value }
        var entries: [ProfileEntry]
        switch content {
        case .mapping(let existing): entries = existing
        case .null: entries = []
        case .scalar, .sequence: return self
        }
        let empty = ProfileNode(.mapping([]), origin: value.origin)
        if let index = entries.firstIndex(where: { $0.key == key }) {
            entries[index].value = entries[index].value.setting(value, at: keys.dropFirst())
        } else {
            entries.append(ProfileEntry(key: key, keyLine: nil, value: empty.setting(value, at: keys.dropFirst())))
        }
        return ProfileNode(.mapping(entries), origin: origin)
    }
}

struct ProfileEntry: Hashable, Sendable {
    var key: String
    /// The line of the key itself, for "unknown key" messages.
    var keyLine: Int?
    var value: ProfileNode

    var keyOrigin: ProfileOrigin {
        ProfileOrigin(value.origin.source, line: keyLine ?? value.origin.line)
    }
}

// MARK: The stored form

/// A profile tree as plain JSON — strings, nulls, arrays and objects, like the YAML it came from —
/// for storing a resolved profile. Origins are not part of it; they are restored from the provenance.
struct ProfileSettingsJSON: Codable, Sendable {
    var node: ProfileNode

    init(_ node: ProfileNode) { self.node = node }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        let origin = ProfileOrigin.builtInDefault
        if let keyed = try? decoder.container(keyedBy: Key.self) {
            var entries: [ProfileEntry] = []
            for key in keyed.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
                let value = try keyed.decode(ProfileSettingsJSON.self, forKey: key).node
                entries.append(ProfileEntry(key: key.stringValue, keyLine: nil, value: value))
            }
            node = ProfileNode(.mapping(entries), origin: origin)
        } else if var list = try? decoder.unkeyedContainer() {
            var items: [ProfileNode] = []
            while !list.isAtEnd { items.append(try list.decode(ProfileSettingsJSON.self).node) }
            node = ProfileNode(.sequence(items), origin: origin)
        } else {
            let single = try decoder.singleValueContainer()
            node = ProfileNode(single.decodeNil() ? .null : .scalar(try single.decode(String.self)), origin: origin)
        }
    }

    func encode(to encoder: any Encoder) throws {
        switch node.content {
        case .scalar(let text):
            var single = encoder.singleValueContainer()
            try single.encode(text)
        case .null:
            var single = encoder.singleValueContainer()
            try single.encodeNil()
        case .sequence(let items):
            var list = encoder.unkeyedContainer()
            for item in items { try list.encode(ProfileSettingsJSON(item)) }
        case .mapping(let entries):
            var keyed = encoder.container(keyedBy: Key.self)
            for entry in entries { try keyed.encode(ProfileSettingsJSON(entry.value), forKey: Key(stringValue: entry.key)) }
        }
    }
}

extension ProfileNode {
    /// The same values, ignoring where they came from.
    func hasSameContent(as other: ProfileNode) -> Bool {
        switch (content, other.content) {
        case (.scalar(let a), .scalar(let b)): return a == b
        case (.null, .null): return true
        case (.sequence(let a), .sequence(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.hasSameContent(as: $1) }
        case (.mapping(let a), .mapping(let b)):
            return a.count == b.count && a.allSatisfy { entry in
                b.contains { $0.key == entry.key && $0.value.hasSameContent(as: entry.value) }
            }
        default: return false
        }
    }

    /// Gives every node the origin `origin(keyPath)` says, walking the tree.
    func withOrigins(at path: ProfileKeyPath = .root, _ origin: (ProfileKeyPath) -> ProfileOrigin) -> ProfileNode {
        let content: Content
        switch self.content {
        case .scalar, .null:
            content = self.content
        case .sequence(let items):
            content = .sequence(items.enumerated().map { $1.withOrigins(at: path[$0], origin) })
        case .mapping(let entries):
            content = .mapping(entries.map {
                ProfileEntry(key: $0.key, keyLine: $0.keyLine, value: $0.value.withOrigins(at: path / $0.key, origin))
            })
        }
        return ProfileNode(content, origin: origin(path))
    }
}
