import Foundation
import Testing

/// LPARs for real: libvirtd with QEMU (TCG where KVM does not work), guests that boot.
@Suite(.serialized) struct LparLifecycleTests {
    /// memtest86+ is a second, non-Linux operating system: its banner must reach the console log.
    @Test func memtestBootsAndWritesItsBanner() throws {
        let name = "ptest-memtest"
        CLI.removeDomain(name)
        defer { CLI.removeDomain(name) }
        try #require(CLI.partctl("define", name, "--profile", "lpar-memtest").status == 0)
        let activate = try CLI.partctl("activate", name)
        try #require(activate.status == 0, "\(activate.stderr)")
        let booted = try CLI.waitFor(60) {
            try CLI.partctl("console", name, "--log").stdout.contains("Memtest86+")
        }
        #expect(booted, "no memtest86+ banner in: \(CLI.consoleLog(name).suffix(500))")
        #expect(try CLI.partctl("query", name, "-F", "state").stdout == "running\n")

        let force = try CLI.partctl("force", name)
        #expect(force.status == 0, "\(force.stderr)")
        #expect(try CLI.partctl("query", name, "-F", "state").stdout == "defined\n")
        #expect(try CLI.partctl("remove", name).status == 0)
        #expect(!(try CLI.domainNames().contains(name)))
    }

    /// The whole life of an LPAR on partctl's guest image, checked against libvirt at every step.
    @Test func minimalGuestFullLifecycle() throws {
        let name = "ptest-lp"
        CLI.removeDomain(name)
        defer { CLI.removeDomain(name) }

        let define = try CLI.partctl("define", name, "--profile", "lpar-minimal")
        try #require(define.status == 0, "\(define.stderr)")
        #expect(try CLI.virsh("domstate", name).stdout.contains("shut off"))
        let metadata = try CLI.virsh("metadata", name, "http://partctl.org/xmlns/partition/1")
        #expect(metadata.stdout.contains("lpar-minimal"))
        let again = try CLI.partctl("define", name, "--profile", "lpar-minimal")
        expectRefusal(again, mentioning: ["already exists"])

        let activate = try CLI.partctl("activate", name)
        try #require(activate.status == 0, "\(activate.stderr)")
        let twice = try CLI.partctl("activate", name)
        expectRefusal(twice, mentioning: ["already running"])

        let up = try CLI.waitFor(60) { try CLI.partctl("console", name, "--log").stdout.contains("partctl-guest: up") }
        try #require(up, "the guest did not reach user space: \(CLI.consoleLog(name).suffix(800))")

        // Interactive console on a real terminal (script(1) gives it a pty): what we type reaches
        // the guest's shell, its answer comes back, and ~. leaves with the partition still running.
        let session = try TerminalSession("\(CLI.binary) console \(name)")
        #expect(session.waitForShell(timeout: 30), "no shell on the console: \(session.output.suffix(300))")
        session.type("echo hello-$((6*7))\r")
        #expect(session.waitFor("hello-42", timeout: 20))
        session.type("\r~.")
        let console = session.finish(within: 30)
        #expect(console.status == 0, "console: \(console.stdout.suffix(300)) \(console.stderr)")
        #expect(console.stdout.contains("type ~. at the start of a line to leave"), "\(console.stdout.suffix(300))")
        #expect(console.stdout.contains("hello-42"), "the guest's shell did not answer: \(console.stdout.suffix(500))")
        #expect(try CLI.partctl("query", name, "-F", "state").stdout == "running\n")

        let query = try CLI.partctl("query", name, "--json")
        #expect(query.status == 0)
        #expect(query.stdout.hasPrefix("{\"name\":\"\(name)\",\"path\":\"\(name)\",\"kind\":\"lpar\",\"state\":\"running\""))
        let accel = try CLI.partctl("query", name, "-F", "accel").stdout
        #expect(accel == "tcg\n" || accel == "kvm\n")
        let tree = try CLI.partctl("tree")
        #expect(tree.stdout.contains(name) && tree.stdout.contains("running"))

        // Removing a running partition needs --force.
        expectRefusal(try CLI.partctl("remove", name), mentioning: ["running", "--force"])

        // Live: within min/max, seen by libvirt.
        let modify = try CLI.partctl("modify", name, "-i", "desired_procs=2,desired_mem=384MiB", "--live")
        #expect(modify.status == 0, "\(modify.stderr)")
        #expect(try CLI.virsh("vcpucount", name, "--live", "--active").stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "2")
        let memoryTarget = try CLI.waitFor(20) {
            try CLI.virsh("dominfo", name).stdout.contains("393216 KiB")
        }
        #expect(memoryTarget, "\((try? CLI.virsh("dominfo", name).stdout) ?? "")")
        #expect(try CLI.partctl("query", name, "-F", "procs").stdout == "2\n")
        // Out of range: refused, nothing changed.
        expectRefusal(try CLI.partctl("modify", name, "-i", "desired_procs=3", "--live"), mentioning: ["desired_procs"])
        expectRefusal(try CLI.partctl("modify", name, "-i", "desired_mem=4GiB", "--live"), mentioning: ["memory"])
        expectRefusal(try CLI.partctl("modify", name, "-i", "max_mem=1GiB", "--live"), mentioning: ["max_mem", "--config"])
        #expect(try CLI.virsh("vcpucount", name, "--live", "--active").stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "2")

        // Graceful: the guest powers itself off through ACPI.
        let shutdown = try CLI.partctl("shutdown", name, "--within", "60")
        #expect(shutdown.status == 0, "\(shutdown.stderr)")
        #expect(try CLI.partctl("query", name, "-F", "state").stdout == "defined\n")
        #expect(try CLI.partctl("console", name, "--log").stdout.contains("partctl-guest: powering off"))
        expectRefusal(try CLI.partctl("shutdown", name), mentioning: ["not running"])

        // --config changes the definition, kept by libvirt.
        #expect(try CLI.partctl("modify", name, "-i", "desired_mem=320MiB,weight=200", "--config").status == 0)
        #expect(try CLI.partctl("query", name, "-F", "desired_mem,weight").stdout == "320MiB,200\n")
        #expect(try CLI.virsh("dumpxml", "--inactive", name).stdout.contains("<currentMemory unit='KiB'>327680</currentMemory>"))

        let remove = try CLI.partctl("remove", name)
        #expect(remove.status == 0, "\(remove.stderr)")
        #expect(!(try CLI.domainNames().contains(name)))
    }

    /// shutdown --force escalates when the guest does not stop in time; remove --force stops first.
    @Test func forceEscalationAndRemoveForce() throws {
        let name = "ptest-lp-force"
        CLI.removeDomain(name)
        defer { CLI.removeDomain(name) }
        try #require(CLI.partctl("define", name, "--profile", "lpar-memtest").status == 0)
        try #require(CLI.partctl("activate", name).status == 0)
        // memtest86+ ignores ACPI power-button presses: a graceful stop cannot succeed.
        let timeout = try CLI.partctl("shutdown", name, "--within", "2")
        expectRefusal(timeout, mentioning: ["did not stop within 2 seconds", "--force"])
        #expect(try CLI.partctl("query", name, "-F", "state").stdout == "running\n")
        let escalated = try CLI.partctl("shutdown", name, "--within", "1", "--force")
        #expect(escalated.status == 0, "\(escalated.stderr)")
        #expect(try CLI.partctl("query", name, "-F", "state").stdout == "defined\n")
        try #require(CLI.partctl("activate", name).status == 0)
        let removed = try CLI.partctl("remove", name, "--force")
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(!(try CLI.domainNames().contains(name)))
    }
}
