import Glibc

/// What partctl tells the supervisor on its command line. Descriptor 3 is always the control
/// socket to the partctl command that activates the WPAR.
struct SupervisorConfiguration {
    var name: String
    /// The WPAR's init, our child.
    var initPID: pid_t
    /// /run/partctl/wpar/<name>: pidfile, console socket, runtime record.
    var runtimeDirectory: String
    /// Where the init's exit status is recorded ($PARTCTL_ROOT/wpars/<name>/last-exit.json).
    var exitRecord: String
    var controlFD: Int32 = 3
    /// The console pseudo-terminal's master, if the WPAR has a console.
    var consoleFD: Int32?

    init?(arguments: [String]) {
        guard arguments.count == 5 || arguments.count == 6, let pid = pid_t(arguments[2]), pid > 0 else { return nil }
        name = arguments[1]
        initPID = pid
        runtimeDirectory = arguments[3]
        exitRecord = arguments[4]
        if arguments.count == 6 {
            guard let fd = Int32(arguments[5]), fd > 3 else { return nil }
            consoleFD = fd
        }
    }

    var pidFile: String { runtimeDirectory + "/supervisor.pid" }
    var consoleSocket: String { runtimeDirectory + "/console.sock" }
    var commitMarker: String { runtimeDirectory + "/committed" }
}
