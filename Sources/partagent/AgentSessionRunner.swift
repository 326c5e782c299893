import AgentProtocol
import Glibc
import PartitionModel
import WorkloadEngine

/// One `wpar.attach` session inside the guest: the engine's call (a login's command, or the
/// console relay) runs on a worker thread, on descriptors whose other ends this runner pumps to and
/// from the host's session frames on the agent's own thread, until the command ends (exit frame),
/// the console ends (closed frame), or the host detaches or goes away.
///
/// When the host goes, a login's command is not waited for: the agent serves again at once, and
/// the command ends by itself (a terminal session gets ^C ^D, a pipe session end of input).
final class AgentSessionRunner: @unchecked Sendable {
    private let mode: Agent.Attach.Mode
    private let terminal: Bool
    /// Where host input goes; -1 once closed.
    private var input: Int32
    /// What is relayed to the host: (descriptor, fd number the host writes it to).
    private var outputs: [(descriptor: Int32, fd: Int)]
    /// Becomes readable when the worker has finished.
    private let finished: Int32
    /// Set by the worker before it signals `finished`.
    private var outcome: Result<Int32, PartitionError> = .success(0)

    private init(mode: Agent.Attach.Mode, terminal: Bool, input: Int32, outputs: [(Int32, Int)], finished: Int32) {
        self.mode = mode
        self.terminal = terminal
        self.input = input
        self.outputs = outputs.map { (descriptor: $0.0, fd: $0.1) }
        self.finished = finished
    }

    /// Checks what can be checked before the reply (the WPAR runs, has a console), then starts
    /// the worker. A failure is thrown, for the reply to `wpar.attach`.
    static func start(_ engine: WorkloadEngine, _ arguments: Agent.Attach.Arguments) throws(PartitionError) -> AgentSessionRunner {
        guard try engine.status(arguments.name).state.isActive else {
            throw PartitionError(.invalidState, "The WPAR is not running.")
        }
        if arguments.mode == .console, try !engine.definition(of: arguments.name).console {
            throw PartitionError(.unsupported, "The WPAR has no console; activate it again to give it one.")
        }
        let name = arguments.name
        switch (arguments.mode, arguments.terminal) {
        case (.console, _):
            return try launch(.console, .socket { (theirs) throws(PartitionError) -> Int32 in
                try engine.attachConsole(name, input: theirs, output: theirs)
                return 0
            })
        case (.login, true):
            let size = arguments.rows.flatMap { rows in arguments.columns.map { TerminalSize(rows: rows, columns: $0) } }
            let command = WorkloadCommand(arguments: arguments.argv, terminal: true, terminalSize: size)
            return try launch(.login, .socket { (theirs) throws(PartitionError) -> Int32 in
                try engine.exec(name, command, input: theirs, output: theirs)
            })
        case (.login, false):
            let command = WorkloadCommand(arguments: arguments.argv)
            return try launch(.login, .pipes { (input, output, error) throws(PartitionError) -> Int32 in
                try engine.exec(name, command, input: input, output: output, error: error)
            })
        }
    }

