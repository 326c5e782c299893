#if canImport(Glibc)
import Glibc
#endif
import AgentProtocol
import LibvirtKit
import PartitionModel
import SystemKit

/// The host's end of a nested session: this process's stdin to the agent as input frames, the
/// agent's output frames to stdout/stderr, until the command exits, the console closes, or (for
/// the console) the user types `~.`.
///
/// One thread: the agent is asked for frames with a short timeout and stdin is looked at in
/// between, so typing reaches the guest within that time even when the guest prints nothing.
struct NestedTerminal {
    enum Ending: Equatable {
        case exited(Int32)
        case closed(String)
        case detached
    }

    let session: AgentSession
    /// The console's escape (`~.`); nil for a login, whose command's end ends it.
    var escape: ConsoleEscape?
    /// A session on a terminal inside the guest: end of local input is sent as ^D, which the
    /// terminal turns into end of file for the command.
    var terminal: Bool
    /// How long one wait for the agent lasts before stdin is looked at again.
    static let inputLatency: Duration = .milliseconds(20)

    func run() throws(PartitionError) -> Ending {
        var escape = self.escape
        var inputOpen = true
        var buffer = [UInt8](repeating: 0, count: AgentWire.sessionChunk)
        while true {
            if inputOpen {
                var request = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
                if poll(&request, 1, 0) > 0 {
                    let count = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
                    if count > 0 {
                        var typed = Array(buffer[..<count])
                        var leave = false
                        if escape != nil { (typed, leave) = escape!.filter(typed) }
                        if !typed.isEmpty { try session.send(.input(typed)) }
                        if leave {
                            try? session.send(.detach)
                            return .detached
                        }
                    } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                        inputOpen = false
                        if self.escape != nil {
                            // A console without input has nothing more to do, as the host console.
                            try? session.send(.detach)
                            return .detached
                        }
                        try session.send(terminal ? .input([4]) : .endOfInput)
                    }
                }
            }
            switch try session.next(timeout: Self.inputLatency) {
            case .output(let fd, let bytes)?: Self.write(bytes, to: Int32(fd))
            case .exit(let status)?: return .exited(status)
            case .closed(let reason)?: return .closed(reason)
            case .input?, .endOfInput?, .detach?:
                throw PartitionError(.agent, "The agent sent a frame only the host may send.")
            case nil: continue
            }
        }
    }

    private static func write(_ bytes: [UInt8], to fd: Int32) {
        _ = FileIO.writeAll(fd, bytes)
    }
}
