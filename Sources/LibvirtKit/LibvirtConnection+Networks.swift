import CLibvirt
import PartitionModel

/// A libvirt virtual network as a profile names it (`network: default`).
public enum LibvirtNetworkState: Sendable, Equatable {
    case active
    case inactive
}

extension LibvirtConnection {
    /// Whether the network `name` runs (virNetworkLookupByName, virNetworkIsActive); nil when
    /// libvirt has no network of that name.
    public func networkState(name: String) throws(PartitionError) -> LibvirtNetworkState? {
        let network: virNetworkPtr
        switch LibvirtCall.result("virNetworkLookupByName", { virNetworkLookupByName(pointer, name) }) {
        case .success(let found): network = found
        case .failure(let info) where info.is(VIR_ERR_NO_NETWORK): return nil
        case .failure(let info): throw info.partitionError
        }
        defer { _ = virNetworkFree(network) }
        return try LibvirtCall.run("virNetworkIsActive") { virNetworkIsActive(network) } == 1 ? .active : .inactive
    }
}
