import AgentProtocol
import Glibc
import PartitionModel

/// partagent's command line: where to serve the protocol.
///
///     partagent                  the virtio-serial port (AgentWire.guestPortPath), waited for
///     partagent --port PATH      another character device
///     partagent --socket PATH    a Unix socket it listens on, one client at a time (tests on the host)
struct AgentOptions {
    enum Endpoint: Equatable {
        case port(String)
        case socket(String)
    }

    var endpoint = Endpoint.port(AgentWire.guestPortPath)

    init(arguments: [String]) throws(PartitionError) {
        var rest = arguments[...]
        while let option = rest.popFirst() {
            switch option {
            case "--port", "--socket":
                guard let path = rest.popFirst(), path.hasPrefix("/") else {
                    throw PartitionError(.invalidArgument, "\(option) needs an absolute path.")
                }
                endpoint = option == "--port" ? .port(path) : .socket(path)
            case "--version":
                print("partagent \(AgentVersion.current) (protocol \(AgentWire.protocolVersion))")
                exit(0)
            default:
                throw PartitionError(.invalidArgument, "Unknown argument \(option); use --port PATH or --socket PATH.")
            }
        }
    }
}

enum AgentVersion {
    static let current = "0.2.0"
}
