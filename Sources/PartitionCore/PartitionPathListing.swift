import LibvirtKit
import PartitionModel
import WorkloadEngine

/// The paths a shell may complete: host WPARs, LPARs and the WPARs nested in them. Cheap and never
/// an error: host WPARs come from the definitions directory (no libvirt); LPARs and nested WPARs
/// from one read-only listing of the domains and their metadata (no agent is asked), and nothing
/// when libvirtd does not answer.
public enum PartitionPathListing {
    /// Names of the WPARs defined on this host.
    public static func hostWpars(_ configuration: PartctlConfiguration) -> [String] {
        let paths = RuntimePaths(root: configuration.runtimeRoot, definitions: configuration.stateRoot)
        return WorkloadEngine(paths: paths).definedNames().map(\.rawValue).sorted()
    }

    /// Every domain's name, and `lpar/wpar` for each WPAR nested in a managed LPAR.
    public static func lparsAndNested(_ configuration: PartctlConfiguration) -> [String] {
        guard let connection = try? LibvirtConnection.open(uri: configuration.connectURI, readOnly: true),
              let domains = try? connection.listAllDomains() else { return [] }
        var paths: [String] = []
        for domain in domains {
            let name = domain.name
            paths.append(name)
            guard let xml = try? domain.metadata(uri: PartitionMetadata.namespaceURI),
                  let metadata = try? PartitionMetadata(xml: xml, domain: name) else { continue }
            paths += metadata.nested.entries.map { "\(name)/\($0.name.rawValue)" }
        }
        return paths.sorted()
    }
}
