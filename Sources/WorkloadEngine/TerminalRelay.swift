import Glibc
import SystemKit

/// Relays a local terminal (stdin/stdout) to a remote end: a WPAR's console socket or the master
/// of a login's pseudo-terminal. The local terminal is raw while relaying and restored after.
///
/// With `escape`, "~." at the start of a line leaves (as ssh and cu do) and "~~" sends one "~".
struct TerminalRelay {
    var remote: Int32
    var input: Int32 = 0
    var output: Int32 = 1
    var escape: Bool
    /// A pseudo-terminal master whose window size follows the local terminal's.
    var resizes: Int32?
    /// The command's end: the relay stops then, after what it wrote, even if a process it left
    /// behind still holds the terminal.
    var exit: ChildExit? = nil

    /// Why the relay ended.
    enum End { case detached, remoteClosed }

    func run() -> End {
        let saved = makeRaw()
        defer { restore(saved) }
        var atLineStart = true
        var sawTilde = false
        var inputOpen = true
        var lastSize = winsize()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            if let master = resizes { followWindowSize(master, &lastSize) }
            var fds = [pollfd(fd: remote, events: Int16(POLLIN), revents: 0)]
            if inputOpen { fds.append(pollfd(fd: input, events: Int16(POLLIN), revents: 0)) }
            if let exit { fds.append(pollfd(fd: exit.pidfd, events: Int16(POLLIN), revents: 0)) }
            let ready = poll(&fds, nfds_t(fds.count), resizes == nil ? -1 : 250)
            if ready < 0 && errno != EINTR { return .remoteClosed }
            if exit != nil, let last = fds.last, last.revents != 0 {
                drainRemote(&buffer)
                return .remoteClosed
            }
            if fds[0].revents != 0 {
                let got = buffer.withUnsafeMutableBytes { read(remote, $0.baseAddress, $0.count) }
                if got < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                // EIO from a pseudo-terminal master: every process holding the slave has gone.
                if got <= 0 { return .remoteClosed }
                _ = HostSystem.writeAll(output, Array(buffer[..<got]))
            }
            if inputOpen && fds.count > 1 && fds[1].revents != 0 {
                let got = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
                if got < 0 && errno == EINTR { continue }
                if got <= 0 {
                    inputOpen = false
                    if escape { return .detached }  // console: end of input detaches
                    continue
                }
                var outgoing: [UInt8] = []
                for byte in buffer[..<got] {
                    if escape && sawTilde {
                        sawTilde = false
                        if byte == UInt8(ascii: ".") { _ = HostSystem.writeAll(remote, outgoing); return .detached }
                        if byte != UInt8(ascii: "~") { outgoing.append(UInt8(ascii: "~")) }
                        outgoing.append(byte)
                    } else if escape && atLineStart && byte == UInt8(ascii: "~") {
                        sawTilde = true
                        continue
                    } else {
                        outgoing.append(byte)
                    }
                    atLineStart = byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n")
                }
                if !HostSystem.writeAll(remote, outgoing) { return .remoteClosed }
            }
        }
    }

    /// What the command wrote before it ended. A pseudo-terminal hands it to the master through a
    /// kernel worker, so it may come a moment after the exit: read until the terminal reports that
    /// every holder of its slave is gone (EIO), or nothing came for a tenth of a second, which only
    /// happens when a process left behind still holds it; at most 1 MiB.
    private func drainRemote(_ buffer: inout [UInt8]) {
        var total = 0
        while total < 1 << 20 {
            var entry = pollfd(fd: remote, events: Int16(POLLIN), revents: 0)
            let ready = poll(&entry, 1, 100)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { return }
            let got = buffer.withUnsafeMutableBytes { read(remote, $0.baseAddress, $0.count) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { return }
            _ = HostSystem.writeAll(output, Array(buffer[..<got]))
            total += got
        }
    }

    private func makeRaw() -> SavedTerminalMode? {
        RawTerminal.enter(fd: input)
    }

    private func restore(_ saved: SavedTerminalMode?) {
        RawTerminal.restore(saved)
    }

    private func followWindowSize(_ master: Int32, _ last: inout winsize) {
        var size = winsize()
        guard ioctl(input, UInt(TIOCGWINSZ), &size) == 0 else { return }
        if size.ws_row != last.ws_row || size.ws_col != last.ws_col {
            _ = ioctl(master, UInt(TIOCSWINSZ), &size)
            last = size
        }
    }
}
