import Foundation
import PartctlTestSupport
import Testing

/// `partctl forward`: host ports published to host WPARs on partctl0 (docs/forwards.md), against the
/// real nftables and the real forwards.json. Addresses 10.77.0.186–.188 are this suite's.
@Suite(.serialized) struct ForwardTests {
    static let web = "ptest-fwdweb"
    static let echo = "ptest-fwdecho"
    static let stopped = "ptest-fwdstop"

    /// A self-contained application WPAR profile on partctl0 with a fixed address running `script`.
    static func profile(_ name: String, address: String, script: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-forward-profiles").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = "\(directory)/\(name).yaml"
        try """
            kind: wpar
            type: application
            command: [/bin/sh, -c, \(Self.quoted(script))]
            network: {bridge: partctl0, address: \(address)/24, gateway: 10.77.0.1}
            user_namespace: true
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    static let page = "ptest forward page"
    static let httpdScript = "mkdir -p /tmp/www && echo '\(page)' >/tmp/www/index.html && exec busybox httpd -f -p 80 -h /tmp/www"

    /// Defines and activates a WPAR; removed (with its forwards) by `cleanup`.
    static func start(_ name: String, address: String, script: String, cleanup: Cleanup) throws {
        removeTestPartition(name)
        cleanup.add { removeTestPartition(name) }
        let define = try CLI.partctl("define", name, "--profile", try profile(name, address: address, script: script))
        try #require(define.status == 0, "\(define.stderr)")
        let activate = try CLI.partctl("activate", name)
        try #require(activate.status == 0, "\(activate.stderr)")
    }

    static func curl(_ url: String) throws -> CLI.Result {
        try CLI.run("/usr/bin/curl", ["-sS", "--max-time", "5", url])
    }

    /// The host ports the forward_prerouting and forward_output chains DNAT, per chain.
    static func chainPorts() throws -> (prerouting: Set<Int>, output: Set<Int>) {
        func ports(_ chain: String) throws -> Set<Int> {
            let listing = try CLI.run("/usr/sbin/nft", ["list", "chain", "ip", "partctl", chain])
            return Set(listing.stdout.split(separator: "\n").compactMap { line -> Int? in
                guard let range = line.range(of: "dport ") else { return nil }
                return Int(line[range.upperBound...].prefix { $0.isNumber })
            })
        }
        return (try ports("forward_prerouting"), try ports("forward_output"))
    }

    static func listedPorts() throws -> Set<Int> {
        let list = try CLI.partctl("forward", "list", "-F", "host_port")
        #expect(list.status == 0, "\(list.stderr)")
        return Set(list.stdout.split(separator: "\n").compactMap { Int($0) })
    }

    /// The host's own address on its uplink (not a bridge of partctl's or libvirt's): a forward
    /// answers there too.
    static func uplinkAddress() throws -> String? {
        let route = try CLI.run("/usr/sbin/ip", ["-4", "-o", "route", "get", "192.0.2.200"])
        let words = route.stdout.split(separator: " ").map(String.init)
        guard let index = words.firstIndex(of: "src"), index + 1 < words.count else { return nil }
        return words[index + 1]
    }

    @Test func aHostWparServesThroughAForwardWhichGoesWithIt() throws {
        let cleanup = Cleanup()
        try Self.start(Self.web, address: "10.77.0.186", script: Self.httpdScript, cleanup: cleanup)
        #expect(CLI.waitFor(20) { (try? Self.curl("http://10.77.0.186/").stdout) == Self.page + "\n" }, "httpd never answered directly")
        let port = ForwardSockets.freePort()
        cleanup.add { _ = try? CLI.partctl("forward", "remove", "\(port)") }
        let add = try CLI.partctl("forward", "add", "\(port)", "\(Self.web):80")
        try #require(add.status == 0, "\(add.stderr)")

        let loopback = try Self.curl("http://127.0.0.1:\(port)/")
        #expect(loopback.stdout == Self.page + "\n", "\(loopback)")
        if let uplink = try Self.uplinkAddress() {
            let outside = try Self.curl("http://\(uplink):\(port)/")
            #expect(outside.stdout == Self.page + "\n", "\(uplink): \(outside)")
        }
        let json = try CLI.partctl("forward", "list", "--json")
        #expect(json.stdout.contains("{\"host_port\":\(port),\"proto\":\"tcp\",\"partition\":\"\(Self.web)\",\"port\":80,\"address\":\"10.77.0.186\",\"via\":null}"), "\(json.stdout)")
        #expect(try Self.chainPorts().prerouting.contains(port) && Self.chainPorts().output.contains(port))

        // Removing the partition removes its forward and its rules.
        let remove = try CLI.partctl("remove", Self.web, "--force")
        #expect(remove.status == 0, "\(remove.stderr)")
        #expect(!(try Self.listedPorts()).contains(port))
        let chains = try Self.chainPorts()
        #expect(!chains.prerouting.contains(port) && !chains.output.contains(port))
        #expect(try Self.curl("http://127.0.0.1:\(port)/").status != 0)
    }

    @Test func aUdpForwardReachesAnEcho() throws {
        let cleanup = Cleanup()
        // A UDP echo (busybox's nc has no UDP): answers each datagram with "echo:" and the datagram.
        let script = "exec python3 -c \"import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', 9000)); "
            + "[s.sendto(b'echo:' + d, a) for d, a in iter(lambda: s.recvfrom(2048), None)]\""
        try Self.start(Self.echo, address: "10.77.0.187", script: script, cleanup: cleanup)
        #expect(ForwardSockets.udpExchange("direct", host: "10.77.0.187", port: 9000, seconds: 20) == "echo:direct")
        let port = ForwardSockets.freePort()
        cleanup.add { _ = try? CLI.partctl("forward", "remove", "\(port)/udp") }
        let add = try CLI.partctl("forward", "add", "\(port)/udp", "\(Self.echo):9000")
        try #require(add.status == 0, "\(add.stderr)")
        #expect(ForwardSockets.udpExchange("hello", host: "127.0.0.1", port: port, seconds: 10) == "echo:hello")
        // A TCP forward of the same number is another forward; removing the UDP one leaves it.
        let tcp = try CLI.partctl("forward", "add", "\(port)/tcp", "\(Self.echo):9000")
        #expect(tcp.status == 0, "\(tcp.stderr)")
        #expect(try CLI.partctl("forward", "remove", "\(port)/udp").status == 0)
        #expect(try CLI.partctl("forward", "list", "-F", "host_port,proto").stdout.contains("\(port),tcp\n"))
        #expect(ForwardSockets.udpExchange("gone", host: "127.0.0.1", port: port, seconds: 1) == nil)
        #expect(try CLI.partctl("forward", "remove", "\(port)").status == 0)
        expectRefusal(try CLI.partctl("forward", "remove", "\(port)"), status: 2, mentioning: ["No forward", "\(port)"])
    }

    @Test func refusalsChangeNothing() throws {
        let cleanup = Cleanup()
        try Self.start(Self.web, address: "10.77.0.186", script: Self.httpdScript, cleanup: cleanup)
        removeTestPartition(Self.stopped)
        cleanup.add { removeTestPartition(Self.stopped) }
        let define = try CLI.partctl("define", Self.stopped, "--profile", try Self.profile(Self.stopped, address: "10.77.0.188", script: "sleep 1000"))
        try #require(define.status == 0, "\(define.stderr)")
        let port = ForwardSockets.freePort()
        cleanup.add { _ = try? CLI.partctl("forward", "remove", "\(port)") }
        try #require(try CLI.partctl("forward", "add", "\(port)", "\(Self.web):80").status == 0)

        let busy = ForwardSockets.freePort()
        let listening = ForwardSockets.bind(busy, udp: false), bound = ForwardSockets.bind(busy, udp: true)
        defer { close(listening); close(bound) }
        try #require(listening >= 0 && bound >= 0)
        let before = try CLI.partctl("forward", "list", "--json").stdout
        let cases: [([String], [String])] = [
            (["\(port)", "\(Self.web):80"], ["already forwarded", "\(port)/tcp"]),
            (["\(busy)", "\(Self.web):80"], ["in use", "\(busy)"]),
            (["\(busy)/udp", "\(Self.web):80"], ["in use", "UDP"]),
            (["\(ForwardSockets.freePort())", "\(Self.stopped):80"], [Self.stopped, "not running", "partctl activate"]),
            (["\(ForwardSockets.freePort())", "ptest-fwdnone:80"], ["ptest-fwdnone"]),
            (["0", "\(Self.web):80"], ["1 to 65535"]),
            (["65536", "\(Self.web):80"], ["1 to 65535"]),
            (["http", "\(Self.web):80"], ["port number"]),
            (["\(ForwardSockets.freePort())", "\(Self.web):99999"], ["1 to 65535"]),
            (["\(ForwardSockets.freePort())", "\(Self.web)"], ["PATH:PORT"]),
            (["\(ForwardSockets.freePort())/sctp", "\(Self.web):80"], ["/tcp or /udp"]),
        ]
        for (arguments, words) in cases {
            expectRefusal(try CLI.partctl(arguments: ["forward", "add"] + arguments), status: 2, mentioning: words)
        }
        #expect(try CLI.partctl("forward", "list", "--json").stdout == before)
        expectRefusal(try CLI.partctl("forward", "list", "-F", "nosuch"), status: 2, mentioning: ["nosuch"])
    }

    /// `kill -9` of `forward add` at random moments: the file and the chains may differ for an
    /// instant, and the next command brings the chains in line with the file.
    @Test func killedAddsAreRepairedByTheNextCommand() throws {
        let cleanup = Cleanup()
        try Self.start(Self.web, address: "10.77.0.186", script: Self.httpdScript, cleanup: cleanup)
        var ports: [Int] = []
        cleanup.add { for port in ports { _ = try? CLI.partctl("forward", "remove", "\(port)") } }
        for round in 0..<8 {
            let port = ForwardSockets.freePort()
            ports.append(port)
            let add = try BackgroundProcess(CLI.binary, ["forward", "add", "\(port)", "\(Self.web):80"])
            usleep(UInt32.random(in: 0...(round.isMultiple(of: 2) ? 40_000 : 150_000)))
            kill(add.pid, SIGKILL)
            _ = add.finish(within: 10)
            let listed = try Self.listedPorts().intersection(ports)
            let chains = try Self.chainPorts()
            #expect(chains.prerouting.intersection(ports) == listed, "round \(round): listed \(listed), rules \(chains.prerouting)")
            #expect(chains.output.intersection(ports) == listed, "round \(round): listed \(listed), rules \(chains.output)")
            if listed.contains(port) {
                #expect(try Self.curl("http://127.0.0.1:\(port)/").stdout == Self.page + "\n")
            }
            // No lock or temporary is left that stops the next command.
            let again = try CLI.partctl("forward", "add", "\(port)", "\(Self.web):80")
            #expect(again.status == 0 || again.stderr.contains("already forwarded"), "\(again.stderr)")
        }
        for port in ports { #expect(try CLI.partctl("forward", "remove", "\(port)").status == 0) }
        let chains = try Self.chainPorts()
        #expect(chains.prerouting.intersection(ports).isEmpty && chains.output.intersection(ports).isEmpty)
        // With no forward left at all (none of another test's), nothing of the forwards is in the ruleset.
        if try Self.listedPorts().isEmpty {
            let ruleset = try CLI.run("/usr/sbin/nft", ["list", "ruleset"]).stdout
            #expect(!ruleset.contains("forward_"), "\(ruleset)")
        }
    }

    /// route_localnet=1 on partctl0 (which a forward from 127.0.0.1 needs) would let anything on the
    /// bridge send to the host's 127.0.0.1 services; forward_guard drops that. A network namespace of
    /// the test's own stands in for a partition that routes 127.0.0.0/8 to the host (which a WPAR
    /// root with CAP_NET_ADMIN in its namespace could do). It also reaches a partition through the
    /// host's address and the forward (hairpin: masqueraded, so the answer comes back the same way).
    @Test func aPartitionOnTheBridgeCannotReachTheHostsLoopback() throws {
        let cleanup = Cleanup()
        try Self.start(Self.web, address: "10.77.0.186", script: Self.httpdScript, cleanup: cleanup)
        let port = ForwardSockets.freePort()
        cleanup.add { _ = try? CLI.partctl("forward", "remove", "\(port)") }
        try #require(try CLI.partctl("forward", "add", "\(port)", "\(Self.web):80").status == 0)
        #expect(try String(contentsOfFile: "/proc/sys/net/ipv4/conf/partctl0/route_localnet", encoding: .utf8) == "1\n")

        let secret = ForwardSockets.freePort()
        let listening = ForwardSockets.bind(secret, udp: false, loopback: true)
        defer { close(listening) }
        try #require(listening >= 0)
        let (namespace, host, inside) = ("ptest-fwdns", "ptest-fwd0", "ptest-fwd1")
        func ip(_ arguments: String...) throws -> CLI.Result { try CLI.run("/usr/sbin/ip", arguments) }
        _ = try? ip("netns", "del", namespace)
        _ = try? ip("link", "del", host)
        cleanup.add { _ = try? ip("netns", "del", namespace); _ = try? ip("link", "del", host) }
        let setup = """
            ip netns add \(namespace) && ip link add \(host) type veth peer name \(inside) && ip link set \(inside) netns \(namespace) \
            && ip link set \(host) master partctl0 up && ip netns exec \(namespace) sh -c 'ip addr add 10.77.0.184/24 dev \(inside) \
            && ip link set \(inside) up && echo 1 >/proc/sys/net/ipv4/conf/\(inside)/route_localnet && ip route add 127.0.0.0/8 via 10.77.0.1 dev \(inside)'
            """
        let made = try CLI.run("/bin/sh", ["-c", setup])
        try #require(made.status == 0, "\(made)")

        func inNamespace(_ arguments: [String]) throws -> CLI.Result { try CLI.run("/usr/sbin/ip", ["netns", "exec", namespace] + arguments) }
        #expect(CLI.waitFor(10) { (try? inNamespace(["curl", "-sS", "--max-time", "2", "http://10.77.0.1:\(port)/"]).stdout) == Self.page + "\n" },
                "the page did not come through the host's address on the bridge (hairpin)")
        let probe = "import socket\ntry:\n socket.create_connection(('127.0.0.1', \(secret)), timeout=3); print('connected')\nexcept OSError as e: print('not connected', e)"
        let reached = try inNamespace(["python3", "-c", probe])
        #expect(reached.stdout.hasPrefix("not connected"), "the host's 127.0.0.1:\(secret) was reached from the bridge: \(reached)")
    }

    /// After a reboot the kernel has none of the rules (deleting the chains and route_localnet stands
    /// in for it here); the first activate renders them again from forwards.json.
    @Test func theFirstActivateAfterARebootRestoresTheRules() throws {
        let cleanup = Cleanup()
        try Self.start(Self.web, address: "10.77.0.186", script: Self.httpdScript, cleanup: cleanup)
        let port = ForwardSockets.freePort()
        cleanup.add { _ = try? CLI.partctl("forward", "remove", "\(port)") }
        try #require(try CLI.partctl("forward", "add", "\(port)", "\(Self.web):80").status == 0)
        removeTestPartition(Self.stopped)
        cleanup.add { removeTestPartition(Self.stopped) }
        try #require(try CLI.partctl("define", Self.stopped, "--profile", try Self.profile(Self.stopped, address: "10.77.0.188", script: "sleep 1000")).status == 0)

        let wipe = "for c in forward_guard forward_prerouting forward_output forward_postrouting; do nft delete chain ip partctl $c; done; "
            + "echo 0 >/proc/sys/net/ipv4/conf/partctl0/route_localnet"
        try #require(try CLI.run("/bin/sh", ["-c", wipe]).status == 0)
        #expect(try Self.curl("http://127.0.0.1:\(port)/").status != 0, "the page came through without the rules")
        let activate = try CLI.partctl("activate", Self.stopped)
        try #require(activate.status == 0, "\(activate.stderr)")
        #expect(try Self.chainPorts().output.contains(port))
        #expect(try Self.curl("http://127.0.0.1:\(port)/").stdout == Self.page + "\n")
    }
}
