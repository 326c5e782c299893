import CLibvirt
import Glibc
import PartitionModel

/// An open connection to a libvirt driver (`virConnectPtr`), closed when the last reference goes.
///
/// `@unchecked Sendable`: libvirt connections are thread-safe (every driver locks internally and the
/// remote client serialises its RPC calls), so one connection may be shared by many threads.
public final class LibvirtConnection: @unchecked Sendable {
    let pointer: OpaquePointer
    /// Whether the event loop was registered before this connection opened; streams need it.
    let supportsStreams: Bool

    private init(pointer: OpaquePointer, supportsStreams: Bool) {
        self.pointer = pointer
        self.supportsStreams = supportsStreams
    }

    deinit {
        virConnectClose(pointer)
    }

    /// Opens a connection (virConnectOpen, or virConnectOpenReadOnly).
    ///
    /// - Parameter uri: e.g. `qemu:///system` or `test:///default`; nil lets libvirt choose its default.
    /// - Throws: `.unavailable` when the daemon cannot be reached, with the URI and how to start it;
    ///   `.permissionDenied` when it refuses us; `.libvirt` (e.g. an unknown driver) otherwise.
    public static func open(uri: String?, readOnly: Bool = false) throws(PartitionError) -> LibvirtConnection {
        try open(uri: uri, readOnly: readOnly, supportsStreams: LibvirtEventLoop.isRunning)
    }

    /// `supportsStreams` says whether libvirt's event loop was registered before this open.
    static func open(uri: String?, readOnly: Bool, supportsStreams: Bool) throws(PartitionError) -> LibvirtConnection {
        let result = LibvirtCall.result("virConnectOpen") {
            withOptionalCString(uri) { readOnly ? virConnectOpenReadOnly($0) : virConnectOpen($0) }
        }
        switch result {
        case .success(let pointer):
            if supportsStreams {
                // With the loop running, keepalive messages notice a dead daemon during a long
                // console or agent session (5 s interval, 3 missed). Local drivers have none; fine.
                _ = virConnectSetKeepAlive(pointer, 5, 3)
                virResetLastError()
            }
            return LibvirtConnection(pointer: pointer, supportsStreams: supportsStreams)
        case .failure(let info):
            throw openError(info, uri: uri)
        }
    }

    /// Turns a failed open into one line that names the URI and, for a local daemon, how to start it.
    static func openError(_ info: LibvirtErrorInfo, uri: String?) -> PartitionError {
        let shown = uri ?? "libvirt's default URI"
        let cause = String(info.message.dropLast(info.message.hasSuffix(".") ? 1 : 0))
        let unreachable = info.is(VIR_ERR_NO_CONNECT) || info.is(VIR_ERR_SYSTEM_ERROR) || info.is(VIR_ERR_RPC)
        guard unreachable else {
            var error = info.partitionError
            error.message = "Cannot connect to \(shown): \(info.message)"
            return error
        }
        if isLocalDaemon(uri) {
            return PartitionError(
                .unavailable,
                "libvirtd is not reachable at \(shown) (\(cause)). Start it with `make setup` or `libvirtd -d`."
            )
        }
        return PartitionError(.unavailable, "libvirt is not reachable at \(shown) (\(cause)).")
    }

    /// Whether the URI names a daemon on this machine (no host part), so starting libvirtd would help.
    static func isLocalDaemon(_ uri: String?) -> Bool {
        guard let uri else { return true }
        guard let schemeEnd = uri.firstRange(of: "://") else { return false }
        let scheme = uri[..<schemeEnd.lowerBound]
        guard scheme != "test" else { return false }
        let rest = uri[schemeEnd.upperBound...]
        return rest.first == "/"
    }

    // MARK: The connection and its host

    /// The URI libvirt actually connected to (virConnectGetURI).
    public func uri() throws(PartitionError) -> String {
        try LibvirtCall.string("virConnectGetURI") { virConnectGetURI(pointer) }
    }

    /// The hypervisor host's name (virConnectGetHostname).
    public func hostname() throws(PartitionError) -> String {
        try LibvirtCall.string("virConnectGetHostname") { virConnectGetHostname(pointer) }
    }

    /// The version of libvirt on the daemon's side (virConnectGetLibVersion).
    public func libVersion() throws(PartitionError) -> LibvirtVersion {
        var version: UInt = 0
        try LibvirtCall.run("virConnectGetLibVersion") { virConnectGetLibVersion(pointer, &version) }
        return LibvirtVersion(encoded: UInt64(version))
    }

    /// The hypervisor's version, e.g. QEMU 7.2.0 (virConnectGetVersion).
    public func hypervisorVersion() throws(PartitionError) -> LibvirtVersion {
        var version: UInt = 0
        try LibvirtCall.run("virConnectGetVersion") { virConnectGetVersion(pointer, &version) }
        return LibvirtVersion(encoded: UInt64(version))
    }

    /// CPUs and memory of the host (virNodeGetInfo).
    public func nodeInfo() throws(PartitionError) -> LibvirtNodeInfo {
        var info = virNodeInfo()
        try LibvirtCall.run("virNodeGetInfo") { virNodeGetInfo(pointer, &info) }
        return LibvirtNodeInfo(info)
    }

    /// Free memory of the host in bytes (virNodeGetFreeMemory).
    public func freeMemoryBytes() throws(PartitionError) -> UInt64 {
        LibvirtRuntime.ensureInitialized()
        let bytes = virNodeGetFreeMemory(pointer)
        // 0 is both "no free memory" and the error value; only an error sets the last error.
        if bytes == 0, let error = virGetLastError(), error.pointee.code != 0 {
            throw LibvirtErrorInfo.capture(after: "virNodeGetFreeMemory").partitionError
        }
        return UInt64(bytes)
    }

    /// The most vCPUs a domain of this virtualization type may have (virConnectGetMaxVcpus), e.g. "kvm".
    public func maxVcpus(type: String? = nil) throws(PartitionError) -> Int {
        Int(try LibvirtCall.run("virConnectGetMaxVcpus") {
            withOptionalCString(type) { virConnectGetMaxVcpus(pointer, $0) }
        })
    }

    /// The host's capabilities XML (virConnectGetCapabilities).
    public func capabilities() throws(PartitionError) -> String {
        try LibvirtCall.string("virConnectGetCapabilities") { virConnectGetCapabilities(pointer) }
    }

    /// What a domain of the given kind may use on this host (virConnectGetDomainCapabilities);
    /// nil arguments let libvirt choose.
    public func domainCapabilities(
        emulator: String? = nil, arch: String? = nil, machine: String? = nil, virtType: String? = nil
    ) throws(PartitionError) -> String {
        try LibvirtCall.string("virConnectGetDomainCapabilities") {
            withOptionalCString(emulator) { emulator in
                withOptionalCString(arch) { arch in
                    withOptionalCString(machine) { machine in
                        withOptionalCString(virtType) { virtType in
                            virConnectGetDomainCapabilities(pointer, emulator, arch, machine, virtType, 0)
                        }
                    }
                }
            }
        }
    }

    /// Whether the connection still works (virConnectIsAlive).
    public var isAlive: Bool { virConnectIsAlive(pointer) == 1 }
}
