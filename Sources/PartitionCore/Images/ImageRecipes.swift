import Glibc
import PartitionModel
import PartitionProfiles
import SystemKit

/// Where build recipes are: `<dir>/<name>.yaml` in ./images, /etc/partctl/images, each directory of
/// $PARTCTL_IMAGES, then the installed ones (PREFIX/share/partctl/images, found from partctl's own
/// path, as `make install` puts them). A recipe's builder files are beside it (`<dir>/debian/`).
struct ImageRecipes {
    static let environmentVariable = "PARTCTL_IMAGES"
    static let systemDirectory = "/etc/partctl/images"
    let environment: [String: String]

    var directories: [String] {
        var result = ["images", ImageRecipes.systemDirectory]
        if let extra = environment[ImageRecipes.environmentVariable] {
            result += extra.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        }
        if let executable = ImageRecipes.realPath("/proc/self/exe"), let slash = executable.lastIndex(of: "/") {
            result.append(executable[..<slash] + "/../share/partctl/images")
        }
        return result
    }

    /// The recipe for image `name` and the directory it is in.
    func recipe(_ name: String) throws(PartitionError) -> (recipe: ImageRecipe, directory: String) {
        for directory in directories {
            let path = "\(directory)/\(name).yaml"
            if access(path, R_OK) == 0 {
                return (try ImageRecipe.load(path: path, name: name), directory)
            }
        }
        throw PartitionError(.notFound,
            "No recipe for image '\(name)' (\(name).yaml in \(directories.prefix(2).joined(separator: ", ")), $\(ImageRecipes.environmentVariable) or PREFIX/share/partctl/images).")
    }

    /// The recipe names on the search path (files `<name>.yaml`), each once.
    func names() -> [String] {
        var seen: [String] = []
        for directory in directories {
            for file in DebianSources.directoryFiles(directory) where file.hasSuffix(".yaml") {
                let name = String(file.dropLast(5))
                if !seen.contains(name) { seen.append(name) }
            }
        }
        return seen.sorted()
    }

    /// The partagent package a recipe with `agent: true` installs: $PARTAGENT_DEB, the build tree's
    /// (`make deb`, beside ./images), or the installed one (PREFIX/share/partctl/partagent.deb).
    func agentPackage(besides directory: String) throws(PartitionError) -> String {
        var candidates: [String] = []
        if let explicit = environment["PARTAGENT_DEB"], !explicit.isEmpty { candidates.append(explicit) }
        candidates += [directory + "/../.build-guest/deb/partagent.deb", directory + "/../partagent.deb"]
        for candidate in candidates where ImageRecipes.isRegularFile(candidate) && access(candidate, R_OK) == 0 {
            return ImageRecipes.realPath(candidate) ?? candidate
        }
        throw PartitionError(.unavailable,
            "The recipe installs the partagent package, but there is none (\(candidates.joined(separator: ", "))); run make deb or set PARTAGENT_DEB.")
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func isRegularFile(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG
    }
}
