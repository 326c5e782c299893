import CLibvirt
import Glibc
import PartitionModel

/// One libvirt domain (`virDomainPtr`), freed when the last reference goes.
///
/// `@unchecked Sendable`: a virDomainPtr is a reference-counted handle whose identity (name, UUID) never
/// changes, and every operation on it goes through its connection, which is thread-safe.
public final class LibvirtDomain: @unchecked Sendable {
    let pointer: virDomainPtr
    /// The connection this domain came from; kept alive for the streams a domain opens.
    public let connection: LibvirtConnection

    /// Takes over one reference to `pointer`, released in deinit.
    init(owning pointer: virDomainPtr, connection: LibvirtConnection) {
        self.pointer = pointer
        self.connection = connection
    }

    deinit {
        virDomainFree(pointer)
    }

    // MARK: Identity (held by the handle; no call to the daemon)

    /// The domain's name (virDomainGetName).
    public var name: String {
        virDomainGetName(pointer).map { String(cString: $0) } ?? ""
    }

    /// The domain's UUID in its usual text form (virDomainGetUUIDString).
    public var uuidString: String {
        var buffer = [CChar](repeating: 0, count: Int(VIR_UUID_STRING_BUFLEN))
        guard virDomainGetUUIDString(pointer, &buffer) == 0 else { return "" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The running domain's id, or nil when it is not running (virDomainGetID). Known when this handle
    /// was made: a domain started later keeps nil here until looked up again.
    public var id: UInt32? {
        let id = virDomainGetID(pointer)
        return id == UInt32.max ? nil : id
    }

    // MARK: State

    /// State, memory, vCPUs and CPU time (virDomainGetInfo).
    public func info() throws(PartitionError) -> LibvirtDomainInfo {
        var info = virDomainInfo()
        try LibvirtCall.run("virDomainGetInfo") { virDomainGetInfo(pointer, &info) }
        return LibvirtDomainInfo(info)
    }

    /// State and reason (virDomainGetState).
    public func state() throws(PartitionError) -> LibvirtDomainStatus {
        var state: Int32 = 0
        var reason: Int32 = 0
        try LibvirtCall.run("virDomainGetState") { virDomainGetState(pointer, &state, &reason, 0) }
        return LibvirtDomainStatus(state: LibvirtDomainState(rawValue: state), reason: reason)
    }

    /// Whether the domain runs, paused or not (virDomainIsActive).
    public func isActive() throws(PartitionError) -> Bool {
        try LibvirtCall.run("virDomainIsActive") { virDomainIsActive(pointer) } == 1
    }

    /// Whether the domain has a persistent definition (virDomainIsPersistent).
    public func isPersistent() throws(PartitionError) -> Bool {
        try LibvirtCall.run("virDomainIsPersistent") { virDomainIsPersistent(pointer) } == 1
    }

    /// The domain's XML description (virDomainGetXMLDesc).
    public func xmlDesc(_ flags: LibvirtDomainXMLFlags = []) throws(PartitionError) -> String {
        try LibvirtCall.string("virDomainGetXMLDesc") { virDomainGetXMLDesc(pointer, flags.rawValue) }
    }

    // MARK: Lifecycle

    /// Starts the defined domain (virDomainCreateWithFlags), optionally with its vCPUs paused.
    public func create(paused: Bool = false) throws(PartitionError) {
        let flags = paused ? VIR_DOMAIN_START_PAUSED.rawValue : 0
        try LibvirtCall.run("virDomainCreateWithFlags") { virDomainCreateWithFlags(pointer, flags) }
    }

    /// Asks the guest to shut down and returns at once (virDomainShutdownFlags); the guest may ignore it.
    public func shutdown(_ mode: LibvirtShutdownMode = .acpiPowerButton) throws(PartitionError) {
        try LibvirtCall.run("virDomainShutdownFlags") { virDomainShutdownFlags(pointer, mode.shutdownFlags) }
    }

    /// Asks the guest to reboot (virDomainReboot).
    public func reboot(_ mode: LibvirtShutdownMode = .acpiPowerButton) throws(PartitionError) {
        try LibvirtCall.run("virDomainReboot") { virDomainReboot(pointer, mode.rebootFlags) }
    }

    /// Stops the domain at once, without the guest's cooperation (virDomainDestroy).
    public func destroy() throws(PartitionError) {
        try LibvirtCall.run("virDomainDestroy") { virDomainDestroy(pointer) }
    }

    /// Pauses the domain's vCPUs (virDomainSuspend).
    public func suspend() throws(PartitionError) {
        try LibvirtCall.run("virDomainSuspend") { virDomainSuspend(pointer) }
    }

    /// Resumes a paused domain (virDomainResume).
    public func resume() throws(PartitionError) {
        try LibvirtCall.run("virDomainResume") { virDomainResume(pointer) }
    }

    /// Removes the persistent definition with its managed save image, snapshot and checkpoint metadata
    /// and NVRAM (virDomainUndefineFlags). A running domain keeps running as a transient one.
    ///
    /// Drivers without NVRAM or checkpoints (the test driver) refuse those two flags as invalid
    /// arguments; they have nothing of that kind to remove, so the call is repeated without them.
    public func undefine() throws(PartitionError) {
        let always = VIR_DOMAIN_UNDEFINE_MANAGED_SAVE.rawValue | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA.rawValue
        let optional = VIR_DOMAIN_UNDEFINE_NVRAM.rawValue | VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA.rawValue
        switch LibvirtCall.result("virDomainUndefineFlags", { virDomainUndefineFlags(pointer, always | optional) }) {
        case .success:
            return
        case .failure(let info) where info.is(VIR_ERR_INVALID_ARG):
            try LibvirtCall.run("virDomainUndefineFlags") { virDomainUndefineFlags(pointer, always) }
        case .failure(let info):
            throw info.partitionError
        }
    }

    /// Whether the domain starts with the host (virDomainGetAutostart).
    public func autostart() throws(PartitionError) -> Bool {
        var enabled: Int32 = 0
        try LibvirtCall.run("virDomainGetAutostart") { virDomainGetAutostart(pointer, &enabled) }
        return enabled != 0
    }

    /// Makes the domain start, or not, with the host (virDomainSetAutostart).
    public func setAutostart(_ enabled: Bool) throws(PartitionError) {
        try LibvirtCall.run("virDomainSetAutostart") { virDomainSetAutostart(pointer, enabled ? 1 : 0) }
    }
}
