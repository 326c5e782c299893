import Foundation
import PartitionModel

/// The WPAR key `seccomp: default | unconfined | FILE`, FILE an OCI seccomp JSON document (the
/// `linux.seccomp` object of an OCI runtime spec). A relative FILE is found beside the profile that
/// names it. The document is read and checked here, when the profile is resolved, and kept in the
/// resolved profile; the engine checks the syscall names against libseccomp.
enum ProfileSeccompDecoding {
    static let expecting = "default, unconfined, or the path of an OCI seccomp JSON file"

    static func decode(_ node: ProfileNode?, _ reader: ProfileReader) throws(PartitionError) -> WparSeccomp {
        let path = ProfileKeyPath.root / "seccomp"
        guard let node, !node.isNull else {
            reader.record(path, "default", node?.origin ?? .builtInDefault)
            return .default
        }
        guard let word = try reader.quietly({ () throws(PartitionError) -> String? in
            try reader.text(node, at: path, expecting: expecting)
        }), !word.isEmpty else {
            throw reader.failure(node.origin, path, "expected \(expecting), found \(node.shapeDescription).")
        }
        switch word {
        case "default":
            reader.record(path, word, node.origin)
            return .default
        case "unconfined":
            reader.record(path, word, node.origin)
            return .unconfined
        default:
            let file = locate(word, origin: node.origin)
            let document = try read(file, origin: node.origin, path: path, reader)
            reader.record(path, file, node.origin)
            return .file(path: file, document: document)
        }
    }

    /// An absolute path as it is; a relative one beside the profile file that wrote it (or the
    /// current directory for a value from the command line).
    static func locate(_ text: String, origin: ProfileOrigin) -> String {
        guard !text.hasPrefix("/"), let profileFile = origin.file else { return text }
        let directory = (profileFile as NSString).deletingLastPathComponent
        return directory.isEmpty ? text : directory + "/" + text
    }

    static func read(_ file: String, origin: ProfileOrigin, path: ProfileKeyPath,
                     _ reader: ProfileReader) throws(PartitionError) -> SeccompDocument {
        let text: String
        do {
            text = try ProfileFile.readText(file)
        } catch {
            let why = error.code == .notFound ? "does not exist" : error.message
            throw reader.failure(origin, path, "the seccomp file \(ProfileRules.quoted(file)) \(why.hasSuffix(".") ? why : why + ".")")
        }
        do {
            return try JSONDecoder().decode(SeccompDocument.self, from: Data(text.utf8))
        } catch {
            throw reader.failure(origin, path, "the seccomp file \(ProfileRules.quoted(file)) is not a valid OCI seccomp document: \(describe(error)).")
        }
    }

    /// One line: where in the document, and what is wrong.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "not valid JSON" }
        func at(_ context: DecodingError.Context) -> String {
            let place = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
            let trimmed = place.hasPrefix(".") ? String(place.dropFirst()) : place
            return trimmed.isEmpty ? "at the top" : "at \(trimmed)"
        }
        switch error {
        case .typeMismatch(let type, let context): return "\(at(context)): expected \(typeName(type))"
        case .valueNotFound(let type, let context): return "\(at(context)): expected \(typeName(type))"
        case .keyNotFound(let key, let context): return "\(at(context)): the key '\(key.stringValue)' is missing"
        case .dataCorrupted(let context):
            if context.underlyingError != nil || context.codingPath.isEmpty && context.debugDescription.contains("JSON") {
                return "not valid JSON"
            }
            return "\(at(context)): \(context.debugDescription)"
        @unknown default: return "invalid"
        }
    }

    static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "text"
        case is UInt32.Type, is UInt64.Type: return "a non-negative integer"
        case is [String].Type: return "a list of text"
        default: return "\(type)".hasPrefix("Array") ? "a list" : "an object"
        }
    }
}
