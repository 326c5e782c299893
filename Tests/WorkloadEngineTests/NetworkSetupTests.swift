import Glibc
import PartitionModel
import Testing
@testable import WorkloadEngine

/// WPAR networks for real, as root: a process in a network namespace of its own (util-linux
/// `unshare --net`), configured by NetworkSetup, inspected from outside with `ip` and `nsenter`.
@Suite("WPAR network on this host")
struct NetworkSetupTests {
    /// A process in a fresh network namespace, killed when the test ends.
    final class NamespacedProcess {
        let child: TestChild
        var pid: pid_t { child.pid }

        init() throws {
            child = try TestChild(["/usr/bin/unshare", "--net", "/bin/sleep", "60"])
            let inOwnNamespace = eventually { NamespacedProcess.namespace(of: "\(self.child.pid)") != NamespacedProcess.namespace(of: "self") }
            guard inOwnNamespace else { throw TestFailure("unshare --net did not give the child a namespace of its own") }
        }

        static func namespace(of process: String) -> ino_t? {
            var status = stat()
            return stat("/proc/\(process)/ns/net", &status) == 0 ? status.st_ino : nil
        }

        /// `ip ARGUMENTS` run inside the namespace.
        func ip(_ arguments: [String]) throws -> String {
            try TestChild.run(["nsenter", "-t", "\(pid)", "-n", "ip"] + arguments).output
        }
    }

    /// A bridge with an address, as `make setup` makes partctl0, deleted when the test ends.
    final class TestBridge {
        let name: String
        init(_ name: String, address: String) throws {
            self.name = name
            _ = try TestChild.run(["ip", "link", "del", name])
            for command in [["ip", "link", "add", name, "type", "bridge"], ["ip", "addr", "add", address, "dev", name], ["ip", "link", "set", name, "up"]] {
                let result = try TestChild.run(command)
                guard result.status == 0 else { throw TestFailure("\(command.joined(separator: " ")): \(result.output)") }
            }
        }
        deinit { _ = try? TestChild.run(["ip", "link", "del", name]) }
    }

    static func hostLinkExists(_ name: String) throws -> Bool {
        try TestChild.run(["ip", "link", "show", "dev", name]).status == 0
    }

