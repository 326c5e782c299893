import AgentProtocol
import Glibc
import PartitionModel
import WorkloadEngine

// partagent: the in-guest agent. Serves the agent protocol (AgentProtocol) over the virtio-serial
// ports of the channel pool, one thread per port, with the WPAR engine behind it. Never links libvirt.

// A parent may have left signals blocked (the mask survives exec): SIGTERM must end the agent.
var noSignals = sigset_t()
sigemptyset(&noSignals)
sigprocmask(SIG_SETMASK, &noSignals, nil)
signal(SIGPIPE, SIG_IGN)  // a host that goes away must not kill the agent mid-reply

do {
    let options = try AgentOptions(arguments: Array(CommandLine.arguments.dropFirst()))
    let engine = WorkloadEngine(paths: .fromEnvironment())
    try engine.paths.createDirectories()
    let server = AgentServer(dispatcher: AgentDispatcher(engine: engine))
    switch options.endpoint {
    case .port(let path) where path == AgentWire.guestPortPath:
        AgentPorts.serve(server)
    case .port(let path):
        guard let link = AgentEndpoint.openPort(path, wake: -1, asksForSignal: false) else { exit(1) }
        log("serving protocol \(AgentWire.protocolVersion) on \(path)")
        server.serve(link)
        log("the port \(path) failed")
        exit(1)
    case .socket(let path):
        log("serving protocol \(AgentWire.protocolVersion) on the socket \(path)")
        try AgentEndpoint.listen(path) { server.serve($0) }
    }
} catch {
    log(error.description)
    exit(2)
}
