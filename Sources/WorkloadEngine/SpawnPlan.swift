import CSpawn

/// The flat setup plan the C child executes between clone and execve (CSpawn), in the manner of
/// bubblewrap's SetupOp list: Swift decides everything here, the child only walks the steps.
///
/// Build one from a spec with `SpawnPlan(spec:host:)`, which validates the spec first.
public struct SpawnPlan: Sendable, Hashable {
    public struct MountAttributes: OptionSet, Sendable, Hashable {
        public let rawValue: UInt64
        public init(rawValue: UInt64) { self.rawValue = rawValue }
        // The kernel's MOUNT_ATTR_* values (see cspawn_plan.h).
        public static let readOnly = MountAttributes(rawValue: 0x01)
        public static let noSetuid = MountAttributes(rawValue: 0x02)
        public static let noDevices = MountAttributes(rawValue: 0x04)
        public static let noExec = MountAttributes(rawValue: 0x08)
        public static let strictAtime = MountAttributes(rawValue: 0x20)
    }

    public struct FilesystemOption: Sendable, Hashable {
        public var key: String
        /// nil for a flag.
        public var value: String?
        /// `value` is a host directory (an overlay layer) that the child opens before anything
        /// moves and gives the kernel by descriptor, never as text (cspawn_plan.h).
        public var hostDirectory = false
        public init(_ key: String, _ value: String? = nil) {
            self.key = key
            self.value = value
        }

        public static func hostDirectory(_ key: String, _ path: String) -> FilesystemOption {
            var option = FilesystemOption(key, path)
            option.hostDirectory = true
            return option
        }
    }

    /// A host object's st_dev and st_ino as the host-path rules checked it.
    public struct Identity: Sendable, Hashable {
        public var device: UInt64
        public var inode: UInt64
        public init(device: UInt64, inode: UInt64) {
            self.device = device
            self.inode = inode
        }
    }

    public enum Operation: Sendable, Hashable {
        /// A host tree, cloned recursively, becomes the new root.
        case rootTree(source: String, attributes: MountAttributes)
        /// A new file system (an overlay) becomes the new root.
        case rootFilesystem(type: String, options: [FilesystemOption], attributes: MountAttributes)
        case bind(source: String, target: String, attributes: MountAttributes, recursive: Bool, characterDevice: Bool)
        case filesystem(type: String, target: String, options: [FilesystemOption], attributes: MountAttributes)
        case symlink(target: String, linkText: String)
        /// Hidden: /dev/null over a file, an empty read-only tmpfs over a directory; skipped if missing.
        case mask(target: String)
        /// Bound over itself read-only; skipped if missing.
        case readOnly(target: String)
        /// Passed tree `passed` (see `passedTrees`) hung at `name` on a scratch tmpfs over the stage:
        /// a layer of an overlay root, whose options name it as "<stage>/<name>".
        case layer(passed: Int, name: String)
        /// Passed tree `passed` bound on target.
        case bindPassed(passed: Int, target: String)
        /// Passed tree `passed` becomes the new root.
        case rootPassed(passed: Int)
    }

    /// A host tree the parent opens (no symlink followed), clones and, with a user namespace,
    /// idmaps to it, then passes to the child with its release: only the host may idmap a mount.
    public struct PassedTree: Sendable, Hashable {
        public var source: String
        public var recursive: Bool
        /// Idmapped to the WPAR's user namespace (where the file system allows): host owners show
        /// inside as they are on the host.
        public var idmap: Bool
        /// Set by the parent: the child cannot change a mount its user namespace does not own.
        public var attributes: MountAttributes
        /// What the host-path rules saw at `source` (from `hostIdentities`); the parent refuses to
        /// pass another object. Nil where nothing was checked (the upper layer's parent, made by partctl).
        public var identity: Identity?
    }

    public struct Step: Sendable, Hashable {
        /// Shown when the step fails: "mount /proc".
        public var name: String
        public var operation: Operation
    }

    public struct Namespaces: OptionSet, Sendable, Hashable {
        public let rawValue: UInt64
        public init(rawValue: UInt64) { self.rawValue = rawValue }
        public static let mount = Namespaces(rawValue: UInt64(CSPAWN_NS_MOUNT.rawValue))
        public static let pid = Namespaces(rawValue: UInt64(CSPAWN_NS_PID.rawValue))
        public static let uts = Namespaces(rawValue: UInt64(CSPAWN_NS_UTS.rawValue))
        public static let ipc = Namespaces(rawValue: UInt64(CSPAWN_NS_IPC.rawValue))
        public static let network = Namespaces(rawValue: UInt64(CSPAWN_NS_NET.rawValue))
        public static let cgroup = Namespaces(rawValue: UInt64(CSPAWN_NS_CGROUP.rawValue))
        public static let user = Namespaces(rawValue: UInt64(CSPAWN_NS_USER.rawValue))
        /// What every WPAR gets (DESIGN §5); `user` is added where the spec asks.
        public static let workload: Namespaces = [.mount, .pid, .uts, .ipc, .network, .cgroup]
    }

    /// The process part, shared with `exec` into a running WPAR.
    public struct Process: Sendable, Hashable {
        public var arguments: [String]
        public var environment: [String]
        public var workingDirectory: String
        public var capabilities: CapabilitySet
        /// Name of the fresh session keyring the process joins ("_ses.<name>", as runc).
        public var keyring: String?
        public var openFileLimit: UInt64
        /// Installed just before execve; nil runs unconfined.
        public var seccomp: SeccompProgram?
        /// A host program executed instead of `arguments[0]` (the minimal init, which then runs
        /// the command): opened before the root moves, never looked up inside the WPAR.
        public var hostProgram: HostProgram?
        /// The IDs the process takes before the capabilities are set; nil stays root.
        public var user: WorkloadUser?
    }

    /// A host executable with the identity it was checked to have.
    public struct HostProgram: Sendable, Hashable {
        public var path: String
        public var identity: Identity
    }

    public var namespaces: Namespaces
    public var steps: [Step]
    public var hostname: String?
    public var process: Process
    public var userNamespace: UserNamespaceMapping?
    /// Trees the parent passes with the release (see `PassedTree`), indexed by the ops that use them.
    public var passedTrees: [PassedTree] = []
    /// Host directory the new root is attached to while it is assembled, inside the child's private
    /// mount namespace only.
    public var stage: String
    /// The identity each host path (root tree, bind source, overlay layer) had when it was checked;
    /// the child refuses to mount a path that has become another object since.
    public var hostIdentities: [String: Identity] = [:]

    /// Adds the console: the pseudo-terminal's slave bound over /dev/console (the init's stdio is the
    /// same terminal), placed right after the rest of /dev.
    public mutating func addConsole(slavePath: String) {
        let step = Step(name: "bind the console", operation: .bind(source: slavePath, target: "/dev/console",
                                                                   attributes: [], recursive: false, characterDevice: true))
        let afterDevices = steps.lastIndex { $0.name.hasPrefix("symlink /dev/") }.map { $0 + 1 } ?? steps.count
        steps.insert(step, at: afterDevices)
    }
}
