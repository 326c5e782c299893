import PartitionModel

extension PartitionManager {
    /// An LPAR to another managed system through libvirt's migration API (the relocate helper builds it).
    func relocateLpar(_ request: RelocationRequest) throws(PartitionError) -> RelocationReport {
        throw PartitionError(.unsupported, "Relocating an LPAR is not built yet.", partition: request.path.description, operation: "relocate")
    }
}
