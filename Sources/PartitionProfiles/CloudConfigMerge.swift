import Foundation
import Yams
import PartitionModel

/// cloud-init's user-data for an LPAR's first boot: partctl's own cloud-config (host name, root's
/// SSH keys) merged with the user's `user_data` file. A `#cloud-config` file is merged into one
/// document (its lists keep their items and get partctl's keys appended; the profile's host name
/// wins); anything else (a `#!` script) becomes a MIME multipart message with partctl's
/// cloud-config as the first part, as cloud-init documents for several parts.
public enum CloudConfigMerge {
    public static let header = "#cloud-config"

    /// partctl's part: the keys go to root too (`disable_root: false`), the name to the guest.
    static func ownDocument(hostname: String?, keys: [String]) -> [(String, Node)] {
        var entries: [(String, Node)] = []
        if let hostname {
            entries.append(("hostname", Node(hostname)))
            entries.append(("preserve_hostname", Node("false", Tag(.bool))))
        }
        if !keys.isEmpty {
            entries.append(("disable_root", Node("false", Tag(.bool))))
            entries.append(("ssh_authorized_keys", Node(keys.map { Node($0) })))
        }
        return entries
    }

    /// The user-data file's text. `userText` is the user's file (nil without one).
    public static func userData(hostname: String?, keys: [String], userText: String?) throws(PartitionError) -> String {
        let own = ownDocument(hostname: hostname, keys: keys)
        guard let userText else { return try render(own.map { (Node($0.0), $0.1) }) }
        if userText.hasPrefix(header) {
            return try merged(own, into: userText)
        }
        guard userText.hasPrefix("#!") else {
            throw PartitionError(.invalidProfile,
                "user_data: the file must start with '#cloud-config' (cloud-config) or '#!' (a script), as cloud-init reads it.")
        }
        return multipart([("text/cloud-config", try render(own.map { (Node($0.0), $0.1) })), ("text/x-shellscript", userText)])
    }

    static func merged(_ own: [(String, Node)], into userText: String) throws(PartitionError) -> String {
        let parsed: Node?
        do { parsed = try Yams.compose(yaml: userText) } catch {
            throw PartitionError(.invalidProfile, "user_data: the cloud-config is not valid YAML: \(String(describing: error).split(separator: "\n").first ?? "").")
        }
        var pairs: [(Node, Node)] = []
        if let parsed {
            guard case .mapping(let mapping) = parsed else {
                throw PartitionError(.invalidProfile, "user_data: a cloud-config must be a mapping of keys to values.")
            }
            pairs = Array(mapping)
        }
        for (key, value) in own {
            if let index = pairs.firstIndex(where: { $0.0.string == key }) {
                if case .sequence(var theirs) = pairs[index].1, case .sequence(let ours) = value {
                    theirs.append(contentsOf: ours)
                    pairs[index].1 = .sequence(theirs)
                } else {
                    pairs[index].1 = value
                }
            } else {
                pairs.append((Node(key), value))
            }
        }
        return try render(pairs)
    }

    static func render(_ pairs: [(Node, Node)]) throws(PartitionError) -> String {
        do {
            return header + "\n" + (pairs.isEmpty ? "{}\n" : try Yams.serialize(node: .mapping(Node.Mapping(pairs)), width: -1))
        } catch {
            throw PartitionError(.internal, "The cloud-config cannot be written: \(error).")
        }
    }

    /// A MIME multipart message (RFC 2046) of text parts, with a boundary found in none of them.
    static func multipart(_ parts: [(type: String, text: String)]) -> String {
        var boundary = "==partctl-boundary=="
        var counter = 0
        while parts.contains(where: { $0.text.contains(boundary) }) {
            counter += 1
            boundary = "==partctl-boundary-\(counter)=="
        }
        var out = "Content-Type: multipart/mixed; boundary=\"\(boundary)\"\nMIME-Version: 1.0\n\n"
        for (index, part) in parts.enumerated() {
            out += "--\(boundary)\nContent-Type: \(part.type); charset=\"utf-8\"\nMIME-Version: 1.0\n"
            out += "Content-Transfer-Encoding: 8bit\nContent-Disposition: attachment; filename=\"part-\(index + 1)\"\n\n"
            out += part.text + (part.text.hasSuffix("\n") ? "" : "\n")
        }
        return out + "--\(boundary)--\n"
    }
}
