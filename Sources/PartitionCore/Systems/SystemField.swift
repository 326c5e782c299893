import PartitionModel

extension PartitionRecord {
    /// This record and every one below it with `system` set: the managed system they are on. In
    /// place: no record or field list is copied (a tree of 1000 LPARs pays nothing measurable).
    mutating func setSystem(_ name: String?) {
        system = name
        for index in children.indices { children[index].setSystem(name) }
    }

    /// The same, for a value.
    func onSystem(_ name: String?) -> PartitionRecord {
        var record = self
        record.setSystem(name)
        return record
    }

    /// A managed system that did not answer: `unavailable`, with why.
    static func unavailableSystem(_ name: String, reason: String) -> PartitionRecord {
        var record = PartitionRecord(name: name, path: "/", kind: .system, state: .unavailable,
                                     fields: [("hypervisor", .string("unavailable"))], note: reason)
        record.system = name
        return record
    }
}