    /// `system.attach`: a command as root in the guest itself, outside every WPAR.
    static func startInSystem(_ engine: WorkloadEngine, _ arguments: Agent.SystemAttach.Arguments) throws(PartitionError) -> AgentSessionRunner {
        var environment = WorkloadEngine.systemEnvironment
        if arguments.terminal {
            // Only a plain terminal name: it becomes part of the command's environment.
            let term = arguments.term.flatMap { $0.utf8.count <= 64 && $0.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "=") } ? $0 : nil }
            environment.append("TERM=" + (term ?? "xterm"))
        }
        let size = arguments.rows.flatMap { rows in arguments.columns.map { TerminalSize(rows: rows, columns: $0) } }
        let command = WorkloadCommand(arguments: arguments.argv, environment: environment, terminal: arguments.terminal,
                                      terminalSize: size)
        if arguments.terminal {
            return try launch(.login, .socket { (theirs) throws(PartitionError) -> Int32 in
                try engine.execInSystem(command, input: theirs, output: theirs)
            })
        }
        return try launch(.login, .pipes { (input, output, error) throws(PartitionError) -> Int32 in
            try engine.execInSystem(command, input: input, output: output, error: error)
        })
    }

    /// What the worker runs: on one socket both ways (a console, or a command on a terminal the
    /// engine relays), or on three pipes (a command without a terminal).
    private enum Work {
        case socket(@Sendable (Int32) throws(PartitionError) -> Int32)
        case pipes(@Sendable (Int32, Int32, Int32) throws(PartitionError) -> Int32)
    }

    private static func launch(_ mode: Agent.Attach.Mode, _ work: Work) throws(PartitionError) -> AgentSessionRunner {
        let done = try pipePair()
        // The worker's descriptors (closed by it when the engine returns) and the runner's.
        let workerEnds: [Int32]
        let runner: AgentSessionRunner
        let body: @Sendable () throws(PartitionError) -> Int32
        switch work {
        case .socket(let run):
            let (mine, theirs) = try socketPair()
            workerEnds = [theirs]
            runner = AgentSessionRunner(mode: mode, terminal: true, input: mine, outputs: [(mine, 1)], finished: done.read)
            body = { () throws(PartitionError) -> Int32 in try run(theirs) }
        case .pipes(let run):
            let stdin = try pipePair(), stdout = try pipePair(), stderr = try pipePair()
            workerEnds = [stdin.read, stdout.write, stderr.write]
            runner = AgentSessionRunner(mode: mode, terminal: false, input: stdin.write,
                                        outputs: [(stdout.read, 1), (stderr.read, 2)], finished: done.read)
            body = { () throws(PartitionError) -> Int32 in try run(stdin.read, stdout.write, stderr.write) }
        }
        for descriptor in [runner.input] + runner.outputs.map(\.descriptor) {
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        }
        let ends = workerEnds
        let signal = done.write
        let started = WorkerThread.start {
            let result: Result<Int32, PartitionError>
            do throws(PartitionError) { result = .success(try body()) } catch { result = .failure(error) }
            runner.outcome = result
            for end in ends { close(end) }
            var byte: UInt8 = 1
            _ = write(signal, &byte, 1)
            close(signal)
        }
        guard started else {
            for descriptor in ends + [signal, done.read, runner.input] + runner.outputs.map(\.descriptor) { close(descriptor) }
            throw PartitionError(.system, "partagent cannot start a thread for the session.")
        }
        return runner
    }

    /// Pumps until the session ends; the link is then free for requests again. `reader` is the
    /// server's: what the host sent after the session's end (its next sync) stays in it.
    func run(_ link: AgentLink, reader: inout AgentFrameReader) {
        var pendingInput: [UInt8] = []
        var closeInputWhenSent = false
        var buffer = [UInt8](repeating: 0, count: AgentWire.sessionChunk)
        defer { closeAll() }
        while true {
            var fds = [pollfd(fd: link.descriptor, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: finished, events: Int16(POLLIN), revents: 0)]
            for output in outputs { fds.append(pollfd(fd: output.descriptor, events: Int16(POLLIN), revents: 0)) }
            if input >= 0 && !pendingInput.isEmpty { fds.append(pollfd(fd: input, events: Int16(POLLOUT), revents: 0)) }
            if poll(&fds, nfds_t(fds.count), 1000) < 0 && errno != EINTR { return abandon(link) }

            // From the host: input, end of input, detach; a host that went away is a detach.
            if fds[0].revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(link.descriptor, $0.baseAddress, $0.count) }
                if count <= 0 && !(count < 0 && (errno == EINTR || errno == EAGAIN)) { return abandon(link) }
                if count > 0 { reader.append(buffer[..<count]) }
                while let event = reader.next() {
                    guard case .frame(let bytes) = event, let frame = try? AgentCodec.decodeSessionFrame(bytes) else {
                        log("a broken session frame ended the session")
                        return abandon(link)
                    }
                    switch frame {
                    case .input(let bytes) where input >= 0 && !closeInputWhenSent: pendingInput += bytes
                    case .endOfInput: closeInputWhenSent = true
                    case .detach: return abandon(link)
                    default: break
                    }
                }
            }
            // To the command or console; input is held back (the host waits) while it does not read.
            if input >= 0 && !pendingInput.isEmpty {
                let written = pendingInput.withUnsafeBytes { write(input, $0.baseAddress, $0.count) }
                if written > 0 { pendingInput.removeFirst(written) }
                if written < 0 && errno != EAGAIN && errno != EINTR { pendingInput.removeAll() }
            }
            if closeInputWhenSent && pendingInput.isEmpty && input >= 0 && !terminal {
                close(input)
                input = -1
            }
            guard relayOutput(link, buffer: &buffer) else { return abandon(link) }
            if fds[1].revents != 0 {
                // The worker is done: what it wrote last, then how it ended.
                while relayOutputOnce(link, buffer: &buffer) == .relayed {}
                let end: AgentSessionFrame
                switch (mode, outcome) {
                case (.login, .success(let status)): end = .exit(status: status & 0xFF)
                case (.console, .success): end = .closed(reason: "The console session ended.")
                case (.login, .failure(let error)):
                    _ = link.write((try? AgentCodec.encode(AgentSessionFrame.output(fd: 2, Array("\(error.message)\n".utf8)))) ?? [])
                    end = .exit(status: 255)
                case (.console, .failure(let error)): end = .closed(reason: error.message)
                }
                _ = link.write((try? AgentCodec.encode(end)) ?? [])
                return
            }
        }
    }

    private enum Relay { case relayed, nothing, failed }

    /// Output that is ready now, to the host; false when the host is gone.
    private func relayOutput(_ link: AgentLink, buffer: inout [UInt8]) -> Bool {
        relayOutputOnce(link, buffer: &buffer) != .failed
    }

    private func relayOutputOnce(_ link: AgentLink, buffer: inout [UInt8]) -> Relay {
        var result = Relay.nothing
        for index in outputs.indices where outputs[index].descriptor >= 0 {
            let output = outputs[index]
            let count = buffer.withUnsafeMutableBytes { read(output.descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                guard let frame = try? AgentCodec.encode(AgentSessionFrame.output(fd: output.fd, Array(buffer[..<count]))),
                      link.write(frame) else { return .failed }
                result = .relayed
            } else if count == 0 || (errno != EAGAIN && errno != EINTR) {
                // End of this output (or a terminal whose processes are gone): stop watching it.
                if output.descriptor != input { close(output.descriptor) }
                outputs[index].descriptor = -1
            }
        }
        outputs.removeAll { $0.descriptor < 0 }
        return result
    }

    /// The reply could not be sent: the session ends before it began.
    func abandonBeforeStart() {
        abandon()
        closeAll()
    }

    /// The host left: nothing more goes to it. A terminal login gets ^C ^D, so that a shell left
    /// behind ends; a pipe login gets end of input. The worker finishes on its own.
    private func abandon(_ link: AgentLink? = nil) {
        if terminal && mode == .login && input >= 0 {
            _ = write(input, [3, 4], 2)
        }
    }

    private func closeAll() {
        var closed = Set<Int32>()
        for descriptor in [input, finished] + outputs.map(\.descriptor) where descriptor >= 0 && closed.insert(descriptor).inserted {
            close(descriptor)
        }
        input = -1
        outputs = []
    }

    private static func pipePair() throws(PartitionError) -> (read: Int32, write: Int32) {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw AgentEndpoint.failure("create a pipe for the session") }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        return (ends[0], ends[1])
    }

    private static func socketPair() throws(PartitionError) -> (Int32, Int32) {
        var ends: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
            throw AgentEndpoint.failure("create a socket pair for the session")
        }
        return (ends[0], ends[1])
    }
}

/// A detached POSIX thread running one closure (partagent links no Foundation).
enum WorkerThread {
    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    static func start(_ body: @escaping @Sendable () -> Void) -> Bool {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { argument in
            Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue().body()
            return nil
        }, box)
        guard created == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            return false
        }
        pthread_detach(thread)
        return true
    }
}
