import PartitionModel
import PartitionNetworks
import Testing
@testable import PartitionCore

/// Which LPARs' agents a forward command must tell: those whose set of nested forwards changed,
/// each with its whole new set (the agent replaces its set: idempotent).
@Suite("Nested forward sets")
struct NestedForwardGlueTests {
    static func nested(_ port: Int, _ path: String, via: String = "10.77.0.9") -> Forward {
        Forward(hostPort: port, proto: .tcp, partition: path, port: 8080, address: IPv4Address("10.78.0.2")!, via: IPv4Address(via)!)
    }
    static let host = Forward(hostPort: 80, proto: .tcp, partition: "web", port: 80, address: IPv4Address("10.77.0.5")!)

    @Test func onlyChangedLparsAreToldTheirWholeSet() {
        let a = Self.nested(8081, "lp1/web"), b = Self.nested(8082, "lp1/api"), c = Self.nested(8083, "lp2/web", via: "10.77.0.10")
        #expect(NestedForwardGlue.changedLpars([a, c], [a, b, c]) == ["lp1": [a, b]])
        #expect(NestedForwardGlue.changedLpars([a, b, c], [c]) == ["lp1": []])
        #expect(NestedForwardGlue.changedLpars([a, c], [a, c, Self.host]).isEmpty)
        #expect(NestedForwardGlue.changedLpars([], []).isEmpty)
    }
}
