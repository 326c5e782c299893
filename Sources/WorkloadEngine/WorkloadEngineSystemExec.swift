import CSpawn
import Glibc
import PartitionModel

extension WorkloadEngine {
    /// The environment of a command run in the system itself: nothing of the caller's, PATH set.
    public static let systemEnvironment = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                           "HOME=/root", "USER=root", "LOGNAME=root", "SHELL=/bin/sh"]

    /// Runs a command as root in the system this engine runs on, outside every WPAR (`partctl login
    /// LPAR`, run by the agent in the guest), and returns its exit status (128 + signal).
    ///
    /// It goes the way a WPAR login goes (`exec`), with the namespaces of PID 1 (the system's own,
    /// pinned by a pidfd) in place of a WPAR init's: a terminal opened on the system's devpts or
    /// pipes, relayed until the command ends, so the caller's descriptors never reach it. Every
    /// capability is kept and no syscall filter applies (it is the system's root); it gets a fresh
    /// session keyring, no descriptor but 0-2, and `command.environment` or `systemEnvironment`.
    public func execInSystem(_ command: WorkloadCommand, input: Int32 = 0, output: Int32 = 1,
                             error: Int32 = 2) throws(PartitionError) -> Int32 {
        let channel = command.terminal ? try TerminalChannel() : nil
        let pipes = command.terminal ? nil : try StdioPipes()
        guard let initProcess = try ProcessIdentity.current(pid: 1), let pidfd = try initProcess.openPidfd() else {
            throw PartitionError(.system, "The system's init (PID 1) cannot be reached.")
        }
        defer { close(pidfd) }
        var environment = command.environment ?? Self.systemEnvironment
        if command.terminal && !environment.contains(where: { $0.hasPrefix("TERM=") }) { environment.append("TERM=xterm") }
        let process = SpawnPlan.Process(arguments: command.arguments.isEmpty ? ["/bin/sh", "-l"] : command.arguments,
                                        environment: environment, workingDirectory: command.workingDirectory,
                                        capabilities: Self.everyCapability,
                                        keyring: "_ses.partctl-login", openFileLimit: 0, seccomp: nil)
        let stdio = pipes.map { SpawnStdio(descriptors: $0.workloadEnds, controllingTerminal: false) } ?? .inherited
        let size = command.terminalSize
        let pending = try PendingProcess.join(pidfd: pidfd, namespaces: .workload, process: process, stdio: stdio,
                                              cgroupFD: -1, becomeRoot: false, terminal: channel.map { ($0.childEnd, size) })
        pipes?.closeWorkloadEnds()
        channel?.closeChildEnd()
        let exit = try ChildExit(pending.pid)
        defer { exit.close() }
        try pending.release()
        return try Self.relaySession(pending.pid, channel: channel, pipes: pipes, exit: exit,
                                     input: input, output: output, error: error)
    }

    /// Every capability this kernel knows, newer ones than `CapabilitySet.names` too.
    private static var everyCapability: CapabilitySet {
        let last = Int(cspawn_last_capability())
        return CapabilitySet(mask: last >= 0 && last < 63 ? (UInt64(1) << UInt64(last + 1)) - 1 : UInt64.max)
    }
}
