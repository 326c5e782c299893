import ArgumentParser
import PartitionCore
import PartitionImages
import PartitionProfiles
#if canImport(Glibc)
import Glibc
#endif

/// What a shell completes for a verb's arguments (`partctl --generate-completion-script SHELL`).
/// The shell runs partctl's hidden `---completion` entry point at each TAB; these lists must be
/// cheap, bounded in time, and never put an error message into the shell.
extension CompletionKind {
    /// Partition paths: host WPARs, LPARs, and WPARs nested in them (`lp1/web`).
    static var partitionPath: CompletionKind {
        .custom { _, _, prefix in CompletionCandidates.partitionPaths(prefix: prefix) }
    }

    /// Image names of the store ($PARTCTL_ROOT/store).
    static var imageName: CompletionKind {
        .custom { _, _, prefix in CompletionCandidates.imageNames(prefix: prefix) }
    }

    /// Profile names from the profile search path (./profiles, /etc/partctl/profiles, $PARTCTL_PROFILES).
    static var profileName: CompletionKind {
        .custom { _, _, prefix in CompletionCandidates.profileNames(prefix: prefix) }
    }
}

enum CompletionCandidates {
    /// Seconds a completion may take; then partctl ends with what it has printed so far.
    static let timeLimit: UInt32 = 2

    static func partitionPaths(prefix: String) -> [String] {
        boundAndSilence()
        let configuration = PartctlConfiguration.fromEnvironment()
        // Host WPARs first and at once (a directory listing): they stay offered even when libvirtd
        // is slow and the time limit ends the listing of LPARs.
        let wpars = PartitionPathListing.hostWpars(configuration).filter { $0.hasPrefix(prefix) }
        if !wpars.isEmpty { StandardStream.write(wpars.map { $0 + "\n" }.joined(), to: STDOUT_FILENO) }
        return PartitionPathListing.lparsAndNested(configuration).filter { $0.hasPrefix(prefix) }
    }

    static func imageNames(prefix: String) -> [String] {
        boundAndSilence()
        let store = ImageStore(stateRoot: PartctlConfiguration.fromEnvironment().stateRoot)
        return ((try? store.names()) ?? []).map(\.text).filter { $0.hasPrefix(prefix) }
    }

    static func profileNames(prefix: String) -> [String] {
        boundAndSilence()
        return Set(ProfileStore.default().list().filter { !$0.isAbstract }.map(\.name)).filter { $0.hasPrefix(prefix) }.sorted()
    }

    /// Standard error goes to /dev/null (nothing a library says reaches the shell's screen), and an
    /// alarm ends the process, successfully, after `timeLimit` seconds.
    private static func boundAndSilence() {
        let null = open("/dev/null", O_WRONLY | O_CLOEXEC)
        if null >= 0 {
            dup2(null, STDERR_FILENO)
            close(null)
        }
        signal(SIGALRM) { _ in _exit(0) }
        alarm(timeLimit)
    }
}
