import CLibvirt
import Glibc
import PartitionModel
import SystemKit
import Synchronization

/// Connects a console stream to two file descriptors, both ways at once: bytes read from `input` go
/// to the guest, the guest's bytes are written to `output`, until the stream ends, the input ends,
/// the user types the escape sequence, or `stop()` is called.
///
/// Everything runs as callbacks on libvirt's event loop thread, like `virsh console`: one thread owns
/// the buffers, no thread blocks in a read while the other direction waits. Each direction stops
/// reading while its buffer is full, so a slow terminal holds back the guest, not memory. The caller
/// puts the terminal into raw mode (`RawTerminal.withRawMode`) when `input` is one.
///
/// `@unchecked Sendable`: the buffers and flags are only touched on the event loop's thread (begin,
/// the callbacks and end all run there); what `run()` and `stop()` share with it is behind a mutex.
public final class ConsoleSession: @unchecked Sendable {
    /// Why a session ended.
    public enum Ending: Sendable, Hashable {
        /// The user typed the escape sequence (`~.`).
        case escaped
        /// The guest side closed the stream (the domain stopped, or another client took the console).
        case streamClosed
        /// `input` reached end-of-file and what was read has been sent.
        case inputClosed
        /// `stop()` was called.
        case stopped
    }

    private let stream: LibvirtStream
    private let input: Int32
    private let output: Int32

    // Touched only on the event loop's thread (from begin() on).
    private var escape: ConsoleEscape?
    private var toStream: [UInt8] = []
    private var toOutput: [UInt8] = []
    private var inputWatch: Int32 = -1
    private var outputWatch: Int32 = -1
    private var inputClosed = false
    private var streamEnded = false
    private var ended = false

    // Shared with the thread in run().
    private let started = Mutex(false)
    private let outcome = Mutex<Result<Ending, PartitionError>?>(nil)
    private let finished = ThreadSignal()

    /// Stop reading from the guest while this much output waits for the terminal.
    private static let outputLimit = 256 * 1024
    /// At most this much per write: a write after poll() reported room never blocks for pipes and ttys.
    private static let writeChunk = 4096

    /// - Parameters:
    ///   - stream: an open console or channel stream; the session finishes or aborts it when it ends.
    ///   - escape: the escape detector for `input`, or nil to pass every byte through.
    public init(stream: LibvirtStream, input: Int32 = STDIN_FILENO, output: Int32 = STDOUT_FILENO,
                escape: ConsoleEscape? = ConsoleEscape()) {
        self.stream = stream
        self.input = input
        self.output = output
        self.escape = escape
    }

    /// Runs the session and blocks the calling thread until it ends. A session runs once.
    public func run() throws(PartitionError) -> Ending {
        let first = started.withLock { started in
            defer { started = true }
            return !started
        }
        guard first else { throw PartitionError(.invalidState, "This console session has already run.") }
        let generation = finished.generation
        try LibvirtEventLoop.runSoon { [self] in begin() }
        finished.wait(after: generation, upTo: nil)
        switch outcome.withLock({ $0 }) {
        case .success(let ending): return ending
        case .failure(let error): throw error
        case nil: throw PartitionError(.internal, "The console session ended without an outcome.")
        }
    }

    /// Ends the session from any thread; `run()` then returns `.stopped`.
    public func stop() {
        try? LibvirtEventLoop.runSoon { [self] in end(.success(.stopped)) }
    }

    // MARK: On the event loop's thread

    private func begin() {
        guard !ended else { return }
        do throws(PartitionError) {
            try stream.setEventHandler(readableEvents) { [self] events in streamReady(events) }
            inputWatch = try LibvirtEventLoop.addHandle(fd: input, events: handleReadable) { [self] _ in inputReady() }
            outputWatch = try LibvirtEventLoop.addHandle(fd: output, events: 0) { [self] _ in outputReady() }
        } catch {
            end(.failure(error))
        }
    }

