import Glibc
import PartitionModel
import SystemKit
import Testing

/// The one way partctl runs host programs (qemu-img, xorriso, cp, skopeo, umoci, mkfs, curl).
@Suite struct HostProgramTests {
    @Test func runKeepsStatusAndBothStreams() throws {
        let outcome = try HostProgram(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"]).run()
        #expect(outcome.status == 3)
        #expect(outcome.output.contains("out") && outcome.output.contains("err"))
        #expect(outcome.lastLine == "err")
    }

    @Test func aSignalIsReportedAs128PlusItsNumber() throws {
        #expect(try HostProgram(["/bin/sh", "-c", "kill -9 $$"]).run().status == 128 + 9)
    }

    @Test func outputIsStdoutAndAFailureCarriesTheFirstComplaint() throws {
        #expect(try HostProgram(["/bin/sh", "-c", "echo answer; echo noise >&2"]).output(limit: 100) == "answer\n")
        #expect(throws: PartitionError.self) {
            try HostProgram(["/bin/sh", "-c", "echo first >&2; echo second >&2; exit 1"]).output(limit: 100)
        }
        do {
            _ = try HostProgram(["/bin/sh", "-c", "echo first >&2; exit 1"]).output(limit: 100)
        } catch {
            #expect(error.message == "sh failed: first.")
        }
    }

    @Test func nothingOfTheCallersEnvironmentButWhatIsGiven() throws {
        setenv("PARTCTL_HOST_PROGRAM_LEAK", "1", 1)
        defer { unsetenv("PARTCTL_HOST_PROGRAM_LEAK") }
        let outcome = try HostProgram(["env"], environment: ["TMPDIR": "/tmp/x"]).run()
        let lines = Set(outcome.output.split(separator: "\n").map(String.init))
        #expect(lines == ["PATH=\(HostProgram.path)", "LC_ALL=C", "TMPDIR=/tmp/x"])
    }

    @Test func theHeldDescriptorIsFd3() throws {
        let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { close(fd) }
        #expect(try HostProgram(["/bin/sh", "-c", "test -e /proc/self/fd/3"], holding: fd).run().status == 0)
    }

    @Test func aMissingProgramIsUnavailableInOneLine() {
        do {
            _ = try HostProgram(["partctl-no-such-program"]).run()
            Issue.record("a missing program ran")
        } catch {
            #expect(error.code == .unavailable)
            #expect(error.message.hasPrefix("partctl-no-such-program is not installed"))
        }
    }

    @Test func checkNamesWhatFailedAndHow() {
        do {
            try HostProgram(["/bin/sh", "-c", "echo disk full >&2; exit 1"]).check("make the layer")
            Issue.record("a failing program passed")
        } catch {
            #expect(error.message == "Could not make the layer: sh exited with status 1: disk full")
        }
    }
}
