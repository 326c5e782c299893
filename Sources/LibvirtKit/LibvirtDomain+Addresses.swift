import CLibvirt
import Glibc
import PartitionModel

/// Where libvirt learns a running domain's addresses.
public enum LibvirtAddressSource: Sendable {
    /// The DHCP leases of libvirt's own networks (dnsmasq): cheap, no guest involved.
    case lease
    /// The host's ARP/neighbour table: any address the guest used on a bridge libvirt sees.
    case arp

    var rawValue: UInt32 {
        switch self {
        case .lease: return VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE.rawValue
        case .arp: return VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP.rawValue
        }
    }
}

/// One address of a guest's interface, e.g. 192.168.122.57/24 on vnet3.
public struct LibvirtInterfaceAddress: Sendable, Equatable {
    /// The interface as libvirt names it (the host side's name, e.g. vnet3, for leases and ARP).
    public var interface: String
    public var mac: String?
    public var address: String
    public var prefix: Int
    public var isIPv6: Bool
}

extension LibvirtDomain {
    /// The running domain's addresses from `source` (virDomainInterfaceAddresses); empty when it has none yet.
    public func interfaceAddresses(source: LibvirtAddressSource) throws(PartitionError) -> [LibvirtInterfaceAddress] {
        var list: UnsafeMutablePointer<virDomainInterfacePtr?>?
        let count = try LibvirtCall.run("virDomainInterfaceAddresses") {
            virDomainInterfaceAddresses(pointer, &list, source.rawValue, 0)
        }
        guard let list else { return [] }
        defer {
            for index in 0..<Int(count) { if let item = list[index] { virDomainInterfaceFree(item) } }
            free(list)
        }
        var result: [LibvirtInterfaceAddress] = []
        for index in 0..<Int(count) {
            guard let interface = list[index]?.pointee else { continue }
            let name = interface.name.map { String(cString: $0) } ?? ""
            let mac = interface.hwaddr.map { String(cString: $0) }
            for slot in 0..<Int(interface.naddrs) {
                let entry = interface.addrs[slot]
                guard let text = entry.addr else { continue }
                result.append(LibvirtInterfaceAddress(
                    interface: name, mac: mac, address: String(cString: text), prefix: Int(entry.prefix),
                    isIPv6: entry.type == Int32(VIR_IP_ADDR_TYPE_IPV6.rawValue)))
            }
        }
        return result
    }
}
