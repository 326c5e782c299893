/// rtnetlink wire format: constants of the kernel ABI (linux/netlink.h, linux/rtnetlink.h,
/// linux/if_link.h, linux/veth.h), which Swift's Glibc module does not import, and the encoding of
/// requests and decoding of replies. Netlink uses the host's byte order.
enum Netlink {
    static let route: Int32 = 0  // NETLINK_ROUTE
    static let solNetlink: Int32 = 270
    static let capAck: Int32 = 10  // NETLINK_CAP_ACK: errors do not echo the whole request back
    static let extAck: Int32 = 11  // NETLINK_EXT_ACK: errors carry the kernel's own explanation

    // Message types
    static let error: UInt16 = 2, done: UInt16 = 3
    static let newLink: UInt16 = 16, deleteLink: UInt16 = 17, getLink: UInt16 = 18
    static let newAddress: UInt16 = 20, newRoute: UInt16 = 24

    // Header flags
    static let request: UInt16 = 0x1, multi: UInt16 = 0x2, acknowledge: UInt16 = 0x4
    static let exclusive: UInt16 = 0x200, create: UInt16 = 0x400
    static let ackTLVs: UInt16 = 0x200  // on an error message: extended-ack attributes follow

    // Attributes
    static let linkAddress: UInt16 = 1, linkName: UInt16 = 3, linkMaster: UInt16 = 10, linkInfo: UInt16 = 18, linkNamespacePid: UInt16 = 19
    static let infoKind: UInt16 = 1, infoData: UInt16 = 2, vethPeer: UInt16 = 1
    static let addressAddress: UInt16 = 1, addressLocal: UInt16 = 2
    static let routeOutputInterface: UInt16 = 4, routeGateway: UInt16 = 5
    static let errorMessage: UInt16 = 1  // NLMSGERR_ATTR_MSG
    static let nested: UInt16 = 0x8000

    static let interfaceUp: UInt32 = 0x1  // IFF_UP
    static let mainTable: UInt8 = 254, protocolBoot: UInt8 = 3, scopeUniverse: UInt8 = 0, unicast: UInt8 = 1

    static let headerSize = 16

    static func aligned(_ length: Int) -> Int { (length + 3) & ~3 }

    /// struct ifinfomsg
    static func interfaceHeader(index: Int32 = 0, flags: UInt32 = 0, change: UInt32 = 0) -> [UInt8] {
        [0, 0] + bytes(of: UInt16(0)) + bytes(of: index) + bytes(of: flags) + bytes(of: change)  // AF_UNSPEC
    }

    /// struct ifaddrmsg
    static func addressHeader(family: UInt8, prefixLength: UInt8, index: Int32) -> [UInt8] {
        [family, prefixLength, 0, scopeUniverse] + bytes(of: UInt32(bitPattern: index))
    }

    /// struct rtmsg for a unicast route in the main table
    static func routeHeader(family: UInt8, destinationLength: UInt8) -> [UInt8] {
        [family, destinationLength, 0, 0, mainTable, protocolBoot, scopeUniverse, unicast] + bytes(of: UInt32(0))
    }

    static func bytes<T: FixedWidthInteger>(of value: T) -> [UInt8] {
        withUnsafeBytes(of: value) { Array($0) }
    }

    static func integer<T: FixedWidthInteger>(_ type: T.Type, in bytes: ArraySlice<UInt8>, at offset: Int) -> T? {
        let start = bytes.startIndex + offset
        guard offset >= 0, start + MemoryLayout<T>.size <= bytes.endIndex else { return nil }
        var value = T.zero
        withUnsafeMutableBytes(of: &value) { $0.copyBytes(from: bytes[start..<(start + MemoryLayout<T>.size)]) }
        return value
    }
}

/// One request: nlmsghdr, a fixed header, then attributes (nested ones built with `nest`). Every
/// request asks for an acknowledgement, so success and failure are both reported.
struct NetlinkRequest {
    private(set) var bytes: [UInt8]

