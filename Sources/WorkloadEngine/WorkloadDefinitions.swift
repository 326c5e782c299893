#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import PartitionModel
import SystemKit

/// WPAR definitions under `$PARTCTL_ROOT/wpars/<name>/`: `spec.json` (the WorkloadSpec), the
/// overlay upper layer when the root is an overlay, and `last-exit.json` from the supervisor.
struct WorkloadDefinitions: Sendable {
    let root: String
    private let decoded = DecodedFileCache<WorkloadSpec>()

    init(definitionsRoot: String) { root = definitionsRoot + "/wpars" }

    func directory(of name: PartitionName) -> String { "\(root)/\(name.rawValue)" }
    func specFile(of name: PartitionName) -> String { directory(of: name) + "/spec.json" }
    func exitRecord(of name: PartitionName) -> String { directory(of: name) + "/last-exit.json" }

    func exists(_ name: PartitionName) -> Bool { HostSystem.fileType(specFile(of: name)) == .regular }

    /// The definition, decoded once per version of its file (see DecodedFileCache).
    func load(_ name: PartitionName) throws(PartitionError) -> WorkloadSpec {
        let file = specFile(of: name)
        let spec = try decoded.value(at: file, limit: 1 << 20) { (bytes) throws(PartitionError) -> WorkloadSpec in
            do {
                return try JSONDecoder().decode(WorkloadSpec.self, from: Data(bytes))
            } catch {
                throw PartitionError(.invalidState, "The definition of \(name) (\(file)) cannot be read: \(error).")
            }
        }
        guard let spec else { throw PartitionError(.notFound, "The WPAR \(name) is not defined.") }
        return spec
    }

    func save(_ spec: WorkloadSpec) throws(PartitionError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do { data = try encoder.encode(spec) } catch {
            throw PartitionError(.internal, "The definition of \(spec.name) cannot be encoded: \(error).")
        }
        // 0700: the WPAR's writable layer goes below it (see RuntimePaths).
        try StateDirectory.ensure(directory(of: spec.name), mode: 0o700, anyOwner: true)
        try AtomicFile.write(Array(data), to: specFile(of: spec.name), mode: 0o644)
    }

    func remove(_ name: PartitionName) throws(PartitionError) {
        try HostSystem.removeTree(directory(of: name))
    }

    /// Every defined WPAR, sorted.
    func names() -> [PartitionName] {
        guard let directory = opendir(root) else { return [] }
        defer { closedir(directory) }
        var names: [PartitionName] = []
        while let entry = readdir(directory) {
            let text = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if let name = try? PartitionName(text), exists(name) { names.append(name) }
        }
        return names.sorted()
    }

    /// What the supervisor recorded when the init last ended.
    func lastExit(of name: PartitionName) -> WorkloadExit? {
        guard let bytes = try? AtomicFile.read(exitRecord(of: name), limit: 4096) else { return nil }
        return try? JSONDecoder().decode(WorkloadExit.self, from: Data(bytes))
    }
}
