import PartitionModel

extension SpawnPlan {
    /// runc's maskedPaths (plus powercap, which runc added later): hidden from every WPAR.
    public static let maskedPaths = [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
    ]
    /// runc's readonlyPaths.
    public static let readOnlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
    /// Device nodes bound from the host into the WPAR's fresh /dev (runc's AllowedDevices without ptmx,
    /// which is the devpts instance's own).
    public static let devices = ["null", "zero", "full", "random", "urandom", "tty"]

    /// Validates `spec` against the host and builds its plan. Nothing is created on the host.
    public init(spec: WorkloadSpec, host: SpawnHost) throws(PartitionError) {
        let rules = HostPathRules(runtimeRoot: host.runtimeRoot, definitionsRoot: host.definitionsRoot)
        let capabilities = try WorkloadSpecCheck.checkProcess(spec, host: host)
        let seccomp = try SeccompCompiler.program(for: spec.seccomp, capabilities: capabilities,
                                                   cache: SeccompCache(runtimeRoot: host.runtimeRoot))
        try WorkloadSpecCheck.checkLimits(spec.limits, host: host)
        try WorkloadSpecCheck.checkNetwork(spec.network)
        if let mapping = spec.userNamespace, !mapping.isRequest { try WorkloadSpecCheck.checkUserNamespace(mapping) }
        try WritableLayerImage.check(spec)
        guard HostSystem.fileType(Self.stageDirectory) == .directory else {
            throw PartitionError(.unsupported, "The host has no \(Self.stageDirectory) directory, which partctl needs to assemble a WPAR's root.")
        }

        var steps: [Step] = []
        var identities: [String: Identity] = [:]
        // With a user namespace, host trees are passed idmapped by the parent (UserNamespaceTrees).
        var idmapped = UserNamespaceTrees(active: spec.userNamespace != nil, capabilities: capabilities)
        let layers: [String]
        switch (spec.kind, spec.root) {
        case (.application, .host):
            layers = []
            identities["/"] = try HostPathRules.open("/", "host root").identity
            steps.append(Step(name: "bind the host's root read-only",
                              operation: .rootTree(source: "/", attributes: [.readOnly, .noDevices, .noSetuid])))
        case (.application, .directory(let path)):
            // An image's root for one transient command (run --image): read-only, as the host's
            // root is to other application WPARs, with its own /tmp and /run below.
            let root = try Self.checkRootDirectory(path, "root directory", rules: rules)
            layers = [root.path]
            identities[root.path] = root.identity
            let attributes: MountAttributes = [.readOnly, .noDevices, .noSetuid]
            steps.append(idmapped.active ? idmapped.root(root.path, attributes: attributes)
                : Step(name: "bind the root \(root.path) read-only", operation: .rootTree(source: root.path, attributes: attributes)))
        case (.system, .host):
            throw PartitionError(.invalidArgument, "A system WPAR needs a root of its own: a directory or an overlay on a base directory.")
        case (.system, .directory(let path)):
            let root = try Self.checkRootDirectory(path, "root directory", rules: rules)
            layers = [root.path]
            identities[root.path] = root.identity
            // Not idmapped even with a user namespace: through an idmapped mount the WPAR's root would
            // write files owned by host root (setuid ones too) into a host directory. Its files show
            // with their host owners mapped (those outside its range as the overflow ID).
            steps.append(Step(name: "bind the root \(root.path)", operation: .rootTree(source: root.path, attributes: [.noDevices])))
        case (_, .overlay(let lower, let upper)):
            // A system WPAR's root, or an application WPAR's image with a writable layer of its own.
            guard !lower.isEmpty else {
                throw PartitionError(.invalidArgument, "An overlay root needs at least one lower directory.")
            }
            var lowers: [String] = []
            for path in lower {
                let layer = try Self.checkRootDirectory(path, "lower directory", rules: rules, layered: true)
                lowers.append(layer.path)
                identities[layer.path] = layer.identity
            }
            // partctl's own state directory may be reached through the administrator's symlink;
            // below it, nothing may be one.
            let upperPath = upper ?? Self.defaultUpper(for: spec.name, definitionsRoot: HostSystem.realPath(host.definitionsRoot) ?? host.definitionsRoot,
                                                  limitedDisk: spec.diskLimit != nil)
            for layer in try Self.checkUpper(upperPath, rules: rules) { identities[layer.path] = layer.identity }
            layers = [upperPath] + lowers
            if idmapped.active {
                steps += idmapped.overlayRoot(lowers: lowers, upper: upperPath, work: Self.overlayWork(for: upperPath))
            } else {
                // Each layer by descriptor in the child (cspawn_sources.c), lower layers top first.
                let options = lowers.map { FilesystemOption.hostDirectory("lowerdir", $0) }
                    + [.hostDirectory("upperdir", upperPath), .hostDirectory("workdir", Self.overlayWork(for: upperPath))]
                steps.append(Step(name: "mount the overlay root", operation: .rootFilesystem(type: "overlay", options: options, attributes: [.noDevices])))
            }
        }
        if spec.root != .host {
            try Self.checkKernelDirectories(in: layers)
        }

        if spec.kind == .application && !Self.isOverlay(spec.root) {
            if !spec.sharedPaths.isEmpty {
                throw PartitionError(.invalidArgument, "An application WPAR already shares the whole host read-only; shared paths are for system WPARs.")
            }
            steps.append(Step(name: "mount /tmp", operation: .filesystem(type: "tmpfs", target: "/tmp",
                options: [FilesystemOption("mode", "1777")], attributes: [.noSetuid, .noDevices])))
            steps.append(Step(name: "mount /run", operation: .filesystem(type: "tmpfs", target: "/run",
                options: [FilesystemOption("mode", "755")], attributes: [.noSetuid, .noDevices])))
        } else {
            for path in spec.sharedPaths {
                try HostPathRules.checkTarget(path, "shared path")
                let source = try rules.checkSource(path, "shared path")
                identities[source.path] = source.identity
                steps.append(idmapped.active ? idmapped.bind(source.path, target: path, attributes: [.readOnly, .noDevices])
                    : Step(name: "share \(path) read-only", operation: .bind(source: source.path, target: path,
                        attributes: [.readOnly, .noDevices], recursive: true, characterDevice: false)))
            }
            if Self.topEntry("run", in: layers) == .directory || spec.systemd == true {
                steps.append(Step(name: "mount /run", operation: .filesystem(type: "tmpfs", target: "/run",
                    options: [FilesystemOption("mode", "755")], attributes: [.noSetuid, .noDevices])))
            }
            if spec.systemd == true {
                // systemd's Container Interface: /tmp a tmpfs of its own as well (tmp.mount is
                // skipped in a container), so that PrivateTmp and tmpfiles find it empty at boot.
                steps.append(Step(name: "mount /tmp", operation: .filesystem(type: "tmpfs", target: "/tmp",
                    options: [FilesystemOption("mode", "1777")], attributes: [.noSetuid, .noDevices])))
                // systemd mounts /run/lock itself unless it is a mount point already, and gives up
                // booting when it cannot (a WPAR without CAP_SYS_ADMIN never can).
                steps.append(Step(name: "mount /run/lock", operation: .filesystem(type: "tmpfs", target: "/run/lock",
                    options: [FilesystemOption("mode", "1777"), FilesystemOption("size", "5120k")],
                    attributes: [.noSetuid, .noDevices, .noExec])))
            }
        }
        if spec.systemd == true && spec.kind != .system {
            throw PartitionError(.invalidArgument, "Only a system WPAR's init can be systemd; an application WPAR runs one command.")
        }

        for mount in spec.mounts {
            try HostPathRules.checkTarget(mount.target, "mount target")
            let source = try rules.checkSource(mount.source, "mount source")
            identities[source.path] = source.identity
            if spec.kind == .application && spec.root == .host && !["/tmp", "/run"].contains(where: { HostPathRules.path(mount.target, isWithin: $0) }) {
                let type = HostSystem.fileType(mount.target)
                guard type != nil, type != .symlink else {
                    throw PartitionError(.invalidArgument,
                        "The mount target \(QuotedText.of(mount.target)) must exist on the host (and not be a symlink): an application WPAR's root is the host's, read-only.")
                }
            }
            let attributes: MountAttributes = mount.readOnly ? [.readOnly, .noDevices, .noSetuid] : [.noDevices, .noSetuid]
            steps.append(idmapped.active ? idmapped.bind(source.path, target: mount.target, attributes: attributes)
                : Step(name: "bind \(mount.target)", operation: .bind(source: source.path, target: mount.target,
                    attributes: attributes, recursive: true, characterDevice: false)))
        }

        if spec.systemd == true && !host.hasCgroup2 {
            throw PartitionError(.unsupported, "A WPAR whose init is systemd needs cgroup2 (mounted on /sys/fs/cgroup or, on a hybrid host, on /sys/fs/cgroup/unified); this system has only cgroup v1.")
        }
        steps += Self.kernelFilesystems(userNamespace: spec.userNamespace != nil, cgroup2: host.hasCgroup2,
                                        writableCgroup: spec.systemd == true)

        var namespaces = Namespaces.workload
        if spec.userNamespace != nil { namespaces.insert(.user) }
        let environment = spec.systemd == true ? WorkloadSystemd.environment(spec.environment) : spec.environment
        var process = Process(arguments: spec.command, environment: environment,
                              workingDirectory: spec.workingDirectory, capabilities: capabilities,
                              keyring: "_ses.\(spec.name.rawValue)", openFileLimit: spec.openFileLimit,
                              seccomp: seccomp)
        process.user = spec.user
        if spec.minimalInit == true {
            guard spec.kind == .application else {
                throw PartitionError(.invalidArgument, "Only an application WPAR runs under the minimal init; a system WPAR's command is its init.")
            }
            process = try WorkloadInit.wrap(process, ownPaths: spec.mounts.map(\.target), hostRoot: spec.root == .host)
        }
        self.init(namespaces: namespaces, steps: steps, hostname: spec.hostname ?? spec.name.rawValue,
                  process: process,
                  userNamespace: spec.userNamespace, stage: Self.stageDirectory, hostIdentities: identities)
        passedTrees = idmapped.trees.map { tree in
            var pinned = tree
            pinned.identity = identities[tree.source]
            return pinned
        }
    }

