import Foundation
import PartctlTestSupport
import PartitionModel
import Testing
@testable import LibvirtKit

/// Against the real libvirtd (qemu:///system) with a booted guest: what the test driver cannot show
/// (consoles, channels, QEMU's scheduler parameters). The guest is memtest86+ booted directly as a
/// kernel with a serial console; it draws its banner within seconds, even under TCG.
/// These tests need libvirtd running (`make setup`); without it they fail and say so.
@Suite("Real libvirtd", .serialized)
struct RealLibvirtTests {
    static let memtest = "/boot/memtest86+x64.bin"
    static let agentChannel = "org.partctl.agent.0"

    func connect() throws -> LibvirtConnection {
        try LibvirtEventLoop.start()
        return try LibvirtConnection.open(uri: "qemu:///system")
    }

    func memtestXML(name: String) -> String {
        """
        <domain type='qemu'>
          <name>\(name)</name>
          <memory unit='MiB'>128</memory>
          <vcpu>1</vcpu>
          <os>
            <type arch='x86_64'>hvm</type>
            <kernel>\(Self.memtest)</kernel>
            <cmdline>console=ttyS0,115200</cmdline>
          </os>
          <devices>
            <serial type='pty'><target port='0'/></serial>
            <console type='pty'><target type='serial' port='0'/></console>
            <channel type='unix'><target type='virtio' name='\(Self.agentChannel)'/></channel>
          </devices>
        </domain>
        """
    }

    /// One guest for every step: defining a QEMU domain costs this libvirtd a capabilities probe.
    @Test func bootedGuestEndToEnd() throws {
        try #require(FileManager.default.fileExists(atPath: Self.memtest), "This test boots \(Self.memtest) (Debian package memtest86+).")
        let connection = try connect()
        try withDomain(on: connection, xml: memtestXML(name: uniqueTestName("guest"))) { domain in
            try inactiveDefinition(domain)
            try consoleShowsTheGuestAndTheEscapeLeaves(domain)
            try liveChangesAndRefusals(domain)
            try channelWaitsWithATimeout(domain)
            try consoleTakeOverAndStop(domain)
            try consoleEndsWithItsInput(domain)
            try consoleEndsWhenTheGuestStops(domain)
        }
    }

    private func inactiveDefinition(_ domain: LibvirtDomain) throws {
        let tuning = LibvirtCPUTuning(shares: 512, vcpuPeriod: 100_000, vcpuQuota: 50_000)
        try domain.setSchedulerParameters(tuning, config: true)
        #expect(try domain.cpuTuning(.config) == tuning)
        #expect(try domain.xmlDesc([.inactive]).contains("<shares>512</shares>"))

        let stats = try #require(try domain.connection.allDomainStats().first { $0.domain.name == domain.name })
        #expect(stats.status?.state == .shutoff)
        #expect(stats.maxMemoryKiB == 131_072)
        #expect(stats.vcpus == 1)
        #expect(stats.maxVcpus == 1)
    }

    private func consoleShowsTheGuestAndTheEscapeLeaves(_ domain: LibvirtDomain) throws {
        // Paused until the console is attached, so the banner cannot be missed.
        try domain.create(paused: true)
        let input = try Pipe.make()
        let output = try Pipe.make()
        let session = ConsoleSession(stream: try domain.openConsole(), input: input.read, output: output.write)
        let ending = BackgroundResult { try session.run() }
        try domain.resume()

        let seen = try output.read(until: "Memtest86+", within: .seconds(60))
        #expect(seen.contains("Memtest86+"))
        input.write("\r~.")
        #expect(try ending.value(within: .seconds(30)) == .escaped)
        withExtendedLifetime(output) {}
    }

    private func liveChangesAndRefusals(_ domain: LibvirtDomain) throws {
        try domain.setSchedulerParameters(LibvirtCPUTuning(shares: 300), live: true)
        #expect(try domain.cpuTuning(.live).shares == 300)
        #expect(try domain.cpuTuning(.config).shares == 512)
        expectPartitionError(.invalidState) { try domain.create() }
        // memtest ignores the power button; the request itself must be accepted.
        try domain.shutdown()
    }

