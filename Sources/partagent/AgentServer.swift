import AgentProtocol
import PartitionModel

/// Reads frames from one link and answers each request in order. A broken frame gets an error reply
/// (under its id when that much could be read, else id 0) and reading resumes at the next newline.
struct AgentServer: Sendable {
    let dispatcher: AgentDispatcher

    func serve(_ link: AgentLink) {
        var reader = AgentFrameReader()
        while let bytes = link.read() {
            reader.append(bytes)
            while let event = reader.next() {
                if case .frame(let frame) = event, let request = try? AgentCodec.decodeRequest(frame),
                   request.operation == .wparAttach || request.operation == .systemAttach,
                   AgentWire.servedVersions.contains(request.version) {
                    guard session(request, on: link, reader: &reader) else { return }
                    continue
                }
                let reply = answer(event)
                let frame: [UInt8]
                do { frame = try AgentCodec.encode(reply) } catch {
                    // Only a result over the frame limit gets here; the host still gets an answer.
                    frame = (try? AgentCodec.encode(AgentReply(id: reply.id, outcome: .failure(AgentFailure(error))))) ?? []
                }
                guard link.write(frame) else { return }
            }
        }
    }

    /// Replies to `wpar.attach` or `system.attach` and, when the session started, runs it; false when the host is gone.
    private func session(_ request: AgentRequest, on link: AgentLink, reader: inout AgentFrameReader) -> Bool {
        let runner: AgentSessionRunner
        do { runner = try dispatcher.attach(request) } catch {
            return link.write((try? AgentCodec.encode(AgentReply(id: request.id, outcome: .failure(AgentFailure(error))))) ?? [])
        }
        guard let ok = try? AgentCodec.encode(AgentReply(id: request.id, outcome: .success(.object([:])))), link.write(ok) else {
            runner.abandonBeforeStart()
            return false
        }
        runner.run(link, reader: &reader)
        return true
    }

    private func answer(_ event: AgentFrameReader.Event) -> AgentReply {
        switch event {
        case .oversized:
            return AgentReply(id: 0, outcome: .failure(AgentFailure(code: PartitionError.Code.agent.description,
                message: "The request was longer than \(AgentWire.frameLimit) bytes and was dropped.")))
        case .frame(let frame):
            do {
                let request = try AgentCodec.decodeRequest(frame)
                return AgentReply(id: request.id, outcome: .success(try dispatcher.handle(request)))
            } catch {
                return AgentReply(id: AgentCodec.identifierIfAny(frame) ?? 0, outcome: .failure(AgentFailure(error)))
            }
        }
    }
}
