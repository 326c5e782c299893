import Glibc
import PartitionModel

/// The terminal mode an interactive console needs: every key goes to the guest as typed (Ctrl-C
/// included), nothing is echoed locally, no line editing.
public enum RawTerminal {
    /// Runs `body` with `fd` in raw mode and restores the previous mode afterwards, also when `body`
    /// throws. When `fd` is not a terminal (a pipe, a file) it just runs `body`.
    public static func withRawMode<Result>(
        fd: Int32 = STDIN_FILENO, _ body: () throws(PartitionError) -> Result
    ) throws(PartitionError) -> Result {
        guard isatty(fd) == 1 else { return try body() }
        var saved = termios()
        guard tcgetattr(fd, &saved) == 0 else {
            throw PartitionError(.system, "Cannot read the terminal's mode: \(String(cString: strerror(errno))).")
        }
        var raw = saved
        cfmakeraw(&raw)
        guard tcsetattr(fd, TCSADRAIN, &raw) == 0 else {
            throw PartitionError(.system, "Cannot put the terminal into raw mode: \(String(cString: strerror(errno))).")
        }
        defer { tcsetattr(fd, TCSADRAIN, &saved) }
        return try body()
    }
}

extension RawTerminal {
    /// The size of the terminal on `fd`, nil when it is none or reports no size.
    public static func windowSize(fd: Int32 = STDIN_FILENO) -> (rows: UInt16, columns: UInt16)? {
        guard isatty(fd) == 1 else { return nil }
        var window = winsize()
        guard ioctl(fd, UInt(TIOCGWINSZ), &window) == 0, window.ws_row > 0, window.ws_col > 0 else { return nil }
        return (window.ws_row, window.ws_col)
    }
}

/// A terminal's mode before `RawTerminal.enter` changed it.
public struct SavedTerminalMode {
    let fd: Int32
    let mode: termios
}

extension RawTerminal {
    /// Puts `fd` into raw mode at once when it is a terminal; what to restore, nil when nothing changed.
    /// For relays that restore the mode themselves (the engine's login relay); others use `withRawMode`.
    public static func enter(fd: Int32) -> SavedTerminalMode? {
        guard isatty(fd) == 1 else { return nil }
        var saved = termios()
        guard tcgetattr(fd, &saved) == 0 else { return nil }
        var raw = saved
        cfmakeraw(&raw)
        guard tcsetattr(fd, TCSANOW, &raw) == 0 else { return nil }
        return SavedTerminalMode(fd: fd, mode: saved)
    }

    public static func restore(_ saved: SavedTerminalMode?) {
        guard var mode = saved?.mode, let fd = saved?.fd else { return }
        tcsetattr(fd, TCSANOW, &mode)
    }
}
