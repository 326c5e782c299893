import Foundation
import PartctlTestSupport
import Testing
@testable import PartitionModel
@testable import PartitionProfiles

/// Inputs the fuzzers (make fuzz) showed to break the profile reader, each reproduced here; the inputs
/// themselves are kept in fuzz/corpus/profiles/.
struct ProfileFuzzFindingTests {
    /// A mapping key that is an alias of a nested list: YAML's composer hashes every key to find
    /// duplicates, which walks the alias's whole expansion (here 8^11 nodes) before the node limit
    /// that bounds values is ever reached, so a 1 KiB file hung partctl. Found with FuzzProfiles
    /// (fuzz/corpus/profiles/timeout-alias-key).
    @Test(arguments: ["? *a10\n: 1\n", "? [*a10]\n: 1\n", "? {k: *a10}\n: 1\n"])
    func anAliasAsKeyIsRefusedBeforeItIsExpanded(_ key: String) throws {
        var yaml = "kind: wpar\na0: &a0 [x, x, x, x, x, x, x, x]\n"
        for level in 1...10 {
            yaml += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 8).joined(separator: ", ") + "]\n"
        }
        let fixture = try ProfileFixture()
        let file = try fixture.write("ptest-alias-key", yaml + key)
        let store = fixture.store
        let error = withinSeconds(10) { () -> PartitionError? in
            do throws(PartitionError) {
                _ = try store.resolve("ptest-alias-key")
                return nil
            } catch {
                return error
            }
        }.value ?? nil
        #expect(error != nil, "the profile resolved or hung (10 s)")
        expectProfileError(error, place: "\(file):13:", keyPath: "", "a key must be a plain name")
    }

    /// `extends` (or the profile argument) may name any path; partctl runs as root, and opening a
    /// device can act by itself (opening /dev/watchdog arms it; opening a FIFO wakes its writer).
    /// Such a file used to be opened and only then refused; it must be refused without ever being
    /// opened for reading. Found while making FuzzProfiles safe to run as root: its inputs reach
    /// `extends: PATH` with any path. inotify reports every open of the FIFO.
    @Test func aSpecialFileIsRefusedWithoutBeingOpened() throws {
        let fixture = try ProfileFixture()
        let fifo = fixture.path("ptest-fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        try fixture.write("ptest-extends-fifo", "kind: wpar\nextends: \(fifo)\ntype: application\ncommand: [/bin/sh]\n")
        let watch = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        #expect(watch >= 0)
        defer { close(watch) }
        #expect(inotify_add_watch(watch, fifo, UInt32(IN_OPEN)) >= 0)

        expectProfileError(fixture.failure("ptest-extends-fifo"), place: fifo, keyPath: "", "is not a regular file")
        expectProfileError(fixture.failure(fifo), place: fifo, keyPath: "", "is not a regular file")
        var events = [UInt8](repeating: 0, count: 4096)
        let got = read(watch, &events, events.count)
        #expect(got < 0 && errno == EAGAIN, "the FIFO was opened (\(got) bytes of inotify events)")
    }
}
