import PartitionModel

extension Agent {
    /// The guest's own network, the same in every LPAR: bridge `partctl0` with the gateway
    /// 10.78.0.1/24, NATed out of the guest's other interfaces. partagent makes it on first need
    /// (a nested WPAR on it activating, or forwards published); the host hands out its addresses.
    public enum GuestNetwork {
        /// The network's name in a nested profile (`network: partctl0`), and its bridge in the guest.
        public static let name = "partctl0"
        public static let bridge = "partctl0"
        public static let subnet = IPv4Subnet(cidr: "10.78.0.0/24")!
        public static let gateway = IPv4Address("10.78.0.1")!
        /// What nested WPARs get: every host address of the subnet but the gateway (.2 to .254).
        public static var assignable: ClosedRange<IPv4Address> {
            IPv4Address(gateway.value + 1)...subnet.hosts.upperBound
        }
    }

    /// `network.forwards`: the guest side of the host's forwards to nested WPARs, the whole set for
    /// this LPAR at once (idempotent): traffic arriving on any interface but partctl0 for `port` is
    /// sent on to `address:targetPort` (nft chain `guest_prerouting` of table `ip partctl`).
    /// Added within protocol 4: an older agent refuses the operation's name (`explainRefusal`).
    public enum NetworkForwards: AgentCall {
        public static let operation = AgentOperation.networkForwards
        public struct Forward: Codable, Sendable, Hashable {
            /// "tcp" or "udp".
            public var proto: String
            /// The port on the guest's interfaces (the host's forward targets the LPAR's address at it).
            public var port: Int
            /// The nested WPAR's address on partctl0.
            public var address: IPv4Address
            public var targetPort: Int

            enum CodingKeys: String, CodingKey {
                case proto, port, address
                case targetPort = "target_port"
            }

            public init(proto: String, port: Int, address: IPv4Address, targetPort: Int) {
                self.proto = proto
                self.port = port
                self.address = address
                self.targetPort = targetPort
            }

            /// What is wrong with it, as a sentence; nil when it can be applied.
            public var problem: String? {
                guard proto == "tcp" || proto == "udp" else { return "A forward's protocol must be tcp or udp." }
                guard (1...65535).contains(port), (1...65535).contains(targetPort) else {
                    return "A forward's ports must lie between 1 and 65535."
                }
                guard GuestNetwork.assignable.contains(address) else {
                    return "A forward's target \(address) is not a nested WPAR's address on \(GuestNetwork.name) (\(GuestNetwork.subnet))."
                }
                return nil
            }
        }
        public struct Arguments: Codable, Sendable, Hashable {
            public var forwards: [Forward]
            public init(forwards: [Forward]) { self.forwards = forwards }
        }
        public typealias Result = AgentEmpty

        /// The most forwards one LPAR takes: far more than ports anyone publishes, and a bound on the script.
        public static let limit = 1024

        /// Every problem of the set as one sentence (the first), nil when it can be applied.
        public static func problem(of forwards: [Forward]) -> String? {
            guard forwards.count <= limit else { return "An LPAR takes at most \(limit) forwards." }
            var seen: Set<String> = []
            for forward in forwards {
                if let problem = forward.problem { return problem }
                guard seen.insert("\(forward.proto)/\(forward.port)").inserted else {
                    return "The guest port \(forward.port)/\(forward.proto) is forwarded twice."
                }
            }
            return nil
        }

        /// An agent older than the operation refuses its name; that refusal says what to do instead.
        public static func explainRefusal(_ error: PartitionError, lpar: String) -> PartitionError {
            guard error.code == .unsupported, error.message.contains("is not part of protocol") else { return error }
            return PartitionError(.unsupported,
                "The agent in \(lpar) is older than forwards to nested WPARs: rebuild the guest image (make guest-image) and restart '\(lpar)'.",
                partition: lpar)
        }
    }
}
