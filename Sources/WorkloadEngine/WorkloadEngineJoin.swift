import Glibc
import PartitionModel

extension WorkloadEngine {
    /// Runs a command inside the running WPAR (`partctl login`) and returns its exit status (128 +
    /// signal when it was killed).
    ///
    /// The command joins every namespace and the cgroups of the WPAR, and gets the WPAR's own
    /// capability set, no_new_privs, a fresh session keyring and no descriptor but 0-2 (see
    /// cspawn_join.h for why it cannot be reached through /proc/PID/exe meanwhile). Those are never
    /// the caller's: with `terminal`, a pseudo-terminal the command opens on the WPAR's own devpts
    /// and hands over; otherwise pipes. Either is relayed to `input`/`output`/`error` until the
    /// command ends, and then closed: a process it left behind holds nothing of the caller's.
    public func exec(_ name: PartitionName, _ command: WorkloadCommand, input: Int32 = 0, output: Int32 = 1,
                     error: Int32 = 2) throws(PartitionError) -> Int32 {
        let channel = command.terminal ? try TerminalChannel() : nil
        let pipes = command.terminal ? nil : try StdioPipes()
        let (pending, exit): (PendingProcess, ChildExit) = try locked(name, "login") { () throws(PartitionError) in
            guard let record = try repair(name), record.phase == .running else {
                throw PartitionError(.invalidState, "The WPAR is not running.")
            }
            let spec = try definitions.load(name)
            let process = try joinProcess(for: command, spec: spec)
            guard let cgroup = try WorkloadCgroup.open(layout: CgroupLayout.current(), name: name.rawValue) else {
                throw PartitionError(.invalidState, "The WPAR's cgroup is gone.")
            }
            guard let pidfd = try record.initProcess.openPidfd() else {
                throw PartitionError(.invalidState, "The WPAR's init has exited.")
            }
            defer { close(pidfd) }
            var namespaces = SpawnPlan.Namespaces.workload
            if spec.userNamespace != nil { namespaces.insert(.user) }
            let stdio = pipes.map { SpawnStdio(descriptors: $0.workloadEnds, controllingTerminal: false) } ?? .inherited
            let size = command.terminalSize ?? (command.terminal ? Self.windowSize(of: input) : nil)
            // A systemd WPAR's delegated cgroup has controllers for its children and so holds no
            // process: a login joins its init's cgroup (init.scope) instead.
            var cgroupFD: Int32 = -1
            if spec.systemd == true {
                var directory = cgroup.joinDirectory(initPid: record.initProcess.pid)
                if directory == nil { directory = try cgroup.delegatedDirectory() }
                cgroupFD = try openDirectory(directory!)
            } else {
                cgroupFD = openCgroupDirectory(cgroup)
            }
            defer { if cgroupFD >= 0 { close(cgroupFD) } }
            let pending = try PendingProcess.join(pidfd: pidfd, namespaces: namespaces, process: process, stdio: stdio,
                                                  cgroupFD: cgroupFD, becomeRoot: spec.userNamespace != nil,
                                                  terminal: channel.map { ($0.childEnd, size) })
            // The intermediate process has its copies: only the workload is to hold these now.
            pipes?.closeWorkloadEnds()
            channel?.closeChildEnd()
            let exit = try ChildExit(pending.pid)
            do throws(PartitionError) {
                try cgroup.attach(pid: pending.pid, inUnified: cgroupFD >= 0)
                try pending.release()
            } catch {
                exit.close()
                throw error
            }
            return (pending, exit)
        }
        defer { exit.close() }
        return try Self.relaySession(pending.pid, channel: channel, pipes: pipes, exit: exit,
                                     input: input, output: output, error: error)
    }

    /// Relays a started session (`login`, and a command in the system itself) until its process
    /// ends: its terminal, whose master comes back over `channel`, or its pipes; its exit status.
    static func relaySession(_ pid: pid_t, channel: TerminalChannel?, pipes: StdioPipes?, exit: ChildExit,
                             input: Int32, output: Int32, error: Int32) throws(PartitionError) -> Int32 {
        if let channel {
            let master = try channel.receiveMaster()
            defer { close(master) }
            _ = TerminalRelay(remote: master, input: input, output: output, escape: false, resizes: master, exit: exit).run()
        } else {
            pipes?.relay(until: exit, input: input, output: output, error: error)
        }
        return ProcessWait.exitCode(of: pid)
    }

    /// The size of the caller's terminal, for the login's terminal to start at.
    private static func windowSize(of descriptor: Int32) -> TerminalSize? {
        var size = winsize()
        guard ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_row > 0, size.ws_col > 0 else { return nil }
        return TerminalSize(rows: size.ws_row, columns: size.ws_col)
    }

    /// The WPAR's process settings applied to `command`.
    func joinProcess(for command: WorkloadCommand, spec: WorkloadSpec) throws(PartitionError) -> SpawnPlan.Process {
        let arguments = command.arguments.isEmpty ? ["/bin/sh"] : command.arguments
        var environment = command.environment ?? spec.environment
        if command.terminal && command.environment == nil && !environment.contains(where: { $0.hasPrefix("TERM=") }) {
            environment.append("TERM=" + (getenv("TERM").map { String(cString: $0) } ?? "xterm"))
        }
        var checked = spec
        checked.command = arguments
        checked.environment = environment
        checked.workingDirectory = command.workingDirectory
        let capabilities = try WorkloadSpecCheck.checkProcess(checked, host: host)
        // The same filter as the init's: a login is no way around it.
        let seccomp = try SeccompCompiler.program(for: spec.seccomp, capabilities: capabilities,
                                                   cache: SeccompCache(runtimeRoot: host.runtimeRoot))
        return SpawnPlan.Process(arguments: arguments, environment: environment, workingDirectory: command.workingDirectory,
                                 capabilities: capabilities, keyring: "_ses.\(spec.name.rawValue)",
                                 openFileLimit: spec.openFileLimit, seccomp: seccomp)
    }

    /// Attaches `input`/`output` to the WPAR's console until "~." (or end of input); the WPAR
    /// runs on. One client at a time.
    public func attachConsole(_ name: PartitionName, input: Int32 = 0, output: Int32 = 1) throws(PartitionError) {
        let socket: Int32 = try locked(name, "console") { () throws(PartitionError) -> Int32 in
            guard try repair(name) != nil else { throw PartitionError(.invalidState, "The WPAR is not running.") }
            guard try definitions.load(name).console else { throw PartitionError(.unsupported, "The WPAR has no console.") }
            return try ConsoleClient.connect(to: runtimeDirectory(name) + "/console.sock")
        }
        defer { close(socket) }
        _ = TerminalRelay(remote: socket, input: input, output: output, escape: true, resizes: nil).run()
    }
}
