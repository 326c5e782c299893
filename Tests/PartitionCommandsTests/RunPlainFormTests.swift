import Testing
@testable import PartitionCommands

/// `run`'s plain form is read without ArgumentParser; whatever that reader accepts, ArgumentParser
/// must read to the same values, and everything else must be left to ArgumentParser.
@Suite struct RunPlainFormTests {
    static let plain: [[String]] = [
        ["run", "--profile", "wpar-app", "--", "/bin/true"],
        ["run", "--profile", "wpar-app", "--"],
        ["run", "-i", "memory_max=32MiB,cpu_max=0.5", "--profile", "wpar-app", "--", "/bin/sh", "-c", "exit 7"],
        ["run", "--profile", "./profiles/wpar-app.yaml", "-i", "pids_max=16", "--", "--help", "--", "-i"],
        ["run", "--image", "app", "--", "/bin/true"],
        ["run", "--image", "app", "--profile", "wpar-image", "-i", "memory_max=64MiB", "--"],
    ]

    static let others: [[String]] = [
        ["run", "--profile", "wpar-app"],
        ["run", "--profile=wpar-app", "--", "/bin/true"],
        ["run", "--profile", "a", "--profile", "b", "--", "/bin/true"],
        ["run", "--profile", "--", "/bin/true"],
        ["run", "--profile", "-i", "--", "/bin/true"],
        ["run", "-i", "memory_max=1G", "--", "/bin/true"],
        ["run", "--help", "--profile", "wpar-app", "--", "/bin/true"],
        ["run", "-h", "--", "/bin/true"],
        ["run", "--version", "--", "/bin/true"],
        ["run", "-imemory_max=1G", "--profile", "wpar-app", "--", "/bin/true"],
        ["run", "--profile", "wpar-app", "/bin/true", "--", "x"],
        ["query", "--", "run"],
        ["--", "run", "--profile", "wpar-app"],
        ["run", "--image", "a", "--image", "b", "--", "/bin/true"],
        ["run", "--image", "--", "/bin/true"],
    ]

    @Test(arguments: plain)
    func plainFormReadsAsArgumentParserDoes(_ arguments: [String]) throws {
        let fast = try #require(Run.plainForm(arguments))
        let parsed = try #require(try Partctl.parseAsRoot(arguments) as? Run)
        #expect(fast.profile == parsed.profile)
        #expect(fast.image == parsed.image)
        #expect(fast.attributes == parsed.attributes)
        #expect(fast.command == parsed.command)
    }

    @Test(arguments: others)
    func everythingElseIsLeftToArgumentParser(_ arguments: [String]) {
        #expect(Run.plainForm(arguments) == nil)
    }
}
