import PartitionModel
import PartitionProfiles

/// The WPARs nested in an LPAR, kept inside partctl's metadata of the LPAR (its desired state), so
/// they survive shutdown, host restarts and anything that moves the domain.
struct NestedDefinitions: Sendable, Equatable {
    struct Entry: Sendable, Equatable {
        var name: PartitionName
        /// The resolved profile, as JSON.
        var profileJSON: String
        /// Its address on the guest network partctl0 (`network: partctl0`), chosen at define
        /// (NestedGuestNetwork); nil for any other network. Kept as an attribute of its element.
        var address: IPv4Address? = nil
        /// Set while a relocation from that LPAR is unfinished (NestedRelocation): the layer is
        /// here already, the source may still define the WPAR. Kept as an attribute; older
        /// versions ignore it.
        var relocatingFrom: PartitionName? = nil
    }

    var entries: [Entry] = []

    init() {}

    /// Reads the `<wpars>` element of partctl's metadata; nil means none defined yet.
    init(element: XMLNode?, lpar: String) throws(PartitionError) {
        guard let element else { return }
        for wpar in element.elements(named: "wpar") {
            guard let text = wpar.attribute("name"), let name = try? PartitionName(text) else {
                throw PartitionError(.libvirt, "The nested WPAR definitions of '\(lpar)' hold a WPAR without a valid name.")
            }
            var address: IPv4Address?
            if let text = wpar.attribute("address") {
                guard let parsed = IPv4Address(text) else {
                    throw PartitionError(.libvirt, "The nested WPAR definitions of '\(lpar)' give '\(name)' an address that is not one.")
                }
                address = parsed
            }
            var relocatingFrom: PartitionName?
            if let text = wpar.attribute("relocating-from") {
                guard let source = try? PartitionName(text) else {
                    throw PartitionError(.libvirt, "The nested WPAR definitions of '\(lpar)' say '\(name)' comes from an LPAR without a valid name.")
                }
                relocatingFrom = source
            }
            entries.append(Entry(name: name, profileJSON: wpar.text, address: address, relocatingFrom: relocatingFrom))
        }
    }

    func entry(_ name: PartitionName) -> Entry? { entries.first { $0.name == name } }

    /// Whether the WPAR starts with its LPAR (`autostart` of its stored profile).
    static func startsWithItsLpar(_ entry: Entry, lpar: PartitionName) throws(PartitionError) -> Bool {
        try ResolvedProfile.decode(json: entry.profileJSON, domain: "\(lpar)/\(entry.name)").wpar?.autostart == true
    }

    func element(prefix: String) -> XMLNode {
        var root = XMLNode("\(prefix)wpars")
        for entry in entries {
            var attributes = [("name", entry.name.rawValue)]
            if let address = entry.address { attributes.append(("address", address.description)) }
            if let source = entry.relocatingFrom { attributes.append(("relocating-from", source.rawValue)) }
            root.append(XMLNode("\(prefix)wpar", attributes, text: entry.profileJSON))
        }
        return root
    }
}
