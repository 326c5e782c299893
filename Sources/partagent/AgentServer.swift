import AgentProtocol
import PartitionModel

/// Reads frames from one link and answers each request in order. A broken frame gets an error reply
/// (under its id when that much could be read, else id 0) and reading resumes at the next newline.
struct AgentServer {
    let dispatcher: AgentDispatcher

    func serve(_ link: AgentLink) {
        var reader = AgentFrameReader()
        while let bytes = link.read() {
            reader.append(bytes)
            while let event = reader.next() {
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
