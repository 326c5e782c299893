import AgentProtocol
import Foundation
import Glibc
import PartctlTestSupport
import PartitionModel
import Testing

/// `system.addresses`: partagent on the host (--socket) reports this machine's global addresses,
/// the same that `ip` shows; loopback and link-local are left out. An unknown operation, as an
/// older agent sees this one, is a failure reply (the host then shows libvirt's addresses only).
@Suite(.serialized) final class AgentAddressTests {
    let agent: SocketAgent

    init() throws {
        agent = try SocketAgent("agentaddr")
    }

    deinit {
        agent.stop()
    }

    @Test func theAgentReportsTheMachinesGlobalAddresses() throws {
        let conversation = try SocketLink(path: agent.socketPath).conversation
        let addresses = try conversation.call(Agent.Addresses.self, AgentEmpty(), timeout: .seconds(5)).addresses
        let shown = try TestProcess.run("/usr/sbin/ip", ["-o", "-4", "addr", "show", "scope", "global"])
        // The agent leaves out the bridge partctl0: in a guest it is the nested WPARs' network, not
        // an address of the LPAR (here, on the host, it is the host's managed network).
        let expected = shown.stdout.split(separator: "\n").compactMap { line -> String? in
            let words = line.split(separator: " ")
            guard words.count > 1, words[1] != "partctl0" else { return nil }
            guard let index = words.firstIndex(of: "inet"), index + 1 < words.count else { return nil }
            return String(words[index + 1].split(separator: "/")[0])
        }
        try #require(!expected.isEmpty, "this machine has no global IPv4 address to compare with")
        for address in expected { #expect(addresses.contains(address), "\(address) missing from \(addresses)") }
        #expect(!addresses.contains { $0.hasPrefix("127.") || $0 == "::1" || $0.lowercased().hasPrefix("fe80:") })
        // IPv4 first.
        if let firstV6 = addresses.firstIndex(where: { $0.contains(":") }) {
            #expect(!addresses[firstV6...].contains { !$0.contains(":") })
        }
    }

    @Test func anOperationTheAgentDoesNotKnowIsAFailureReply() throws {
        let link = try SocketLink(path: agent.socketPath)
        let reply = try AgentSocketTests.ask(link, #"{"v":4,"id":7,"op":"system.nothing","args":{}}"#)
        #expect(reply.id == 7)
        guard case .failure(let failure) = reply.outcome else {
            Issue.record("expected a failure, got \(reply.outcome)")
            return
        }
        #expect(failure.message.contains("system.nothing"))
    }
}
