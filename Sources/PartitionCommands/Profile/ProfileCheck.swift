import ArgumentParser
import PartitionCore
import PartitionModel
import PartitionProfiles

struct ProfileCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check profiles: syntax, types, ranges, extends; files they name are checked on this host.",
        discussion: "Exit status 0 when every profile is valid; files that do not exist yet (e.g. before 'make guest-image') are warnings.")

    @Argument(help: "Profile names or files.", completion: .profileName) var profiles: [String]

    func validate() throws {
        guard !profiles.isEmpty else { throw ValidationError("name at least one profile to check") }
    }

    func run() throws {
        var failures: [PartitionError] = []
        for reference in profiles {
            do {
                let resolved = try ProfileCommandSupport.resolve(reference, attributes: nil)
                try resolved.checkSeccompFilter()
                let chain = resolved.chain.count > 1 ? ", extends \(resolved.chain.dropFirst().joined(separator: " <- "))" : ""
                printLine("\(resolved.file): ok (\(resolved.kind.rawValue)\(chain))")
                if let warning = resolved.wpar?.privilegeWarning {
                    StandardStream.write("partctl: warning: \(resolved.file): \(warning)\n", to: 2)
                }
                if resolved.isSeccompUnconfined {
                    StandardStream.write("partctl: warning: \(resolved.file): seccomp: unconfined: its WPARs run without a syscall filter.\n", to: 2)
                }
                do { try resolved.validateHostPaths() } catch {
                    StandardStream.write("partctl: warning: \(resolved.file): \(error.message)\n", to: 2)
                }
            } catch {
                StandardStream.write("partctl: \(error.message)\n", to: 2)
                failures.append(error)
            }
        }
        if let first = failures.first {
            // Each failure was printed on its own line; the exit status carries the verdict.
            throw ExitCode(first.code == .notFound ? 1 : 2)
        }
    }
}
