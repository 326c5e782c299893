import CLibvirt
import Glibc
import PartitionModel

/// One libvirt virtual network (`virNetworkPtr`), e.g. `default` (NAT), freed with the last reference.
public final class LibvirtNetwork: @unchecked Sendable {
    let pointer: virNetworkPtr
    public let connection: LibvirtConnection

    init(owning pointer: virNetworkPtr, connection: LibvirtConnection) {
        self.pointer = pointer
        self.connection = connection
    }

    deinit {
        virNetworkFree(pointer)
    }

    /// Whether the network is started (virNetworkIsActive).
    public func isActive() throws(PartitionError) -> Bool {
        try LibvirtCall.run("virNetworkIsActive") { virNetworkIsActive(pointer) } == 1
    }

    /// The network's name (virNetworkGetName).
    public var name: String {
        virNetworkGetName(pointer).map { String(cString: $0) } ?? ""
    }

    /// The network's XML description (virNetworkGetXMLDesc): bridge, forward mode, addresses, DHCP.
    public func xmlDesc() throws(PartitionError) -> String {
        try LibvirtCall.string("virNetworkGetXMLDesc") { virNetworkGetXMLDesc(pointer, 0) }
    }

    /// Starts the defined network (virNetworkCreate).
    public func start() throws(PartitionError) {
        try LibvirtCall.run("virNetworkCreate") { virNetworkCreate(pointer) }
    }

    public func autostart() throws(PartitionError) -> Bool {
        var enabled: Int32 = 0
        try LibvirtCall.run("virNetworkGetAutostart") { virNetworkGetAutostart(pointer, &enabled) }
        return enabled != 0
    }

    public func setAutostart(_ enabled: Bool) throws(PartitionError) {
        try LibvirtCall.run("virNetworkSetAutostart") { virNetworkSetAutostart(pointer, enabled ? 1 : 0) }
    }
}

extension LibvirtConnection {
    /// Every network, active or not (virConnectListAllNetworks).
    public func listAllNetworks() throws(PartitionError) -> [LibvirtNetwork] {
        var list: UnsafeMutablePointer<virNetworkPtr?>?
        let count = try LibvirtCall.run("virConnectListAllNetworks") { virConnectListAllNetworks(pointer, &list, 0) }
        defer { free(list) }
        guard let list else { return [] }
        return UnsafeBufferPointer(start: list, count: Int(count)).compactMap { network in
            network.map { LibvirtNetwork(owning: $0, connection: self) }
        }
    }

    /// The network with this name, or nil when there is none (virNetworkLookupByName).
    public func lookupNetwork(name: String) throws(PartitionError) -> LibvirtNetwork? {
        switch LibvirtCall.result("virNetworkLookupByName", { virNetworkLookupByName(pointer, name) }) {
        case .success(let network): return LibvirtNetwork(owning: network, connection: self)
        case .failure(let info) where info.is(VIR_ERR_NO_NETWORK): return nil
        case .failure(let info): throw info.partitionError
        }
    }
}

/// A libvirt virtual network as a profile names it (`network: default`).
public enum LibvirtNetworkState: Sendable, Equatable {
    case active
    case inactive
}

extension LibvirtConnection {
    /// Whether the network `name` runs; nil when libvirt has no network of that name.
    public func networkState(name: String) throws(PartitionError) -> LibvirtNetworkState? {
        guard let network = try lookupNetwork(name: name) else { return nil }
        return try network.isActive() ? .active : .inactive
    }
}
