import PartitionModel
import Testing
@testable import PartitionNetworks

@Suite("Forward syntax")
struct ForwardSyntaxTests {
    @Test(arguments: [("8080", 8080, nil), ("1", 1, nil), ("65535/udp", 65535, ForwardProtocol.udp), ("80/tcp", 80, .tcp)])
    func hostPorts(text: String, port: Int, proto: ForwardProtocol?) throws {
        let parsed = try ForwardSyntax.hostPort(text)
        #expect(parsed.port == port && parsed.proto == proto)
    }

    @Test(arguments: ["0", "65536", "-1", "80x", "", "0x50", "+80", "8080/sctp", "8080/", "99999999999999999999", "8080/tcp/udp", " 80"])
    func badHostPortsAreRefused(text: String) {
        #expect(throws: PartitionError.self) { try ForwardSyntax.hostPort(text) }
        do { _ = try ForwardSyntax.hostPort(text) } catch {
            #expect(error.code == .invalidArgument)
            #expect(!error.message.contains("\n"))
        }
    }

    @Test func targets() throws {
        let web = try ForwardSyntax.target("web:80")
        #expect(web.path.description == "web" && web.port == 80)
        let nested = try ForwardSyntax.target("lp1/web:8080")
        #expect(nested.path.depth == 2 && nested.port == 8080)
    }

    @Test(arguments: ["web", "web:", "web:0", "web:70000", ":80", "/:80", "Web!:80", "lp1/web/x:80"])
    func badTargetsAreRefused(text: String) {
        #expect(throws: PartitionError.self) { try ForwardSyntax.target(text) }
    }

    @Test func aForwardTargetsItsPartitionAndWithNestedItsWpars() {
        let nested = Forward(hostPort: 8081, proto: .tcp, partition: "lp1/web", port: 8080,
                             address: IPv4Address("10.78.0.2")!, via: IPv4Address("10.77.0.9")!)
        #expect(nested.targets("lp1", nested: true))
        #expect(!nested.targets("lp1", nested: false))
        #expect(!nested.targets("lp", nested: true))
        #expect(nested.targets("lp1/web", nested: false))
        // The host's rule goes to the LPAR, on the port the guest's rule listens on.
        #expect(nested.destination.address == IPv4Address("10.77.0.9")! && nested.destination.port == 8081)
    }
}