    static func isOverlay(_ root: WorkloadRoot) -> Bool {
        if case .overlay = root { return true }
        return false
    }

    /// Where the child attaches the new root while assembling it (in its own mount namespace only).
    static let stageDirectory = "/tmp"

    /// With a disk limit, on the WPAR's own file system (WritableLayerImage), with the work directory.
    public static func defaultUpper(for name: PartitionName, definitionsRoot: String, limitedDisk: Bool = false) -> String {
        let directory = "\(definitionsRoot)/wpars/\(name.rawValue)"
        return (limitedDisk ? WritableLayerImage.mountPoint(in: directory) : directory) + "/upper"
    }

    /// overlayfs's work directory, beside the upper one (it must be on the same file system).
    public static func overlayWork(for upper: String) -> String { upper + ".work" }

    /// /proc, fresh /dev, /sys and the masks: the same for every WPAR.
    /// `writableCgroup`: the cgroup2 file system is writable (systemd's own subtree: the cgroup
    /// namespace roots it at the delegated cgroup, below the one that holds the limits).
    static func kernelFilesystems(userNamespace: Bool, cgroup2: Bool, writableCgroup: Bool = false) -> [Step] {
        var steps: [Step] = []
        steps.append(Step(name: "mount /proc", operation: .filesystem(type: "proc", target: "/proc", options: [],
                                                                      attributes: [.noSetuid, .noDevices, .noExec])))
        // No device node made in /dev is usable (nodev); the bound host nodes keep their own mounts' flags.
        steps.append(Step(name: "mount /dev", operation: .filesystem(type: "tmpfs", target: "/dev",
            options: [FilesystemOption("mode", "755"), FilesystemOption("size", "65536k")],
            attributes: [.noSetuid, .noDevices, .strictAtime])))
        for device in devices {
            steps.append(Step(name: "bind /dev/\(device)", operation: .bind(source: "/dev/\(device)", target: "/dev/\(device)",
                                                                            attributes: [], recursive: false, characterDevice: true)))
        }
        var ptsOptions = [FilesystemOption("ptmxmode", "0666"), FilesystemOption("mode", "0620")]
        if !userNamespace { ptsOptions.append(FilesystemOption("gid", "5")) }  // gid 5 (tty) may be unmapped in a user namespace
        steps.append(Step(name: "mount /dev/pts", operation: .filesystem(type: "devpts", target: "/dev/pts", options: ptsOptions,
                                                                         attributes: [.noSetuid, .noExec])))
        steps.append(Step(name: "mount /dev/shm", operation: .filesystem(type: "tmpfs", target: "/dev/shm",
            options: [FilesystemOption("mode", "1777"), FilesystemOption("size", "65536k")],
            attributes: [.noSetuid, .noDevices, .noExec])))
        for (link, text) in [("ptmx", "pts/ptmx"), ("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                             ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")] {
            steps.append(Step(name: "symlink /dev/\(link)", operation: .symlink(target: "/dev/\(link)", linkText: text)))
        }
        steps.append(Step(name: "mount /sys", operation: .filesystem(type: "sysfs", target: "/sys", options: [],
                                                                     attributes: [.readOnly, .noSetuid, .noDevices, .noExec])))
        if cgroup2 {
            steps.append(Step(name: "mount /sys/fs/cgroup", operation: .filesystem(type: "cgroup2", target: "/sys/fs/cgroup",
                options: [], attributes: writableCgroup ? [.noSetuid, .noDevices, .noExec] : [.readOnly, .noSetuid, .noDevices, .noExec])))
        }
        for path in maskedPaths {
            steps.append(Step(name: "mask \(path)", operation: .mask(target: path)))
        }
        for path in readOnlyPaths {
            steps.append(Step(name: "make \(path) read-only", operation: .readOnly(target: path)))
        }
        return steps
    }

