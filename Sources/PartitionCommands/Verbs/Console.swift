import ArgumentParser
import PartitionCore
import PartitionModel
#if canImport(Glibc)
import Glibc
#endif

struct Console: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Attach to a partition's console; type ~. at the start of a line to leave.",
        discussion: """
            With --log, print what the partition has written to its console so far and return. With --graphics \
            (an LPAR with graphics: vnc or spice), print where its display listens and how to tunnel to it, and start \
            remote-viewer or vncviewer when one is installed and a display is set.
            """)

    @Argument(help: "The partition's path.", completion: .partitionPath) var path: String
    @Flag(name: .long, help: "Print the console output so far instead of attaching.") var log = false
    @Flag(name: .long, help: "The LPAR's graphical console (VNC or SPICE on the managed system's 127.0.0.1).") var graphics = false
    @Flag(name: .customLong("no-viewer"), help: "With --graphics: only print where to connect.") var noViewer = false
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        if log && graphics { throw ValidationError("--log and --graphics exclude each other") }
        if noViewer && !graphics { throw ValidationError("--no-viewer goes with --graphics") }
    }

    func run() throws {
        let target = try partitionPath(path, "console")
        let manager = try connection.manager()
        if graphics {
            try showGraphics(try manager.graphicsDisplay(target), target: target, local: manager.configuration.isLocal,
                             uri: manager.configuration.connectURI)
        } else if log {
            let text = try manager.consoleLog(target)
            writeStdout(text)
        } else {
            let terminal = CommandTerminal()
            terminal.consoleEnded(target, try manager.attachConsole(target, terminal: terminal))
        }
    }

    /// The address, the tunnel for an administrator elsewhere, and a viewer when this machine can show one.
    private func showGraphics(_ display: GraphicsDisplay, target: PartitionPath, local: Bool, uri: String) throws {
        printLine("\(target): \(display.uri)")
        let host = local ? Self.hostName() : (Self.host(of: uri) ?? "MANAGED-SYSTEM")
        printLine("from another machine: ssh -N -L \(display.port):\(display.address):\(display.port) \(host), then connect to \(display.kind.rawValue)://127.0.0.1:\(display.port)")
        if display.hasPassword {
            printLine("the display asks for the password in the file its profile names (graphics.password_file)")
        }
        // The address is the managed system's loopback: a viewer here reaches it only when that is this machine.
        guard local, !noViewer, Self.hasDisplay, let viewer = Self.viewer(for: display) else { return }
        let status = Self.spawn(viewer)
        if status != 0 { throw ExitCode(status) }
    }

    static var hasDisplay: Bool { getenv("DISPLAY") != nil || getenv("WAYLAND_DISPLAY") != nil }

    /// remote-viewer speaks both protocols; TigerVNC's vncviewer takes HOST::PORT.
    static func viewer(for display: GraphicsDisplay) -> [String]? {
        if let remote = program("remote-viewer") { return [remote, display.uri] }
        if display.kind == .vnc, let vnc = program("vncviewer") { return [vnc, "\(display.address)::\(display.port)"] }
        return nil
    }

    static func program(_ name: String) -> String? {
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where directory.hasPrefix("/") {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// Runs the viewer in the foreground; its exit status.
    static func spawn(_ argv: [String]) -> Int32 {
        var pid = pid_t()
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        guard posix_spawn(&pid, argv[0], nil, nil, cArguments, environ) == 0 else { return 1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "MANAGED-SYSTEM" }
        return String(cString: buffer)
    }

    /// `qemu+ssh://root@host:22/system` -> `root@host`.
    static func host(of uri: String) -> String? {
        guard let scheme = uri.range(of: "://") else { return nil }
        let rest = uri[scheme.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        let withoutPort = authority.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
        return withoutPort.isEmpty ? nil : withoutPort
    }
}
