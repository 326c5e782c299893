import Glibc
import PartitionImages
import PartitionModel
import PartitionProfiles
import SystemKit

/// Builds an image from a Debian recipe (images/debian-12.yaml) with mmdebstrap: the tree for system
/// WPARs (`rootfs/`) and a disk for LPARs (`disk.qcow2`: GPT, GRUB for BIOS and UEFI, ext4 root).
/// The steps are images/debian/build.sh, each run by BuildStepRunner (nothing outlives partctl).
///
/// Cache: `inputs` is the SHA-256 of everything the image is made of (the recipe, the builder's
/// files, the partagent package, the apt sources and the Date of each Release file of the mirror).
/// The store compares it with the committed image's before building anything; the packages step's
/// tar is kept in $PARTCTL_ROOT/cache/images/<name>/ with its own SHA-256 and reused (after a check)
/// when only the later steps must run again.
public struct DebianImageBuilder: ImageBuilder {
    public let stateRoot: String
    public let environment: [String: String]

    public init(stateRoot: String, environment: [String: String]) {
        self.stateRoot = stateRoot
        self.environment = environment
    }

    /// The builder of the partctl this process is ($PARTCTL_ROOT, $PARTCTL_IMAGES, $PARTAGENT_DEB).
    public static func fromEnvironment() -> DebianImageBuilder {
        let configuration = PartctlConfiguration.fromEnvironment()
        return DebianImageBuilder(stateRoot: configuration.stateRoot, environment: configuration.environment)
    }

    /// The recipes on the search path whose builder is this one (each named after its file).
    public var recipes: [String] { ImageRecipes(environment: environment).names() }

    public func inputs(recipe: String) throws(PartitionError) -> String? {
        try plan(recipe).inputs
    }

    public func build(recipe: String, into staging: ImageStaging, progress: any ImageProgress) throws(PartitionError) -> ImageManifest {
        let output = try build(recipe, into: staging.directory) { progress.step(staging.name, $0) }
        progress.step(staging.name, "computing the digest")
        let (treeDigest, treeSize) = try ImageDigest.tree(at: staging.rootfs)
        let diskDigest = try Sha256Sum.sha256(of: staging.disk)
        var hasher = SHA256()
        hasher.update("rootfs \(treeDigest)\ndisk sha256:\(diskDigest)\n")
        var status = stat()
        guard stat(staging.disk, &status) == 0 else { throw POSIX.failure("examine \(staging.disk)") }
        let digest = hasher.finishDigest()
        let disk = ImageDisk(volume: ImageDisk.volumeName(image: staging.name.text, digest: digest), format: "qcow2",
                             capacity: output.diskCapacity, firmware: output.firmware)
        return ImageManifest(name: staging.name, digest: digest, kinds: [.disk, .rootfs],
                             size: treeSize + UInt64(max(0, status.st_blocks)) * 512, source: output.source,
                             inputs: output.inputs, disk: disk)
    }

    /// What a build of one recipe is made from, resolved once.
    struct Plan {
        var recipe: ImageRecipe
        var builderDirectory: String
        var script: String { builderDirectory + "/build.sh" }
        var agentPackage: String?
        var sources: DebianSources
        /// `sha256:<hex>`.
        var inputs: String
        var hex: String { String(inputs.dropFirst(7)) }
    }

    /// What a build made; the store's manifest is written from it.
    public struct Output: Sendable, Equatable {
        public var inputs: String
        public var source: String
        public var diskCapacity: UInt64
        public var firmware: [String]
    }

    var cacheDirectory: String { stateRoot + "/cache/images" }

    func plan(_ name: String) throws(PartitionError) -> Plan {
        let recipes = ImageRecipes(environment: environment)
        let (recipe, directory) = try recipes.recipe(name)
        let builderDirectory = directory + "/" + recipe.builder
        guard access(builderDirectory + "/build.sh", R_OK) == 0 else {
            throw PartitionError(.unavailable, "The recipe \(recipe.file) needs \(builderDirectory)/build.sh, which is missing.")
        }
        let agentPackage = recipe.agent ? try recipes.agentPackage(besides: directory) : nil
        let sources = try DebianSources.forRecipe(recipe)
        let dates = try sources.releaseDates()
        // The builder's files as tar sees them (names, modes, contents), in a stable order.
        let builderDigest = try HostProgram(["/bin/sh", "-c",
            "tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf - -C \"$1\" . | sha256sum", "sh",
            builderDirectory]).output(limit: 4096).prefix(64)
        var lines = ["builder \(recipe.builder) 1", "recipe-text \(recipe.text.utf8.count)", recipe.text,
                     "builder-files \(builderDigest)",
                     "agent \(try agentPackage.map { path throws(PartitionError) in try Sha256Sum.sha256(of: path) } ?? "none")",
                     "sources", sources.deb822]
        for (url, date) in zip(sources.releaseURLs, dates) { lines.append("release \(url) \(date)") }
        try ensureDirectory(cacheDirectory)
        let hex = try Sha256Sum.sha256(of: lines.joined(separator: "\n"), scratch: "\(cacheDirectory)/.inputs.\(getpid())")
        return Plan(recipe: recipe, builderDirectory: builderDirectory, agentPackage: agentPackage, sources: sources,
                    inputs: "sha256:" + hex)
    }

