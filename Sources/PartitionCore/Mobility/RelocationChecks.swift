import LibvirtKit
import PartitionModel
import PartitionNetworks

/// One reason an LPAR cannot move to a managed system as things are.
struct RelocationBlocker: Equatable {
    var code: PartitionError.Code
    var message: String
}

/// What `relocate --validate` asks of the destination before anything moves (and the move asks
/// again): every check runs and every blocker is one line. Nothing is changed on either system;
/// a file on the destination is looked up through libvirt's storage API (a transient pool,
/// gone when stopped), so it works over any libvirt transport.
struct RelocationChecks {
    let name: PartitionName
    let destinationName: String
    let destination: LibvirtConnection
    let needs: DomainNeeds
    /// The LPAR runs (a live move): the destination must have its memory free now.
    let live: Bool
    /// Host-side records on the source that cannot follow the LPAR (leases, forwards).
    var hostRecords: [RelocationBlocker] = []

    func blockers() -> [RelocationBlocker] {
        var found: [RelocationBlocker] = []
        func add(_ code: PartitionError.Code, _ message: String) { found.append(RelocationBlocker(code: code, message: message)) }
        func failed(_ what: String, _ error: PartitionError) {
            add(.unavailable, "\(destinationName): \(what) could not be checked: \(Self.trimmed(error.message)).")
        }

        // The name, and the UUID (libvirt refuses a second domain with it).
        do {
            if let existing = try destination.lookupDomain(name: name.rawValue) {
                let state = (try? existing.isActive()) == true ? "running" : "defined"
                add(.alreadyExists, "\(destinationName) has a domain named '\(name)' already (\(state)).")
            } else if let uuid = needs.uuid, let other = try destination.lookupDomain(uuid: uuid) {
                add(.alreadyExists, "\(destinationName) has a domain with this LPAR's UUID already ('\(other.name)').")
            }
        } catch { failed("the name", error) }

        // The accelerator and the CPU.
        if needs.virtType == "kvm" {
            do {
                _ = try destination.domainCapabilities(virtType: "kvm")
                if let cpuXML = needs.cpuXML, needs.cpuMode == "custom",
                   try destination.compareCPU(cpuXML) == .incompatible {
                    add(.unsupported, "\(destinationName)'s CPU cannot run this LPAR's CPU model.")
                }
            } catch {
                add(.unsupported, "\(destinationName) cannot run KVM guests (\(Self.trimmed(error.message))); this LPAR was defined with KVM.")
            }
        }

        // CPUs and memory.
        do {
            let node = try destination.nodeInfo()
            if needs.maxVcpus > Int(node.cpus) {
                add(.outOfRange, "\(destinationName) has \(node.cpus) CPUs; this LPAR may use \(needs.maxVcpus).")
            }
            if needs.maxMemoryKiB > node.memoryKiB {
                add(.outOfRange, "\(destinationName) has \(ByteSize.kibibytes(node.memoryKiB)) of memory; this LPAR may grow to \(ByteSize.kibibytes(needs.maxMemoryKiB)).")
            }
            if live {
                var free = try destination.freeMemoryBytes()
                if let reclaimable = try destination.reclaimableFreeMemoryBytes() { free = max(free, reclaimable) }
                if needs.currentMemoryKiB * 1024 > free {
                    add(.outOfRange, "\(destinationName) has \(ByteSize.kibibytes(free / 1024)) of memory free; this LPAR runs with \(ByteSize.kibibytes(needs.currentMemoryKiB)).")
                }
            }
        } catch { failed("CPUs and memory", error) }

        // Files the domain boots from.
        for (key, path) in [("kernel", needs.kernel), ("initrd", needs.initrd)] {
            guard let path else { continue }
            if let problem = fileProblem(path) { add(.notFound, "\(destinationName): the \(key) \(path) \(problem).") }
        }

        // Disks: their contents would have to be copied (not built yet), or must be there already.
        for disk in needs.writableDisks {
            add(.unsupported, "disk \(disk.target) (\(disk.file ?? disk.sourceType)) is writable; relocating an LPAR's writable disks is not built yet (only LPARs without writable disks move).")
        }
        for disk in needs.disks where disk.readOnly || disk.device == "cdrom" {
            guard let file = disk.file else { continue }
            if let problem = fileProblem(file) { add(.notFound, "\(destinationName): the read-only disk \(disk.target) \(file) \(problem).") }
        }

        // Networks and bridges.
        for interface in needs.interfaces {
            switch interface {
            case .network(let network):
                do {
                    guard let found = try destination.lookupNetwork(name: network) else {
                        add(.notFound, "\(destinationName) has no libvirt network '\(network)'.")
                        continue
                    }
                    if try !found.isActive() {
                        add(.invalidState, "\(destinationName)'s libvirt network '\(network)' is not active (virsh net-start \(network)).")
                    }
                } catch { failed("the network '\(network)'", error) }
            case .bridge(let bridge):
                do {
                    switch try destination.hostInterfaceIsActive(name: bridge) {
                    case nil: add(.notFound, "\(destinationName) has no bridge '\(bridge)'.")
                    case false?: add(.invalidState, "\(destinationName)'s bridge '\(bridge)' is down.")
                    case true?: break
                    }
                } catch { failed("the bridge '\(bridge)'", error) }
            case .other(let type):
                add(.unsupported, "an interface of type '\(type)' is not one partctl knows how to find on \(destinationName).")
            }
        }
        return found + hostRecords
    }

    /// Why `path` is not a regular file on the destination, or nil when it is.
    func fileProblem(_ path: String) -> String? {
        do {
            switch try RemoteFile.kind(path, on: destination) {
            case .regularFile: return nil
            case .missing: return "is missing there"
            case .other: return "is not a regular file there"
            }
        } catch {
            return "could not be checked (\(Self.trimmed(error.message)))"
        }
    }

    static func trimmed(_ message: String) -> String {
        String(message.dropLast(message.hasSuffix(".") ? 1 : 0))
    }
}

/// A file on a managed system, seen through libvirt's storage API: looked up in the pools that
/// cover it, else in a transient directory pool over its directory, stopped (and so gone) at once.
enum RemoteFile {
    enum Kind { case regularFile, missing, other }

    static func kind(_ path: String, on connection: LibvirtConnection) throws(PartitionError) -> Kind {
        guard path.hasPrefix("/"), let slash = path.lastIndex(of: "/") else { return .missing }
        if let volume = try connection.storageVolume(atPath: path) {
            return try volume.info().type == 0 ? .regularFile : .other
        }
        let directory = slash == path.startIndex ? "/" : String(path[..<slash])
        let name = String(path[path.index(after: slash)...])
        var pool = XMLNode("pool", [("type", "dir")])
        pool.append(XMLNode("name", text: "partctl-probe-\(UInt32.random(in: 0...UInt32.max))"))
        pool.append(XMLNode("target", children: [.element(XMLNode("path", text: directory))]))
        let probe: LibvirtStoragePool
        do {
            probe = try connection.createTransientStoragePool(xml: pool.serialized())
        } catch {
            // No such directory: libvirt cannot start a pool on it.
            if error.message.contains("No such file") || error.message.contains("does not exist") { return .missing }
            throw error
        }
        defer { try? probe.stop() }
        guard let volume = try probe.lookupVolume(name: name) else { return .missing }
        return try volume.info().type == 0 ? .regularFile : .other
    }
}
