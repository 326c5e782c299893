import PartitionModel

/// The rules for a managed network's name and its bridge's.
public enum NetworkNames {
    /// Names a profile's `network:` gives other meanings.
    public static let reserved: Set<String> = ["none", "loopback"]

    /// Why `name` cannot name a managed network, or nil when it can.
    public static func problem(name: String) -> String? {
        if let problem = PartitionName.problem(with: name) {
            // The partition rules, said for a network.
            return problem.replacingFirst("partition name", with: "network name")
        }
        if reserved.contains(name) {
            return "'\(name)' cannot name a network: a profile's 'network: \(name)' means no managed network."
        }
        return nil
    }

    /// Why `bridge` cannot name the bridge of network `network`, or nil when it can: the kernel's
    /// interface names are at most 15 bytes.
    public static func problem(bridge: String, of network: String) -> String? {
        let bytes = Array(bridge.utf8)
        if bytes.count > 15 {
            return bridge == network
                ? "The network name '\(network)' is \(bytes.count) characters long; it is also its bridge's name, which is at most 15 (or give --bridge)."
                : "The bridge name '\(bridge.prefix(40))' is \(bytes.count) characters long; at most 15 are allowed."
        }
        if bytes.isEmpty || bridge == "." || bridge == ".."
            || bytes.contains(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ":") || $0 <= 0x20 || $0 >= 0x7f }) {
            return "'\(bridge.prefix(40))' is not a network interface name: 1 to 15 characters, no '/', ':' or spaces."
        }
        return nil
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = firstRange(of: target) else { return self }
        var copy = self
        copy.replaceSubrange(range, with: replacement)
        return copy
    }
}
