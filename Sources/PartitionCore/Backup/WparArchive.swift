#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PartitionImages
import PartitionModel
import PartitionProfiles
import SystemKit
import WorkloadEngine
#if canImport(Glibc)
import Glibc
#endif

/// A host WPAR in a backup: `definition.json` (the engine's definition, with partctl's resolved
/// profile in its annotations) and `layer.tar` (its writable layer in OCI layer form, LayerTar).
/// A running WPAR is refused: its layer would change under the copy (freezing it is not done here).
enum WparArchive {
    static let definitionMember = "definition.json"
    static let layerMember = "layer.tar"
    static let definitionLimit = 1 << 20

    static func stage(_ target: HostWparTarget, backend: WparBackend, staging: String) throws(PartitionError) -> LparArchive.Staged {
        let spec = target.definition
        if try backend.engine.status(target.name).state.isActive {
            throw PartitionError(.invalidState, "The WPAR is running; shut it down for its backup (its layer would change while it is copied).")
        }
        guard let resolved = WorkloadSpecMapping.resolvedProfile(of: spec) else {
            throw PartitionError(.unmanaged, "The WPAR's definition has no partctl profile; partctl backs up only WPARs it defined.")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do { data = try encoder.encode(spec) } catch {
            throw PartitionError(.internal, "The definition of \(target.name) cannot be encoded: \(error).")
        }
        let definition = staging + "/" + definitionMember
        try AtomicFile.write(Array(data), to: definition, mode: 0o600, durable: false)
        var staged = LparArchive.Staged(members: [(definitionMember, definition)], state: "defined", consistency: "stopped (clean)",
                                        nested: [], images: resolved.wpar?.image.map { [$0] } ?? [], profile: resolved.name)
        guard case .overlay(_, nil) = spec.root else { return staged }
        if spec.diskLimit != nil {
            throw PartitionError(.unsupported,
                "The WPAR keeps its writable layer in a file system image of its own (disk: {max}), which backup does not read yet.")
        }
        let upper = SpawnPlan.defaultUpper(for: target.name, definitionsRoot: backend.configuration.stateRoot)
        var info = stat()
        guard lstat(upper, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { return staged }
        var range: (uid: UInt32, gid: UInt32, count: UInt32)?
        if let mapping = spec.userNamespace, let uid = mapping.uids.first(where: { $0.inside == 0 }),
           let gid = mapping.gids.first(where: { $0.inside == 0 }) {
            range = (uid.outside, gid.outside, min(uid.count, gid.count))
        }
        let layer = staging + "/" + layerMember
        let fd = open(layer, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw POSIX.failure("make \(layer)") }
        defer { close(fd) }
        var writer = TarWriter(fd: fd)
        var layerWriter = LayerTarWriter(idRange: range)
        try layerWriter.write(layer: upper, to: &writer)
        if !layerWriter.skipped.isEmpty {
            staged.consistency += "; not archived (sockets or devices): " + layerWriter.skipped.prefix(5).joined(separator: ", ")
        }
        staged.members.append((layerMember, layer))
        return staged
    }
}

/// A host WPAR from a verified archive: its profile (from the archived definition's annotation,
/// validated again) is defined under the new name as `define` would (a new user-namespace range,
/// a new address on its managed network), then its layer is unpacked into the new writable layer.
struct WparRestore {
    let archive: VerifiedArchive
    let name: PartitionName
    let backend: WparBackend

    func refuse(_ what: String) -> PartitionError { PartitionError(.invalidArgument, "\(archive.label): \(what).") }

    func check() throws(PartitionError) -> ResolvedProfile {
        let bytes = try archive.bytes(of: WparArchive.definitionMember, limit: WparArchive.definitionLimit)
        let spec: WorkloadSpec
        do { spec = try JSONDecoder().decode(WorkloadSpec.self, from: Data(bytes)) } catch {
            throw refuse("its \(WparArchive.definitionMember) is not a WPAR definition partctl reads")
        }
        guard let json = spec.annotations?[WorkloadSpecMapping.profileAnnotation] else {
            throw refuse("its WPAR definition has no partctl profile")
        }
        let resolved: ResolvedProfile
        do { resolved = try ResolvedProfile.decode(json: json, domain: archive.manifest.name) } catch {
            throw refuse(error.message.hasSuffix(".") ? String(error.message.dropLast()) : error.message)
        }
        guard resolved.wpar != nil else { throw refuse("its definition is not a WPAR's") }
        if let image = resolved.wpar?.image {
            guard let imageName = try? ImageName(validating: image), (try? backend.images.image(imageName)) != nil else {
                throw refuse("its WPAR runs on the image '\(image)', which is not in this host's store; import or build it first")
            }
        }
        if let layer = archive.members[WparArchive.layerMember] {
            let wpar = resolved.wpar!
            guard wpar.image != nil || (wpar.type == .system && wpar.rootfs?.overlay == true) else {
                throw refuse("it holds a writable layer, but its profile gives the WPAR none")
            }
            let fd = open(layer, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw POSIX.failure("open the staged layer") }
            defer { close(fd) }
            try LayerEntryRule.checkStream(fd: fd, label: "\(archive.label): member \(WparArchive.layerMember)")
        }
        if backend.exists(name) {
            throw PartitionError(.alreadyExists, "A WPAR named '\(name)' already exists on this host; restore it under another name with --as.")
        }
        return resolved
    }

    /// Defines the WPAR and unpacks its layer; on any failure the WPAR is removed again.
    func create(_ resolved: ResolvedProfile) throws(PartitionError) {
        try backend.define(name, resolved: resolved)
        do throws(PartitionError) {
            guard let layer = archive.members[WparArchive.layerMember] else { return }
            let spec = try backend.engine.definition(of: name)
            let upper = SpawnPlan.defaultUpper(for: name, definitionsRoot: backend.configuration.stateRoot)
            try StateDirectory.ensure(upper, mode: 0o755)
            let owner = spec.userNamespace?.hostRoot
            let fd = open(layer, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw POSIX.failure("open the staged layer") }
            defer { close(fd) }
            let extractor = LayerExtractor(label: "\(archive.label): member \(WparArchive.layerMember)",
                                           idBase: owner ?? (0, 0),
                                           opaqueKey: owner == nil ? "trusted.overlay.opaque" : "user.overlay.opaque")
            try extractor.extract(fd: fd, into: upper)
        } catch {
            try? backend.remove(name, force: true)
            throw error
        }
    }
}
