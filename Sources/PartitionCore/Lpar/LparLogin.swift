import AgentProtocol
import PartitionModel
#if canImport(Glibc)
import Glibc
#endif

/// `partctl login LPAR [-- CMD]`: a command as root in the guest itself, outside every WPAR,
/// through the LPAR's agent (`system.attach`). Stdin, stdout and stderr are streamed both ways,
/// through a terminal of the guest when this one is interactive, and the exit status is kept.
extension LparPartition {
    func loginInGuest(command: [String], terminal: any UserTerminal) throws(PartitionError) -> Int32 {
        let name = lpar.name
        guard let profile = StoredLparValues.decode(json: lpar.metadata.resolvedProfileJSON), profile.agent else {
            throw unsupported("The LPAR has no agent (its profile says agent: false); reach it with 'partctl console \(name)', or run partagent in it (the partagent .deb) and set agent: true.")
        }
        guard try lpar.domain.isActive() else {
            throw PartitionError(.invalidState, "The LPAR is not running; activate it with 'partctl activate \(name)'.")
        }
        let nested = try manager.nested(knowing: lpar)
        let purpose = "login of \(name)"
        var client = try nested.directAgent(name, purpose)
        if client == nil { client = try nested.agent(lpar.domain, purpose) }
        let interactive = terminal.isInteractive
        let window = interactive ? terminal.windowSize : nil
        let term = interactive ? getenv("TERM").map { String(cString: $0) } : nil
        let arguments = Agent.SystemAttach.Arguments(argv: command.isEmpty ? ["/bin/sh", "-l"] : command, terminal: interactive,
                                                     rows: window?.rows, columns: window?.columns, term: term)
        let ending = try client!.systemSession(arguments) { (session) throws(PartitionError) -> NestedTerminal.Ending in
            let relay = NestedTerminal(session: session, escape: nil, terminal: interactive)
            return interactive ? try terminal.withRawMode { () throws(PartitionError) in try relay.run() } : try relay.run()
        }
        guard case .exited(let status) = ending else {
            throw PartitionError(.agent, "The agent ended the login session without an exit status.")
        }
        return status
    }
}
