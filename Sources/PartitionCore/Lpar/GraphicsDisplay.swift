import LibvirtKit
import PartitionModel

/// Where a running LPAR's display listens, as the live domain XML says: libvirt picks the port
/// (autoport) when the domain starts, so it is read, never guessed.
public struct GraphicsDisplay: Sendable, Equatable {
    public var kind: GraphicsKind
    public var address: String
    public var port: Int
    /// Whether the display asks for a password (never the password itself).
    public var hasPassword: Bool

    /// `vnc://127.0.0.1:5901`
    public var uri: String { "\(kind.rawValue)://\(address):\(port)" }

    /// The displays of a running domain; ports libvirt has not given yet (-1) are left out.
    static func live(_ domain: LibvirtDomain) throws(PartitionError) -> [GraphicsDisplay] {
        try parse(domainXML: try domain.xmlDesc())
    }

    static func parse(domainXML: String) throws(PartitionError) -> [GraphicsDisplay] {
        let document = try XMLReader.parse(domainXML)
        let graphics = document.element(named: "devices")?.elements(named: "graphics") ?? []
        return graphics.compactMap { element -> GraphicsDisplay? in
            guard let kind = element.attribute("type").flatMap(GraphicsKind.init(rawValue:)),
                  let port = element.attribute("port").flatMap({ Int($0) }), port > 0 else { return nil }
            let address = element.element(named: "listen")?.attribute("address") ?? element.attribute("listen") ?? GraphicsSpec.listenAddress
            // libvirt shows no passwd without VIR_DOMAIN_XML_SECURE; the attribute's presence is enough.
            return GraphicsDisplay(kind: kind, address: address, port: port, hasPassword: element.attribute("passwd") != nil)
        }
    }
}

extension PartitionManager {
    /// The display of the running LPAR at `path`, refused with one line for a WPAR, an LPAR without
    /// graphics and a stopped one.
    public func graphicsDisplay(_ path: PartitionPath) throws(PartitionError) -> GraphicsDisplay {
        try withGraphicalLpar(path, "console") { (lpar, spec) throws(PartitionError) -> GraphicsDisplay in
            guard let display = try GraphicsDisplay.live(lpar.domain).first(where: { $0.kind == spec.kind }) else {
                throw PartitionError(.invalidState, "The LPAR runs, but libvirt names no port for its \(spec.kind.rawValue) display yet.")
            }
            var shown = display
            shown.hasPassword = spec.passwordFile != nil
            return shown
        }
    }

    /// What the running LPAR's screen shows now: the hypervisor's image (QEMU: PPM) and its type.
    public func screenshot(_ path: PartitionPath) throws(PartitionError) -> (mimeType: String, bytes: [UInt8]) {
        try withGraphicalLpar(path, "screenshot") { (lpar, _) throws(PartitionError) in try lpar.domain.screenshot() }
    }

    private func withGraphicalLpar<T>(_ path: PartitionPath, _ operation: String,
                                      _ body: (LparTarget, GraphicsSpec) throws(PartitionError) -> T) throws(PartitionError) -> T {
        if path.depth == 2 || (configuration.hostWparsHere && (path.name.map { wpars().target($0) != nil } ?? false)) {
            throw PartitionError(.unsupported, "A WPAR has no screen (it runs on its host's kernel); use 'partctl console \(path)'.",
                                 partition: path.description, operation: operation)
        }
        return try perform(path, operation, locked: false) { (partition) throws(PartitionError) -> T in
            guard case .lpar(let lpar) = partition.target else {
                throw PartitionError(.unsupported, "Only an LPAR has a screen.")
            }
            guard let spec = StoredLparValues.decode(json: lpar.metadata.resolvedProfileJSON)?.graphics else {
                throw PartitionError(.unsupported,
                    "The LPAR has no graphical console (its profile says graphics: none); define it from a profile with graphics: vnc, or use 'partctl console \(lpar.name)'.")
            }
            guard try lpar.domain.isActive() else {
                throw PartitionError(.invalidState, "The LPAR is not running; activate it with 'partctl activate \(lpar.name)'.")
            }
            return try body(lpar, spec)
        }
    }
}
