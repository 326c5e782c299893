#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PartitionModel
import Testing
@testable import PartitionNetworks

@Suite("Forward rules")
struct ForwardRulesTests {
    let web = Forward(hostPort: 8080, proto: .tcp, partition: "web", port: 80, address: IPv4Address("10.77.0.5")!)
    let dns = Forward(hostPort: 5353, proto: .udp, partition: "lp1", port: 53, address: IPv4Address("10.77.0.9")!)

    @Test func theScriptOwnsOnlyTheForwardChainsAndRendersThemWhole() {
        let script = ForwardRules.script([web, dns], bridges: ["partctl0"])
        let lines = script.split(separator: "\n").map(String.init)
        #expect(lines.first == "add table ip partctl")
        #expect(!script.contains("delete"))  // with forwards, nothing is deleted
        // Every chain it touches is one of its own, flushed before it is filled.
        for line in lines where line.contains("chain") || line.contains("rule") {
            let chain = line.split(separator: " ")[4]
            #expect(chain.hasPrefix("forward_"), "\(line)")
        }
        for chain in ["forward_prerouting", "forward_output", "forward_postrouting", "forward_guard"] {
            let flush = lines.firstIndex(of: "flush chain ip partctl \(chain)")
            let firstRule = lines.firstIndex { $0.hasPrefix("add rule ip partctl \(chain) ") }
            #expect(flush != nil)
            if let flush, let firstRule { #expect(flush < firstRule) }
        }
        #expect(lines.contains("add rule ip partctl forward_prerouting fib daddr type local tcp dport 8080 dnat to 10.77.0.5:80"))
        #expect(lines.contains("add rule ip partctl forward_output fib daddr type local tcp dport 8080 dnat to 10.77.0.5:80"))
        #expect(lines.contains("add rule ip partctl forward_output fib daddr type local udp dport 5353 dnat to 10.77.0.9:53"))
        #expect(lines.contains("add rule ip partctl forward_postrouting ip saddr 127.0.0.0/8 ct status dnat masquerade"))
        #expect(lines.contains("add rule ip partctl forward_guard iifname \"partctl0\" ip daddr 127.0.0.0/8 drop"))
        #expect(script.contains("forward_output { type nat hook output priority -100;"))
    }

    @Test func noForwardsLeaveNoChainOfTheirs() {
        let script = ForwardRules.script([], bridges: [])
        #expect(!script.contains("add rule"))
        #expect(!script.contains("delete table"))
        for chain in ForwardRules.chains {
            // Added before it is deleted: the transaction holds whether or not the chain was there.
            let lines = script.split(separator: "\n").map(String.init)
            let added = lines.firstIndex { $0.hasPrefix("add chain ip partctl \(chain.name) ") }
            let deleted = lines.firstIndex(of: "delete chain ip partctl \(chain.name)")
            #expect(added != nil && deleted != nil && added! < deleted!)
        }
        // Bridges still to guard (route_localnet not yet reset) keep the chains.
        #expect(ForwardRules.script([], bridges: ["partctl0"]).contains("forward_guard iifname \"partctl0\""))
    }

    @Test func aNestedForwardGoesToItsLparOnTheHostPort() {
        let nested = Forward(hostPort: 8081, proto: .tcp, partition: "lp1/web", port: 8080,
                             address: IPv4Address("10.78.0.2")!, via: IPv4Address("10.77.0.9")!)
        #expect(ForwardRules.script([nested], bridges: []).contains("tcp dport 8081 dnat to 10.77.0.9:8081"))
    }

    @Test func bridgeNamesThatAreNotInterfaceNamesNeverReachTheScript() {
        let script = ForwardRules.script([web], bridges: ["br\"; flush ruleset", "partctl0"])
        #expect(!script.contains("ruleset"))
        #expect(script.contains("\"partctl0\""))
    }

    @Test func theFileRoundTripsAsTheContractSaysAndSorted() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-forwards-\(UInt32.random(in: 0...UInt32.max))").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let book = ForwardBook(root: root + "/networks")
        try book.locked { () throws(PartitionError) in try book.save([web, dns]) }
        #expect(try book.load() == [dns, web])
        let text = try String(contentsOfFile: book.file, encoding: .utf8)
        #expect(text.contains("\"hostPort\" : 8080") && text.contains("\"proto\" : \"udp\"") && text.contains("\"address\" : \"10.77.0.5\""))
        let mode = try FileManager.default.attributesOfItem(atPath: root + "/networks")[.posixPermissions] as? Int
        #expect(mode == 0o711)
    }

    @Test func hostRoutesFindTheBridgeOfAnAddress() {
        let table = """
            Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
            eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
            partctl0\t00004D0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
            down0\t00014D0A\t00000000\t0000\t0\t0\t0\tFFFFFFFF\t0\t0\t0
            virbr0\t007AA8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
            """
        let routes = HostRoutes.parse(table)
        #expect(routes.count == 3)
        #expect(HostRoutes.interface(for: IPv4Address("10.77.0.5")!, in: routes) == "partctl0")
        #expect(HostRoutes.interface(for: IPv4Address("10.77.1.0")!, in: routes) == "eth0")  // down0's route is not up
        #expect(HostRoutes.interface(for: IPv4Address("192.168.122.40")!, in: routes) == "virbr0")
        #expect(HostRoutes.interface(for: IPv4Address("8.8.8.8")!, in: routes) == "eth0")
    }

    @Test func listeningTcpAndBoundUdpPortsAreInUse() {
        let tcp = """
              sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1073 1
               1: 0100007F:1F90 0100007F:A000 01 00000000:00000000 00:00000000 00000000     0        0 1074 1
            """
        #expect(HostPortUse.ports(in: tcp, listeningOnly: true) == [2024])
        let udp6 = """
              sl  local_address                         remote_address                        st tx_queue rx_queue
               7: 00000000000000000000000000000000:14E9 00000000000000000000000000000000:0000 07 00000000:00000000
            """
        #expect(HostPortUse.ports(in: udp6, listeningOnly: false) == [5353])
    }
}
