import AgentProtocol
import PartitionModel

/// Each decoder a peer's frame reaches, with the round trip every decoded value must survive.
enum FuzzDecoding {
    /// The agent's side: the request, then its arguments as the dispatcher decodes them.
    static func request(_ frame: [UInt8]) {
        guard let request = try? AgentCodec.decodeRequest(frame) else { return }
        let encoded: [UInt8]
        do { encoded = try AgentCodec.encode(request) } catch { fatal("a decoded request cannot be encoded: \(error.message)") }
        guard let again = try? AgentCodec.decodeRequest(Array(encoded.dropLast())) else { fatal("an encoded request does not decode") }
        require(again == request, "a request changes when encoded and decoded again")
        switch request.operation {
        case .hello: arguments(Agent.Hello.self, request)
        case .sync: arguments(Agent.Sync.self, request)
        case .wparDefine: arguments(Agent.Define.self, request)
        case .wparActivate: arguments(Agent.Activate.self, request)
        case .wparShutdown: arguments(Agent.Shutdown.self, request)
        case .wparForce: arguments(Agent.Force.self, request)
        case .wparRemove: arguments(Agent.Remove.self, request)
        case .wparStatus: arguments(Agent.Status.self, request)
        case .wparStatuses: arguments(Agent.Statuses.self, request)
        case .wparModify: arguments(Agent.Modify.self, request)
        case .wparExec: arguments(Agent.Exec.self, request)
        case .wparList: arguments(Agent.List.self, request)
        case .wparAttach: arguments(Agent.Attach.self, request)
        case .systemAttach: arguments(Agent.SystemAttach.self, request)
        case .systemAddresses: arguments(Agent.Addresses.self, request)
        case .networkForwards: arguments(Agent.NetworkForwards.self, request)
        case .wparExport: arguments(Agent.Export.self, request)
        case .wparImport: arguments(Agent.Import.self, request)
        case .transferRead: arguments(Agent.TransferRead.self, request)
        case .transferWrite: arguments(Agent.TransferWrite.self, request)
        case .transferDiscard: arguments(Agent.TransferDiscard.self, request)
        case .wparFreeze: arguments(Agent.Freeze.self, request)
        case .wparThaw: arguments(Agent.Thaw.self, request)
        case .wparSnapshot: arguments(Agent.Snapshot.self, request)
        }
    }

    static func arguments<Call: AgentCall>(_ call: Call.Type, _ request: AgentRequest) where Call.Arguments: Equatable {
        guard let arguments = try? request.arguments(of: call) else { return }
        let again: Call.Arguments
        do {
            let encoded = try AgentRequest(id: request.id, call, arguments)
            again = try encoded.arguments(of: call)
        } catch {
            fatal("the arguments of \(Call.operation.rawValue) do not survive encoding: \(error.message)")
        }
        require(again == arguments, "the arguments of \(Call.operation.rawValue) change when encoded and decoded again")
    }

    /// The host's side: a reply, then its result as each operation's caller would decode it.
    static func reply(_ frame: [UInt8]) {
        guard let reply = try? AgentCodec.decodeReply(frame) else { return }
        let encoded: [UInt8]
        do { encoded = try AgentCodec.encode(reply) } catch { fatal("a decoded reply cannot be encoded: \(error.message)") }
        guard let again = try? AgentCodec.decodeReply(Array(encoded.dropLast())) else { fatal("an encoded reply does not decode") }
        require(again == reply, "a reply changes when encoded and decoded again")
        if case .failure(let failure) = reply.outcome {
            let error = failure.partitionError
            require(error.message.count <= 1000, "an agent's error message is not cut to length")
        }
        result(Agent.Hello.self, reply)
        result(Agent.Sync.self, reply)
        result(Agent.Define.self, reply)
        result(Agent.Activate.self, reply)
        result(Agent.Shutdown.self, reply)
        result(Agent.Force.self, reply)
        result(Agent.Remove.self, reply)
        result(Agent.Status.self, reply)
        result(Agent.Statuses.self, reply)
        result(Agent.Modify.self, reply)
        result(Agent.Exec.self, reply)
        result(Agent.List.self, reply)
        result(Agent.Attach.self, reply)
        result(Agent.Addresses.self, reply)
        result(Agent.Export.self, reply)
        result(Agent.Import.self, reply)
        result(Agent.TransferRead.self, reply)
        result(Agent.TransferWrite.self, reply)
        result(Agent.TransferDiscard.self, reply)
        result(Agent.Freeze.self, reply)
        result(Agent.Thaw.self, reply)
        result(Agent.Snapshot.self, reply)
    }

    static func result<Call: AgentCall>(_ call: Call.Type, _ reply: AgentReply) where Call.Result: Equatable {
        guard let value = try? reply.result(of: call) else { return }
        guard let json = try? StrictJSON.encode(value, what: "fuzz"),
              let again = try? StrictJSON.decode(Call.Result.self, from: json, what: "fuzz") else {
            fatal("the result of \(Call.operation.rawValue) does not survive encoding")
        }
        require(again == value, "the result of \(Call.operation.rawValue) changes when encoded and decoded again")
    }

    /// Both sides, while a session runs.
    static func sessionFrame(_ frame: [UInt8]) {
        guard let decoded = try? AgentCodec.decodeSessionFrame(frame) else { return }
        guard let encoded = try? AgentCodec.encode(decoded),
              let again = try? AgentCodec.decodeSessionFrame(Array(encoded.dropLast())) else {
            fatal("a session frame does not survive encoding")
        }
        require(again == decoded, "a session frame changes when encoded and decoded again")
    }

    /// The JSON text layer under all of them.
    static func jsonText(_ frame: [UInt8]) {
        guard let value = try? JSONText.parse(frame) else { return }
        guard let text = try? JSONText.serialize(value), let again = try? JSONText.parse(text) else {
            fatal("parsed JSON does not survive serialising")
        }
        require(again == value, "JSON changes when serialised and parsed again")
    }
}