    /// Builds recipe `name` into `directory` (a staging directory the caller holds): `rootfs/` and
    /// `disk.qcow2`. `progress` gets one line per phase (packages, rootfs, disk, boot loader).
    func build(_ name: String, into directory: String, progress: (String) -> Void) throws(PartitionError) -> Output {
        let plan = try self.plan(name)
        let cache = "\(cacheDirectory)/\(name)"
        try ensureDirectory(cache)
        // The log outlives a failed build (the staging directory does not); TMPDIR keeps mmdebstrap's
        // scratch tree inside the staging directory, which the sweep removes after a kill.
        let log = cache + "/build.log"
        _ = truncate(log, 0)
        let scratch = directory + "/tmp"
        guard mkdir(scratch, 0o700) == 0 || errno == EEXIST else { throw POSIX.failure("make \(scratch)") }
        let sourcesFile = cache + "/sources.sources"
        try AtomicFile.write(Array(plan.sources.deb822.utf8), to: sourcesFile, mode: 0o644, durable: false)
        let variables = [
            "DEBIAN_SUITE": plan.recipe.suite,
            "DEBIAN_SOURCES": sourcesFile,
            "DEBIAN_PACKAGES": plan.recipe.packages.joined(separator: ","),
            "PARTAGENT_DEB": plan.agentPackage ?? "",
            "DISK_MIB": "\(plan.recipe.diskSize.mebibytes)",
            "ROOT_UUID": DebianImageBuilder.uuid(fromHex: plan.hex),
            "ESP_SERIAL": String(plan.hex.dropFirst(32).prefix(8)),
            "KERNEL_CMDLINE": plan.recipe.cmdline,
            "FIRMWARE": plan.recipe.firmware.joined(separator: " "),
            "TMPDIR": scratch,
        ]
        let tar = try packages(plan, cache: cache, staging: directory, variables: variables, log: log, progress: progress)
        try BuildStepRunner.run("rootfs", ["/bin/sh", plan.script, "rootfs", tar, directory + "/rootfs"],
                                environment: variables, log: log, progress: progress)
        try BuildStepRunner.run("disk", ["/bin/sh", plan.script, "disk", directory + "/rootfs", directory + "/disk.qcow2"],
                                environment: variables, log: log, progress: progress)
        return Output(inputs: plan.inputs, source: "mmdebstrap \(plan.recipe.suite)", diskCapacity: plan.recipe.diskSize.bytes,
                      firmware: plan.recipe.firmware)
    }

    /// The packages step's tar: the cached one when it was made from the same inputs and its SHA-256
    /// still matches, else a new one (mmdebstrap).
    func packages(_ plan: Plan, cache: String, staging: String, variables: [String: String], log: String,
                  progress report: (String) -> Void) throws(PartitionError) -> String {
        let tar = cache + "/packages.tar"
        let key = cache + "/packages.key"
        func progress(_ line: String) {
            report(line)
            Self.appendLine(line, to: log)
        }
        if let recorded = (try? AtomicFile.read(key, limit: 4096)).flatMap({ $0 }).map({ String(decoding: $0, as: UTF8.self) }) {
            let fields = recorded.split(separator: " ").map(String.init)
            if fields.count == 2, fields[0] == plan.inputs, access(tar, R_OK) == 0 {
                progress("packages: checking the cached tree of \(plan.recipe.suite)")
                if (try? Sha256Sum.sha256(of: tar)) == fields[1].trimmingSuffixNewline {
                    progress("packages: cached (\(tar))")
                    return tar
                }
                progress("packages: the cached tar \(tar) is damaged; building it again")
            }
        }
        unlink(key)
        unlink(tar)
        // Made in the staging directory and moved into the cache whole: a killed build leaves no tar behind.
        let made = staging + "/packages.tar"
        try BuildStepRunner.run("packages", ["/bin/sh", plan.script, "packages", made], environment: variables, log: log,
                                progress: report)
        let digest = try Sha256Sum.sha256(of: made)
        guard rename(made, tar) == 0 else { throw POSIX.failure("move the packages tar into \(cache)") }
        try AtomicFile.write(Array("\(plan.inputs) \(digest)\n".utf8), to: key, mode: 0o600)
        return tar
    }

    /// A version-4-shaped UUID from the first 32 hex digits of the inputs: the same inputs give the
    /// same file system UUID (so the same bytes), different images different ones.
    static func uuid(fromHex hex: String) -> String {
        var digits = Array(hex.prefix(32))
        digits[12] = "4"
        digits[16] = ["8", "9", "a", "b"][Int(String(digits[16]), radix: 16)! & 3]
        let text = String(digits)
        let parts = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { range in
            String(text.dropFirst(range.lowerBound).prefix(range.count))
        }
        return parts.joined(separator: "-")
    }

    static func appendLine(_ line: String, to path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { return }
        _ = FileIO.writeAll(fd, "partctl: \(line)\n")
        close(fd)
    }

    func ensureDirectory(_ path: String) throws(PartitionError) {
        var built = ""
        for component in path.split(separator: "/") {
            built += "/" + component
            if mkdir(built, 0o700) != 0 && errno != EEXIST { throw POSIX.failure("make the directory \(built)") }
        }
    }
}

private extension String {
    var trimmingSuffixNewline: String { hasSuffix("\n") ? String(dropLast()) : self }
}
