import PartitionImages
import PartitionModel
import PartitionProfiles
import WorkloadEngine

/// Turns a WPAR profile into the engine's input. The engine knows nothing of profiles; partctl's
/// resolved profile rides along as an annotation so that `query`, `modify --config` and
/// `activate --profile` can use it.
enum WorkloadSpecMapping {
    static let profileAnnotation = "org.partctl.profile"
    static let profileNameAnnotation = "org.partctl.profile-name"

    /// `annotate: false` for transient runs, which store nothing (and must not pay for encoding it).
    /// `imageLower`: where the tree of the profile's `image:` is (a host WPAR's: `imageRoot`, in the
    /// store; a nested WPAR's: the image disk's mount point in the guest, see NestedImageDisk); it becomes the overlay's lower layer.
    static func spec(name: PartitionName, resolved: ResolvedProfile, command override: [String] = [],
                     console: Bool, annotate: Bool = true, imageLower: String? = nil,
                     attachment: BridgeAttachment? = nil) throws(PartitionError) -> WorkloadSpec {
        guard let profile = resolved.wpar else {
            throw PartitionError(.invalidProfile, "The profile '\(resolved.name)' describes an \(resolved.kind.rawValue), not a WPAR.")
        }
        let root: WorkloadRoot
        switch (profile.type, profile.rootfs) {
        case _ where profile.image != nil:
            // The image's tree shared read-only by every WPAR using it, each with a writable layer
            // of its own, as `rootfs: {base: …, overlay: true}` shares a base.
            guard let imageLower else {
                throw PartitionError(.unsupported, "The image '\(profile.image!)' has no tree where this WPAR runs.")
            }
            root = .overlay(lower: [imageLower], upper: nil)
        case (.application, _): root = .host
        case (.system, let rootfs?): root = rootfs.overlay ? .overlay(lower: [rootfs.base], upper: nil) : .directory(path: rootfs.base)
        case (.system, nil):
            throw PartitionError(.invalidProfile, "The system WPAR profile '\(resolved.name)' has no rootfs.")
        }
        var environment = profile.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        if !profile.environment.keys.contains("PATH") { environment += WorkloadSpec.defaultEnvironment }
        var spec = WorkloadSpec(
            name: name, kind: profile.type == .system ? .system : .application, root: root,
            sharedPaths: profile.shared,
            mounts: profile.mounts.map { WorkloadMount(source: $0.source, target: $0.target, readOnly: $0.readonly) },
            command: override.isEmpty ? profile.command : override,
            environment: environment, workingDirectory: profile.workdir, hostname: profile.hostname,
            capabilities: profile.capabilities.map(\.rawValue),
            userNamespace: profile.userNamespace ? mapping(pinnedAt: profile.userNamespaceBase) : nil,
            network: try network(profile.network, attachment: attachment), limits: limits(profile.resources), console: console)
        spec.diskLimit = profile.resources.disk.max?.bytes
        spec.privileged = profile.privileged
        spec.minimalInit = profile.usesMinimalInit ? true : nil
        if profile.systemd == true {
            spec.systemd = true
            // systemd as PID 1 re-executes itself on SIGTERM; SIGRTMIN+3 halts it (Container Interface).
            spec.stopSignal = WorkloadSystemd.haltSignal
        }
        spec.seccomp = seccomp(profile.seccomp)
        try checkSeccomp(profile, resolved: resolved)
        if annotate {
            spec.annotations = [
                profileNameAnnotation: resolved.name,
                profileAnnotation: try resolved.jsonString(),
            ]
        }
        return spec
    }

    /// The tree in the host's store of the image a WPAR profile names (nil: it names none): the
    /// image must exist and have a tree (kind rootfs or oci).
    static func imageRoot(of resolved: ResolvedProfile, in images: ImageStore) throws(PartitionError) -> String? {
        guard let text = resolved.wpar?.image else { return nil }
        let manifest = try images.image(try ImageName(validating: text))
        guard manifest.hasRootfs else {
            throw PartitionError(.invalidProfile,
                "The image '\(text)' is of kind \(manifest.kinds.map(\.rawValue).joined(separator: ",")); a WPAR's root needs an image of kind rootfs or oci.")
        }
        return images.rootfs(manifest)
    }

    static func limits(_ resources: WparResources) -> WorkloadLimits {
        var limits = WorkloadLimits()
        limits.cpuWeight = resources.cpu.weight
        limits.cpuMax = resources.cpu.max
        limits.memoryHigh = resources.memory.high?.bytes
        limits.memoryMax = resources.memory.max?.bytes
        limits.pidsMax = resources.processes.max
        return limits
    }

    /// The default is left out of the spec (nil), so a guest agent that predates the key accepts it.
    static func seccomp(_ seccomp: WparSeccomp?) -> WorkloadSeccomp? {
        switch seccomp {
        case nil, .default?: return nil
        case .unconfined?: return .unconfined
        case .file(_, let document)?: return .document(document)
        }
    }

    /// A profile's own seccomp document compiled once, so that a syscall name libseccomp does not
    /// know is refused (exit 2) before anything is defined, on the host or in an LPAR.
    static func checkSeccomp(_ profile: WparProfile, resolved: ResolvedProfile) throws(PartitionError) {
        guard case .file(let file, _)? = profile.seccomp else { return }
        do {
            try WorkloadEngine.checkSeccomp(seccomp(profile.seccomp))
        } catch {
            throw PartitionError(.invalidProfile, "\(resolved.file): seccomp: \(file): \(error.message)")
        }
    }

    /// `attachment`: what the lease gave a WPAR on a managed network (PartitionLeases, or the
    /// nested side's guest network), or the old bridge form completed with its MAC.
    static func network(_ network: WparNetwork, attachment: BridgeAttachment? = nil) throws(PartitionError) -> WorkloadNetwork {
        switch network {
        case .none: return .none
        case .loopback: return .loopback
        case .bridge(let bridge): return .bridge(attachment ?? bridge)
        case .managed(let managed):
            guard let attachment else {
                throw PartitionError(.unsupported, "The managed network '\(managed.name)' has no address leased here.")
            }
            return .bridge(attachment)
        }
    }

    /// A range the engine allocates, or the profile's pinned one (validated to fit below 2^32).
    static func mapping(pinnedAt base: Int?) -> UserNamespaceMapping {
        guard let base else { return .allocate }
        return .shifted(by: UInt32(base), count: UInt32(WparProfile.userNamespaceSize))
    }

    /// The resolved profile stored with a definition, if partctl made it.
    static func resolvedProfile(of spec: WorkloadSpec) -> ResolvedProfile? {
        resolvedProfile(annotations: spec.annotations, name: spec.name)
    }

    static func resolvedProfile(annotations: [String: String]?, name: PartitionName) -> ResolvedProfile? {
        guard let json = annotations?[profileAnnotation] else { return nil }
        return try? ResolvedProfile.decode(json: json, domain: name.rawValue)
    }
}

extension ResolvedProfile {
    /// For `profile check`: the profile's own seccomp document compiles (see `checkSeccomp`).
    public func checkSeccompFilter() throws(PartitionError) {
        if let wpar { try WorkloadSpecMapping.checkSeccomp(wpar, resolved: self) }
    }

    /// The profile runs its WPAR without any syscall filter (`seccomp: unconfined`).
    public var isSeccompUnconfined: Bool { wpar?.seccomp == .unconfined }
}