    private func streamReady(_ events: Int32) {
        guard !ended else { return }
        do throws(PartitionError) {
            if events & readableEvents != 0 {
                try readStream(hungUp: events & Int32(VIR_STREAM_EVENT_HANGUP.rawValue) != 0)
            }
            if events & Int32(VIR_STREAM_EVENT_WRITABLE.rawValue) != 0 {
                try writeStream()
            }
            try settle()
        } catch {
            end(.failure(Self.streamFailure(error)))
        }
    }

    /// libvirt's words for a broken stream ("stream had I/O failure") do not say that the usual cause
    /// is another client forcing the console over; say it.
    static func streamFailure(_ error: PartitionError) -> PartitionError {
        var error = error
        error.message = "The console connection broke off (another client may have taken the console over): \(error.message)"
        return error
    }

    private func inputReady() {
        guard !ended else { return }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = read(input, &buffer, buffer.count)
        do throws(PartitionError) {
            if count > 0 {
                let typed = buffer[..<count]
                let (forward, leave) = escape?.filter(typed) ?? (Array(typed), false)
                toStream += forward
                if leave {
                    end(.success(.escaped))
                    return
                }
                try writeStream()
            } else if count == 0 {
                inputClosed = true
            } else if errno != EAGAIN && errno != EINTR {
                throw PartitionError(.system, "Cannot read the console's input: \(String(cString: strerror(errno))).")
            }
            try settle()
        } catch {
            end(.failure(error))
        }
    }

    private func outputReady() {
        guard !ended, !toOutput.isEmpty else { return }
        let count = toOutput.withUnsafeBytes { write(output, $0.baseAddress, min($0.count, Self.writeChunk)) }
        do throws(PartitionError) {
            if count > 0 {
                toOutput.removeFirst(count)
            } else if errno != EAGAIN && errno != EINTR {
                throw PartitionError(.system, "Cannot write the console's output: \(String(cString: strerror(errno))).")
            }
            try settle()
        } catch {
            end(.failure(error))
        }
    }

    private func readStream(hungUp: Bool) throws(PartitionError) {
        while !streamEnded && toOutput.count < Self.outputLimit {
            switch try stream.tryReceive(max: 65_536) {
            case .data(let bytes):
                toOutput += bytes
            case .end:
                streamEnded = true
            case .wouldBlock:
                // Hung up with nothing left to read: no end-of-file will follow.
                if hungUp { streamEnded = true }
                return
            }
        }
    }

    private func writeStream() throws(PartitionError) {
        while !toStream.isEmpty, let count = try stream.trySend(toStream[...]) {
            toStream.removeFirst(count)
        }
    }

    /// Ends the session when a side is done, otherwise asks for exactly the events that can make progress.
    private func settle() throws(PartitionError) {
        if streamEnded && toOutput.isEmpty { return end(.success(.streamClosed)) }
        if inputClosed && toStream.isEmpty && toOutput.isEmpty { return end(.success(.inputClosed)) }

        let wantsGuestOutput = !streamEnded && !inputClosed && toOutput.count < Self.outputLimit
        let streamEvents = (wantsGuestOutput ? readableEvents : 0) | (toStream.isEmpty ? 0 : writableEvents)
        try stream.setEvents(streamEvents)
        LibvirtEventLoop.updateHandle(inputWatch, events: !inputClosed && toStream.isEmpty ? handleReadable : 0)
        LibvirtEventLoop.updateHandle(outputWatch, events: toOutput.isEmpty ? 0 : handleWritable)
    }

    private func end(_ result: Result<Ending, PartitionError>) {
        guard !ended else { return }
        ended = true
        if inputWatch >= 0 { LibvirtEventLoop.removeHandle(inputWatch) }
        if outputWatch >= 0 { LibvirtEventLoop.removeHandle(outputWatch) }
        // Dropping the handler also drops its reference to this session.
        stream.removeEventHandler()
        if case .success(.streamClosed) = result {
            try? stream.finish()
        } else {
            stream.abort()
        }
        outcome.withLock { $0 = result }
        finished.raise()
    }
}

private let handleReadable = Int32(VIR_EVENT_HANDLE_READABLE.rawValue)
private let handleWritable = Int32(VIR_EVENT_HANDLE_WRITABLE.rawValue)
