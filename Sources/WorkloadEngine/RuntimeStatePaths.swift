import Glibc
import PartitionModel

/// Where partctl keeps its state (DESIGN §5):
/// - `root` (default `/run/partctl`, env `PARTCTL_RUNTIME_ROOT`): runtime state of running partitions,
///   lock files, console sockets. Mode 0700: only root may open a lock or a console.
/// - `definitions` (default `/var/lib/partctl`, env `PARTCTL_ROOT`): definitions, which outlive a
///   reboot. Mode 0755: configuration, readable like /etc.
///
/// `/run` is not necessarily a tmpfs (it is not on these machines), so runtime state can outlive a
/// reboot; records carry the boot id (`BootID`) to tell.
public struct RuntimePaths: Sendable, Hashable {
    public static let defaultRoot = "/run/partctl"
    public static let defaultDefinitions = "/var/lib/partctl"
    public static let rootVariable = "PARTCTL_RUNTIME_ROOT"
    public static let definitionsVariable = "PARTCTL_ROOT"

    public var root: String
    public var definitions: String

    public init(root: String = RuntimePaths.defaultRoot, definitions: String = RuntimePaths.defaultDefinitions) {
        self.root = root
        self.definitions = definitions
    }

    /// The paths the environment asks for (tests point both at temporary directories).
    public static func fromEnvironment() -> RuntimePaths {
        func variable(_ name: String) -> String? {
            guard let value = getenv(name).map({ String(cString: $0) }), !value.isEmpty else { return nil }
            return value
        }
        return RuntimePaths(root: variable(rootVariable) ?? defaultRoot,
                            definitions: variable(definitionsVariable) ?? defaultDefinitions)
    }

    /// `<root>/locks`: lock files live apart from the runtime directories so that removing a
    /// partition's runtime directory never pulls a lock file from under a waiting command.
    public var locks: String { "\(root)/locks" }

    public func lockFile(for name: PartitionName) -> String { "\(locks)/\(name.rawValue).lock" }

    /// `<root>/wpar/<name>`: runtime state of one running WPAR.
    public func runtimeDirectory(for name: PartitionName) -> String { "\(root)/wpar/\(name.rawValue)" }

    /// Creates the directories (parents included) with their modes; existing ones are left as they are.
    public func createDirectories() throws(PartitionError) {
        try Self.makeDirectory(root, mode: 0o700)
        try Self.makeDirectory(locks, mode: 0o700)
        try Self.makeDirectory("\(root)/wpar", mode: 0o700)
        try Self.makeDirectory(definitions, mode: 0o755)
    }

    /// Creates `path` and any missing parents (parents get 0755). An existing directory is fine.
    public static func makeDirectory(_ path: String, mode: mode_t) throws(PartitionError) {
        if mkdir(path, mode) == 0 {
            chmod(path, mode)  // the umask must not narrow it
            return
        }
        switch errno {
        case EEXIST:
            var status = stat()
            if stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR { return }
            throw PartitionError(.invalidState, "\(path) exists but is not a directory.")
        case ENOENT:
            guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else {
                throw SystemCall.failure("create the directory \(path)")
            }
            try makeDirectory(String(path[..<slash]), mode: 0o755)
            try makeDirectory(path, mode: mode)
        default:
            throw SystemCall.failure("create the directory \(path)")
        }
    }
}
