/// A small XML element tree with a serializer that escapes every attribute and text value.
///
/// Domain XML is built as a tree of these and serialised once, so no value from a profile or
/// the command line can ever change the structure of the document (no XML injection).
public struct XMLNode: Sendable, Equatable {
    public var name: String
    public var attributes: [(String, String)]
    public var children: [Child]

    public enum Child: Sendable, Equatable {
        case element(XMLNode)
        case text(String)
    }

    public init(_ name: String, _ attributes: [(String, String)] = [], children: [Child] = []) {
        precondition(XMLNode.isValidName(name), "invalid XML element name \(name)")
        self.name = name
        self.attributes = attributes
        self.children = children
    }

    /// An element holding only text: `<name>text</name>`.
    public init(_ name: String, _ attributes: [(String, String)] = [], text: String) {
        self.init(name, attributes, children: [.text(text)])
    }

    public static func == (lhs: XMLNode, rhs: XMLNode) -> Bool {
        lhs.name == rhs.name && lhs.children == rhs.children
            && lhs.attributes.map(\.0) == rhs.attributes.map(\.0) && lhs.attributes.map(\.1) == rhs.attributes.map(\.1)
    }

    public mutating func append(_ element: XMLNode) { children.append(.element(element)) }
    public mutating func append(_ text: String) { children.append(.text(text)) }

    public func attribute(_ name: String) -> String? { attributes.first { $0.0 == name }?.1 }

    /// Direct child elements with this local name (any namespace prefix).
    public func elements(named local: String) -> [XMLNode] {
        children.compactMap { child in
            if case .element(let element) = child, element.localName == local { return element }
            return nil
        }
    }

    public func element(named local: String) -> XMLNode? { elements(named: local).first }

    public var localName: Substring {
        guard let colon = name.firstIndex(of: ":") else { return Substring(name) }
        return name[name.index(after: colon)...]
    }

    /// The concatenated text of the direct text children.
    public var text: String {
        children.reduce(into: "") { result, child in
            if case .text(let text) = child { result += text }
        }
    }

    public func serialized(indent: Int = 0, step: Int = 2) -> String {
        var out = ""
        write(into: &out, indent: indent, step: step)
        return out
    }

    private func write(into out: inout String, indent: Int, step: Int) {
        let pad = String(repeating: " ", count: indent)
        out += pad + "<" + name
        for (key, value) in attributes {
            out += " " + key + "=\"" + XMLNode.escape(value, quotes: true) + "\""
        }
        if children.isEmpty {
            out += "/>\n"
            return
        }
        let textOnly = children.allSatisfy { if case .text = $0 { return true } else { return false } }
        if textOnly {
            out += ">" + XMLNode.escape(text, quotes: false) + "</" + name + ">\n"
            return
        }
        out += ">\n"
        for child in children {
            switch child {
            case .element(let element): element.write(into: &out, indent: indent + step, step: step)
            case .text(let text): out += XMLNode.escape(text, quotes: false)
            }
        }
        out += pad + "</" + name + ">\n"
    }

    /// Escapes markup characters; characters XML 1.0 cannot carry at all become U+FFFD.
    public static func escape(_ value: String, quotes: Bool) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"" where quotes: out += "&quot;"
            case "'" where quotes: out += "&apos;"
            case "\t", "\n", "\r":
                out += quotes ? "&#\(scalar.value);" : String(scalar)
            default:
                if scalar.value < 0x20 || (0xFFFE...0xFFFF).contains(scalar.value) {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || first.properties.isAlphabetic else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || $0 == "-" || $0 == "." || $0 == ":" || $0.properties.isAlphabetic || ("0"..."9").contains($0) }
    }
}
