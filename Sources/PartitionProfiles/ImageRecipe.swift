import PartitionModel
import Yams

/// A build recipe of an image (images/<name>.yaml), as `partctl image build NAME` reads it. Only the
/// keys below; every value is checked here, since they reach a shell script, GRUB's configuration
/// and the kernel's command line.
public struct ImageRecipe: Sendable, Equatable {
    public var name: String
    /// The recipe file, for messages and for the build's cache key.
    public var file: String
    public var text: String
    /// The builder that makes it: only "debian" (mmdebstrap) for now.
    public var builder: String
    public var suite: String
    /// "host" (the Debian archive apt uses on this host) or an http(s) URI of a Debian mirror.
    public var mirror: String
    public var components: [String]
    public var packages: [String]
    /// Whether the partagent package is installed into the tree.
    public var agent: Bool
    public var diskSize: ByteSize
    public var firmware: [String]
    public var cmdline: String

    static let keys: Set<String> = ["builder", "suite", "mirror", "components", "packages", "agent", "disk", "cmdline"]
    static let diskKeys: Set<String> = ["size", "firmware"]
    public static let minimumDisk = ByteSize.mebibytes(1024)
    public static let maximumDisk = ByteSize.mebibytes(64 << 10)

    /// Reads and checks `path`; `name` is the image's name (the file's without `.yaml`).
    public static func load(path: String, name: String) throws(PartitionError) -> ImageRecipe {
        let text = try ProfileFile.readText(path)
        return try parse(text, name: name, file: path)
    }

    public static func parse(_ text: String, name: String, file: String) throws(PartitionError) -> ImageRecipe {
        let root: Node?
        do {
            root = try Parser(yaml: text, resolver: .basic, encoding: .utf8).singleRoot()
        } catch {
            throw PartitionError(.invalidArgument, "\(file): cannot be read as YAML: \(ProfileFile.oneLine("\(error)")).")
        }
        guard let mapping = root?.mapping else {
            throw PartitionError(.invalidArgument, "\(file): a recipe is a YAML mapping starting with 'builder: debian'.")
        }
        var values: [String: Node] = [:]
        for (key, value) in mapping {
            guard let key = key.scalar?.string, keys.contains(key) else {
                throw PartitionError(.invalidArgument, "\(file):\(line(key)): unknown key; a recipe has \(keys.sorted().joined(separator: ", ")).")
            }
            values[key] = value
        }
        func scalar(_ key: String, _ node: Node?, pattern: (String) -> Bool, expected: String) throws(PartitionError) -> String {
            guard let node else { throw PartitionError(.invalidArgument, "\(file): '\(key)' is missing; expected \(expected).") }
            guard let value = node.scalar?.string, pattern(value) else {
                throw PartitionError(.invalidArgument, "\(file):\(line(node)): '\(key)' must be \(expected).")
            }
            return value
        }
        func list(_ key: String, _ node: Node?, pattern: (String) -> Bool, expected: String) throws(PartitionError) -> [String] {
            guard let node else { throw PartitionError(.invalidArgument, "\(file): '\(key)' is missing; expected a list of \(expected).") }
            guard let items = node.sequence, !items.isEmpty else {
                throw PartitionError(.invalidArgument, "\(file):\(line(node)): '\(key)' must be a list of \(expected).")
            }
            var result: [String] = []
            for item in items {
                guard let value = item.scalar?.string, pattern(value) else {
                    throw PartitionError(.invalidArgument, "\(file):\(line(item)): an item of '\(key)' must be \(expected).")
                }
                result.append(value)
            }
            return result
        }
        let builder = try scalar("builder", values["builder"], pattern: { $0 == "debian" }, expected: "debian")
        let suite = try scalar("suite", values["suite"], pattern: { isWord($0, extra: "-") }, expected: "a Debian suite such as bookworm")
        let mirror = try scalar("mirror", values["mirror"] ?? Node("host"), pattern: isMirror,
                                expected: "host or an http(s) URI of a Debian mirror")
        let components = try list("components", values["components"] ?? Node([Node("main")]), pattern: { isWord($0, extra: "-") },
                                  expected: "archive components such as main")
        let packages = try list("packages", values["packages"], pattern: isPackageName, expected: "Debian package names")
        let agentText = try scalar("agent", values["agent"] ?? Node("true"), pattern: { $0 == "true" || $0 == "false" },
                                   expected: "true or false")
        guard let disk = values["disk"]?.mapping else {
            throw PartitionError(.invalidArgument, "\(file): 'disk' must be a mapping with size and firmware.")
        }
        var diskValues: [String: Node] = [:]
        for (key, value) in disk {
            guard let key = key.scalar?.string, diskKeys.contains(key) else {
                throw PartitionError(.invalidArgument, "\(file):\(line(key)): unknown key under disk; it has size and firmware.")
            }
            diskValues[key] = value
        }
        let sizeText = try scalar("disk.size", diskValues["size"], pattern: { !$0.isEmpty }, expected: "a size such as 4GiB")
        let size: ByteSize
        do { size = try ByteSize(parsing: sizeText) } catch {
            throw PartitionError(.invalidArgument, "\(file):\(line(diskValues["size"]!)): 'disk.size' must be a size such as 4GiB.")
        }
        guard size >= minimumDisk, size <= maximumDisk, size.bytes % (1 << 20) == 0 else {
            throw PartitionError(.invalidArgument, "\(file):\(line(diskValues["size"]!)): 'disk.size' must be whole MiB from 1GiB to 64GiB.")
        }
        let firmware = try list("disk.firmware", diskValues["firmware"], pattern: { $0 == "bios" || $0 == "uefi" }, expected: "bios or uefi")
        let cmdline = try scalar("cmdline", values["cmdline"] ?? Node(""), pattern: isCommandLine,
                                 expected: "kernel parameters of letters, digits, spaces and , . _ = : / + -")
        return ImageRecipe(name: name, file: file, text: text, builder: builder, suite: suite, mirror: mirror,
                           components: components, packages: packages, agent: agentText == "true", diskSize: size,
                           firmware: Array(Set(firmware)).sorted(), cmdline: cmdline)
    }

    static func line(_ node: Node) -> Int { (node.mark?.line).map { $0 } ?? 1 }

    static func isWord(_ text: String, extra: String) -> Bool {
        !text.isEmpty && text.count <= 64 && text.unicodeScalars.allSatisfy {
            ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9") || extra.unicodeScalars.contains($0)
        }
    }

    /// Debian policy: lower case letters, digits, + - . ; at least two, starting with a letter or digit.
    static func isPackageName(_ text: String) -> Bool {
        guard text.count >= 2, let first = text.unicodeScalars.first, (first >= "a" && first <= "z") || (first >= "0" && first <= "9") else {
            return false
        }
        return isWord(text, extra: "+-.")
    }

    static func isMirror(_ text: String) -> Bool {
        if text == "host" { return true }
        guard text.hasPrefix("http://") || text.hasPrefix("https://"), text.count <= 200 else { return false }
        return text.unicodeScalars.allSatisfy {
            ($0 >= "a" && $0 <= "z") || ($0 >= "A" && $0 <= "Z") || ($0 >= "0" && $0 <= "9") || "-._~:/%".unicodeScalars.contains($0)
        }
    }

    static func isCommandLine(_ text: String) -> Bool {
        text.count <= 512 && text.unicodeScalars.allSatisfy {
            ($0 >= "a" && $0 <= "z") || ($0 >= "A" && $0 <= "Z") || ($0 >= "0" && $0 <= "9") || " ,._=:/+-".unicodeScalars.contains($0)
        }
    }
}
