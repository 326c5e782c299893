import PartitionModel

/// Moving a nested WPAR between LPARs (`partctl relocate lp1/web --to lp2`): its writable layer
/// leaves one guest as an archive (`wpar.export`), crosses the host in chunks that fit a frame
/// (`transfer.read` from the source agent, `transfer.write` into the destination agent) and is
/// unpacked in the other guest (`wpar.import`) before the host hands that agent the definition.
/// The archive is the agent's own format (`LayerArchive` in partagent): its checksum travels
/// beside it, so a transfer mixed up or cut short is refused before anything is unpacked.
/// Added within protocol 4: an older agent refuses the names, which the host explains.
extension Agent {
    /// Bytes per `transfer.read`/`transfer.write`: 512 KiB, 683 KiB as base64, within the frame limit.
    public static let transferChunk = 512 << 10

    /// A transfer's id: 16 lowercase hex digits, made by the agent. Anything else is refused before
    /// it names a file.
    public static func isTransferID(_ text: String) -> Bool {
        text.utf8.count == 16 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// Packs the writable layer of a stopped WPAR into a transfer (refused while it runs).
    public enum Export: AgentCall {
        public static let operation = AgentOperation.wparExport
        public typealias Arguments = AgentWparName
        public struct Result: Codable, Sendable, Hashable {
            /// False for a WPAR without one (an application WPAR on the guest's files): nothing to move.
            public var layer: Bool
            /// The transfer holding the archive; nil without a layer.
            public var transfer: String?
            public var bytes: UInt64
            /// FNV-1a 64 of the archive, 16 hex digits: catches a cut or mixed-up transfer, not an attacker.
            public var checksum: String
            /// Files, directories, links and whiteouts in the layer.
            public var entries: Int
            public init(layer: Bool, transfer: String?, bytes: UInt64, checksum: String, entries: Int) {
                self.layer = layer
                self.transfer = transfer
                self.bytes = bytes
                self.checksum = checksum
                self.entries = entries
            }
        }
    }

    /// Up to `length` (at most `transferChunk`) bytes of a transfer from `offset`; fewer only at its end.
    public enum TransferRead: AgentCall {
        public static let operation = AgentOperation.transferRead
        public struct Arguments: Codable, Sendable, Hashable {
            public var transfer: String
            public var offset: UInt64
            public var length: Int
            public init(transfer: String, offset: UInt64, length: Int) {
                self.transfer = transfer
                self.offset = offset
                self.length = length
            }
        }
        public struct Result: Codable, Sendable, Hashable {
            /// Base64.
            public var data: String
            public init(data: String) { self.data = data }
        }
    }

    /// Appends a chunk to a transfer at `offset` (its current size); without `transfer` a new one is
    /// started (offset 0) and its id returned.
    public enum TransferWrite: AgentCall {
        public static let operation = AgentOperation.transferWrite
        public struct Arguments: Codable, Sendable, Hashable {
            public var transfer: String?
            public var offset: UInt64
            /// Base64, at most `transferChunk` bytes decoded.
            public var data: String
            public init(transfer: String?, offset: UInt64, data: String) {
                self.transfer = transfer
                self.offset = offset
                self.data = data
            }
        }
        public struct Result: Codable, Sendable, Hashable {
            public var transfer: String
            public init(transfer: String) { self.transfer = transfer }
        }
    }

    /// Deletes a transfer (after an import, or when a move is given up). An unknown one is no error.
    public enum TransferDiscard: AgentCall {
        public static let operation = AgentOperation.transferDiscard
        public struct Arguments: Codable, Sendable, Hashable {
            public var transfer: String
            public init(transfer: String) { self.transfer = transfer }
        }
        public typealias Result = AgentEmpty
    }

    /// Unpacks a transferred layer as the writable layer of `name`, which this guest must not define
    /// (a leftover layer of an interrupted import, without a definition, is replaced). The size and
    /// checksum must match the export's; the definition follows with `wpar.define`.
    public enum Import: AgentCall {
        public static let operation = AgentOperation.wparImport
        public struct Arguments: Codable, Sendable, Hashable {
            public var name: PartitionName
            public var transfer: String
            public var bytes: UInt64
            public var checksum: String
            public init(name: PartitionName, transfer: String, bytes: UInt64, checksum: String) {
                self.name = name
                self.transfer = transfer
                self.bytes = bytes
                self.checksum = checksum
            }
        }
        public struct Result: Codable, Sendable, Hashable {
            public var entries: Int
            public init(entries: Int) { self.entries = entries }
        }
    }

    /// An agent older than relocation refuses the operations' names; that refusal says what to do.
    public static func explainMobilityRefusal(_ error: PartitionError, lpar: String) -> PartitionError {
        guard error.code == .unsupported, error.message.contains("is not part of protocol") else { return error }
        return PartitionError(.unsupported,
            "The agent in '\(lpar)' is older than WPAR relocation: rebuild the guest image (make guest-image) and restart '\(lpar)'.",
            partition: lpar)
    }
}

/// FNV-1a, 64 bits: the transfer checksum (cheap in the guest, order-sensitive, no secret).
public struct FNV1a64: Sendable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    public mutating func update<Bytes: Sequence<UInt8>>(_ bytes: Bytes) {
        for byte in bytes {
            value ^= UInt64(byte)
            value &*= 0x0000_0100_0000_01b3
        }
    }

    /// 16 lowercase hex digits.
    public var hex: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
