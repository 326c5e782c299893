import PartitionModel

/// partctl's own data inside a domain's `<metadata>`, under partctl's XML namespace.
///
/// libvirt keeps it with the domain, so the definition travels with the LPAR (`virsh dumpxml`
/// shows it; `virsh define` of a copy carries it along). A domain without it is unmanaged.
public struct PartitionMetadata: Sendable, Equatable {
    public static let namespaceURI = "http://partctl.org/xmlns/partition/1"
    public static let prefix = "partctl"
    public static let formatVersion = 1

    /// The profile's name as the user gave it at define time.
    public var profileName: String
    /// The resolved profile (after `extends:` and `-i` overrides), as JSON.
    public var resolvedProfileJSON: String
    /// The accelerator chosen at define time (`kvm` or `tcg`).
    public var accelerator: Acceleration
    public var description: String?
    /// The WPARs nested in this LPAR: their desired state travels with the domain.
    var nested = NestedDefinitions()

    public init(profileName: String, resolvedProfileJSON: String, accelerator: Acceleration, description: String? = nil) {
        self.profileName = profileName
        self.resolvedProfileJSON = resolvedProfileJSON
        self.accelerator = accelerator
        self.description = description
    }

    /// The element as it sits inside `<metadata>` of a full domain definition.
    public func element() -> XMLNode {
        var node = XMLNode("\(PartitionMetadata.prefix):partition", [
            ("xmlns:\(PartitionMetadata.prefix)", PartitionMetadata.namespaceURI),
            ("version", String(PartitionMetadata.formatVersion)),
            ("accel", accelerator.rawValue),
        ])
        node.append(XMLNode("\(PartitionMetadata.prefix):profile", [("name", profileName)], text: resolvedProfileJSON))
        if !nested.entries.isEmpty { node.append(nested.element(prefix: "\(PartitionMetadata.prefix):")) }
        return node
    }

    /// The element for virDomainSetMetadata, which adds the namespace from its `uri` and `key` itself.
    public func elementForSetMetadata() -> XMLNode {
        var node = XMLNode("partition", [("version", String(PartitionMetadata.formatVersion)), ("accel", accelerator.rawValue)])
        node.append(XMLNode("profile", [("name", profileName)], text: resolvedProfileJSON))
        if !nested.entries.isEmpty { node.append(nested.element(prefix: "")) }
        return node
    }

    /// Reads what virDomainGetMetadata returned; a malformed or foreign element is an error naming the domain.
    public init(xml: String, domain: String) throws(PartitionError) {
        let root: XMLNode
        do { root = try XMLReader.parse(xml) } catch {
            throw PartitionError(.libvirt, "The partctl metadata of domain '\(domain)' is not readable: \(error.message)")
        }
        guard root.localName == "partition" else {
            throw PartitionError(.libvirt, "The partctl metadata of domain '\(domain)' has an unexpected root element <\(root.name)>.")
        }
        guard let version = root.attribute("version").flatMap(Int.init), version <= PartitionMetadata.formatVersion else {
            throw PartitionError(.unsupported,
                "The partctl metadata of domain '\(domain)' has version \(root.attribute("version") ?? "none"); this partctl reads version \(PartitionMetadata.formatVersion).")
        }
        guard let profile = root.element(named: "profile") else {
            throw PartitionError(.libvirt, "The partctl metadata of domain '\(domain)' has no profile.")
        }
        self.profileName = profile.attribute("name") ?? ""
        self.resolvedProfileJSON = profile.text
        self.accelerator = root.attribute("accel").flatMap(Acceleration.init(rawValue:)) ?? .tcg
        self.description = nil
        self.nested = try NestedDefinitions(element: root.element(named: "wpars"), lpar: domain)
    }
}