    /// A root or lower directory: a real, canonical directory that may be bound, opened without
    /// following any symlink.
    static func checkRootDirectory(_ path: String, _ what: String, rules: HostPathRules, layered: Bool = false) throws(PartitionError) -> HostObject {
        let root = try rules.checkSource(path, what, isRoot: true)
        guard root.isDirectory else {
            throw PartitionError(.invalidArgument, "The \(what) \(QuotedText.of(path)) is not a directory.")
        }
        if layered { try checkOverlaySyntax(path, what) }
        return root
    }

    /// The upper and work directories; those that exist already are returned opened (they are
    /// made on first activation, before the plan that starts it is built).
    static func checkUpper(_ path: String, rules: HostPathRules) throws(PartitionError) -> [HostObject] {
        try HostPathRules.checkForm(path, "upper directory")
        try checkOverlaySyntax(path, "upper directory")
        var opened: [HostObject] = []
        for (what, candidate) in [("upper directory", path), ("overlay work directory", overlayWork(for: path))] {
            guard let type = HostSystem.fileType(candidate) else { continue }
            guard type == .directory else {
                throw PartitionError(.invalidArgument, "The \(what) \(QuotedText.of(candidate)) exists but is not a directory.")
            }
            opened.append(try rules.checkSource(candidate, what, isRoot: true))
        }
        return opened
    }

