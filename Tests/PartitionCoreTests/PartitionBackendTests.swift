import Testing
import PartitionModel
import WorkloadEngine
@testable import PartitionCore

/// The verbs a kind of partition does not have answer `.unsupported` with a sentence naming what to
/// use instead, before touching anything, and `supports(_:)` says so exactly there.
@Suite struct PartitionBackendTests {
    static let configuration = PartctlConfiguration(connectURI: "test:///nowhere", stateRoot: "/nonexistent/ptest-state",
                                                    runtimeRoot: "/nonexistent/ptest-run", environment: [:])

    static func hostWpar() throws -> HostWparPartition {
        let name = try PartitionName("ptest-unit")
        let spec = WorkloadSpec(name: name, kind: .application, root: .host, command: ["/bin/true"])
        return HostWparPartition(wpar: HostWparTarget(name: name, definition: spec), backend: WparBackend(configuration: configuration), progress: SilentProgress())
    }

    static func nestedWpar() throws -> NestedWparPartition {
        // No libvirt behind it: a verb that reached the LPAR would fail with .unavailable, not .unsupported.
        let backend = NestedBackend(configuration: configuration, lpars: { () throws(PartitionError) -> LparBackend in
            throw PartitionError(.unavailable, "No libvirt in a unit test.")
        })
        return NestedWparPartition(nested: NestedTarget(lpar: try PartitionName("ptest-lp"), name: try PartitionName("web")),
                                   backend: backend, progress: SilentProgress())
    }

    /// Calls `verb` on `partition`; the error it throws, nil when it returned.
    static func attempt(_ verb: PartitionVerb, on partition: any PartitionBackend) -> PartitionError? {
        do throws(PartitionError) {
            switch verb {
            case .restart: try partition.restart(immediate: true, within: 0, force: false)
            case .consoleLog: _ = try partition.consoleLog()
            default: Issue.record("only verbs that refuse without side effects are attempted here")
            }
            return nil
        } catch {
            return error
        }
    }

    @Test func hostWparHasNoConsoleLog() throws {
        let wpar = try Self.hostWpar()
        #expect(PartitionVerb.allCases.filter { !wpar.supports($0) } == [.consoleLog])
        let error = try #require(Self.attempt(.consoleLog, on: wpar))
        #expect(error.code == .unsupported)
        #expect(error.message.contains("partctl console ptest-unit"))
    }

    @Test func nestedWparHasNoConsoleLog() throws {
        let wpar = try Self.nestedWpar()
        #expect(PartitionVerb.allCases.filter { !wpar.supports($0) } == [.consoleLog])
        for verb in [PartitionVerb.consoleLog] {
            let error = try #require(Self.attempt(verb, on: wpar))
            #expect(error.code == .unsupported, "\(verb): \(error)")
            #expect(error.message.contains("ptest-lp/web") && error.message.hasSuffix("."), "\(verb): \(error.message)")
        }
    }
}
