import AgentProtocol
import Glibc
import PartitionModel
import SystemKit
import WorkloadEngine

/// The guest side of relocating a nested WPAR (`AgentMobility.swift`): layers packed into and
/// unpacked from transfers, files under `<runtime root>/transfers` (a tmpfs in partctl's guest),
/// each named by a random id. A transfer left by a killed command is swept after an hour.
struct AgentMobilityHandler {
    let engine: WorkloadEngine
    /// A transfer never grows beyond this (the guest's memory is the real bound).
    static let transferLimit: UInt64 = 2 << 30
    static let staleAfter = 3600

    var directory: String { engine.paths.root + "/transfers" }

    func handle(_ request: AgentRequest) throws(PartitionError) -> JSONValue {
        switch request.operation {
        case .wparExport:
            return try encode(try export(try request.arguments(of: Agent.Export.self).name))
        case .transferRead:
            return try encode(try read(try request.arguments(of: Agent.TransferRead.self)))
        case .transferWrite:
            return try encode(try write(try request.arguments(of: Agent.TransferWrite.self)))
        case .transferDiscard:
            let transfer = try request.arguments(of: Agent.TransferDiscard.self).transfer
            unlink(try file(transfer))
            return try encode(AgentEmpty())
        case .wparImport:
            return try encode(try importLayer(try request.arguments(of: Agent.Import.self)))
        default:
            throw PartitionError(.internal, "\(request.operation.rawValue) is not a relocation request.")
        }
    }

    private func encode<T: Encodable>(_ value: T) throws(PartitionError) -> JSONValue {
        try StrictJSON.encode(value, what: "a relocation result")
    }

    // MARK: Export

    func export(_ name: PartitionName) throws(PartitionError) -> Agent.Export.Result {
        let spec = try engine.definition(of: name)
        guard !(try engine.status(name)).state.isActive else {
            throw PartitionError(.invalidState, "The WPAR \(name) is running; its layer is exported only while it is stopped.")
        }
        guard case .overlay(_, let upper) = spec.root else {
            return .init(layer: false, transfer: nil, bytes: 0, checksum: FNV1a64().hex, entries: 0)
        }
        guard spec.diskLimit == nil else {
            throw PartitionError(.unsupported, "The WPAR \(name) has a disk limit (a layer on a file system of its own), which relocation does not move yet.")
        }
        let path = upper ?? SpawnPlan.defaultUpper(for: name, definitionsRoot: engine.paths.definitions)
        let (transfer, fd) = try create()
        defer { close(fd) }
        let ids = LayerArchive.IDMap(mapping: Self.view(spec.userNamespace))
        let entries: Int
        do throws(PartitionError) {
            var status = stat()
            if lstat(path, &status) == 0 {
                entries = try LayerArchive.pack(upper: path, ids: ids, to: fd)
            } else {
                // Never started: the layer engine would make at activation, empty.
                entries = try LayerArchive.packEmpty(to: fd)
            }
        } catch {
            unlink(try file(transfer))
            throw error
        }
        let (bytes, checksum) = try Self.measure(fd)
        return .init(layer: true, transfer: transfer, bytes: bytes, checksum: checksum, entries: entries)
    }

    // MARK: Transfers

    func read(_ arguments: Agent.TransferRead.Arguments) throws(PartitionError) -> Agent.TransferRead.Result {
        guard (1...Agent.transferChunk).contains(arguments.length) else {
            throw PartitionError(.outOfRange, "A transfer is read at most \(Agent.transferChunk) bytes at a time.")
        }
        let fd = open(try file(arguments.transfer), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw missing(arguments.transfer) }
        defer { close(fd) }
        var data = [UInt8](repeating: 0, count: arguments.length)
        let got = data.withUnsafeMutableBytes { buffer in POSIX.retryingInterrupts { pread(fd, buffer.baseAddress, buffer.count, off_t(arguments.offset)) } }
        guard got >= 0 else { throw LayerArchive.failure("read the transfer \(arguments.transfer)") }
        return .init(data: Base64.encode(data[..<got]))
    }