    init(type: UInt16, flags: UInt16, header: [UInt8]) {
        bytes = Netlink.bytes(of: UInt32(0)) + Netlink.bytes(of: type) + Netlink.bytes(of: flags | Netlink.request | Netlink.acknowledge)
            + Netlink.bytes(of: UInt32(0)) + Netlink.bytes(of: UInt32(0))
        append(header)
    }

    /// Just attributes, for the body of a nested attribute.
    private init(attributesOnly: Void) { bytes = [] }

    mutating func attribute(_ type: UInt16, _ payload: [UInt8]) {
        bytes += Netlink.bytes(of: UInt16(4 + payload.count)) + Netlink.bytes(of: type)
        append(payload)
    }

    mutating func attribute(_ type: UInt16, string: String) { attribute(type, Array(string.utf8) + [0]) }
    mutating func attribute(_ type: UInt16, uint32: UInt32) { attribute(type, Netlink.bytes(of: uint32)) }

    /// A nested attribute whose payload is an optional fixed header plus the attributes `build` adds.
    mutating func nest(_ type: UInt16, header: [UInt8] = [], _ build: (inout NetlinkRequest) -> Void) {
        var inner = NetlinkRequest(attributesOnly: ())
        inner.append(header)
        build(&inner)
        attribute(type | Netlink.nested, inner.bytes)
    }

    /// The request ready to send, with its length and sequence number filled in.
    func encoded(sequence: UInt32) -> [UInt8] {
        var message = bytes
        message.replaceSubrange(0..<4, with: Netlink.bytes(of: UInt32(message.count)))
        message.replaceSubrange(8..<12, with: Netlink.bytes(of: sequence))
        return message
    }

    private mutating func append(_ payload: [UInt8]) {
        bytes += payload
        bytes += repeatElement(0, count: Netlink.aligned(payload.count) - payload.count)
    }
}

/// One message of a reply.
struct NetlinkReply {
    var type: UInt16
    var flags: UInt16
    var sequence: UInt32
    var payload: ArraySlice<UInt8>

    /// The messages in one datagram; a truncated tail is dropped.
    static func parse(_ datagram: ArraySlice<UInt8>) -> [NetlinkReply] {
        var replies: [NetlinkReply] = []
        var offset = 0
        while let length = Netlink.integer(UInt32.self, in: datagram, at: offset).map(Int.init),
              length >= Netlink.headerSize, offset + length <= datagram.count {
            let start = datagram.startIndex + offset
            replies.append(NetlinkReply(
                type: Netlink.integer(UInt16.self, in: datagram, at: offset + 4) ?? 0,
                flags: Netlink.integer(UInt16.self, in: datagram, at: offset + 6) ?? 0,
                sequence: Netlink.integer(UInt32.self, in: datagram, at: offset + 8) ?? 0,
                payload: datagram[(start + Netlink.headerSize)..<(start + length)]))
            offset += Netlink.aligned(length)
        }
        return replies
    }

    /// The attributes in `bytes` (after a fixed header), by type with the nested flag cleared.
    static func attributes(in bytes: ArraySlice<UInt8>) -> [UInt16: ArraySlice<UInt8>] {
        var result: [UInt16: ArraySlice<UInt8>] = [:]
        var offset = 0
        while let length = Netlink.integer(UInt16.self, in: bytes, at: offset).map(Int.init),
              let type = Netlink.integer(UInt16.self, in: bytes, at: offset + 2),
              length >= 4, offset + length <= bytes.count {
            let start = bytes.startIndex + offset
            result[type & ~Netlink.nested] = bytes[(start + 4)..<(start + length)]
            offset += Netlink.aligned(length)
        }
        return result
    }

    /// A NUL-terminated string attribute.
    static func string(_ payload: ArraySlice<UInt8>?) -> String? {
        payload.map { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
