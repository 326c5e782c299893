import Glibc

/// Wakes the poll loop from a signal handler: the handler only writes a byte.
private nonisolated(unsafe) var wakeWriteFD: Int32 = -1
private nonisolated(unsafe) var terminationRequested: Int32 = 0

private func onChild(_ signal: Int32) {
    var byte: UInt8 = 1
    _ = write(wakeWriteFD, &byte, 1)
}

private func onTerminate(_ signal: Int32) {
    terminationRequested = 1
    var byte: UInt8 = 1
    _ = write(wakeWriteFD, &byte, 1)
}

/// The life of one running WPAR, seen from its supervisor:
///
/// 1. Pending: write the pidfile, open the console socket, tell partctl "R" (ready). If partctl's
///    control socket closes before it says "C" (commit), partctl died or gave up mid-activation:
///    kill the init (our unreaped child, so the PID is certainly it) and leave; the next partctl
///    command repairs the rest. A pending supervisor never touches cgroups, which a newer
///    activation may already be reusing.
/// 2. Committed: partctl has sent "C" and the WPAR's cgroup directories; the `committed` file in
///    the runtime directory says so to later partctl commands, and "A" tells partctl it exists.
///    Relay the console, reap.
/// 3. When the init exits: record its status, kill what is left in the cgroups and remove them,
///    remove the runtime directory (pidfile last), exit. Nothing is left behind.
///
/// SIGTERM to the supervisor is passed on to the init as a shutdown request.
final class Supervisor {
    private let configuration: SupervisorConfiguration
    private var wakeReadFD: Int32 = -1
    private var control: Int32
    private var committed = false
    private var commitText: [UInt8] = []
    private var console: ConsoleRelay?
    private var initStatus: Int32?

    init(_ configuration: SupervisorConfiguration) {
        self.configuration = configuration
        control = configuration.controlFD
    }

    func run() -> Int32 {
        installSignalHandlers()
        if let identity = SupervisorFiles.ownIdentityJSON() {
            SupervisorFiles.writeAtomically(identity, to: configuration.pidFile)
        }
        if let master = configuration.consoleFD {
            console = ConsoleRelay(master: master, socketPath: configuration.consoleSocket)
        }
        _ = SupervisorFiles.writeAll(control, Array("R".utf8))

        // An init that ends before partctl has committed still waits for partctl's decision: a
        // commit means the activation stands (and the end is recorded), a close that it failed.
        while initStatus == nil || (!committed && control >= 0) {
            var fds = [pollfd(fd: wakeReadFD, events: Int16(POLLIN), revents: 0)]
            if control >= 0 { fds.append(pollfd(fd: control, events: Int16(POLLIN), revents: 0)) }
            if let console { fds += console.pollDescriptors }
            let ready = poll(&fds, nfds_t(fds.count), -1)
            if ready < 0 && errno != EINTR { break }
            drainWakeups()
            reap()
            if terminationRequested != 0 {
                terminationRequested = 0
                kill(configuration.initPID, SIGTERM)
            }
            if control >= 0, let entry = fds.first(where: { $0.fd == control }), entry.revents != 0 {
                if !readControl() { return abandon() }
            }
            console?.handle(Array(fds.dropFirst(control >= 0 ? 2 : 1)))
        }
        return finish()
    }

    private func installSignalHandlers() {
        var pipeFDs: [Int32] = [0, 0]
        _ = pipe(&pipeFDs)
        for fd in pipeFDs {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        wakeReadFD = pipeFDs[0]
        wakeWriteFD = pipeFDs[1]
        var child = sigaction()
        child.__sigaction_handler.sa_handler = onChild
        child.sa_flags = SA_RESTART | SA_NOCLDSTOP
        sigaction(SIGCHLD, &child, nil)
        var terminate = sigaction()
        terminate.__sigaction_handler.sa_handler = onTerminate
        terminate.sa_flags = SA_RESTART
        sigaction(SIGTERM, &terminate, nil)
        signal(SIGPIPE, SIG_IGN)
        signal(SIGHUP, SIG_IGN)
        signal(SIGINT, SIG_IGN)
    }

    private func drainWakeups() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while buffer.withUnsafeMutableBytes({ read(wakeReadFD, $0.baseAddress, $0.count) }) > 0 {}
    }

    /// Reaps every child that has exited; notes the init's status.
    private func reap() {
        var status: Int32 = 0
        while true {
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 { return }
            if pid == configuration.initPID { initStatus = status }
        }
    }

    /// Reads from partctl's control socket; false when it closed before committing.
    private func readControl() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let got = buffer.withUnsafeMutableBytes { read(control, $0.baseAddress, $0.count) }
        if got < 0 && (errno == EINTR || errno == EAGAIN) { return true }
        if got > 0 {
            var bytes = buffer[..<got]
            if !committed {
                guard bytes.first == UInt8(ascii: "C") else { return false }
                committed = true
                bytes = bytes.dropFirst()
                // Tells partctl's repair that this WPAR was handed over (and is not an abandoned start).
                let marker = open(configuration.commitMarker, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
                if marker >= 0 { close(marker) }
                _ = SupervisorFiles.writeAll(control, Array("A".utf8))
            }
            commitText += bytes
            return true
        }
        close(control)
        control = -1
        return committed
    }

    private var cgroupDirectories: [String] {
        String(decoding: commitText, as: UTF8.self).split(separator: "\n").map(String.init).filter { $0.hasPrefix("/") }
    }

    private func abandon() -> Int32 {
        kill(configuration.initPID, SIGKILL)
        var status: Int32 = 0
        while waitpid(configuration.initPID, &status, 0) < 0 && errno == EINTR {}
        unlink(configuration.pidFile)
        return 1
    }

    private func finish() -> Int32 {
        console?.shutDown()
        guard committed, let status = initStatus else {
            unlink(configuration.pidFile)
            return 1
        }
        recordExit(status)
        CgroupCleanup.removeAll(cgroupDirectories)
        // Before the runtime files go: until they do, the next command waits for this process.
        LayerCleanup.detach(besideExitRecord: configuration.exitRecord)
        for name in SupervisorFiles.entries(of: configuration.runtimeDirectory) where name != "supervisor.pid" {
            unlink(configuration.runtimeDirectory + "/" + name)
        }
        unlink(configuration.pidFile)
        rmdir(configuration.runtimeDirectory)
        return 0
    }

    /// {"code":7,...} or {"signal":9,...}: what the init ended with, for `partctl query`.
    private func recordExit(_ status: Int32) {
        let signal = status & 0x7f
        let outcome = signal == 0 ? "\"code\":\((status >> 8) & 0xff)" : "\"signal\":\(signal)"
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        SupervisorFiles.writeAtomically("{\(outcome),\"finishedAt\":\(now.tv_sec)}\n", to: configuration.exitRecord)
    }
}
