import Foundation
import Yams
import PartitionModel

/// One profile file, read from disk and parsed into a tree whose nodes carry the file and line.
struct ProfileFile: Sendable {
    /// The profile's name: the file name without `.yaml`/`.yml`.
    let name: String
    /// The path as the user or the search path spelled it; used in messages.
    let path: String
    /// The canonical path, to tell two spellings of one file apart from two files (cycle detection).
    let identity: String
    let root: ProfileNode

    /// Profiles are small; anything larger is a mistake or an attack on the parser.
    static let maxBytes = 256 << 10
    /// Aliases can make a small file expand into a huge tree; profiles need a few hundred nodes.
    static let maxNodes = 20_000
    /// A profile nests four levels deep at most; the limit leaves room for mistakes to be reported.
    static let maxDepth = 32

    static func load(path: String, name: String) throws(PartitionError) -> ProfileFile {
        let text = try readText(path)
        let root = try parse(yaml: text, name: name, file: path)
        return ProfileFile(name: name, path: path, identity: canonicalPath(path), root: root)
    }

    /// The profile name a file stands for: `profiles/lpar-base.yaml` -> `lpar-base`.
    static func profileName(forFile path: String) -> String {
        var base = Substring(path.split(separator: "/").last ?? Substring(path))
        for suffix in [".yaml", ".yml"] where base.hasSuffix(suffix) {
            base = base.dropLast(suffix.count)
            break
        }
        return String(base)
    }

    static func canonicalPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Linux's O_PATH (the same on every architecture partctl builds for), which Glibc's module
    /// leaves out without _GNU_SOURCE.
    static let openPathOnly: Int32 = 0o10_000_000

