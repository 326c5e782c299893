/// A fuzz input split into profile files: the first is resolved, each `#@ NAME` line starts the
/// next (`NAME.yaml`). Names are cut to what a profile name may hold so every file lands in the
/// fuzzer's own directory.
struct FuzzProfileInput {
    static let marker = Array("#@ ".utf8)
    static let overridesMarker = Array("#-i ".utf8)
    static let abstractMarker = Array("#abstract".utf8)

    /// File names (without `.yaml`) and contents, the resolved profile first.
    var files: [(name: String, bytes: [UInt8])] = []
    var overrides: String?
    /// `profile show`/`explain` accept abstract profiles; `define` does not.
    var allowAbstract = false

    init(_ bytes: [UInt8]) {
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)[...]
        if let first = lines.first, first.starts(with: Self.overridesMarker) {
            overrides = String(decoding: first.dropFirst(Self.overridesMarker.count), as: UTF8.self)
        }
        if let first = lines.first, first.starts(with: Self.abstractMarker) { allowAbstract = true }
        var name = "fuzz"
        var current: [UInt8] = []
        var started = false
        while let line = lines.popFirst() {
            if line.starts(with: Self.marker) {
                files.append((name, current))
                name = Self.fileName(line.dropFirst(Self.marker.count), index: files.count)
                current = []
                started = false
                continue
            }
            if started { current.append(UInt8(ascii: "\n")) }
            current += line
            started = true
        }
        files.append((name, current))
    }

    /// Lowercase letters, digits, `-` and `_`, as profile names are; a name left empty or
    /// already taken becomes `fN`.
    static func fileName(_ bytes: ArraySlice<UInt8>, index: Int) -> String {
        let kept = bytes.prefix(32).filter { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
        let name = String(decoding: kept, as: UTF8.self)
        return name.isEmpty || name == "fuzz" ? "f\(index)" : name
    }
}