    private func channelWaitsWithATimeout(_ domain: LibvirtDomain) throws {
        let channel = try domain.openChannel(name: Self.agentChannel)
        try channel.send(Array("{\"op\":\"hello\"}\n".utf8), timeout: .seconds(5))
        // memtest has no agent: nothing answers, and the wait ends on time.
        let started = ContinuousClock.now
        expectPartitionError(.timeout) { _ = try channel.receive(timeout: .milliseconds(500)) }
        #expect(ContinuousClock.now - started < .seconds(5))
        try channel.finish()
        let missing = expectPartitionError(.libvirt) { _ = try domain.openChannel(name: "org.partctl.none.0") }
        #expect(missing?.message.contains("cannot find channel") == true)
    }

    private func consoleTakeOverAndStop(_ domain: LibvirtDomain) throws {
        let pipes = try (0..<4).map { _ in try Pipe.make() }
        let first = ConsoleSession(stream: try domain.openConsole(), input: pipes[0].read, output: pipes[1].write)
        let firstEnding = BackgroundResult { try first.run() }
        // Another client forces the console over: libvirt breaks the first session's stream off.
        let second = ConsoleSession(stream: try domain.openConsole(), input: pipes[2].read, output: pipes[3].write)
        let secondEnding = BackgroundResult { try second.run() }
        let broken = expectPartitionError(.unavailable) { _ = try firstEnding.value(within: .seconds(30)) }
        #expect(broken?.message.contains("another client may have taken the console over") == true)
        second.stop()
        #expect(try secondEnding.value(within: .seconds(30)) == .stopped)
        withExtendedLifetime(pipes) {}
    }

    private func consoleEndsWithItsInput(_ domain: LibvirtDomain) throws {
        let input = try Pipe.make()
        let output = try Pipe.make()
        let session = ConsoleSession(stream: try domain.openConsole(), input: input.read, output: output.write)
        let ending = BackgroundResult { try session.run() }
        input.write("\r")
        input.closeWriting()
        #expect(try ending.value(within: .seconds(30)) == .inputClosed)
        withExtendedLifetime(output) {}
    }

    private func consoleEndsWhenTheGuestStops(_ domain: LibvirtDomain) throws {
        let input = try Pipe.make()
        let output = try Pipe.make()
        let session = ConsoleSession(stream: try domain.openConsole(), input: input.read, output: output.write)
        let ending = BackgroundResult { try session.run() }
        try domain.destroy()
        #expect(try ending.value(within: .seconds(30)) == .streamClosed)
        withExtendedLifetime((input, output)) {}
    }
}

/// A pipe whose ends are closed when it goes away.
final class Pipe: @unchecked Sendable {
    let read: Int32
    let write: Int32
    private var writeOpen = true

    private init(read: Int32, write: Int32) {
        self.read = read
        self.write = write
    }

    /// Closes the writing end early: the reader sees end-of-file.
    func closeWriting() {
        if writeOpen { close(write) }
        writeOpen = false
    }

    static func make() throws -> Pipe {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw PartitionError(.system, "pipe failed: errno \(errno).") }
        return Pipe(read: fds[0], write: fds[1])
    }

    deinit {
        close(read)
        closeWriting()
    }

    func write(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(write, $0.baseAddress, $0.count) }
    }

    /// Reads what arrives until `marker` appears or `limit` passes; returns all that was read.
    func read(until marker: String, within limit: Duration) throws -> String {
        let deadline = ContinuousClock.now + limit
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !String(decoding: received, as: UTF8.self).contains(marker) {
            let remaining = deadline - .now
            guard remaining > .zero else {
                throw PartitionError(.timeout, "'\(marker)' did not appear within \(limit); got \(received.count) bytes.")
            }
            var poller = pollfd(fd: read, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, 200) == 1 {
                let count = Glibc.read(read, &buffer, buffer.count)
                if count > 0 { received += buffer[..<count] }
            }
        }
        return String(decoding: received, as: UTF8.self)
    }
}
