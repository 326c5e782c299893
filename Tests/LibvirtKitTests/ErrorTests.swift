import CLibvirt
import PartitionModel
import Testing
@testable import LibvirtKit

@Suite("Errors")
struct ErrorTests {
    @Test func invalidXMLKeepsLibvirtsMessageAndCodeAndStaysOffStderr() throws {
        let connection = try openTestDriver()
        var error: PartitionError?
        var info: LibvirtErrorInfo?
        let stderr = capturingStandardError {
            error = expectPartitionError(.libvirt) {
                _ = try connection.defineDomain(xml: "<domain type='test'><name>ptest-lvk-bad</name><memory>1024</memory></domain>")
            }
            // Same thread, no suspension since the throw: this is the error just thrown.
            info = LibvirtErrorInfo.lastCaptured
        }
        let message = try #require(error?.message)
        #expect(message == "XML error: an os <type> must be specified.")
        #expect(info?.code == Int32(VIR_ERR_XML_ERROR.rawValue))
        #expect(info?.message == message)
        #expect(!stderr.contains("must be specified"), "libvirt wrote to stderr: \(stderr)")
        #expect(try connection.lookupDomain(name: "ptest-lvk-bad") == nil)
    }

    @Test func malformedXMLBecomesOneLine() throws {
        let connection = try openTestDriver()
        let error = expectPartitionError(.libvirt) { _ = try connection.defineDomain(xml: "<domain") }
        let message = try #require(error?.message)
        #expect(isOneSentence(message), "\(message)")
        #expect(message.contains("Couldn't find end of Start Tag domain"))
    }

    @Test func missingDomainOperationIsNotFound() throws {
        let connection = try openTestDriver()
        let domain = try connection.defineDomain(xml: testDriverDomainXML(name: uniqueTestName("gone")))
        try domain.undefine()
        expectPartitionError(.notFound) { _ = try domain.info() }
    }

    @Test(arguments: [
        (VIR_ERR_NO_DOMAIN, PartitionError.Code.notFound),
        (VIR_ERR_NO_DOMAIN_METADATA, .notFound),
        (VIR_ERR_DOM_EXIST, .alreadyExists),
        (VIR_ERR_OPERATION_INVALID, .invalidState),
        (VIR_ERR_NO_CONNECT, .unavailable),
        (VIR_ERR_RPC, .unavailable),
        (VIR_ERR_ACCESS_DENIED, .permissionDenied),
        (VIR_ERR_AUTH_FAILED, .permissionDenied),
        (VIR_ERR_NO_SUPPORT, .unsupported),
        (VIR_ERR_ARGUMENT_UNSUPPORTED, .unsupported),
        (VIR_ERR_OPERATION_TIMEOUT, .timeout),
        (VIR_ERR_INVALID_ARG, .invalidArgument),
        (VIR_ERR_XML_ERROR, .libvirt),
        (VIR_ERR_INTERNAL_ERROR, .libvirt),
        (VIR_ERR_OPERATION_FAILED, .libvirt),
    ])
    func libvirtErrorNumbersMapToPartitionCodes(number: virErrorNumber, code: PartitionError.Code) {
        let info = LibvirtErrorInfo(code: Int32(number.rawValue), domain: 0, message: "Something.")
        #expect(info.partitionError.code == code)
        #expect(info.partitionError.message == "Something.")
    }

    @Test func unknownErrorNumbersStayLibvirtErrors() {
        #expect(LibvirtErrorInfo(code: 9_999, domain: 0, message: "New.").partitionError.code == .libvirt)
    }

    @Test(arguments: [
        ("Domain not found", "Domain not found."),
        ("operation failed: done.", "operation failed: done."),
        ("line one\n  line two\n", "line one line two."),
        ("Really?", "Really?"),
    ])
    func messagesBecomeOneSentence(raw: String, sentence: String) {
        #expect(LibvirtErrorInfo.sentence(raw) == sentence)
    }
}

@Suite("Domain state values")
struct DomainStateTests {
    @Test(arguments: Int32(0)...Int32(7))
    func knownStatesRoundTrip(raw: Int32) {
        let state = LibvirtDomainState(rawValue: raw)
        #expect(state.rawValue == raw)
        if case .unknown = state { Issue.record("State \(raw) is one libvirt 9.0 defines.") }
    }

    @Test(arguments: [Int32(8), 42, -1, Int32.max])
    func unknownStatesAreKept(raw: Int32) {
        let state = LibvirtDomainState(rawValue: raw)
        #expect(state == .unknown(raw))
        #expect(state.rawValue == raw)
        #expect(state.description == "unknown state \(raw)")
    }

    @Test func namesFollowVirsh() {
        #expect(LibvirtDomainState.shutoff.description == "shut off")
        #expect(LibvirtDomainState.shutdown.description == "in shutdown")
        #expect(LibvirtDomainState.running.description == "running")
    }
}
