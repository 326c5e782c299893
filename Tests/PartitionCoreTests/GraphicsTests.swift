import Foundation
import PartctlTestSupport
import Testing
import PartitionModel
@testable import PartitionCore

/// The display in the domain XML, its address read back from a live domain's XML, and the
/// PPM-to-PNG conversion of screenshots (checked against Python's zlib, independent of partctl).
@Suite struct GraphicsTests {
    static func withGraphics(_ graphics: GraphicsSpec, password: String? = nil) throws -> String {
        var profile = DomainXMLTests.diskProfile()
        profile.graphics = graphics
        let name = try PartitionName("ptest-xml")
        let metadata = PartitionMetadata(profileName: "p", resolvedProfileJSON: "{}", accelerator: .tcg, description: nil)
        var builder = DomainXML(name: name, profile: profile, accelerator: .tcg, metadata: metadata,
                                consoleLogPath: DomainXML.defaultConsoleLogPath(for: name))
        builder.graphicsPassword = password
        return builder.serialized()
    }

    @Test(arguments: [GraphicsSpec(kind: .vnc), GraphicsSpec(kind: .spice, video: .virtio), GraphicsSpec(kind: .vnc, video: .bochs)])
    func displayListensOnLoopbackOnlyAndValidates(_ graphics: GraphicsSpec) throws {
        let xml = try Self.withGraphics(graphics, password: "s3cret")
        let devices = try #require(try XMLReader.parse(xml).element(named: "devices"))
        let display = try #require(devices.element(named: "graphics"))
        #expect(display.attribute("type") == graphics.kind.rawValue)
        #expect(display.attribute("autoport") == "yes" && display.attribute("port") == nil)
        #expect(display.attribute("listen") == "127.0.0.1")
        #expect(display.element(named: "listen")?.attribute("address") == "127.0.0.1")
        #expect(display.attribute("passwd") == "s3cret")
        #expect(devices.element(named: "video")?.element(named: "model")?.attribute("type") == graphics.video.rawValue)
        let (status, output) = try DomainXMLTests.validate(xml)
        #expect(status == 0, "\(output)\n\(xml)")
    }

    @Test func noGraphicsNoDisplay() throws {
        let xml = try DomainXMLTests.build(DomainXMLTests.minimal())
        #expect(!xml.contains("<graphics") && !xml.contains("<video"))
    }

    @Test func liveAddressComesFromTheDomainXML() throws {
        let live = """
        <domain type='qemu'><name>x</name><devices>
          <graphics type='vnc' port='5903' autoport='yes' listen='127.0.0.1'><listen type='address' address='127.0.0.1'/></graphics>
          <graphics type='spice' port='-1' autoport='yes'/>
        </devices></domain>
        """
        let displays = try GraphicsDisplay.parse(domainXML: live)
        #expect(displays == [GraphicsDisplay(kind: .vnc, address: "127.0.0.1", port: 5903, hasPassword: false)])
        #expect(displays.first?.uri == "vnc://127.0.0.1:5903")
    }

    /// A 3x2 PPM with a comment in its header becomes a PNG whose pixels Python reads back.
    @Test func ppmBecomesAPngAnyReaderDecodes() throws {
        let pixels: [UInt8] = [0, 0, 0, 255, 0, 0, 0, 255, 0,
                               0, 0, 255, 0, 0, 0, 255, 255, 255]
        let ppm = Array("P6\n# QEMU\n3 2\n255\n".utf8) + pixels
        let image = try ScreenImage.decodePPM(ppm)
        #expect(image == ScreenImage.Pixmap(width: 3, height: 2, rgb: pixels))
        let png = try ScreenImage.png(fromScreenshot: ppm, mimeType: "image/x-portable-pixmap")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-\(UUID().uuidString).png").path
        try Data(png).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let script = BuiltProducts.packageRoot + "/Tests/Fixtures/png-pixels.py"
        let decoded = try TestProcess.run("/usr/bin/python3", [script, file], timeout: 30)
        #expect(decoded.status == 0, "\(decoded.stderr)")
        #expect(decoded.stdout.hasPrefix("3 2 4 "), "\(decoded.stdout)")
        // A PNG from the hypervisor is kept as it is.
        #expect(try ScreenImage.png(fromScreenshot: png, mimeType: "image/png") == png)
    }

    /// More than one stored block (65535 bytes each) and the zlib checksum over all of them.
    @Test func largeScreensSpanSeveralStoredBlocks() throws {
        let width = 300, height = 200
        let rgb = (0..<(width * height * 3)).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let png = ScreenImage.png(ScreenImage.Pixmap(width: width, height: height, rgb: rgb))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-\(UUID().uuidString).png").path
        try Data(png).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let decoded = try TestProcess.run("/usr/bin/python3", [BuiltProducts.packageRoot + "/Tests/Fixtures/png-pixels.py", file], timeout: 30)
        #expect(decoded.status == 0 && decoded.stdout.hasPrefix("300 200 "), "\(decoded.stdout) \(decoded.stderr)")
    }

    @Test(arguments: ["P3\n1 1\n255\n000", "P6\n1 1\n65535\n\0\0\0\0\0\0", "P6\n2 2\n255\n\0\0\0", "P6\n0 1\n255\n", "GIF89a"])
    func refusesWhatIsNotAnEightBitPpm(_ text: String) {
        #expect(throws: PartitionError.self) { try ScreenImage.png(fromScreenshot: Array(text.utf8), mimeType: "x") }
    }
}
