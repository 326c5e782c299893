import ArgumentParser
import PartitionCore
import PartitionModel
import PartitionProfiles

struct ProfileCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check profiles: syntax, types, ranges, extends, and what they name on the managed system.",
        discussion: """
            Every problem is reported at once, one line each naming the file and line that set the value: each \
            disk, ISO, kernel or password file that is missing, each libvirt network that does not exist or is \
            not active, each bridge that is missing. Exit status 0 when every profile is valid, 2 when one is not \
            (1 when a profile cannot be found).
            """)

    @Argument(help: "Profile names or files.", completion: .profileName) var profiles: [String]
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard !profiles.isEmpty else { throw ValidationError("name at least one profile to check") }
    }

    func run() throws {
        var failures: [PartitionError] = []
        let manager = try connection.manager()
        for reference in profiles {
            do {
                let resolved = try ProfileCommandSupport.resolve(reference, attributes: nil)
                try resolved.checkSeccompFilter()
                if let warning = resolved.wpar?.privilegeWarning {
                    StandardStream.write("partctl: warning: \(resolved.file): \(warning)\n", to: 2)
                }
                if resolved.isSeccompUnconfined {
                    StandardStream.write("partctl: warning: \(resolved.file): seccomp: unconfined: its WPARs run without a syscall filter.\n", to: 2)
                }
                let problems: [PartitionError]
                do {
                    problems = try manager.hostProblems(of: resolved, inactiveNetworks: true)
                } catch {
                    // libvirt unreachable: what needs no libvirt is still checked; the networks are not.
                    StandardStream.write("partctl: warning: \(resolved.file): its networks were not checked: \(error.message)\n", to: 2)
                    problems = resolved.hostProblems()
                }
                for problem in problems { StandardStream.write("partctl: \(problem.message)\n", to: 2) }
                failures += problems
                guard problems.isEmpty else { continue }
                let chain = resolved.chain.count > 1 ? ", extends \(resolved.chain.dropFirst().joined(separator: " <- "))" : ""
                printLine("\(resolved.file): ok (\(resolved.kind.rawValue)\(chain))")
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
