import PartitionModel
import Testing
@testable import PartitionNetworks

@Suite("Network rendering")
struct NetworkRenderingTests {
    @Test func dnsmasqConfigOfTheDefaultNetwork() {
        let text = DnsmasqConfig.render(.default, directory: "/var/lib/partctl/networks/partctl0")
        let lines = Set(text.split(separator: "\n").map(String.init))
        for expected in [
            "interface=partctl0", "bind-dynamic", "except-interface=lo", "no-hosts",
            "pid-file=/var/lib/partctl/networks/partctl0/dnsmasq.pid",
            "dhcp-leasefile=/var/lib/partctl/networks/partctl0/dnsmasq.leases",
            "dhcp-hostsdir=/var/lib/partctl/networks/partctl0/hosts",
            "dhcp-range=10.77.0.192,10.77.0.254,255.255.255.0,1h",
            "dhcp-authoritative", "dhcp-option=option:router,10.77.0.1", "dhcp-option=option:dns-server,10.77.0.1",
            "user=nobody", "group=nogroup", "log-facility=/var/lib/partctl/networks/partctl0/dnsmasq.log",
        ] {
            #expect(lines.contains(expected), "missing: \(expected)")
        }
        // Nothing that would make it another dnsmasq than the network's own.
        #expect(!text.contains("conf-dir") && !text.contains("addn-hosts") && !text.contains("listen-address=0.0.0.0"))
    }

    @Test func dnsmasqRangeFollowsTheSubnet() {
        let lab = network("lab", "10.231.20.0/26", bridge: "br-lab")
        let text = DnsmasqConfig.render(lab, directory: "/n/lab")
        #expect(text.contains("interface=br-lab\n"))
        #expect(text.contains("dhcp-range=10.231.20.48,10.231.20.62,255.255.255.192,1h\n"), "\(text)")
    }

    @Test func chainsOfNatAndIsolatedNetworks() {
        let script = NetworkFirewall.render([network("lab", "10.231.21.0/24", nat: false), .default])
        let lines = script.split(separator: "\n").map(String.init)
        #expect(lines.prefix(5) == [
            "add table ip partctl",
            "add chain ip partctl network_postrouting { type nat hook postrouting priority srcnat; policy accept; }",
            "add chain ip partctl network_forward { type filter hook forward priority filter; policy accept; }",
            "flush chain ip partctl network_postrouting",
            "flush chain ip partctl network_forward",
        ])
        #expect(Array(lines.dropFirst(5)) == [
            // Only the NAT network is masqueraded.
            "add rule ip partctl network_postrouting ip saddr 10.77.0.0/24 ip daddr != 10.77.0.0/24 oifname != \"partctl0\" masquerade",
            "add rule ip partctl network_forward ct status dnat accept",
            "add rule ip partctl network_forward iifname \"lab\" oifname { \"partctl0\" } drop",
            "add rule ip partctl network_forward iifname \"lab\" oifname != \"lab\" drop",
            "add rule ip partctl network_forward oifname \"lab\" iifname != \"lab\" drop",
            "add rule ip partctl network_forward iifname \"partctl0\" oifname { \"lab\" } drop",
        ])
        // Other parts' chains are never named.
        #expect(!script.contains("forward_") && !script.contains("delete table") && !script.contains("flush table"))
    }

    @Test func withoutNetworksTheChainsGo() {
        #expect(NetworkFirewall.render([]) == """
        add table ip partctl
        add chain ip partctl network_postrouting { type nat hook postrouting priority srcnat; policy accept; }
        add chain ip partctl network_forward { type filter hook forward priority filter; policy accept; }
        delete chain ip partctl network_postrouting
        delete chain ip partctl network_forward

        """)
    }

    @Test func aBridgeNameThatCouldBreakTheScriptIsLeftOut() {
        var bad = network("evil", "10.231.22.0/24")
        bad.bridge = "x\" accept; #"
        let script = NetworkFirewall.render([bad, .default])
        #expect(!script.contains("evil") && !script.contains("accept; #"))
        #expect(script.contains("\"partctl0\""))
    }
}
