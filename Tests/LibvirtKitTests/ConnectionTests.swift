import PartitionModel
import Testing
@testable import LibvirtKit

@Suite("Connection")
struct ConnectionTests {
    @Test func opensTheTestDriverAndDescribesTheHost() throws {
        let connection = try openTestDriver()
        #expect(try connection.uri() == testDriverURI)
        #expect(!(try connection.hostname()).isEmpty)
        #expect(try connection.libVersion() >= LibvirtVersion(major: 9, minor: 0, release: 0))
        _ = try connection.hypervisorVersion()
        let node = try connection.nodeInfo()
        #expect(node.cpus > 0)
        #expect(node.memoryKiB > 0)
        #expect(!node.model.isEmpty)
        #expect(try connection.maxVcpus(type: nil) > 0)
        #expect(try connection.capabilities().contains("<capabilities>"))
        #expect(connection.isAlive)
    }

    @Test func unreachableDaemonIsUnavailableWithOneClearLine() throws {
        let uri = "qemu+unix:///system?socket=/nonexistent/libvirt-sock"
        var error: PartitionError?
        let stderr = capturingStandardError {
            error = expectPartitionError(.unavailable) { _ = try LibvirtConnection.open(uri: uri) }
        }
        let message = try #require(error?.message)
        #expect(message.hasPrefix("libvirtd is not reachable at \(uri) ("))
        #expect(message.contains("/nonexistent/libvirt-sock"))
        #expect(message.hasSuffix("Start it with `make setup` or `libvirtd -d`."))
        #expect(!message.contains("\n"))
        #expect(!stderr.contains("libvirt-sock"), "libvirt wrote to stderr: \(stderr)")
    }

    @Test(arguments: [
        (nil, true), ("qemu:///system", true), ("qemu+unix:///system?socket=/x", true),
        ("qemu+ssh://host/system", false), ("test:///default", false), ("garbage", false),
    ] as [(String?, Bool)])
    func onlyLocalDaemonsGetTheStartAdvice(uri: String?, local: Bool) {
        #expect(LibvirtConnection.isLocalDaemon(uri) == local)
    }

    @Test func remoteFailureNamesTheURIWithoutLocalAdvice() {
        let info = LibvirtErrorInfo(code: 38, domain: 7, message: "Cannot recv data: Connection reset by peer.")
        let error = LibvirtConnection.openError(info, uri: "qemu+ssh://far/system")
        #expect(error.code == .unavailable)
        #expect(error.message == "libvirt is not reachable at qemu+ssh://far/system (Cannot recv data: Connection reset by peer).")
    }

    @Test func streamsNeedTheEventLoopBeforeTheConnection() throws {
        // A connection opened before the loop was registered; the refusal comes before libvirt is asked.
        let connection = try LibvirtConnection.open(uri: testDriverURI, readOnly: false, supportsStreams: false)
        let domain = try #require(try connection.lookupDomain(name: "test"))
        let error = expectPartitionError(.invalidState) { _ = try domain.openConsole() }
        #expect(error?.message.contains("LibvirtEventLoop.start") == true)
    }

    @Test func versionsDecodeLibvirtsEncoding() {
        #expect(LibvirtVersion(encoded: 9_000_000).description == "9.0.0")
        #expect(LibvirtVersion(encoded: 7_002_001).description == "7.2.1")
    }
}
