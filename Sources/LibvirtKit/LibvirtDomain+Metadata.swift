import CLibvirt
import Glibc
import PartitionModel

/// The `<metadata>` elements applications keep in a domain, each under its own XML namespace.
extension LibvirtDomain {
    /// The metadata element under namespace `uri`, or nil when the domain has none
    /// (virDomainGetMetadata with VIR_DOMAIN_METADATA_ELEMENT).
    public func metadata(uri: String, _ scope: LibvirtScope = .current) throws(PartitionError) -> String? {
        let kind = Int32(bitPattern: VIR_DOMAIN_METADATA_ELEMENT.rawValue)
        MetadataReadCount.record()
        let result = LibvirtCall.result("virDomainGetMetadata") {
            virDomainGetMetadata(pointer, kind, uri, scope.flags)
        }
        switch result {
        case .success(let text):
            defer { free(text) }
            return String(cString: text)
        case .failure(let info) where info.is(VIR_ERR_NO_DOMAIN_METADATA):
            return nil
        case .failure(let info):
            throw info.partitionError
        }
    }

    /// Stores `xml` (one element) under namespace `uri` with prefix `key`; nil removes it
    /// (virDomainSetMetadata).
    public func setMetadata(
        _ xml: String?, key: String, uri: String, live: Bool = false, config: Bool = false
    ) throws(PartitionError) {
        let kind = Int32(bitPattern: VIR_DOMAIN_METADATA_ELEMENT.rawValue)
        let flags = modificationFlags(live: live, config: config)
        try LibvirtCall.run("virDomainSetMetadata") {
            withOptionalCString(xml) { virDomainSetMetadata(pointer, kind, $0, key, uri, flags) }
        }
    }
}
