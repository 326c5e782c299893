import LibvirtKit
import PartitionModel
import PartitionNetworks

/// A libvirt network as `network list` shows it, read from its XML description: bridge, forward
/// mode, IPv4 addresses and DHCP ranges.
struct LibvirtNetworkListing: Sendable {
    var name: String
    var bridge: String?
    var forwardMode: String?
    var subnets: [IPv4Subnet]
    var dhcpRanges: [String]
    var active: Bool

    static func parse(name: String, xml: String, active: Bool) throws(PartitionError) -> LibvirtNetworkListing {
        let root = try XMLReader.parse(xml)
        var listing = LibvirtNetworkListing(name: name, bridge: root.element(named: "bridge")?.attribute("name"),
                                            forwardMode: root.element(named: "forward").map { $0.attribute("mode") ?? "nat" },
                                            subnets: [], dhcpRanges: [], active: active)
        for ip in root.elements(named: "ip") where (ip.attribute("family") ?? "ipv4") == "ipv4" {
            guard let text = ip.attribute("address"), let address = IPv4Address(text) else { continue }
            var length: Int?
            if let prefix = ip.attribute("prefix") { length = Int(prefix) }
            if let netmask = ip.attribute("netmask").flatMap(IPv4Address.init) {
                let bits = netmask.value.nonzeroBitCount
                if netmask.value == IPv4Subnet.mask(bits) { length = bits }
            }
            if let length, (0...32).contains(length) {
                listing.subnets.append(IPv4Subnet(containing: address, prefixLength: length))
            }
            for range in ip.element(named: "dhcp")?.elements(named: "range") ?? [] {
                if let start = range.attribute("start"), let end = range.attribute("end") {
                    listing.dhcpRanges.append("\(start)-\(end)")
                }
            }
        }
        return listing
    }

    var foreign: ForeignNetwork { ForeignNetwork(name: name, bridge: bridge, subnets: subnets) }

    static func all(_ connection: LibvirtConnection) throws(PartitionError) -> [LibvirtNetworkListing] {
        var listings: [LibvirtNetworkListing] = []
        for network in try connection.listAllNetworks() {
            let name = network.name
            listings.append(try parse(name: name, xml: try network.xmlDesc(), active: try network.isActive()))
        }
        return listings.sorted { $0.name < $1.name }
    }
}
