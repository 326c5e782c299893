import CLibvirt
import Glibc
import PartitionModel

extension LibvirtConnection {
    /// Every domain, running or not, persistent or transient: one call (virConnectListAllDomains).
    ///
    /// A domain's name, UUID and id arrive with the list, so reading them costs no further call.
    public func listAllDomains() throws(PartitionError) -> [LibvirtDomain] {
        var list: UnsafeMutablePointer<virDomainPtr?>?
        let count = try LibvirtCall.run("virConnectListAllDomains") {
            virConnectListAllDomains(pointer, &list, 0)
        }
        defer { free(list) }
        guard let list else { return [] }
        return UnsafeBufferPointer(start: list, count: Int(count)).compactMap { domain in
            domain.map { LibvirtDomain(owning: $0, connection: self) }
        }
    }

    /// The domain with this name, or nil when there is none (virDomainLookupByName).
    public func lookupDomain(name: String) throws(PartitionError) -> LibvirtDomain? {
        let result = LibvirtCall.result("virDomainLookupByName") { virDomainLookupByName(pointer, name) }
        return try domainOrNil(result)
    }

    /// The domain with this UUID (e.g. "6695eb01-f6a4-8304-79aa-97f2502e193f"), or nil when there is none.
    public func lookupDomain(uuid: String) throws(PartitionError) -> LibvirtDomain? {
        let result = LibvirtCall.result("virDomainLookupByUUIDString") { virDomainLookupByUUIDString(pointer, uuid) }
        return try domainOrNil(result)
    }

    private func domainOrNil(_ result: Result<virDomainPtr, LibvirtErrorInfo>) throws(PartitionError) -> LibvirtDomain? {
        switch result {
        case .success(let domain): return LibvirtDomain(owning: domain, connection: self)
        case .failure(let info) where info.is(VIR_ERR_NO_DOMAIN): return nil
        case .failure(let info): throw info.partitionError
        }
    }

    /// Defines (or redefines) a persistent domain from XML that libvirt validates against its schema
    /// first (virDomainDefineXMLFlags with VIR_DOMAIN_DEFINE_VALIDATE).
    public func defineDomain(xml: String) throws(PartitionError) -> LibvirtDomain {
        let domain = try LibvirtCall.run("virDomainDefineXMLFlags") {
            virDomainDefineXMLFlags(pointer, xml, VIR_DOMAIN_DEFINE_VALIDATE.rawValue)
        }
        return LibvirtDomain(owning: domain, connection: self)
    }

    /// State, memory, vCPUs and CPU time of every domain in one call (virConnectGetAllDomainStats).
    ///
    /// This is the cheap way to show many domains: one round trip instead of one per domain. Groups a
    /// driver does not support are left out (their fields are nil), never an error. For running QEMU
    /// domains `.balloon` and `.vcpu` ask each QEMU monitor; `.state` and `.cpuTotal` never do.
    public func allDomainStats(
        _ groups: LibvirtStatsGroups = .all
    ) throws(PartitionError) -> [LibvirtDomainStats] {
        var records: UnsafeMutablePointer<virDomainStatsRecordPtr?>?
        let count = try LibvirtCall.run("virConnectGetAllDomainStats") {
            // NOWAIT: a domain busy with a long job reports what it can instead of stalling the list.
            virConnectGetAllDomainStats(
                pointer, groups.rawValue, &records, VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT.rawValue)
        }
        defer { virDomainStatsRecordListFree(records) }
        guard let records else { return [] }
        return UnsafeBufferPointer(start: records, count: Int(count)).compactMap { record in
            guard let record, let domain = record.pointee.dom else { return nil }
            // The list owns its domain references; take our own before it is freed.
            virDomainRef(domain)
            return LibvirtDomainStats(
                domain: LibvirtDomain(owning: domain, connection: self),
                parameters: record.pointee.params, count: record.pointee.nparams)
        }
    }
}
