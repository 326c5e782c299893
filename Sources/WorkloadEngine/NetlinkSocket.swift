import Glibc
import PartitionModel
import SystemPackage

/// A kernel refusal of a netlink request: the errno, and the kernel's own explanation where it gives one.
struct NetlinkFailure: Error {
    var code: Int32
    var kernelMessage: String?

    func error(_ step: String) -> PartitionError {
        var message = "Could not \(step): \(Errno(rawValue: code)) (errno \(code))"
        if let kernelMessage, !kernelMessage.isEmpty { message += "; the kernel says: \(kernelMessage)" }
        let kind: PartitionError.Code = (code == EPERM || code == EACCES) ? .permissionDenied : .system
        return PartitionError(kind, message + ".")
    }
}

/// An rtnetlink socket (NETLINK_ROUTE). A socket belongs to the network namespace it was created
/// in for its whole life, whichever thread uses it later: that is how partctl configures a WPAR's
/// namespace without entering it (see NetworkNamespaceSocket).
final class NetlinkSocket {
    let fd: Int32
    private var sequence: UInt32 = 0

    /// A socket in the calling thread's network namespace.
    convenience init() throws(PartitionError) {
        let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Netlink.route)
        if fd < 0 { throw SystemCall.failure("open a netlink socket") }
        self.init(adopting: fd)
    }

    /// Takes ownership of an open NETLINK_ROUTE socket.
    init(adopting fd: Int32) {
        self.fd = fd
        var on: Int32 = 1
        // Both are optional refinements (older kernels lack them); failures are harmless.
        setsockopt(fd, Netlink.solNetlink, Netlink.extAck, &on, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, Netlink.solNetlink, Netlink.capAck, &on, socklen_t(MemoryLayout<Int32>.size))
        // The kernel answers at once; a reply that never comes must not hang partctl.
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Sends `request` (which always asks for an acknowledgement) and returns the replies that came before
    /// the acknowledgement (for a GET, the object asked for). A refusal throws its errno.
    func perform(_ request: NetlinkRequest) throws(NetlinkFailure) -> [NetlinkReply] {
        sequence &+= 1
        let expected = sequence
        let message = request.encoded(sequence: expected)
        let sent = message.withUnsafeBytes { buffer in
            SystemCall.retryingInterrupts { send(fd, buffer.baseAddress, buffer.count, 0) }
        }
        if sent < 0 { throw NetlinkFailure(code: errno) }

        var replies: [NetlinkReply] = []
        var buffer = [UInt8](repeating: 0, count: 32_768)
        while true {
            let count = buffer.withUnsafeMutableBytes { raw in
                SystemCall.retryingInterrupts { recv(fd, raw.baseAddress, raw.count, 0) }
            }
            if count < 0 { throw NetlinkFailure(code: errno == EAGAIN ? ETIMEDOUT : errno) }
            for reply in NetlinkReply.parse(buffer[..<count]) where reply.sequence == expected {
                switch reply.type {
                case Netlink.error:
                    let code = Netlink.integer(Int32.self, in: reply.payload, at: 0) ?? -EPROTO
                    if code == 0 { return replies }
                    throw NetlinkFailure(code: -code, kernelMessage: Self.extendedMessage(reply))
                case Netlink.done:
                    return replies
                default:
                    replies.append(reply)
                }
            }
        }
    }

    /// NLMSGERR_ATTR_MSG of an extended acknowledgement: after the errno and the echoed header
    /// (only the header: NETLINK_CAP_ACK) come attributes.
    private static func extendedMessage(_ reply: NetlinkReply) -> String? {
        guard reply.flags & Netlink.ackTLVs != 0 else { return nil }
        let echoedLength = Netlink.integer(UInt32.self, in: reply.payload, at: 4).map(Int.init) ?? Netlink.headerSize
        let attributesStart = 4 + (reply.flags & 0x100 != 0 ? Netlink.headerSize : Netlink.aligned(echoedLength))
        guard attributesStart <= reply.payload.count else { return nil }
        let attributes = NetlinkReply.attributes(in: reply.payload.dropFirst(attributesStart))
        return NetlinkReply.string(attributes[Netlink.errorMessage])
    }
}
