import Glibc
import PartitionModel
import PartitionProfiles
import SystemKit

/// The apt sources of a Debian image: the archive this host's apt uses (recipe `mirror: host`), with
/// the recipe's suite, its -updates and -security; or the mirror the recipe names.
struct DebianSources: Equatable {
    struct Entry: Equatable {
        var uri: String
        var suite: String
        var components: [String]
    }

    var entries: [Entry]
    static let keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"

    static func forRecipe(_ recipe: ImageRecipe, aptDirectory: String = "/etc/apt") throws(PartitionError) -> DebianSources {
        if recipe.mirror != "host" {
            return DebianSources(entries: [recipe.suite, recipe.suite + "-updates"].map {
                Entry(uri: recipe.mirror, suite: $0, components: recipe.components)
            })
        }
        let host = hostEntries(aptDirectory: aptDirectory)
        // The host's release: the suite without a hyphen (bookworm of bookworm, bookworm-updates, ...).
        guard let base = host.first(where: { !$0.suite.contains("-") && !$0.suite.contains("/") })?.suite else {
            throw PartitionError(.unavailable,
                "No Debian archive in apt's sources (\(aptDirectory)/sources.list, sources.list.d); set 'mirror:' in the recipe \(recipe.file).")
        }
        var entries: [Entry] = []
        for entry in host {
            let suffix: String
            if entry.suite == base { suffix = "" } else if entry.suite == base + "-updates" { suffix = "-updates" }
            else if entry.suite == base + "-security" || entry.suite == base + "/updates" { suffix = "-security" }
            else { continue }
            let mapped = Entry(uri: entry.uri, suite: recipe.suite + suffix, components: recipe.components)
            if !entries.contains(mapped) { entries.append(mapped) }
        }
        return DebianSources(entries: entries)
    }

    /// deb822 text for mmdebstrap (and for the image's own /etc/apt/sources.list.d).
    var deb822: String {
        entries.map {
            "Types: deb\nURIs: \($0.uri)\nSuites: \($0.suite)\nComponents: \($0.components.joined(separator: " "))\nSigned-By: \(DebianSources.keyring)\n"
        }.joined(separator: "\n")
    }

    /// The InRelease file of every entry, whose Date line is part of the build's cache key.
    var releaseURLs: [String] {
        entries.map { ($0.uri.hasSuffix("/") ? String($0.uri.dropLast()) : $0.uri) + "/dists/\($0.suite)/InRelease" }
    }

    /// The Date of each Release file, read from the first KiB of each (one curl, ranged requests):
    /// what tells a rebuild that the archive has changed. About 0.1-0.3 s.
    func releaseDates() throws(PartitionError) -> [String] {
        let urls = releaseURLs
        let output = try HostProgram(["/usr/bin/curl", "--silent", "--show-error", "--fail", "--location",
                                      "--max-time", "20", "--range", "0-2047"] + urls).output(limit: 1 << 20)
        let dates = output.split(separator: "\n").filter { $0.hasPrefix("Date: ") }.map { String($0.dropFirst(6)) }
        guard dates.count == urls.count else {
            throw PartitionError(.unavailable, "Cannot read the date of the mirror's Release files (\(urls.joined(separator: ", "))); is the mirror reachable?")
        }
        return dates
    }

    /// The `deb` entries of this host's apt sources, one-line and deb822 formats.
    static func hostEntries(aptDirectory: String) -> [Entry] {
        var entries: [Entry] = []
        if let text = FileIO.readText(aptDirectory + "/sources.list", limit: 1 << 20) { entries += oneLine(text) }
        for file in directoryFiles(aptDirectory + "/sources.list.d") {
            guard let text = FileIO.readText(aptDirectory + "/sources.list.d/" + file, limit: 1 << 20) else { continue }
            if file.hasSuffix(".list") { entries += oneLine(text) }
            if file.hasSuffix(".sources") { entries += deb822(text) }
        }
        return entries
    }

    static func oneLine(_ text: String) -> [Entry] {
        var entries: [Entry] = []
        for line in text.split(separator: "\n") {
            var words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard words.first == "deb" else { continue }
            words.removeFirst()
            if words.first?.hasPrefix("[") == true {
                while let word = words.first, !word.hasSuffix("]") { words.removeFirst() }
                if !words.isEmpty { words.removeFirst() }
            }
            guard words.count >= 3 else { continue }
            entries.append(Entry(uri: words[0], suite: words[1], components: Array(words[2...])))
        }
        return entries
    }

    static func deb822(_ text: String) -> [Entry] {
        var entries: [Entry] = []
        var fields: [String: String] = [:]
        func finish() {
            defer { fields = [:] }
            guard fields["types"]?.split(separator: " ").contains("deb") == true, fields["enabled"] != "no",
                  let uris = fields["uris"], let suites = fields["suites"] else { return }
            let components = (fields["components"] ?? "main").split(separator: " ").map(String.init)
            for uri in uris.split(separator: " ") {
                for suite in suites.split(separator: " ") {
                    entries.append(Entry(uri: String(uri), suite: String(suite), components: components))
                }
            }
        }
        // Stanzas are separated by empty lines; a field is "Name: value" (continuation lines ignored).
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) { finish(); continue }
            guard !line.hasPrefix("#"), !line.hasPrefix(" "), let colon = line.firstIndex(of: ":") else { continue }
            let value = line[line.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            fields[line[..<colon].lowercased()] = value.joined(separator: " ")
        }
        finish()
        return entries
    }

    static func directoryFiles(_ path: String) -> [String] {
        guard let handle = opendir(path) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if !name.hasPrefix(".") { names.append(name) }
        }
        return names.sorted()
    }
}