    /// Listens on `address` and says whether `hello` arrives from inside the namespace of `pid`
    /// (bash's /dev/tcp connects from there).
    static func reaches(_ address: String, from pid: pid_t) throws -> Bool {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listener >= 0 else { throw TestFailure("socket failed") }
        defer { close(listener) }
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, address, &local.sin_addr)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &local) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        guard bound, listen(listener, 1) == 0 else { throw TestFailure("bind/listen on \(address) failed: errno \(errno)") }
        let port = UInt16(bigEndian: local.sin_port)
        let sender = try TestChild.run(["nsenter", "-t", "\(pid)", "-n", "timeout", "5", "bash", "-c", "echo hello > /dev/tcp/\(address)/\(port)"])
        guard sender.status == 0 else { return false }
        var ready = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        guard poll(&ready, 1, 5000) == 1 else { return false }
        let connection = accept(listener, nil, nil)
        guard connection >= 0 else { return false }
        defer { close(connection) }
        var buffer = [UInt8](repeating: 0, count: 16)
        let count = read(connection, &buffer, buffer.count)
        return count > 0 && String(decoding: buffer[..<count], as: UTF8.self) == "hello\n"
    }

    @Test("bridge: veth into the bridge, eth0 inside with address and route, traffic flows, cleanup removes it")
    func bridge() throws {
        let bridge = try TestBridge("ptest-br\(getpid() % 100_000)", address: "10.213.77.1/24")
        let wpar = try NamespacedProcess()
        let name = "ptest-net-\(getpid())"
        defer { try? NetworkSetup.cleanup(name: name) }

        let start = SystemCall.monotonicSeconds()
        let attachment = try NetworkSetup.attach(
            .bridge(BridgeAttachment(bridge: bridge.name, address: "10.213.77.2/24", gateway: "10.213.77.1")),
            name: name, childPid: wpar.pid)
        print("bridge attach (veth pair, address, route): \((SystemCall.monotonicSeconds() - start) * 1000) ms")

        let hostSide = try #require(attachment.hostInterface)
        #expect(hostSide == NetworkSetup.hostInterfaceName(for: name))
        let hostLink = try TestChild.run(["ip", "-o", "link", "show", "dev", hostSide]).output
        #expect(hostLink.contains("master \(bridge.name)"), "\(hostLink)")
        #expect(hostLink.contains(",UP") || hostLink.contains("<UP"), "\(hostLink)")

        let addresses = try wpar.ip(["-o", "-4", "addr", "show", "dev", "eth0"])
        #expect(addresses.contains("inet 10.213.77.2/24"), "\(addresses)")
        let routes = try wpar.ip(["route", "show", "default"])
        #expect(routes.contains("default via 10.213.77.1 dev eth0"), "\(routes)")
        #expect(try wpar.ip(["-o", "link", "show", "lo"]).contains(",UP"))
        #expect(try Self.reaches("10.213.77.1", from: wpar.pid))

        try NetworkSetup.cleanup(name: name)
        #expect(try !Self.hostLinkExists(hostSide))
        #expect(try !wpar.ip(["-o", "link"]).contains("eth0"))
        try NetworkSetup.cleanup(name: name)  // idempotent
    }

    @Test("the veth pair goes away by itself when the WPAR's namespace ends")
    func vethEndsWithNamespace() throws {
        let bridge = try TestBridge("ptest-bs\(getpid() % 100_000)", address: "10.213.78.1/24")
        var wpar: NamespacedProcess? = try NamespacedProcess()
        let name = "ptest-netend-\(getpid())"
        defer { try? NetworkSetup.cleanup(name: name) }
        let attachment = try NetworkSetup.attach(.bridge(BridgeAttachment(bridge: bridge.name, address: "10.213.78.2/24", gateway: nil)),
                                                 name: name, childPid: try #require(wpar?.pid))
        let hostSide = try #require(attachment.hostInterface)
        #expect(try Self.hostLinkExists(hostSide))
        wpar = nil  // kills and reaps the process: its namespace ends
        #expect(try eventually { try !Self.hostLinkExists(hostSide) })
    }

    @Test("loopback: lo is up and nothing else exists; none: not even lo is up")
    func loopbackAndNone() throws {
        let loopback = try NamespacedProcess()
        let attachment = try NetworkSetup.attach(.loopback, name: "ptest-lo", childPid: loopback.pid)
        #expect(attachment == NetworkAttachment(network: .loopback))
        let links = try loopback.ip(["-o", "link"])
        #expect(links.split(separator: "\n").count == 1 && links.contains("lo:") && links.contains(",UP"), "\(links)")

        let isolated = try NamespacedProcess()
        _ = try NetworkSetup.attach(.none, name: "ptest-none", childPid: isolated.pid)
        let closed = try isolated.ip(["-o", "link", "show", "lo"])
        #expect(closed.contains("lo:") && !closed.contains(",UP"), "\(closed)")
    }

    @Test("a process still in the host's namespace is refused, and nothing is created")
    func hostNamespaceRefused() throws {
        let bridge = try TestBridge("ptest-bh\(getpid() % 100_000)", address: "10.213.79.1/24")
        let plain = try TestChild(["/bin/sleep", "60"])
        let name = "ptest-nethost-\(getpid())"
        for network in [WorkloadNetwork.loopback, .bridge(BridgeAttachment(bridge: bridge.name, address: "10.213.79.2/24", gateway: nil))] {
            let error = #expect(throws: PartitionError.self) { try NetworkSetup.attach(network, name: name, childPid: plain.pid) }
            #expect(error?.code == .invalidState)
        }
        #expect(try !Self.hostLinkExists(NetworkSetup.hostInterfaceName(for: name)))
    }

    @Test("a refusal carries the kernel's own explanation (extended acknowledgement)")
    func kernelExplanation() throws {
        let wpar = try NamespacedProcess()
        let inside = try NetworkNamespaceSocket.open(inNetnsOf: wpar.pid)
        try inside.setLinkUp(named: "lo")
        let lo = try #require(try inside.link(named: "lo"))
        // No address on lo covers 10.1.1.1, so the kernel refuses the gateway and says why.
        let error = #expect(throws: PartitionError.self) { try inside.addDefaultRoute(via: try #require(IPAddress("10.1.1.1")), link: lo.index) }
        #expect(error?.message.hasPrefix("Could not add the default route via 10.1.1.1: ") == true, "\(String(describing: error))")
        #expect(error?.message.contains("the kernel says: ") == true, "\(String(describing: error))")
    }

    @Test("a missing bridge or a bad address is one clear error, and nothing is created",
          arguments: [
            (BridgeAttachment(bridge: "ptest-nobridge", address: "10.213.80.2/24", gateway: nil), PartitionError.Code.notFound),
            (BridgeAttachment(bridge: "lo", address: "10.213.80.2/24", gateway: nil), .invalidArgument),
            (BridgeAttachment(bridge: "partctl0", address: "10.213.80.2", gateway: nil), .invalidArgument),
            (BridgeAttachment(bridge: "partctl0", address: "10.213.80.2/24", gateway: "10.99.0.1"), .invalidArgument),
            (BridgeAttachment(bridge: "a/b", address: "10.213.80.2/24", gateway: nil), .invalidArgument),
            (BridgeAttachment(bridge: "much-too-long-bridge", address: "10.213.80.2/24", gateway: nil), .invalidArgument),
          ])
    func badBridgeInput(attachment: BridgeAttachment, code: PartitionError.Code) throws {
        let wpar = try NamespacedProcess()
        let name = "ptest-netbad-\(getpid())"
        let error = #expect(throws: PartitionError.self) { try NetworkSetup.attach(.bridge(attachment), name: name, childPid: wpar.pid) }
        #expect(error?.code == code, "\(String(describing: error))")
        #expect(try !Self.hostLinkExists(NetworkSetup.hostInterfaceName(for: name)))
        #expect(try !wpar.ip(["-o", "link"]).contains("eth0"))
    }
}
