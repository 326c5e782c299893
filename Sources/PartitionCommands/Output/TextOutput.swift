import PartitionCore
import PartitionModel

/// Text forms of partition listings: an aligned table, `-F` value lines, and the tree.
enum TextOutput {
    /// The columns `query` shows when no `-F` is given.
    /// Paths, not names: `lp1/tools` and `lp2/tools` are different partitions.
    static let defaultColumns = ["path", "kind", "state", "procs", "mem", "accel", "profile"]

    /// Parses `-F name,state` or `-F name:state`: the first of `,:;|` or a space found is the delimiter.
    static func fieldList(_ spec: String) throws(PartitionError) -> (fields: [String], delimiter: String) {
        let (fields, delimiter) = splitFields(spec)
        for field in fields { try PartitionRecord.checkField(field, option: "-F") }
        return (fields, delimiter)
    }

    /// `-F` of a listing verb (image, network, forward list): each field one of `known`, else one
    /// line naming it and the fields there are ("not a network field").
    static func fieldList(_ spec: String, known: [String], noun: String) throws(PartitionError) -> (fields: [String], delimiter: String) {
        let (fields, delimiter) = splitFields(spec)
        for field in fields where !known.contains(field) {
            throw PartitionError(.invalidArgument, "-F: '\(field.prefix(40))' is not \(noun) field; the fields are \(known.joined(separator: ", ")).")
        }
        return (fields, delimiter)
    }

    private static func splitFields(_ spec: String) -> (fields: [String], delimiter: String) {
        let delimiter = spec.first(where: { ",:;| ".contains($0) }).map(String.init) ?? ","
        return (spec.split(separator: Character(delimiter), omittingEmptySubsequences: false).map(String.init), delimiter)
    }

    static func values(_ records: [PartitionRecord], fields: [String], delimiter: String, header: Bool) -> String {
        values(records, fields: fields, delimiter: delimiter, header: header) { field, record in record.field(field)?.text ?? "-" }
    }

    /// `-F` output of any listing: the header line if asked, then one line of values per item.
    static func values<Item>(_ items: [Item], fields: [String], delimiter: String, header: Bool,
                             text: (String, Item) -> String) -> String {
        var lines: [String] = []
        if header { lines.append(fields.joined(separator: delimiter)) }
        for item in items {
            lines.append(fields.map { text($0, item) }.joined(separator: delimiter))
        }
        return lines.joined(separator: "\n")
    }

    /// `-F a,b --pairs`: `a=1,b=2` per partition, which `-i` takes as it is. Absent values are
    /// left out (`-i` has no way to say "none"); pairs are always separated by commas, as `-i` reads them.
    static func pairs(_ records: [PartitionRecord], fields: [String]) -> String {
        records.map { record in
            fields.compactMap { key in
                guard let value = record.field(key), value != .none else { return nil }
                return "\(key)=\(value.text)"
            }.joined(separator: ",")
        }.joined(separator: "\n")
    }

    static func table(_ records: [PartitionRecord], columns: [String], header: Bool) -> String {
        var rows: [[String]] = []
        if header { rows.append(columns.map { $0.uppercased() }) }
        for record in records {
            rows.append(columns.map { column in
                let text = record.field(column)?.humanText ?? "-"
                return (column == "name" || column == "path") && !record.managed ? text + " (unmanaged)" : text
            })
        }
        return align(rows)
    }

    static func align(_ rows: [[String]]) -> String {
        guard let count = rows.first?.count else { return "" }
        var widths = [Int](repeating: 0, count: count)
        for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// The partition tree with states and resources, one partition per line.
    static func tree(_ root: PartitionRecord) -> String {
        align(treeRows(root, systemLabel: false))
    }

    /// Several managed systems' trees, one after another, aligned together; each root line starts
    /// with the system's name (then its host name).
    static func trees(_ roots: [PartitionRecord]) -> String {
        align(roots.flatMap { treeRows($0, systemLabel: true) })
    }

    private static func treeRows(_ root: PartitionRecord, systemLabel: Bool) -> [[String]] {
        var rows: [[String]] = []
        func walk(_ record: PartitionRecord, prefix: String, childPrefix: String) {
            var label = prefix + record.name + (record.managed ? "" : " (unmanaged)")
            if systemLabel, record.kind == .system, case .string(let system)? = record.field("system"), system != record.name {
                label = "\(system) (\(record.name))"
            }
            rows.append([label, record.kind.rawValue, record.state.rawValue, resources(record)])
            for (index, child) in record.children.enumerated() {
                let last = index == record.children.count - 1
                walk(child, prefix: childPrefix + (last ? "└─ " : "├─ "), childPrefix: childPrefix + (last ? "   " : "│  "))
            }
        }
        walk(root, prefix: "", childPrefix: "")
        return rows
    }

    /// A short summary of what a partition holds: vCPUs and memory, limits, accelerator.
    static func resources(_ record: PartitionRecord) -> String {
        var parts: [String] = []
        switch record.kind {
        case .system:
            if let cpus = record.field("procs"), cpus != .none { parts.append("\(cpus.text) CPU") }
            if let memory = record.field("mem"), memory != .none { parts.append(memory.humanText) }
            if let cpus = record.field("free_procs"), cpus != .none, let memory = record.field("free_mem"), memory != .none {
                parts.append("free \(cpus.text) CPU \(memory.humanText)")
            }
            if let hypervisor = record.field("hypervisor"), hypervisor != .none, hypervisor != .string("unavailable") {
                parts.append(hypervisor.text)
            }
        case .lpar:
            if let procs = record.field("procs"), procs != .none, let max = record.field("max_procs"), max != .none {
                parts.append("\(procs.text)/\(max.text) vCPU")
            } else if let procs = record.field("procs"), procs != .none {
                parts.append("\(procs.text) vCPU")
            }
            if let memory = record.field("mem"), memory != .none, let max = record.field("max_mem"), max != .none {
                parts.append("\(memory.text)/\(max.text)")
            } else if let memory = record.field("mem"), memory != .none {
                parts.append(memory.text)
            }
            if let accel = record.field("accel"), accel != .none { parts.append(accel.text) }
            if let agent = record.field("agent"), agent != .none { parts.append("agent \(agent.text)") }
            if let ip = record.field("ip"), ip != .none { parts.append(ip.text) }
        case .wpar:
            if let type = record.type { parts.append(type) }
            if let cap = record.field("cpu_max"), cap != .none { parts.append("cpu \(cap.text)") }
            let current = record.field("memory_current")
            if let max = record.field("memory_max"), max != .none {
                parts.append("mem \(current.map { $0 == .none ? "-" : $0.humanText } ?? "-")/\(max.text)")
            } else if let current, current != .none {
                parts.append("mem \(current.humanText)")
            }
            if let pids = record.field("pids_current"), pids != .none { parts.append("pids \(pids.text)") }
            if let ip = record.field("ip"), ip != .none { parts.append(ip.text) }
        }
        if record.kind != .system, let image = record.field("image"), image != .none { parts.append("image \(image.text)") }
        if let note = record.note { parts.append("(\(note))") }
        return parts.joined(separator: "  ")
    }
}
