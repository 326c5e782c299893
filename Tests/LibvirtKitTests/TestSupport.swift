import Foundation
import PartctlTestSupport
import PartitionModel
import Testing
@testable import LibvirtKit

/// libvirt's in-process test driver. Every connection in this process shares its state, so each test
/// changes only the ptest- domains it defines itself and only reads the built-in domain "test".
let testDriverURI = "test:///default"

func openTestDriver() throws -> LibvirtConnection {
    try LibvirtConnection.open(uri: testDriverURI)
}

/// A name no other test uses, e.g. "ptest-lvk-vcpus-3f9a12c0".
func uniqueTestName(_ purpose: String) -> String {
    TestNames.unique("lvk-\(purpose)")
}

/// A minimal persistent domain for the test driver: 1 of 4 vCPUs, 128 of 256 MiB.
func testDriverDomainXML(name: String) -> String {
    """
    <domain type='test'>
      <name>\(name)</name>
      <memory unit='KiB'>262144</memory>
      <currentMemory unit='KiB'>131072</currentMemory>
      <vcpu current='1'>4</vcpu>
      <os><type arch='x86_64'>hvm</type></os>
    </domain>
    """
}

/// Defines a domain, hands it to `body`, and removes it afterwards, also when `body` fails.
func withDomain<Result>(
    on connection: LibvirtConnection, xml: String, _ body: (LibvirtDomain) throws -> Result
) throws -> Result {
    let domain = try connection.defineDomain(xml: xml)
    defer { remove(domain) }
    return try body(domain)
}

/// Stops and undefines a test domain if it still exists; a failure here is recorded but does not
/// hide the test's own.
func remove(_ domain: LibvirtDomain) {
    do {
        guard let domain = try domain.connection.lookupDomain(uuid: domain.uuidString) else { return }
        if try domain.isActive() { try domain.destroy() }
        if try domain.isPersistent() { try domain.undefine() }
    } catch {
        Issue.record("Cannot remove test domain \(domain.name): \(error)")
    }
}

/// Runs `body` with this process's stderr redirected, and returns what was written to it meanwhile
/// (by anyone: swift-testing reports progress there too, so look for specific text).
func capturingStandardError(_ body: () throws -> Void) rethrows -> String {
    var fds: [Int32] = [0, 0]
    precondition(pipe(&fds) == 0)
    let saved = dup(STDERR_FILENO)
    dup2(fds[1], STDERR_FILENO)
    close(fds[1])
    defer {
        dup2(saved, STDERR_FILENO)
        close(saved)
    }
    try body()
    dup2(saved, STDERR_FILENO)
    _ = fcntl(fds[0], F_SETFL, O_NONBLOCK)
    var captured: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while case let count = read(fds[0], &buffer, buffer.count), count > 0 {
        captured += buffer[..<count]
    }
    close(fds[0])
    return String(decoding: captured, as: UTF8.self)
}

/// Asserts that `body` throws a PartitionError with `code`, and returns it for further checks.
@discardableResult
func expectPartitionError(
    _ code: PartitionError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) -> PartitionError? {
    do {
        try body()
        Issue.record("Expected a PartitionError with code \(code), but nothing was thrown.", sourceLocation: sourceLocation)
    } catch let error as PartitionError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("Expected a PartitionError, got \(error).", sourceLocation: sourceLocation)
    }
    return nil
}

/// A one-line sentence: no line breaks, ends with a period.
func isOneSentence(_ message: String) -> Bool {
    !message.contains("\n") && message.hasSuffix(".")
}
