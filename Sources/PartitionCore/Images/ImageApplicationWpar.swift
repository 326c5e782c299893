import PartitionImages
import PartitionModel
import PartitionProfiles
import WorkloadEngine

/// An application WPAR whose profile names `image:`: its root is the image's tree and, for an OCI
/// image, its process is the image config's (Entrypoint + Cmd, Env, WorkingDir, User) with the
/// profile and the command line on top (docs/images.md, "OCI images"). A transient `run` gets the
/// tree read-only with its own /tmp and /run; a defined WPAR a writable layer of its own over it.
enum ImageApplicationWpar {
    /// `spec` (from WorkloadSpecMapping) completed from the image; unchanged unless the profile is
    /// of an application WPAR with an image. `arguments` are `run`'s own (they replace Cmd).
    static func apply(to spec: inout WorkloadSpec, resolved: ResolvedProfile, arguments: [String], transient: Bool,
                      store: ImageStore) throws(PartitionError) {
        guard let profile = resolved.wpar, profile.type == .application, let imageName = profile.image else { return }
        let image = try store.image(try ImageName(validating: imageName))
        guard image.hasRootfs else {
            throw PartitionError(.invalidArgument, "The image '\(image.name)' has no root file system (kind \(image.kinds.map(\.rawValue).joined(separator: ","))); a WPAR needs one of kind oci or rootfs.")
        }
        let rootfs = store.rootfs(image)
        spec.root = transient ? .directory(path: rootfs) : .overlay(lower: [rootfs], upper: nil)
        let given = arguments.isEmpty ? profile.command : arguments
        guard let config = image.config else {
            // A plain tree (kind rootfs): the profile or the command line names the program.
            guard !given.isEmpty else {
                throw PartitionError(.invalidArgument, "The image '\(image.name)' has no process defaults (it is not an OCI image); give the command.")
            }
            spec.command = given
            return
        }
        let defaults = OciProcessDefaults(entrypoint: config.entrypoint, cmd: config.cmd, env: config.env,
                                          workdir: config.workdir, user: config.user)
        spec.command = try defaults.command(replacingCmdWith: given)
        let (user, home) = try defaults.resolveUser(root: rootfs)
        spec.user = user
        spec.environment = defaults.environment(profile: profile.environment, home: home)
        // The profile's workdir wins only where a profile (or -i) set it, not partctl's default "/".
        let profileSetWorkdir = resolved.origin(of: "workdir").map { $0.source != ProfileValueOrigin.defaultSource } ?? false
        spec.workingDirectory = profileSetWorkdir ? profile.workdir : (defaults.workdir ?? "/")
    }
}
