import CLibvirt
import PartitionModel
import Synchronization

/// A libvirt data stream (`virStreamPtr`) to a domain's console or channel, freed when the last
/// reference goes (aborted first if it was never finished).
///
/// Streams are non-blocking and driven by `LibvirtEventLoop`, so `send` and `receive` can wait with a
/// timeout instead of hanging on a guest that does not answer. Use one reader and one writer at a time;
/// the bytes of two concurrent readers would interleave.
///
/// `@unchecked Sendable`: libvirt locks every stream call internally (the remote client's stream has
/// its own lock), and the state kept here is behind a mutex.
public final class LibvirtStream: @unchecked Sendable {
    let pointer: OpaquePointer
    public let connection: LibvirtConnection

    private enum Phase { case unopened, open, closed }
    private struct Watch {
        var registered = false
        var readers = 0
        var writers = 0
    }

    private let phase = Mutex(Phase.unopened)
    private let watch = Mutex(Watch())
    private let callback = EventCallback()
    /// Raised by the event loop when the stream becomes ready; the blocking calls wait on it.
    private let readiness = ThreadSignal()

    /// A new, unopened stream; a domain's `openConsole` or `openChannel` opens it.
    init(connection: LibvirtConnection) throws(PartitionError) {
        guard connection.supportsStreams else {
            throw PartitionError(
                .invalidState,
                "Consoles and channels need libvirt's event loop: start it (LibvirtEventLoop.start) before opening the connection."
            )
        }
        self.connection = connection
        pointer = try LibvirtCall.run("virStreamNew") { virStreamNew(connection.pointer, VIR_STREAM_NONBLOCK.rawValue) }
    }

    deinit {
        if watch.withLock({ $0.registered }) { _ = virStreamEventRemoveCallback(pointer) }
        if phase.withLock({ $0 }) == .open { _ = virStreamAbort(pointer) }
        virStreamFree(pointer)
        virResetLastError()
    }

    /// Records that a libvirt call attached the stream to a console or channel.
    func markOpen() {
        phase.withLock { $0 = .open }
    }

    // MARK: Blocking calls

    /// Sends all of `bytes`, waiting while the stream is full. Throws `.timeout` when `timeout` passes first.
    public func send(_ bytes: [UInt8], timeout: Duration? = nil) throws(PartitionError) {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        var sent = 0
        while sent < bytes.count {
            let generation = readiness.generation
            if let count = try trySend(bytes[sent...]) {
                sent += count
            } else {
                try wait(writing: true, after: generation, until: deadline, timeout: timeout)
            }
        }
    }

    /// Receives up to `max` bytes, waiting until at least one arrives. Returns an empty array at the
    /// end of the stream. Throws `.timeout` when `timeout` passes first.
    public func receive(max: Int = 65_536, timeout: Duration? = nil) throws(PartitionError) -> [UInt8] {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        while true {
            let generation = readiness.generation
            switch try tryReceive(max: max) {
            case .data(let bytes): return bytes
            case .end: return []
            case .wouldBlock: try wait(writing: false, after: generation, until: deadline, timeout: timeout)
            }
        }
    }

    /// Ends the stream cleanly: the other side sees end-of-file (virStreamFinish).
    public func finish() throws(PartitionError) {
        try close("virStreamFinish") { virStreamFinish(pointer) }
    }

    /// Ends the stream at once, dropping what is in flight (virStreamAbort). Never fails.
    public func abort() {
        try? close("virStreamAbort") { virStreamAbort(pointer) }
    }

    private func close(_ function: StaticString, _ call: () -> Int32) throws(PartitionError) {
        let wasOpen = phase.withLock { phase in
            defer { phase = .closed }
            return phase == .open
        }
        guard wasOpen else { return }
        try LibvirtCall.run(function, call)
    }

    /// Waits for the stream to become ready (or at most a second, after which the caller simply
    /// tries again), or throws when the deadline has passed.
    private func wait(
        writing: Bool, after generation: UInt64, until deadline: ContinuousClock.Instant?, timeout: Duration?
    ) throws(PartitionError) {
        var limit = Duration.seconds(1)
        if let deadline, let timeout {
            let remaining = deadline - .now
            guard remaining > .zero else {
                throw PartitionError(
                    .timeout,
                    writing ? "The stream took no data for \(timeout)." : "No data arrived on the stream within \(timeout)."
                )
            }
            limit = min(limit, remaining)
        }
        try changeInterest(writing: writing, by: 1)
        defer { try? changeInterest(writing: writing, by: -1) }
        readiness.wait(after: generation, upTo: limit)
    }

