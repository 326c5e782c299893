import PartitionModel

/// One of partctl's managed networks (docs/networks.md): a host bridge with the host's address as
/// gateway, dnsmasq handing out addresses, and optionally outbound NAT. Stored as
/// `$PARTCTL_ROOT/networks/<name>/network.json`; `partctl0` is made on first use with the defaults.
public struct ManagedNetwork: Codable, Sendable, Hashable {
    /// The network's name, as profiles and `network` commands use it: `partctl0`, `lab`.
    public var name: String
    /// The host bridge (at most 15 characters): the name itself unless `network create --bridge`.
    public var bridge: String
    /// The network's IPv4 subnet, e.g. 10.77.0.0/24.
    public var subnet: IPv4Subnet
    /// The host's address on the bridge: the partitions' gateway and DNS server (the subnet's first host).
    public var gateway: IPv4Address
    /// Outbound NAT: partitions reach beyond the host through its address. false: isolated, they
    /// reach the host and each other only.
    public var nat: Bool

    public init(name: String, bridge: String, subnet: IPv4Subnet, gateway: IPv4Address, nat: Bool) {
        self.name = name
        self.bridge = bridge
        self.subnet = subnet
        self.gateway = gateway
        self.nat = nat
    }

    /// partctl hands out addresses from the lower three quarters of the hosts (the gateway left
    /// out): each partition's is reserved with dnsmasq by MAC address, so an LPAR's DHCP gets it too.
    public var leasedRange: ClosedRange<IPv4Address> {
        let hosts = subnet.hosts
        let count = hosts.upperBound.value - hosts.lowerBound.value + 1
        // At least one address stays dynamic: a /30's two hosts are the gateway and dnsmasq's pool.
        let upper = hosts.lowerBound.value + count - max(1, count / 4) - 1
        return IPv4Address(hosts.lowerBound.value)...IPv4Address(upper)
    }

    /// dnsmasq's own dynamic range, the upper quarter: for clients partctl did not reserve an address
    /// for (a guest's second adapter, a machine bridged in by hand).
    public var dynamicRange: ClosedRange<IPv4Address> {
        IPv4Address(leasedRange.upperBound.value + 1)...subnet.hosts.upperBound
    }

    /// The default network: `partctl0`, 10.77.0.0/24, NAT on.
    public static let defaultName = "partctl0"
    public static let `default` = ManagedNetwork(name: defaultName, bridge: defaultName,
                                                 subnet: IPv4Subnet(cidr: "10.77.0.0/24")!, gateway: IPv4Address("10.77.0.1")!, nat: true)
}

/// An address a managed network gave a partition (or one of an LPAR's adapters): partctl's own
/// lease book, `$PARTCTL_ROOT/networks/<name>/leases.json`, the authority for addresses it hands out.
/// dnsmasq gets each as a reservation (`dhcp-host=MAC,ADDRESS`) so a DHCP client with that MAC is
/// given exactly this address and no other client is.
public struct NetworkLease: Codable, Sendable, Hashable {
    /// The partition's path: `web` (a host WPAR), `lp2` (an LPAR's adapter).
    public var partition: String
    /// The adapter's MAC address, lower case: the LPAR's `<mac>`, or the WPAR's `eth0`.
    public var mac: String
    public var address: IPv4Address
    /// true: the profile asked for this address; false: partctl chose it.
    public var fixed: Bool

    public init(partition: String, mac: String, address: IPv4Address, fixed: Bool) {
        self.partition = partition
        self.mac = mac
        self.address = address
        self.fixed = fixed
    }
}
