import CLibvirt
import PartitionModel

/// One error exactly as libvirt reported it: its numbers and its message.
///
/// LibvirtKit throws `PartitionError`; this value keeps what that mapping drops. The last one captured
/// on a thread is `LibvirtErrorInfo.lastCaptured`: read it in the `catch` right after the throwing call,
/// with no `await` in between (libvirt's own last error is per thread, and so is this).
public struct LibvirtErrorInfo: Error, Sendable, Equatable {
    /// `virErrorNumber`, e.g. 42 for VIR_ERR_NO_DOMAIN.
    public var code: Int32
    /// `virErrorDomain`: the part of libvirt that raised the error.
    public var domain: Int32
    /// libvirt's message, on one line, ending with a period.
    public var message: String

    public init(code: Int32, domain: Int32, message: String) {
        self.code = code
        self.domain = domain
        self.message = message
    }

    /// The last error LibvirtKit captured on the calling thread, or nil before the first.
    public static var lastCaptured: LibvirtErrorInfo? { LastErrorStore.current }

    /// Whether this is the given libvirt error number.
    func `is`(_ number: virErrorNumber) -> Bool { code == Int32(bitPattern: number.rawValue) }

    /// Reads and clears the calling thread's libvirt error. Call it right after the failed call.
    static func capture(after function: StaticString) -> LibvirtErrorInfo {
        let info: LibvirtErrorInfo
        if let error = virGetLastError(), error.pointee.code != Int32(bitPattern: VIR_ERR_OK.rawValue) {
            let text = error.pointee.message.map { String(cString: $0) } ?? ""
            info = LibvirtErrorInfo(
                code: error.pointee.code,
                domain: error.pointee.domain,
                message: sentence(text.isEmpty ? "\(function) failed without a message" : text)
            )
        } else {
            info = LibvirtErrorInfo(
                code: Int32(bitPattern: VIR_ERR_INTERNAL_ERROR.rawValue),
                domain: 0,
                message: "\(function) failed without reporting an error."
            )
        }
        virResetLastError()
        LastErrorStore.current = info
        return info
    }

    /// The error partctl's layers see. The code follows what went wrong; the message stays libvirt's.
    public var partitionError: PartitionError {
        PartitionError(partitionCode, message)
    }

    var partitionCode: PartitionError.Code {
        switch virErrorNumber(rawValue: UInt32(bitPattern: code)) {
        case VIR_ERR_NO_DOMAIN, VIR_ERR_NO_DOMAIN_METADATA, VIR_ERR_NO_DOMAIN_SNAPSHOT,
             VIR_ERR_NO_NETWORK, VIR_ERR_NO_STORAGE_POOL, VIR_ERR_NO_STORAGE_VOL:
            return .notFound
        case VIR_ERR_DOM_EXIST:
            return .alreadyExists
        case VIR_ERR_OPERATION_INVALID:
            return .invalidState
        case VIR_ERR_NO_CONNECT, VIR_ERR_RPC, VIR_ERR_AUTH_UNAVAILABLE, VIR_ERR_AGENT_UNRESPONSIVE:
            return .unavailable
        case VIR_ERR_AUTH_FAILED, VIR_ERR_AUTH_CANCELLED, VIR_ERR_ACCESS_DENIED, VIR_ERR_OPERATION_DENIED:
            return .permissionDenied
        case VIR_ERR_NO_SUPPORT, VIR_ERR_OPERATION_UNSUPPORTED, VIR_ERR_ARGUMENT_UNSUPPORTED:
            return .unsupported
        case VIR_ERR_OPERATION_TIMEOUT:
            return .timeout
        case VIR_ERR_INVALID_ARG:
            return .invalidArgument
        default:
            return .libvirt
        }
    }

    /// libvirt's messages may span lines (XML errors quote the document) and lack a final period.
    static func sentence(_ text: String) -> String {
        let words = text.split(whereSeparator: { $0.isWhitespace || $0.isNewline })
        var line = words.joined(separator: " ")
        if let last = line.last, !".!?".contains(last) { line += "." }
        return line
    }
}
