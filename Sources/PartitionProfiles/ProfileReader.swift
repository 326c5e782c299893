import Foundation
import PartitionModel

/// Reads a profile tree strictly: every key must be known, every value must have the expected shape and
/// parse, and every value read (or defaulted) is recorded with its origin for `profile explain`.
///
/// Errors from here are about one value, so they name the exact file and line that set it.
final class ProfileReader {
    private(set) var provenance: [ProfileValueOrigin] = []
    private(set) var origins: [String: ProfileOrigin] = [:]
    /// Where to point when a required value is missing everywhere: the profile being resolved.
    let fallback: ProfileOrigin

    init(fallback: ProfileOrigin) {
        self.fallback = fallback
    }

    // MARK: Errors and records

    func failure(_ origin: ProfileOrigin, _ path: ProfileKeyPath, _ text: String) -> PartitionError {
        let place = origin.source == .builtInDefault ? fallback.place : origin.place
        return PartitionError(.invalidProfile, path.segments.isEmpty ? "\(place): \(text)" : "\(place): \(path): \(text)")
    }

    /// A required value that neither the profile nor those it extends set.
    func missing(_ path: ProfileKeyPath, _ hint: String) -> PartitionError {
        failure(fallback, path, "is required, in this profile or one it extends; \(hint)")
    }

    func record(_ path: ProfileKeyPath, _ value: String, _ origin: ProfileOrigin) {
        provenance.append(ProfileValueOrigin(keyPath: path, value: value, origin: origin))
        origins[path.description] = origin
    }

    /// Records the default for a value the profiles left out (or removed with `~`) and returns it.
    func orDefault<T>(_ value: T?, _ node: ProfileNode?, at path: ProfileKeyPath, _ defaultValue: T,
                      _ render: (T) -> String) -> T {
        if let value { return value }
        record(path, render(defaultValue), node?.isNull == true ? node!.origin : .builtInDefault)
        return defaultValue
    }

    /// Runs `body` without keeping what it records: to learn a value that decides another's default
    /// before the values are recorded in their natural order.
    func quietly<T>(_ body: () throws(PartitionError) -> T) throws(PartitionError) -> T {
        let (savedProvenance, savedOrigins) = (provenance, origins)
        defer { (provenance, origins) = (savedProvenance, savedOrigins) }
        return try body()
    }

    // MARK: Containers

    /// The mapping at `path`, or nil when absent or `~`. Unknown keys are refused with a suggestion;
    /// `foreign` explains keys that belong to the other kind of profile.
    func mapping(_ node: ProfileNode?, at path: ProfileKeyPath, keys: [String], expecting: String,
                 foreign: [String: String] = [:]) throws(PartitionError) -> ProfileNode? {
        guard let node, !node.isNull else { return nil }
        guard let entries = node.entries else {
            throw failure(node.origin, path, "expected \(expecting), found \(node.shapeDescription).")
        }
        for entry in entries where !keys.contains(entry.key) {
            let keyPath = path / entry.key
            if let reason = foreign[entry.key] {
                throw failure(entry.keyOrigin, keyPath, reason)
            }
            if let close = ProfileReader.closest(to: entry.key, among: keys) {
                throw failure(entry.keyOrigin, keyPath, "unknown key; did you mean '\(close)'?")
            }
            throw failure(entry.keyOrigin, keyPath, "unknown key; the keys here are \(keys.joined(separator: ", ")).")
        }
        return node
    }

    /// The items of the list at `path`, or nil when absent or `~`.
    func list(_ node: ProfileNode?, at path: ProfileKeyPath, expecting: String) throws(PartitionError) -> [ProfileNode]? {
        guard let node, !node.isNull else { return nil }
        guard case .sequence(let items) = node.content else {
            throw failure(node.origin, path, "expected \(expecting), found \(node.shapeDescription).")
        }
        return items
    }

    /// A list of scalars, each parsed by `parse`, recorded as one value (`[disk, cdrom]`);
    /// `defaultValue` when absent.
    func scalars<T>(_ node: ProfileNode?, at path: ProfileKeyPath, expecting: String, default defaultValue: [T]? = nil,
                    parse: (String) -> T?, problem: ((String) -> String)? = nil,
                    render: (T) -> String) throws(PartitionError) -> [T]? {
        guard let items = try list(node, at: path, expecting: expecting) else {
            if let defaultValue {
                record(path, ProfileReader.render(defaultValue.map(render)), node?.isNull == true ? node!.origin : .builtInDefault)
            }
            return defaultValue
        }
        var values: [T] = []
        for (index, item) in items.enumerated() {
            guard case .scalar(let text) = item.content else {
                throw failure(item.origin, path[index], "expected \(expecting), but this item is \(item.shapeDescription).")
            }
            guard let value = parse(text) else {
                throw failure(item.origin, path[index], problem?(text) ?? "expected \(expecting), found \(item.shapeDescription).")
            }
            values.append(value)
        }
        record(path, ProfileReader.render(values.map(render)), node!.origin)
        return values
    }

    func texts(_ node: ProfileNode?, at path: ProfileKeyPath, expecting: String,
               default defaultValue: [String]? = nil) throws(PartitionError) -> [String]? {
        try scalars(node, at: path, expecting: expecting, default: defaultValue, parse: { $0 }, render: { $0 })
    }

    func choices<E: RawRepresentable & CaseIterable>(_ node: ProfileNode?, at path: ProfileKeyPath, expecting: String,
                                                     default defaultValue: [E]) throws(PartitionError) -> [E] where E.RawValue == String {
        let names = E.allCases.map(\.rawValue)
        return try scalars(node, at: path, expecting: expecting, default: defaultValue, parse: { E(rawValue: $0) },
                           problem: { ProfileReader.choiceProblem($0, names) }, render: { $0.rawValue }) ?? defaultValue
    }

