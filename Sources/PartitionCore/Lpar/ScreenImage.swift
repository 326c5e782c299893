import PartitionModel

/// An LPAR's screen as PNG. QEMU gives binary PPM (`P6`) up to 7.0 and PNG from 7.1 on (when
/// libvirt asks for it); PPM is converted here.
///
/// The PNG's image data is a zlib stream of *stored* deflate blocks: valid for every PNG reader,
/// written in a few lines with no compression library (partctl links no libz, and loads libvirt
/// only on first use to keep its start fast). The price is size: a 1024x768 screen is about 2.3 MB,
/// for scripts and tests that look at it once (`optipng` shrinks it when kept).
public enum ScreenImage {
    public struct Pixmap: Sendable, Equatable {
        public var width: Int
        public var height: Int
        /// RGB, 3 bytes a pixel, rows top to bottom.
        public var rgb: [UInt8]
    }

    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

    /// A screenshot as PNG: QEMU before 7.1 (and libvirt before 8.9) give PPM, which is converted;
    /// newer ones give PNG themselves, which is kept as it is once its signature is checked.
    public static func png(fromScreenshot bytes: [UInt8], mimeType: String) throws(PartitionError) -> [UInt8] {
        if bytes.starts(with: pngSignature) { return bytes }
        guard bytes.starts(with: Array("P6".utf8)) else {
            throw PartitionError(.unsupported, "The hypervisor gave the screenshot as \(mimeType), which partctl does not convert to PNG.")
        }
        return png(try decodePPM(bytes))
    }

    /// The largest screen accepted, per side.
    static let maxSide = 16384

    /// Reads a binary PPM with 8-bit samples (maxval 255, what QEMU writes).
    public static func decodePPM(_ bytes: [UInt8]) throws(PartitionError) -> Pixmap {
        var index = 0
        func fail(_ text: String) -> PartitionError { PartitionError(.libvirt, "The screenshot is not a PPM image QEMU would write: \(text)") }
        func token() -> String? {
            // Whitespace and '#' comments separate the header's fields.
            while index < bytes.count {
                if bytes[index] == UInt8(ascii: "#") {
                    while index < bytes.count && bytes[index] != 0x0a { index += 1 }
                } else if [0x20, 0x09, 0x0a, 0x0d].contains(bytes[index]) {
                    index += 1
                } else {
                    break
                }
            }
            let start = index
            while index < bytes.count, index - start < 16, ![0x20, 0x09, 0x0a, 0x0d, UInt8(ascii: "#")].contains(bytes[index]) { index += 1 }
            return index > start ? String(decoding: bytes[start..<index], as: UTF8.self) : nil
        }
        guard token() == "P6" else { throw fail("it does not start with P6.") }
        guard let width = token().flatMap({ Int($0) }), let height = token().flatMap({ Int($0) }),
              (1...maxSide).contains(width), (1...maxSide).contains(height) else { throw fail("its size is missing or out of range.") }
        guard token() == "255" else { throw fail("only 8-bit samples (maxval 255) are read.") }
        index += 1  // the single whitespace byte before the pixels
        let count = width * height * 3
        guard bytes.count - index >= count else { throw fail("it holds fewer pixels than its size says.") }
        return Pixmap(width: width, height: height, rgb: Array(bytes[index..<(index + count)]))
    }

    /// The pixmap as a PNG file (8-bit RGB, no interlace, filter 0 on every row).
    public static func png(_ image: Pixmap) -> [UInt8] {
        var raw: [UInt8] = []
        raw.reserveCapacity((image.width * 3 + 1) * image.height)
        let stride = image.width * 3
        for row in 0..<image.height {
            raw.append(0)
            raw += image.rgb[(row * stride)..<((row + 1) * stride)]
        }
        var header: [UInt8] = []
        header += bigEndian(UInt32(image.width))
        header += bigEndian(UInt32(image.height))
        header += [8, 2, 0, 0, 0]  // depth 8, colour type RGB, deflate, filter 0, no interlace
        var file = pngSignature
        file += chunk("IHDR", header)
        file += chunk("IDAT", zlibStored(raw))
        file += chunk("IEND", [])
        return file
    }

    /// A zlib stream (RFC 1950) of stored deflate blocks (RFC 1951 §3.2.4), at most 65535 bytes each.
    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let length = min(65535, data.count - offset)
            let final: UInt8 = offset + length == data.count ? 1 : 0
            out.append(final)
            out += [UInt8(length & 0xff), UInt8(length >> 8), UInt8(~length & 0xff), UInt8((~length >> 8) & 0xff)]
            out += data[offset..<(offset + length)]
            offset += length
        } while offset < data.count
        return out + bigEndian(adler32(data))
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        return bigEndian(UInt32(data.count)) + typeBytes + data + bigEndian(crc32(typeBytes + data))
    }

    static func adler32(_ data: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        var index = 0
        while index < data.count {
            // 5552 bytes keep the sums below 2^32 before the modulo (zlib's NMAX).
            let end = min(index + 5552, data.count)
            while index < end {
                a &+= UInt32(data[index])
                b &+= a
                index += 1
            }
            a %= 65521
            b %= 65521
        }
        return b << 16 | a
    }

    static let crcTable: [UInt32] = (0..<256).map { (n: UInt32) -> UInt32 in
        var c = n
        for _ in 0..<8 { c = c & 1 != 0 ? 0xedb8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ data: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xffff_ffff
        for byte in data { c = crcTable[Int((c ^ UInt32(byte)) & 0xff)] ^ (c >> 8) }
        return c ^ 0xffff_ffff
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)]
    }
}
