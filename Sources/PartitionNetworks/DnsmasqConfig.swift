import PartitionModel

/// The dnsmasq configuration of one managed network, `<root>/<name>/dnsmasq.conf`: DHCP and DNS on
/// its bridge only, its own pid file, lease file, reservations and log, all in the network's
/// directory; nothing of the host's dnsmasq set-up (/etc/dnsmasq.conf, /etc/hosts) is read.
public enum DnsmasqConfig {
    public static func render(_ network: ManagedNetwork, directory: String) -> String {
        let range = network.dynamicRange
        let netmask = IPv4Address(network.subnet.mask)
        return """
        # dnsmasq of partctl's managed network \(network.name): written by partctl, rewritten on change.
        interface=\(network.bridge)
        # Only the bridge's own addresses, also when it comes and goes (never 0.0.0.0:53).
        bind-dynamic
        except-interface=lo
        # Names come from the host's resolvers (/etc/resolv.conf); /etc/hosts is not served.
        no-hosts
        domain-needed
        bogus-priv
        pid-file=\(directory)/dnsmasq.pid
        dhcp-leasefile=\(directory)/dnsmasq.leases
        # partctl's reservations (one file per lease, MAC,ADDRESS,NAME), re-read on change.
        dhcp-hostsdir=\(directory)/hosts
        # The upper quarter is dnsmasq's own; the rest is reserved by partctl's lease book.
        dhcp-range=\(range.lowerBound),\(range.upperBound),\(netmask),1h
        dhcp-authoritative
        dhcp-option=option:router,\(network.gateway)
        dhcp-option=option:dns-server,\(network.gateway)
        user=nobody
        group=nogroup
        log-facility=\(directory)/dnsmasq.log
        quiet-dhcp

        """
    }
}
