import ArgumentParser
import Testing
@testable import PartitionCommands

/// The completion scripts generated from the command definitions ask partctl for partition paths
/// and profile names where a verb takes one (hermetic: only the scripts' text).
struct CompletionScriptTests {
    static let pathVerbs = ["activate", "shutdown", "force", "restart", "remove", "modify", "console", "login", "query", "tree"]

    @Test(arguments: [CompletionShell.bash, .zsh, .fish])
    func everyPathArgumentAndProfileOptionCompletesDynamically(_ shell: CompletionShell) {
        let script = Partctl.completionScript(for: shell)
        for verb in Self.pathVerbs {
            #expect(script.contains("---completion \(verb) -- positional@0"), "\(shell): \(verb)'s path is not completed")
        }
        for verb in ["define", "activate", "run"] {
            #expect(script.contains("---completion \(verb) -- --profile"), "\(shell): \(verb) --profile is not completed")
        }
    }
}
