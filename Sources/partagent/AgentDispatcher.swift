import AgentProtocol
import Glibc
import PartitionModel
import WorkloadEngine

/// Maps each operation of the protocol onto the WPAR engine. The host is trusted more than the guest,
/// but its arguments are still decoded strictly: a wrong shape is refused, never guessed at.
struct AgentDispatcher: Sendable {
    let engine: WorkloadEngine

    func handle(_ request: AgentRequest) throws(PartitionError) -> JSONValue {
        guard AgentWire.servedVersions.contains(request.version) else { return try handleOtherVersion(request) }
        switch request.operation {
        case .hello: return try reply(Agent.Hello.self, hello(try request.arguments(of: Agent.Hello.self)))
        case .sync:
            let token = try request.arguments(of: Agent.Sync.self).token
            // The echo names the version the host asked in, which this agent also speaks.
            return try reply(Agent.Sync.self, .init(token: token, agentVersion: AgentVersion.current, protocolVersion: request.version))
        case .wparDefine:
            let arguments = try request.arguments(of: Agent.Define.self)
            // An image disk the spec names is mounted first: the engine checks its layers exist.
            try ImageDisks.mount(for: arguments.spec)
            try engine.define(arguments.name, spec: arguments.spec, replacing: arguments.replace)
            return try reply(Agent.Define.self, AgentEmpty())
        case .wparActivate:
            let name = try request.arguments(of: Agent.Activate.self).name
            if let spec = try? engine.definition(of: name) {
                try ImageDisks.mount(for: spec)
                // A WPAR on the guest's own network: the bridge and its NAT first.
                if case .bridge(let bridge) = spec.network, bridge.bridge == Agent.GuestNetwork.bridge {
                    try GuestNetworkSetup.ensure()
                }
            }
            try engine.activate(name)
            return try reply(Agent.Activate.self, AgentEmpty())
        case .wparShutdown:
            let arguments = try request.arguments(of: Agent.Shutdown.self)
            guard arguments.within.isFinite, arguments.within >= 0, arguments.within <= 3600 else {
                throw PartitionError(.outOfRange, "The shutdown time must lie between 0 and 3600 seconds.")
            }
            try engine.shutdown(arguments.name, within: arguments.within, force: arguments.force)
            return try reply(Agent.Shutdown.self, AgentEmpty())
        case .wparForce:
            try engine.force(try request.arguments(of: Agent.Force.self).name)
            return try reply(Agent.Force.self, AgentEmpty())
        case .wparRemove:
            let arguments = try request.arguments(of: Agent.Remove.self)
            try engine.remove(arguments.name, force: arguments.force)
            // The host detaches an image disk once no WPAR of this guest uses it.
            ImageDisks.unmountUnused(engine: engine)
            return try reply(Agent.Remove.self, AgentEmpty())
        case .wparStatus:
            return try reply(Agent.Status.self, report(try request.arguments(of: Agent.Status.self).name))
        case .wparStatuses:
            _ = try request.arguments(of: Agent.Statuses.self)
            var reports: [Agent.WparReport] = []
            for name in engine.definedNames() {
                // A WPAR removed meanwhile is simply not listed.
                if let report = try? report(name) { reports.append(report) }
            }
            return try reply(Agent.Statuses.self, .init(wpars: reports))
        case .wparModify:
            let arguments = try request.arguments(of: Agent.Modify.self)
            try engine.modify(arguments.name, limits: arguments.limits, live: arguments.live, persistent: arguments.persistent)
            return try reply(Agent.Modify.self, AgentEmpty())
        case .wparExec:
            let arguments = try request.arguments(of: Agent.Exec.self)
            let command = WorkloadCommand(arguments: arguments.argv, environment: arguments.environment,
                                          workingDirectory: arguments.workingDirectory ?? "/")
            return try reply(Agent.Exec.self, try CapturedExec.run(engine, arguments.name, command))
        case .wparList:
            _ = try request.arguments(of: Agent.List.self)
            return try reply(Agent.List.self, .init(names: engine.definedNames()))
        case .wparAttach, .systemAttach:
            throw PartitionError(.internal, "A session is started by the server, not answered as a request.")
        case .systemAddresses:
            _ = try request.arguments(of: Agent.Addresses.self)
            return try reply(Agent.Addresses.self, .init(addresses: GuestAddresses.global()))
        case .networkForwards:
            try GuestNetworkSetup.publish(try request.arguments(of: Agent.NetworkForwards.self).forwards)
            return try reply(Agent.NetworkForwards.self, AgentEmpty())
        case .wparExport, .wparImport, .transferRead, .transferWrite, .transferDiscard:
            return try AgentMobilityHandler(engine: engine).handle(request)
        case .wparFreeze, .wparThaw, .wparSnapshot:
            return try handleSnapshotOperation(request)
        }
    }

    /// `wpar.attach` or `system.attach`: the session, started; the server replies and then runs it on the link.
    func attach(_ request: AgentRequest) throws(PartitionError) -> AgentSessionRunner {
        if request.operation == .systemAttach {
            let arguments = try request.arguments(of: Agent.SystemAttach.self)
            return try AgentSessionRunner.startInSystem(engine, arguments)
        }
        let arguments = try request.arguments(of: Agent.Attach.self)
        if arguments.mode == .login && arguments.argv.isEmpty {
            throw PartitionError(.invalidArgument, "A login session needs a command.")
        }
        return try AgentSessionRunner.start(engine, arguments)
    }

    /// A host of another protocol version gets its sync echoed in the shape it knows and its hello
    /// answered (which tells it to rebuild the guest image); nothing else is acted on.
    private func handleOtherVersion(_ request: AgentRequest) throws(PartitionError) -> JSONValue {
        switch request.operation {
        case .sync: return try StrictJSON.encode(try request.arguments(of: Agent.Sync.self), what: "sync echo")
        case .hello: return try reply(Agent.Hello.self, hello(try request.arguments(of: Agent.Hello.self)))
        default:
            throw PartitionError(.unsupported,
                "This agent speaks protocol version \(AgentWire.protocolVersion), not \(request.version); rebuild the guest image.")
        }
    }

    private func reply<Call: AgentCall>(_ call: Call.Type, _ result: Call.Result) throws(PartitionError) -> JSONValue {
        try StrictJSON.encode(result, what: "result of \(Call.operation.rawValue)")
    }

    private func report(_ name: PartitionName) throws(PartitionError) -> Agent.WparReport {
        let status = try engine.status(name)
        // The usage of the status just read: `usage(name)` would read the definition and the
        // runtime record a second time.
        let usage = try? engine.usage(of: status)
        return Agent.WparReport(status: status, usage: usage)
    }

    private func hello(_ arguments: Agent.Hello.Arguments) throws(PartitionError) -> Agent.Hello.Result {
        guard AgentWire.servedVersions.contains(arguments.protocolVersion) else {
            throw PartitionError(.unsupported,
                "This agent speaks protocol version \(AgentWire.protocolVersion), not \(arguments.protocolVersion); rebuild the guest image.")
        }
        var names = utsname()
        uname(&names)
        let kernel = withUnsafeBytes(of: names.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let layout = try? CgroupLayout.detect()
        return Agent.Hello.Result(agentVersion: AgentVersion.current, protocolVersion: arguments.protocolVersion, kernel: kernel,
                                  cgroupLayout: layout?.kind.rawValue ?? "none",
                                  cgroupControllers: (layout?.unifiedControllers).map { $0.sorted() } ?? [])
    }
}
