import LibvirtKit
import PartitionModel
import WorkloadEngine

/// What a partition path names, found once per command together with what finding it read: the
/// verbs act on this and never look the partition up again (docs/architecture.md).
public enum PartitionTarget {
    /// The managed system itself (`/`).
    case system
    /// An LPAR: its libvirt domain and partctl's metadata, parsed.
    case lpar(LparTarget)
    /// A WPAR on this host: its stored definition.
    case hostWpar(HostWparTarget)
    /// A WPAR nested in an LPAR; the LPAR is read only when a verb needs it.
    case nestedWpar(NestedTarget)

    public var path: PartitionPath {
        switch self {
        case .system: return .root
        case .lpar(let lpar): return PartitionPath(components: [lpar.name])
        case .hostWpar(let wpar): return PartitionPath(components: [wpar.name])
        case .nestedWpar(let nested): return PartitionPath(components: [nested.lpar, nested.name])
        }
    }

    public var kind: PartitionKind {
        switch self {
        case .system: return .system
        case .lpar: return .lpar
        case .hostWpar, .nestedWpar: return .wpar
        }
    }
}

/// A managed LPAR as libvirt has it. A verb that changes the domain or its metadata updates this
/// value in place, so what follows in the same command sees the new state without reading it again.
public final class LparTarget {
    public let name: PartitionName
    public internal(set) var domain: LibvirtDomain
    public internal(set) var metadata: PartitionMetadata

    init(name: PartitionName, domain: LibvirtDomain, metadata: PartitionMetadata) {
        self.name = name
        self.domain = domain
        self.metadata = metadata
    }
}

/// A host WPAR and the definition the engine stores for it.
public struct HostWparTarget {
    public let name: PartitionName
    public let definition: WorkloadSpec
}

/// A WPAR nested in an LPAR. Its LPAR is read by the nested backend when a verb needs it, once per
/// command (`NestedBackend.lparTarget`): login, console and query reach the LPAR's agent straight at
/// its socket when they can, without libvirt and without reading the LPAR at all.
public struct NestedTarget {
    public let lpar: PartitionName
    public let name: PartitionName
}
