import Glibc
import PartitionModel
import SystemKit

/// Where partctl keeps its state (DESIGN §5):
/// - `root` (default `/run/partctl`, env `PARTCTL_RUNTIME_ROOT`): runtime state of running partitions,
///   lock files, console sockets. Mode 0700, and so is everything below it: only root may open a
///   lock or a console.
/// - `definitions` (default `/var/lib/partctl`, env `PARTCTL_ROOT`): definitions, which outlive a
///   reboot, and each WPAR's writable layer. Mode 0711: other users may pass through it (libvirt's
///   unprivileged QEMU opens the guest image's kernel below `images/`) but not list it. `wpars/` is
///   0711 too (a WPAR with a user namespace mounts its layers as its mapped root, an unprivileged
///   host user, who must pass through to its own directory); each WPAR's directory is 0700, so no
///   other host user reaches a file a WPAR wrote (setuid or not).
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

    /// `<definitions>/wpars`: the WPARs' definitions and writable layers.
    public var wparDefinitions: String { "\(definitions)/wpars" }

    /// Creates the state directories (parents included) with their modes, and tightens any that an
    /// older version or an admin left more open (see StateDirectory).
    public func createDirectories() throws(PartitionError) {
        try StateDirectory.ensure(root, mode: 0o700, followingSymlink: true)
        try StateDirectory.ensure(locks, mode: 0o700)
        try StateDirectory.ensure("\(root)/wpar", mode: 0o700)
        try StateDirectory.ensure(definitions, mode: 0o711, followingSymlink: true)
        try StateDirectory.ensure(wparDefinitions, mode: 0o711)
    }
}