    private func changeInterest(writing: Bool, by change: Int) throws(PartitionError) {
        let events = watch.withLock { watch in
            if writing { watch.writers += change } else { watch.readers += change }
            return (watch.readers > 0 ? readableEvents : 0) | (watch.writers > 0 ? writableEvents : 0)
        }
        let readiness = readiness
        try setEventHandler(events) { _ in readiness.raise() }
    }

    // MARK: Non-blocking calls, for the event loop's thread

    enum ReceiveOutcome {
        case data([UInt8])
        case wouldBlock
        case end
    }

    /// One virStreamRecv: some bytes, nothing yet, or the end of the stream.
    func tryReceive(max: Int) throws(PartitionError) -> ReceiveOutcome {
        var received: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: max) { buffer, count in
            received = buffer.withMemoryRebound(to: CChar.self) { virStreamRecv(pointer, $0.baseAddress, max) }
            count = Int(Swift.max(received, 0))
        }
        if received == -2 { return .wouldBlock }
        try LibvirtCall.run("virStreamRecv") { received }
        return received == 0 ? .end : .data(bytes)
    }

    /// One virStreamSend: how many bytes went, or nil when the stream cannot take any now.
    func trySend(_ bytes: ArraySlice<UInt8>) throws(PartitionError) -> Int? {
        let sent = bytes.withUnsafeBytes { buffer in
            virStreamSend(pointer, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), buffer.count)
        }
        if sent == -2 { return nil }
        return Int(try LibvirtCall.run("virStreamSend") { sent })
    }

    /// Makes libvirt report `events` (`VIR_STREAM_EVENT_*`) to `handler` on the event loop's thread.
    /// The handler replaces any earlier one.
    func setEventHandler(_ events: Int32, _ handler: @escaping @Sendable (Int32) -> Void) throws(PartitionError) {
        callback.handler.withLock { $0 = handler }
        try setEvents(events)
    }

    /// Changes which events the current handler gets.
    func setEvents(_ events: Int32) throws(PartitionError) {
        try watch.withLock { (watch: inout Watch) throws(PartitionError) in
            if watch.registered {
                try LibvirtCall.run("virStreamEventUpdateCallback") { virStreamEventUpdateCallback(pointer, events) }
                return
            }
            let opaque = Unmanaged.passRetained(callback).toOpaque()
            let added = LibvirtCall.result("virStreamEventAddCallback") {
                virStreamEventAddCallback(pointer, events, { _, events, opaque in
                    let callback = Unmanaged<EventCallback>.fromOpaque(opaque!).takeUnretainedValue()
                    callback.handler.withLock { $0 }?(events)
                }, opaque, { opaque in
                    Unmanaged<EventCallback>.fromOpaque(opaque!).release()
                })
            }
            switch added {
            case .success:
                watch.registered = true
            case .failure(let info):
                Unmanaged<EventCallback>.fromOpaque(opaque).release()
                throw info.partitionError
            }
        }
    }

    /// Stops the event reports and drops the handler (and what it captured).
    func removeEventHandler() {
        watch.withLock { watch in
            if watch.registered { _ = virStreamEventRemoveCallback(pointer) }
            watch.registered = false
        }
        callback.handler.withLock { $0 = nil }
    }

    /// The one callback libvirt allows per stream; its handler can be replaced.
    private final class EventCallback: Sendable {
        let handler = Mutex<(@Sendable (Int32) -> Void)?>(nil)
    }
}

let readableEvents = Int32(VIR_STREAM_EVENT_READABLE.rawValue | VIR_STREAM_EVENT_ERROR.rawValue | VIR_STREAM_EVENT_HANGUP.rawValue)
let writableEvents = Int32(VIR_STREAM_EVENT_WRITABLE.rawValue | VIR_STREAM_EVENT_ERROR.rawValue | VIR_STREAM_EVENT_HANGUP.rawValue)
