import PartitionModel
import WorkloadEngine

/// The closed set of operations an agent answers (protocol version `AgentWire.protocolVersion`).
/// A frame naming anything else is refused.
public enum AgentOperation: String, Sendable, Hashable, CaseIterable, Codable {
    case hello
    case sync
    case wparDefine = "wpar.define"
    case wparActivate = "wpar.activate"
    case wparShutdown = "wpar.shutdown"
    case wparForce = "wpar.force"
    case wparRemove = "wpar.remove"
    case wparStatus = "wpar.status"
    case wparStatuses = "wpar.statuses"
    case wparModify = "wpar.modify"
    case wparExec = "wpar.exec"
    case wparList = "wpar.list"
    case wparAttach = "wpar.attach"
    /// A session with a command in the guest itself, outside every WPAR (`login LPAR`). Agents
    /// before it answer "not part of protocol version 4" (`Agent.SystemAttach.explainRefusal`).
    case systemAttach = "system.attach"
    /// The guest's own global addresses (newer agents; older ones refuse it as unknown, which the
    /// host takes as "none": the protocol version stays).
    case systemAddresses = "system.addresses"
    /// The guest side of the host's forwards to nested WPARs (`Agent.NetworkForwards`); older
    /// agents refuse the name, which the host explains ("rebuild the guest image").
    case networkForwards = "network.forwards"
    /// Relocation of nested WPARs (`AgentMobility.swift`); older agents refuse the names
    /// (`Agent.explainMobilityRefusal`).
    case wparExport = "wpar.export"
    case wparImport = "wpar.import"
    case transferRead = "transfer.read"
    case transferWrite = "transfer.write"
    case transferDiscard = "transfer.discard"
    /// Snapshots (`Agent.Freeze`, `Agent.Thaw`, `Agent.Snapshot`, AgentSnapshot.swift); older
    /// agents refuse the names (`Agent.explainSnapshotRefusal`).
    case wparFreeze = "wpar.freeze"
    case wparThaw = "wpar.thaw"
    case wparSnapshot = "wpar.snapshot"
}

/// One operation's contract: what its request carries and what a successful reply carries. Both are
/// decoded strictly on receipt (`StrictJSON`).
public protocol AgentCall {
    associatedtype Arguments: Codable & Sendable
    associatedtype Result: Codable & Sendable
    static var operation: AgentOperation { get }
}

/// An empty object, for operations without arguments or without a result beyond success.
public struct AgentEmpty: Codable, Sendable, Hashable {
    public init() {}
}

/// A WPAR named by the request.
public struct AgentWparName: Codable, Sendable, Hashable {
    public var name: PartitionName
    public init(name: PartitionName) { self.name = name }
}

/// The operations, one type each; `AgentClient.call(_:_:)` and the agent's dispatcher pair them up.
public enum Agent {
    /// Version handshake: the host's protocol version in, the agent's facts out. A different
    /// protocol version is refused by the agent (and by the host).
    public enum Hello: AgentCall {
        public static let operation = AgentOperation.hello
        public struct Arguments: Codable, Sendable, Hashable {
            public var protocolVersion: Int
            public init(protocolVersion: Int = AgentWire.protocolVersion) { self.protocolVersion = protocolVersion }
        }
        public struct Result: Codable, Sendable, Hashable {
            public var agentVersion: String
            public var protocolVersion: Int
            /// The guest kernel's release (uname -r).
            public var kernel: String
            /// The cgroup layout the engine found: "v2", "hybrid" or "v1".
            public var cgroupLayout: String
            /// Controllers of the cgroup2 root, when there is one.
            public var cgroupControllers: [String]
            public init(agentVersion: String, protocolVersion: Int, kernel: String, cgroupLayout: String, cgroupControllers: [String]) {
                self.agentVersion = agentVersion
                self.protocolVersion = protocolVersion
                self.kernel = kernel
                self.cgroupLayout = cgroupLayout
                self.cgroupControllers = cgroupControllers
            }
        }
    }

    /// Echoes `token`: the host skips every reply before the echo of a fresh random token, which
    /// drops whatever stale bytes an earlier session left in the channel. The echo also says who
    /// answers, so commands need no `hello` round trip.
    public enum Sync: AgentCall {
        public static let operation = AgentOperation.sync
        public struct Arguments: Codable, Sendable, Hashable {
            public var token: String
            public init(token: String) { self.token = token }
        }
        public struct Result: Codable, Sendable, Hashable {
            public var token: String
            public var agentVersion: String
            public var protocolVersion: Int
            public init(token: String, agentVersion: String, protocolVersion: Int = AgentWire.protocolVersion) {
                self.token = token
                self.agentVersion = agentVersion
                self.protocolVersion = protocolVersion
            }
        }
    }

    /// Stores a WPAR definition: the engine's own `WorkloadSpec`, decoded as strictly as the frame.
    public enum Define: AgentCall {
        public static let operation = AgentOperation.wparDefine
        public struct Arguments: Codable, Sendable, Hashable {
            public var name: PartitionName
            public var spec: WorkloadSpec
            /// Replace an existing definition instead of refusing.
            public var replace: Bool
            public init(name: PartitionName, spec: WorkloadSpec, replace: Bool = false) {
                self.name = name
                self.spec = spec
                self.replace = replace
            }
        }
        public typealias Result = AgentEmpty
    }

    public enum Activate: AgentCall {
        public static let operation = AgentOperation.wparActivate
        public typealias Arguments = AgentWparName
        public typealias Result = AgentEmpty
    }

