import PartitionModel

extension PartitionManager {
    /// A nested WPAR to another LPAR through the agents (the wpar-move helper builds it).
    func relocateNested(_ request: RelocationRequest) throws(PartitionError) -> RelocationReport {
        throw PartitionError(.unsupported, "Relocating a nested WPAR is not built yet.", partition: request.path.description, operation: "relocate")
    }
}
