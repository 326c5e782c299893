import Glibc
import PartitionModel

/// A pseudo-terminal pair on the host's devpts: the master stays with partctl or the supervisor,
/// the slave becomes the stdio and controlling terminal of a process in a WPAR.
final class PseudoTerminal {
    let master: Int32
    let slave: Int32
    /// "/dev/pts/N": what is bound over the WPAR's /dev/console.
    let slavePath: String

    // ioctls that Swift's Glibc module does not name.
    private static let setLock = UInt(0x4004_5431)   // TIOCSPTLCK
    private static let getNumber = UInt(0x8004_5430)  // TIOCGPTN
    private static let openPeer = UInt(0x5441)        // TIOCGPTPEER
    private static let ptmxDevice: dev_t = (5 << 8) | 2  // makedev(5, 2)

    /// A pair on the host's devpts.
    convenience init() throws(PartitionError) {
        try self.init(multiplexer: "/dev/ptmx")
    }

    /// A pair on the devpts instance of the WPAR whose init is `pid`, so that inside the WPAR the
    /// slave is its own /dev/pts/N (ttyname, `tty` and the like work there). The multiplexer is
    /// checked to be a devpts ptmx (5:2) before it is used.
    convenience init(insideRootOf pid: pid_t) throws(PartitionError) {
        try self.init(multiplexer: "/proc/\(pid)/root/dev/pts/ptmx")
    }

    private init(multiplexer: String) throws(PartitionError) {
        let master = open(multiplexer, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW)
        guard master >= 0 else { throw HostSystem.failure("open \(multiplexer)") }
        var status = stat()
        guard fstat(master, &status) == 0, (status.st_mode & S_IFMT) == S_IFCHR, status.st_rdev == PseudoTerminal.ptmxDevice else {
            close(master)
            throw PartitionError(.permissionDenied, "\(multiplexer) is not a pseudo-terminal multiplexer (5:2).")
        }
        var unlock: Int32 = 0
        var number: UInt32 = 0
        guard ioctl(master, PseudoTerminal.setLock, &unlock) == 0, ioctl(master, PseudoTerminal.getNumber, &number) == 0 else {
            let error = HostSystem.failure("set up a pseudo-terminal")
            close(master)
            throw error
        }
        let slave = ioctl(master, PseudoTerminal.openPeer, O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard slave >= 0 else {
            let error = HostSystem.failure("open a pseudo-terminal's slave")
            close(master)
            throw error
        }
        self.master = master
        self.slave = slave
        self.slavePath = "/dev/pts/\(number)"
    }

    private var closedMaster = false
    private var closedSlave = false

    /// Gives the terminal a size (programs inside read it with TIOCGWINSZ and get SIGWINCH).
    func resize(to size: TerminalSize) {
        var window = winsize(ws_row: size.rows, ws_col: size.columns, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(master, UInt(TIOCSWINSZ), &window)
    }

    func closeSlave() {
        if !closedSlave { close(slave) }
        closedSlave = true
    }

    func closeMaster() {
        if !closedMaster { close(master) }
        closedMaster = true
    }

    deinit {
        closeSlave()
        closeMaster()
    }
}
