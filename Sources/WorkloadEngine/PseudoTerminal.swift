import Glibc
import PartitionModel

/// A pseudo-terminal pair on the host's devpts for a WPAR's console: the master stays with the
/// supervisor, the slave becomes the init's stdio and controlling terminal. (A login's terminal
/// comes from the WPAR's own devpts instead: see `TerminalChannel`.)
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

/// How a joining process hands partctl the master of the pseudo-terminal it opened on the WPAR's
/// own devpts (cspawn_join.h): a unix socket pair, one end for the child, one byte with SCM_RIGHTS.
final class TerminalChannel {
    let childEnd: Int32
    private let ours: Int32
    private var childEndOpen = true

    init() throws(PartitionError) {
        var ends: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
            throw HostSystem.failure("create a socket pair for the login's terminal")
        }
        (ours, childEnd) = (ends[0], ends[1])
    }

    deinit {
        closeChildEnd()
        close(ours)
    }

    func closeChildEnd() {
        if childEndOpen { close(childEnd) }
        childEndOpen = false
    }

    /// The master the child sent; it has done so before its execve, so this does not block once
    /// the process has been released successfully.
    func receiveMaster() throws(PartitionError) -> Int32 {
        closeChildEnd()
        var byte: UInt8 = 0
        let space = 64  // CMSG_SPACE(sizeof(int)) is 24; room to spare
        var control = [UInt8](repeating: 0, count: space)
        let received: Int32 = withUnsafeMutablePointer(to: &byte) { bytePointer in
            control.withUnsafeMutableBytes { controlBuffer in
                var vector = iovec(iov_base: UnsafeMutableRawPointer(bytePointer), iov_len: 1)
                return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                    var message = msghdr(msg_name: nil, msg_namelen: 0, msg_iov: vectorPointer, msg_iovlen: 1,
                                         msg_control: controlBuffer.baseAddress, msg_controllen: space, msg_flags: 0)
                    var got: Int
                    repeat { got = recvmsg(ours, &message, Int32(MSG_CMSG_CLOEXEC)) } while got < 0 && errno == EINTR
                    guard got == 1, message.msg_controllen >= MemoryLayout<cmsghdr>.size else { return -1 }
                    let header = controlBuffer.load(as: cmsghdr.self)
                    guard header.cmsg_level == SOL_SOCKET, header.cmsg_type == Int32(SCM_RIGHTS),
                          header.cmsg_len >= MemoryLayout<cmsghdr>.size + MemoryLayout<Int32>.size else { return -1 }
                    return controlBuffer.load(fromByteOffset: MemoryLayout<cmsghdr>.size, as: Int32.self)
                }
            }
        }
        guard received >= 0 else {
            throw PartitionError(.system, "The login's process did not hand over its terminal.")
        }
        return received
    }
}