    /// overlayfs separates layers with ':' and options with ','; a backslash escapes them.
    static func checkOverlaySyntax(_ path: String, _ what: String) throws(PartitionError) {
        if path.contains(where: { $0 == ":" || $0 == "," || $0 == "\\" }) {
            throw PartitionError(.invalidArgument, "The \(what) \(QuotedText.of(path)) contains ':', ',' or '\\', which overlayfs cannot take.")
        }
    }

    /// The type of `name` in the merged view of `layers` (top first), or nil when no layer has it.
    static func topEntry(_ name: String, in layers: [String]) -> HostSystem.FileType? {
        for layer in layers {
            if let type = HostSystem.fileType(layer + "/" + name) { return type }
        }
        return nil
    }

    /// /proc, /dev and /sys of a WPAR's root must be real directories: a symlink there could turn
    /// the mount of a fresh /proc or /sys into a mount over a host path (CVE-2019-16884 and kin).
    static func checkKernelDirectories(in layers: [String]) throws(PartitionError) {
        let root = layers.count == 1 ? layers[0] : "the overlay of \(layers.joined(separator: ", "))"
        for name in ["proc", "dev", "sys"] {
            switch topEntry(name, in: layers) {
            case .directory?:
                continue
            case nil, .whiteout?:
                throw PartitionError(.invalidArgument, "The WPAR root \(root) has no /\(name) directory; create it as an empty directory.")
            case .symlink?:
                throw PartitionError(.permissionDenied,
                    "/\(name) in the WPAR root \(root) is a symlink; /proc, /dev and /sys must be real directories.")
            default:
                throw PartitionError(.invalidArgument, "/\(name) in the WPAR root \(root) is not a directory.")
            }
        }
    }
}