    // MARK: Scalars

    /// The scalar at `path` parsed by `parse`, or nil when absent or `~` (or `none` where `orNone`).
    /// With `orNone`, an absent value is recorded as the default `none`.
    func scalar<T>(_ node: ProfileNode?, at path: ProfileKeyPath, expecting: String, orNone: Bool = false,
                   parse: (String) -> T?, problem: ((String) -> String)? = nil,
                   render: (T) -> String) throws(PartitionError) -> T? {
        guard let node else {
            if orNone { record(path, "none", .builtInDefault) }
            return nil
        }
        switch node.content {
        case .null:
            if orNone { record(path, "none", node.origin) }
            return nil
        case .scalar(let text):
            if orNone, text.lowercased() == "none" {
                record(path, "none", node.origin)
                return nil
            }
            guard let value = parse(text) else {
                throw failure(node.origin, path, problem?(text) ?? "expected \(expecting), found \(node.shapeDescription).")
            }
            record(path, render(value), node.origin)
            return value
        case .mapping, .sequence:
            throw failure(node.origin, path, "expected \(expecting), found \(node.shapeDescription).")
        }
    }

    func text(_ node: ProfileNode?, at path: ProfileKeyPath, expecting: String = "text") throws(PartitionError) -> String? {
        try scalar(node, at: path, expecting: expecting, parse: { $0 }, render: { $0 })
    }

    func size(_ node: ProfileNode?, at path: ProfileKeyPath, orNone: Bool = false) throws(PartitionError) -> ByteSize? {
        try scalar(node, at: path, expecting: "a size like 512MiB", orNone: orNone,
                   parse: { try? ByteSize(parsing: $0) },
                   problem: { text in
                       do throws(PartitionError) { _ = try ByteSize(parsing: text) } catch {
                           return error.message.prefix(1).lowercased() + error.message.dropFirst()
                       }
                       return "expected a size like 512MiB."
                   },
                   render: { $0.description })
    }

    func integer(_ node: ProfileNode?, at path: ProfileKeyPath, orNone: Bool = false) throws(PartitionError) -> Int? {
        try scalar(node, at: path, expecting: orNone ? "a whole number or none" : "a whole number", orNone: orNone,
                   parse: ProfileReader.parseInteger, render: { String($0) })
    }

    /// A decimal number such as `0.5` or `2`; no exponents, no infinities.
    func number(_ node: ProfileNode?, at path: ProfileKeyPath, orNone: Bool = false) throws(PartitionError) -> Double? {
        try scalar(node, at: path, expecting: orNone ? "a number like 0.5, or none" : "a number like 0.5", orNone: orNone,
                   parse: ProfileReader.parseDecimal, render: ProfileReader.render)
    }

    func flag(_ node: ProfileNode?, at path: ProfileKeyPath) throws(PartitionError) -> Bool? {
        try scalar(node, at: path, expecting: "true or false", parse: ProfileReader.parseFlag, render: { String($0) })
    }

    func choice<E: RawRepresentable & CaseIterable>(_ node: ProfileNode?, at path: ProfileKeyPath,
                                                    _ type: E.Type = E.self) throws(PartitionError) -> E? where E.RawValue == String {
        let names = E.allCases.map(\.rawValue)
        return try scalar(node, at: path, expecting: "one of \(names.joined(separator: ", "))",
                          parse: { E(rawValue: $0) },
                          problem: { ProfileReader.choiceProblem($0, names) },
                          render: { $0.rawValue })
    }

    // MARK: Parsing and rendering

    static func choiceProblem(_ text: String, _ names: [String]) -> String {
        let hint = closest(to: text, among: names).map { "; did you mean '\($0)'?" } ?? "."
        return "expected one of \(names.joined(separator: ", ")), found \(ProfileRules.quoted(text))\(hint)"
    }

    static func parseInteger(_ text: String) -> Int? {
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "-" || $0 == "+") }) else { return nil }
        return Int(text)
    }

    static func parseDecimal(_ text: String) -> Double? {
        let body = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard !body.isEmpty, parts.count <= 2,
              parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              let value = Double(text), value.isFinite else { return nil }
        return value
    }

    static func parseFlag(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: return nil
        }
    }

    static func render(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }

    /// `[disk, cdrom]`; items with spaces, commas, brackets or quotes are double-quoted.
    static func render(_ items: [String]) -> String {
        let special: Set<Character> = [" ", ",", "[", "]", "\"", "'", "\t", "{", "}", "#", ":"]
        let shown = items.map { item -> String in
            guard item.isEmpty || item.contains(where: { special.contains($0) || $0.isNewline }) else { return item }
            let escaped = item.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\t", with: "\\t")
            return "\"\(escaped)\""
        }
        return "[\(shown.joined(separator: ", "))]"
    }

    /// The candidate nearest to `word` by edit distance, when it is near enough to be a likely typo.
    static func closest(to word: String, among candidates: [String]) -> String? {
        let lowered = word.lowercased()
        var best: (distance: Int, candidate: String)?
        for candidate in candidates {
            let distance = editDistance(lowered, candidate.lowercased())
            if best == nil || distance < best!.distance { best = (distance, candidate) }
        }
        guard let best else { return nil }
        let allowed = max(1, min(3, word.count / 3))
        if best.distance <= allowed { return best.candidate }
        // `mem` for `memory`, `max_memory` for `max`: one contains the other.
        return candidates.first { lowered.count >= 3 && ($0.hasPrefix(lowered) || lowered.hasPrefix($0)) }
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            previous = current
        }
        return previous[b.count]
    }
}