    func write(_ arguments: Agent.TransferWrite.Arguments) throws(PartitionError) -> Agent.TransferWrite.Result {
        guard let data = Base64.decode(arguments.data), data.count <= Agent.transferChunk else {
            throw PartitionError(.invalidArgument, "A transfer chunk must be base64 of at most \(Agent.transferChunk) bytes.")
        }
        let transfer: String
        let fd: Int32
        if let existing = arguments.transfer {
            transfer = existing
            fd = open(try file(existing), O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw missing(existing) }
        } else {
            guard arguments.offset == 0 else { throw PartitionError(.invalidArgument, "A new transfer starts at offset 0.") }
            (transfer, fd) = try create()
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw LayerArchive.failure("examine the transfer \(transfer)") }
        guard UInt64(status.st_size) == arguments.offset else {
            throw PartitionError(.invalidArgument, "The transfer \(transfer) holds \(status.st_size) bytes; a chunk for offset \(arguments.offset) does not follow them.")
        }
        guard arguments.offset + UInt64(data.count) <= Self.transferLimit else {
            throw PartitionError(.outOfRange, "A transfer holds at most \(Self.transferLimit >> 30) GiB.")
        }
        let written = data.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(arguments.offset)) }
        guard written == data.count else { throw LayerArchive.failure("write the transfer \(transfer)", written < 0 ? errno : ENOSPC) }
        return .init(transfer: transfer)
    }

    // MARK: Import

    func importLayer(_ arguments: Agent.Import.Arguments) throws(PartitionError) -> Agent.Import.Result {
        let name = arguments.name
        let spec = try engine.definition(of: name)
        guard !(try engine.status(name)).state.isActive else {
            throw PartitionError(.invalidState, "The WPAR \(name) is running here; a layer is imported only before it starts.")
        }
        guard case .overlay(_, nil) = spec.root, spec.diskLimit == nil else {
            throw PartitionError(.unsupported, "The WPAR \(name) has no writable layer of the engine's own here to import into.")
        }
        let upper = SpawnPlan.defaultUpper(for: name, definitionsRoot: engine.paths.definitions)
        // A layer only where the WPAR never ran: an empty one (made by an earlier start) goes first.
        if try !LayerArchive.names(inDirectoryAt: upper).isEmpty {
            throw PartitionError(.alreadyExists, "The WPAR \(name) already has a writable layer in this guest.")
        }
        try TreeRemoval.remove(upper)
        try TreeRemoval.remove(SpawnPlan.overlayWork(for: upper))
        let fd = open(try file(arguments.transfer), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw missing(arguments.transfer) }
        defer { close(fd) }
        let (bytes, checksum) = try Self.measure(fd)
        guard bytes == arguments.bytes, checksum == arguments.checksum else {
            throw PartitionError(.invalidArgument,
                "The transfer \(arguments.transfer) holds \(bytes) bytes with checksum \(checksum), not the \(arguments.bytes) bytes with checksum \(arguments.checksum) exported.")
        }
        let partial = upper + ".partial"
        try TreeRemoval.remove(partial)
        let entries: Int
        do throws(PartitionError) {
            entries = try LayerArchive.unpack(from: fd, into: partial, ids: LayerArchive.IDMap(mapping: Self.view(spec.userNamespace)))
            guard rename(partial, upper) == 0 else { throw LayerArchive.failure("put the layer of \(name) in place") }
        } catch {
            try? TreeRemoval.remove(partial)
            throw error
        }
        unlink(try file(arguments.transfer))
        return .init(entries: entries)
    }

    // MARK: Files

    private func file(_ transfer: String) throws(PartitionError) -> String {
        guard Agent.isTransferID(transfer) else {
            throw PartitionError(.invalidArgument, "A transfer id is 16 lowercase hex digits.")
        }
        return directory + "/" + transfer
    }

    private func missing(_ transfer: String) -> PartitionError {
        errno == ENOENT ? PartitionError(.notFound, "No transfer \(transfer) is open in this guest.")
            : LayerArchive.failure("open the transfer \(transfer)")
    }

    /// A new transfer file, after sweeping those a killed command left.
    private func create() throws(PartitionError) -> (String, Int32) {
        try StateDirectory.ensure(engine.paths.root, mode: 0o700, followingSymlink: true)
        try StateDirectory.ensure(directory, mode: 0o700)
        sweep()
        for _ in 0..<4 {
            // Swift's system generator draws from getrandom(2).
            let random = withUnsafeBytes(of: UInt64.random(in: .min ... .max)) { Array($0) }
            let transfer = random.map { String($0 >> 4, radix: 16) + String($0 & 15, radix: 16) }.joined()
            let fd = open(directory + "/" + transfer, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd >= 0 { return (transfer, fd) }
            guard errno == EEXIST else { throw LayerArchive.failure("create a transfer") }
        }
        throw PartitionError(.internal, "No free transfer id was drawn.")
    }

    private func sweep() {
        let now = time(nil)
        guard let names = try? LayerArchive.names(inDirectoryAt: directory) else { return }
        for name in names where Agent.isTransferID(name) {
            var status = stat()
            if lstat(directory + "/" + name, &status) == 0, now - status.st_mtim.tv_sec > Self.staleAfter {
                unlink(directory + "/" + name)
            }
        }
    }

    /// Size and checksum of a whole transfer file.
    static func measure(_ fd: Int32) throws(PartitionError) -> (UInt64, String) {
        var hash = FNV1a64()
        var total: UInt64 = 0
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let got = chunk.withUnsafeMutableBytes { buffer in POSIX.retryingInterrupts { pread(fd, buffer.baseAddress, buffer.count, off_t(total)) } }
            guard got >= 0 else { throw LayerArchive.failure("read a transfer") }
            if got == 0 { return (total, hash.hex) }
            hash.update(chunk[..<got])
            total += UInt64(got)
        }
    }

    static func view(_ mapping: UserNamespaceMapping?) -> LayerArchive.UserNamespaceMappingView? {
        guard let mapping else { return nil }
        return .init(uids: mapping.uids.map { ($0.inside, $0.outside, $0.count) },
                     gids: mapping.gids.map { ($0.inside, $0.outside, $0.count) })
    }
}

extension LayerArchive {
    /// An archive of an empty layer: its root only, owned by the WPAR's root.
    static func packEmpty(to fd: Int32) throws(PartitionError) -> Int {
        var writer = ArchiveWriter(fd: fd)
        writer.bytes(magic)
        writer.byte(UInt8(ascii: "d"))
        writer.u32(0o755)
        writer.u32(0)
        writer.u32(0)
        writer.u64(UInt64(bitPattern: Int64(time(nil))))
        writer.u32(0)
        writer.u16(0)
        writer.u16(0)
        writer.byte(UInt8(ascii: "E"))
        writer.u32(1)
        try writer.flush()
        return 1
    }

    /// The names in the directory at `path`; none when it does not exist.
    static func names(inDirectoryAt path: String) throws(PartitionError) -> [String] {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return [] }
            throw failure("open \(path)")
        }
        defer { close(fd) }
        return try names(in: fd, path: path)
    }
}
