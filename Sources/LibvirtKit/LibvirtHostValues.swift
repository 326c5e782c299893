import CLibvirt

/// A libvirt version number, which libvirt encodes as major * 1,000,000 + minor * 1,000 + release.
public struct LibvirtVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var major: UInt64
    public var minor: UInt64
    public var release: UInt64

    public init(major: UInt64, minor: UInt64, release: UInt64) {
        self.major = major
        self.minor = minor
        self.release = release
    }

    init(encoded: UInt64) {
        self.init(major: encoded / 1_000_000, minor: encoded / 1_000 % 1_000, release: encoded % 1_000)
    }

    public var description: String { "\(major).\(minor).\(release)" }

    public static func < (lhs: LibvirtVersion, rhs: LibvirtVersion) -> Bool {
        (lhs.major, lhs.minor, lhs.release) < (rhs.major, rhs.minor, rhs.release)
    }
}

/// The host as libvirt describes it (virNodeInfo).
public struct LibvirtNodeInfo: Sendable, Equatable {
    /// CPU model, e.g. "x86_64".
    public var model: String
    public var memoryKiB: UInt64
    /// Active CPUs.
    public var cpus: UInt32
    public var mhz: UInt32
    public var numaNodes: UInt32
    public var socketsPerNode: UInt32
    public var coresPerSocket: UInt32
    public var threadsPerCore: UInt32

    init(_ info: virNodeInfo) {
        model = stringFromCharArray(info.model)
        memoryKiB = UInt64(info.memory)
        cpus = info.cpus
        mhz = info.mhz
        numaNodes = info.nodes
        socketsPerNode = info.sockets
        coresPerSocket = info.cores
        threadsPerCore = info.threads
    }
}