    /// Reads a regular file of bounded size. The path is opened with O_PATH, which opens nothing for
    /// reading, checked with fstat, and only a regular file is then opened for reading, through its
    /// descriptor: what is checked is what is read, and a device or FIFO named by a hostile profile
    /// (`extends: /dev/watchdog`) is never opened, since opening one can act by itself.
    static func readText(_ path: String) throws(PartitionError) -> String {
        let pathFD = open(path, ProfileFile.openPathOnly | O_CLOEXEC)
        if pathFD < 0 {
            let code = errno
            if code == ENOENT || code == ENOTDIR {
                throw PartitionError(.notFound, "The profile file \(ProfileRules.quoted(path)) does not exist.")
            }
            throw PartitionError(.system, "\(path): cannot be opened: \(String(cString: strerror(code))).")
        }
        defer { close(pathFD) }
        var info = stat()
        guard fstat(pathFD, &info) == 0 else {
            throw PartitionError(.system, "\(path): cannot be examined: \(String(cString: strerror(errno))).")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw PartitionError(.invalidProfile, "\(path): is not a regular file.")
        }
        guard info.st_size <= maxBytes else {
            throw PartitionError(.invalidProfile, "\(path): is \(info.st_size) bytes long; a profile may have at most \(maxBytes).")
        }
        // The magic link reopens the very file checked above, whatever its path now leads to.
        let fd = open("/proc/self/fd/\(pathFD)", O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            throw PartitionError(.system, "\(path): cannot be opened: \(String(cString: strerror(errno))).")
        }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size) + 1)
        var count = 0
        while count < bytes.count {
            let got = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
            if got < 0 {
                if errno == EINTR { continue }
                throw PartitionError(.system, "\(path): cannot be read: \(String(cString: strerror(errno))).")
            }
            if got == 0 { break }
            count += got
        }
        guard count <= maxBytes else {
            throw PartitionError(.invalidProfile, "\(path): is longer than \(maxBytes) bytes; a profile may have at most that.")
        }
        guard let text = String(validating: bytes[..<count], as: UTF8.self) else {
            throw PartitionError(.invalidProfile, "\(path): is not UTF-8 text.")
        }
        return text
    }

    /// Parses YAML text into a profile tree; the top level must be a mapping.
    static func parse(yaml: String, name: String, file: String) throws(PartitionError) -> ProfileNode {
        if let line = ProfileKeyScan.firstComplexKeyLine(in: yaml) {
            throw PartitionError(.invalidProfile, "\(file):\(line): a key must be a plain name like 'memory', not an alias, a list or a mapping.")
        }
        let node: Node?
        do {
            // Startup cost: scalars are read as text (null is recognised in Converter), so Yams' tag rules
            // are not needed and `.basic` skips compiling their ICU regexes; an explicit encoding skips the
            // environment lookup behind `Encoding.default` (Swift strings are UTF-8).
            node = try Parser(yaml: yaml, resolver: .basic, encoding: .utf8).singleRoot()
        } catch let error as YamlError {
            throw PartitionError(.invalidProfile, "\(file)\(describe(error))")
        } catch {
            throw PartitionError(.invalidProfile, "\(file): cannot be read as YAML: \(oneLine("\(error)")).")
        }
        guard let node else {
            throw PartitionError(.invalidProfile, "\(file): is empty; a profile is a YAML mapping, starting with 'kind: lpar' or 'kind: wpar'.")
        }
        var converter = Converter(name: name, file: file)
        let root = try converter.convert(node, depth: 0)
        guard root.entries != nil else {
            throw PartitionError(.invalidProfile,
                "\(file):\(node.mark?.line ?? 1): the profile must be a mapping of keys to values (like 'kind: lpar'), but it is \(root.shapeDescription).")
        }
        return root
    }

    /// ":line:column: problem" from Yams' error, on one line.
    private static func describe(_ error: YamlError) -> String {
        func located(_ mark: Mark, _ problem: String, _ context: YamlError.Context?) -> String {
            var text = ":\(mark.line):\(mark.column): malformed YAML: \(oneLine(problem))"
            if let context {
                text += " (\(oneLine(context.text)) at line \(context.mark.line), column \(context.mark.column))"
            }
            return text + "."
        }
        switch error {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            return located(mark, problem, context)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { ProfileRules.quoted($0) }.joined(separator: ", ")
            return ":\(context.mark.line): the key \(keys) appears more than once in one mapping."
        case .reader(let problem, let offset, _, let yaml):
            if let offset {
                let prefix = yaml.prefix(offset)
                let line = prefix.reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
                return ":\(line): unreadable text: \(oneLine(problem))."
            }
            return ": unreadable text: \(oneLine(problem))."
        default:
            return ": cannot be read as YAML: \(oneLine(error.description))."
        }
    }

    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingSpaces }.joined(separator: " ")
    }

    /// Turns Yams' nodes into profile nodes, counting nodes and depth so that aliases and nesting stay bounded.
    private struct Converter {
        let name: String
        let file: String
        var count = 0

        init(name: String, file: String) {
            self.name = name
            self.file = file
        }

        func origin(_ mark: Mark?) -> ProfileOrigin {
            ProfileOrigin(.profile(name: name, file: file), line: mark?.line)
        }

        mutating func convert(_ node: Node, depth: Int) throws(PartitionError) -> ProfileNode {
            count += 1
            if count > ProfileFile.maxNodes {
                throw PartitionError(.invalidProfile, "\(file): has more than \(ProfileFile.maxNodes) values (through aliases?); a profile needs far fewer.")
            }
            if depth > ProfileFile.maxDepth {
                throw PartitionError(.invalidProfile, "\(file):\(node.mark?.line ?? 1): nests deeper than \(ProfileFile.maxDepth) levels.")
            }
            switch node {
            case .scalar(let scalar):
                let isNull = scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
                return ProfileNode(isNull ? .null : .scalar(scalar.string), origin: origin(scalar.mark))
            case .sequence(let sequence):
                var items: [ProfileNode] = []
                for item in sequence {
                    items.append(try convert(item, depth: depth + 1))
                }
                return ProfileNode(.sequence(items), origin: origin(sequence.mark))
            case .mapping(let mapping):
                var entries: [ProfileEntry] = []
                for (key, value) in mapping {
                    guard case .scalar(let keyScalar) = key, !keyScalar.string.isEmpty else {
                        throw PartitionError(.invalidProfile,
                            "\(file):\(key.mark?.line ?? mapping.mark?.line ?? 1): a key must be a plain name like 'memory', not a list, a mapping or nothing.")
                    }
                    entries.append(ProfileEntry(key: keyScalar.string, keyLine: keyScalar.mark?.line,
                                                value: try convert(value, depth: depth + 1)))
                }
                return ProfileNode(.mapping(entries), origin: origin(mapping.mark))
            case .alias(let alias):
                // The parser resolves aliases itself; an unresolved one is an error in the file.
                throw PartitionError(.invalidProfile, "\(file):\(alias.mark?.line ?? 1): the alias '\(alias.anchor.rawValue)' is not defined.")
            }
        }
    }
}