    /// Stops a WPAR: its stop signal, then after `within` seconds SIGKILL when `force`.
    public enum Shutdown: AgentCall {
        public static let operation = AgentOperation.wparShutdown
        public struct Arguments: Codable, Sendable, Hashable {
            public var name: PartitionName
            public var within: Double
            public var force: Bool
            public init(name: PartitionName, within: Double = 30, force: Bool = true) {
                self.name = name
                self.within = within
                self.force = force
            }
        }
        public typealias Result = AgentEmpty
    }

    /// Kills a WPAR at once.
    public enum Force: AgentCall {
        public static let operation = AgentOperation.wparForce
        public typealias Arguments = AgentWparName
        public typealias Result = AgentEmpty
    }

    public enum Remove: AgentCall {
        public static let operation = AgentOperation.wparRemove
        public struct Arguments: Codable, Sendable, Hashable {
            public var name: PartitionName
            /// Stop an active WPAR first instead of refusing.
            public var force: Bool
            public init(name: PartitionName, force: Bool = false) {
                self.name = name
                self.force = force
            }
        }
        public typealias Result = AgentEmpty
    }

    /// One WPAR's state, limits and usage: the engine's `WorkloadStatus` and `WorkloadUsage`.
    public struct WparReport: Codable, Sendable, Hashable {
        public var status: WorkloadStatus
        /// Nil while the WPAR is not active.
        public var usage: WorkloadUsage?
        public init(status: WorkloadStatus, usage: WorkloadUsage?) {
            self.status = status
            self.usage = usage
        }
    }

    public enum Status: AgentCall {
        public static let operation = AgentOperation.wparStatus
        public typealias Arguments = AgentWparName
        public typealias Result = WparReport
    }

    public enum Statuses: AgentCall {
        public static let operation = AgentOperation.wparStatuses
        public typealias Arguments = AgentEmpty
        public struct Result: Codable, Sendable, Hashable {
            public var wpars: [WparReport]
            public init(wpars: [WparReport]) { self.wpars = wpars }
        }
    }

    /// Changes limits (the engine's `WorkloadLimits`): `live` on the running WPAR, `persistent` in its definition.
    public enum Modify: AgentCall {
        public static let operation = AgentOperation.wparModify
        public struct Arguments: Codable, Sendable, Hashable {
            public var name: PartitionName
            public var limits: WorkloadLimits
            public var live: Bool
            public var persistent: Bool
            public init(name: PartitionName, limits: WorkloadLimits, live: Bool, persistent: Bool) {
                self.name = name
                self.limits = limits
                self.live = live
                self.persistent = persistent
            }
        }
        public typealias Result = AgentEmpty
    }

    /// Runs a command inside a running WPAR without a terminal, stdin from /dev/null, and returns its
    /// exit status with the first `AgentWire.outputLimit` bytes of stdout and of stderr.
    public enum Exec: AgentCall {
        public static let operation = AgentOperation.wparExec
        public struct Arguments: Codable, Sendable, Hashable {
            public var name: PartitionName
            public var argv: [String]
            /// The whole environment; nil means the WPAR's own.
            public var environment: [String]?
            public var workingDirectory: String?
            public init(name: PartitionName, argv: [String], environment: [String]? = nil, workingDirectory: String? = nil) {
                self.name = name
                self.argv = argv
                self.environment = environment
                self.workingDirectory = workingDirectory
            }
        }
        public struct Result: Codable, Sendable, Hashable {
            /// The exit code, or 128 + the signal that killed it.
            public var exitStatus: Int32
            /// Output as UTF-8 (invalid sequences replaced).
            public var stdout: String
            public var stderr: String
            /// Whether more output was produced than returned.
            public var stdoutTruncated: Bool
            public var stderrTruncated: Bool
            public init(exitStatus: Int32, stdout: String, stderr: String, stdoutTruncated: Bool, stderrTruncated: Bool) {
                self.exitStatus = exitStatus
                self.stdout = stdout
                self.stderr = stderr
                self.stdoutTruncated = stdoutTruncated
                self.stderrTruncated = stderrTruncated
            }
        }
    }

    /// Starts a session on the channel (see `AgentSessionFrame`): a command in a running WPAR with
    /// its stdio streamed both ways (`login`, through a pseudo-terminal inside the WPAR when
    /// `terminal`), or the WPAR's console (`console`). The reply comes before the first session frame.
    public enum Attach: AgentCall {
        public static let operation = AgentOperation.wparAttach
        public enum Mode: String, Codable, Sendable, Hashable {
            case login
            case console
        }
        public struct Arguments: Codable, Sendable, Hashable {
            public var name: PartitionName
            public var mode: Mode
            /// The command of a login; ignored for the console.
            public var argv: [String]
            public var terminal: Bool
            /// The size of the host's terminal, which the login's terminal inside the WPAR starts
            /// with (protocol 3); nil without one.
            public var rows: UInt16?
            public var columns: UInt16?
            public init(name: PartitionName, mode: Mode, argv: [String] = [], terminal: Bool = false,
                        rows: UInt16? = nil, columns: UInt16? = nil) {
                self.name = name
                self.mode = mode
                self.argv = argv
                self.terminal = terminal
                self.rows = rows
                self.columns = columns
            }
        }
        public typealias Result = AgentEmpty
    }

    /// The names of every defined WPAR.
    /// The guest's global addresses (loopback and link-local left out), for `query`'s `ip` field.
    public enum Addresses: AgentCall {
        public static let operation = AgentOperation.systemAddresses
        public typealias Arguments = AgentEmpty
        public struct Result: Codable, Sendable, Hashable {
            public var addresses: [String]
            public init(addresses: [String]) { self.addresses = addresses }
        }
    }

    public enum List: AgentCall {
        public static let operation = AgentOperation.wparList
        public typealias Arguments = AgentEmpty
        public struct Result: Codable, Sendable, Hashable {
            public var names: [PartitionName]
            public init(names: [PartitionName]) { self.names = names }
        }
    }
}
