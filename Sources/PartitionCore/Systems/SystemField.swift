import PartitionModel

extension PartitionRecord {
    /// This record and every one below it with `system` set: the managed system they are on.
    func onSystem(_ value: FieldValue) -> PartitionRecord {
        var record = self
        if let index = record.fields.firstIndex(where: { $0.0 == "system" }) {
            record.fields[index].1 = value
        } else {
            // `system` comes first of the attributes: JSON finds it without a search.
            record.fields.insert(("system", value), at: 0)
        }
        record.children = children.map { $0.onSystem(value) }
        return record
    }

    /// A managed system that did not answer: `unavailable`, with why.
    static func unavailableSystem(_ name: String, reason: String) -> PartitionRecord {
        PartitionRecord(name: name, path: "/", kind: .system, state: .unavailable,
                        fields: [("system", .string(name)), ("hypervisor", .string("unavailable"))], note: reason)
    }
}
