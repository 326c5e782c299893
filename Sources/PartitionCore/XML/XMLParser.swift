import PartitionModel

/// A strict, small XML reader for the documents partctl reads back from libvirt: its own
/// `<metadata>` element and domain descriptions. Elements, attributes, text, CDATA, comments,
/// processing instructions and the predefined and numeric entities; no DTDs (refused).
public enum XMLReader {
    /// Nesting deeper than this is refused, so a hostile document cannot exhaust the stack.
    static let maxDepth = 256

    public static func parse(_ text: String) throws(PartitionError) -> XMLNode {
        var parser = Parser(bytes: Array(text.utf8))
        return try parser.document()
    }
}


private struct Parser {
    let bytes: [UInt8]
    var index = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func document() throws(PartitionError) -> XMLNode {
        try skipMisc()
        guard peek() == UInt8(ascii: "<") else { throw fail("expected the root element") }
        let root = try element(depth: 0)
        try skipMisc()
        guard index == bytes.count else { throw fail("unexpected content after the root element") }
        return root
    }

    func fail(_ what: String) -> PartitionError {
        PartitionError(.invalidArgument, "The XML is malformed at byte \(index): \(what).")
    }

    func peek(_ offset: Int = 0) -> UInt8? {
        index + offset < bytes.count ? bytes[index + offset] : nil
    }

    func starts(with literal: String) -> Bool {
        let utf8 = Array(literal.utf8)
        guard index + utf8.count <= bytes.count else { return false }
        return Array(bytes[index..<index + utf8.count]) == utf8
    }

    mutating func skip(until literal: String) throws(PartitionError) {
        while index < bytes.count {
            if starts(with: literal) {
                index += literal.utf8.count
                return
            }
            index += 1
        }
        throw fail("unterminated \(literal)")
    }

    mutating func skipSpace() {
        while let byte = peek(), byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
    }

    /// Whitespace, comments, processing instructions and the XML declaration.
    mutating func skipMisc() throws(PartitionError) {
        while true {
            skipSpace()
            if starts(with: "<?") { try skip(until: "?>") }
            else if starts(with: "<!--") { try skip(until: "-->") }
            else if starts(with: "<!") { throw fail("document type declarations are not accepted") }
            else { return }
        }
    }

    mutating func name() throws(PartitionError) -> String {
        let start = index
        while let byte = peek(), !(byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
                                   || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "=")) {
            index += 1
        }
        guard index > start else { throw fail("expected a name") }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        guard XMLNode.isValidName(text) else { throw fail("invalid name '\(text)'") }
        return text
    }

    mutating func element(depth: Int) throws(PartitionError) -> XMLNode {
        guard depth < XMLReader.maxDepth else { throw fail("elements nest too deeply") }
        index += 1 // <
        let tag = try name()
        var attributes: [(String, String)] = []
        while true {
            skipSpace()
            guard let byte = peek() else { throw fail("unterminated start tag <\(tag)>") }
            if byte == UInt8(ascii: "/") {
                guard peek(1) == UInt8(ascii: ">") else { throw fail("expected '>'") }
                index += 2
                return XMLNode(tag, attributes)
            }
            if byte == UInt8(ascii: ">") {
                index += 1
                break
            }
            let key = try name()
            skipSpace()
            guard peek() == UInt8(ascii: "=") else { throw fail("expected '=' after attribute \(key)") }
            index += 1
            skipSpace()
            guard let quote = peek(), quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else {
                throw fail("expected a quoted value for attribute \(key)")
            }
            index += 1
            let start = index
            while let byte = peek(), byte != quote {
                if byte == UInt8(ascii: "<") { throw fail("'<' in attribute \(key)") }
                index += 1
            }
            guard peek() == quote else { throw fail("unterminated attribute \(key)") }
            let raw = bytes[start..<index]
            index += 1
            attributes.append((key, try decodeEntities(raw)))
        }
        var node = XMLNode(tag, attributes)
        var text: [UInt8] = []
        func flush(_ node: inout XMLNode) throws(PartitionError) {
            if !text.isEmpty {
                node.children.append(.text(try decodeEntities(text[...])))
                text.removeAll()
            }
        }
        while true {
            guard let byte = peek() else { throw fail("unterminated element <\(tag)>") }
            if byte != UInt8(ascii: "<") {
                text.append(byte)
                index += 1
                continue
            }
            if starts(with: "</") {
                try flush(&node)
                index += 2
                let closing = try name()
                guard closing == tag else { throw fail("</\(closing)> closes <\(tag)>") }
                skipSpace()
                guard peek() == UInt8(ascii: ">") else { throw fail("expected '>'") }
                index += 1
                // Whitespace-only text between elements is formatting, not content.
                if node.children.contains(where: { if case .element = $0 { return true } else { return false } }) {
                    node.children.removeAll { child in
                        if case .text(let value) = child { return value.allSatisfy(\.isWhitespace) }
                        return false
                    }
                }
                return node
            } else if starts(with: "<!--") {
                try skip(until: "-->")
            } else if starts(with: "<![CDATA[") {
                index += 9
                let start = index
                try skip(until: "]]>")
                // CDATA is literal: escape '&' so the entity decoder leaves it as it is.
                for byte in bytes[start..<(index - 3)] {
                    if byte == UInt8(ascii: "&") { text.append(contentsOf: Array("&amp;".utf8)) } else { text.append(byte) }
                }
            } else if starts(with: "<?") {
                try skip(until: "?>")
            } else {
                try flush(&node)
                node.children.append(.element(try element(depth: depth + 1)))
            }
        }
    }

    func decodeEntities(_ raw: ArraySlice<UInt8>) throws(PartitionError) -> String {
        guard raw.contains(UInt8(ascii: "&")) else { return String(decoding: raw, as: UTF8.self) }
        var out = ""
        var i = raw.startIndex
        var plainStart = i
        while i < raw.endIndex {
            if raw[i] != UInt8(ascii: "&") {
                i += 1
                continue
            }
            out += String(decoding: raw[plainStart..<i], as: UTF8.self)
            guard let semicolon = raw[i...].firstIndex(of: UInt8(ascii: ";")), semicolon - i <= 10 else {
                throw fail("unterminated entity")
            }
            let entity = String(decoding: raw[(i + 1)..<semicolon], as: UTF8.self)
            switch entity {
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                var value: UInt32?
                if entity.hasPrefix("#x") { value = UInt32(entity.dropFirst(2), radix: 16) }
                else if entity.hasPrefix("#") { value = UInt32(entity.dropFirst(), radix: 10) }
                guard let value, let scalar = Unicode.Scalar(value) else { throw fail("unknown entity &\(entity);") }
                out.unicodeScalars.append(scalar)
            }
            i = semicolon + 1
            plainStart = i
        }
        out += String(decoding: raw[plainStart..<raw.endIndex], as: UTF8.self)
        return out
    }
}
