import ArgumentParser
import PartitionCore
import PartitionImages
import PartitionModel
import SystemKit
#if canImport(Glibc)
import Glibc
#endif

/// `partctl image list|show|build|import|remove`: the image store (docs/images.md).
struct ImageVerb: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "List, show, build, import and remove images (LPAR disks, WPAR root file systems, OCI images).",
        discussion: "Images live in $PARTCTL_ROOT/store (default /var/lib/partctl/store); a profile names one with image: NAME.",
        subcommands: [ImageList.self, ImageShow.self, ImageBuild.self, ImageImport.self, ImageRemove.self])
}

/// The fields of an image, for `-F`, `--json` and the table.
enum ImageFields {
    enum Value {
        case field(FieldValue)
        case list([String])

        var text: String {
            switch self {
            case .field(let value): return value.text
            case .list(let items): return items.isEmpty ? "-" : items.joined(separator: ",")
            }
        }

        var humanText: String {
            if case .field(let value) = self { return value.humanText }
            return text
        }
    }

    static let known: [(String, String)] = [
        ("name", "the image's name"), ("kind", "disk, rootfs, oci (one or two of them)"),
        ("digest", "sha256 of its content"), ("short_digest", "the digest's first 12 hex digits"),
        ("size", "bytes it takes on disk"), ("created", "when it was made (RFC 3339)"),
        ("source", "what it was built or imported from"), ("inputs", "a build's cache key"),
        ("volume", "kind disk: its base volume in the partctl pool"), ("rootfs", "kinds rootfs and oci: the tree WPARs use"),
        ("used_by", "the partitions whose definition names it"),
    ]

    static let defaultColumns = ["name", "kind", "short_digest", "size", "used_by"]

    static func value(_ key: String, of listing: ImageCatalog.Listing) -> Value {
        let manifest = listing.manifest
        switch key {
        case "name": return .field(.string(manifest.name))
        case "kind": return .list(manifest.kinds.map(\.rawValue))
        case "digest": return .field(.string(manifest.digest))
        case "short_digest": return .field(.string(manifest.shortDigest))
        case "size": return .field(.bytes(manifest.size))
        case "created": return .field(.string(manifest.created))
        case "source": return .field(.string(manifest.source))
        case "inputs": return .field(manifest.inputs.map(FieldValue.string) ?? .none)
        case "volume": return .field(manifest.disk.map { .string($0.volume) } ?? .none)
        case "rootfs": return .field(listing.rootfs.map(FieldValue.string) ?? .none)
        case "used_by": return .list(listing.usedBy)
        default: return .field(.none)
        }
    }

    /// `-F name,size` or `-F name:size`, as `query` takes it.
    static func fieldList(_ spec: String) throws(PartitionError) -> (fields: [String], delimiter: String) {
        try TextOutput.fieldList(spec, known: known.map(\.0), noun: "an image")
    }

    static func json(_ listing: ImageCatalog.Listing, only: [String]?) -> String {
        var out = "{"
        for (index, key) in (only ?? known.map(\.0)).enumerated() {
            if index > 0 { out += "," }
            JSONOutput.string(key, into: &out)
            out += ":"
            switch value(key, of: listing) {
            case .field(let field):
                var pair = ""
                JSONOutput.pair("", field, into: &pair, first: true)
                out += pair.dropFirst(3)  // the value of `"":value`
            case .list(let items):
                out += "["
                for (position, item) in items.enumerated() {
                    if position > 0 { out += "," }
                    JSONOutput.string(item, into: &out)
                }
                out += "]"
            }
        }
        return out + "}"
    }

    static func warnUnknownUsers(_ reason: String?) {
        guard let reason else { return }
        StandardStream.write("partctl: image: warning: 'used by' lists host WPARs only; the LPARs could not be read: \(reason)\n",
                             to: STDERR_FILENO)
    }
}

/// Progress of a build or import on a terminal: "debian-12: running mmdebstrap… 41s" on stderr.
final class ImageTerminalProgress: ImageProgress {
    let line: TerminalProgress?

    init() {
        line = isatty(STDERR_FILENO) == 1 ? TerminalProgress(started: ContinuousClock.now) : nil
    }

    func step(_ image: ImageName, _ what: String) { line?.show("\(image): \(what)") }
    func finish() { line?.finish() }

    /// Runs `body` with the line shown, and erases it whatever happens.
    static func showing<T>(_ body: (ImageTerminalProgress) throws(PartitionError) -> T) throws(PartitionError) -> T {
        let progress = ImageTerminalProgress()
        defer { progress.finish() }
        return try body(progress)
    }
}

struct ImageList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the images: name, kind, digest, size and the partitions that use each.",
        discussion: "Fields for -F: \(ImageFields.known.map(\.0).joined(separator: ", ")).")

    @Option(name: .customShort("F"), help: ArgumentHelp("Fields to print, values only.", valueName: "fields")) var fields: String?
    @Flag(name: .long, help: "Print a header line (with -F).") var header = false
    @OptionGroup var output: JSONOption
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        do {
            let format = try fields.map { spec throws(PartitionError) in try ImageFields.fieldList(spec) }
            let (images, unknown) = try connection.manager().images.list()
            ImageFields.warnUnknownUsers(unknown)
            if output.json {
                printLine("[" + images.map { ImageFields.json($0, only: format?.fields) }.joined(separator: ",") + "]")
            } else if let format {
                let text = TextOutput.values(images, fields: format.fields, delimiter: format.delimiter, header: header) { field, image in ImageFields.value(field, of: image).text }
                if !text.isEmpty { printLine(text) }
            } else {
                var rows = [["NAME", "KIND", "DIGEST", "SIZE", "USED BY"]]
                for image in images {
                    rows.append(ImageFields.defaultColumns.map { ImageFields.value($0, of: image).humanText })
                }
                printLine(TextOutput.align(rows))
            }
        } catch {
            throw error.with(operation: "image list")
        }
    }
}

struct ImageShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one image: every field of its manifest and its users.")

    @Argument(help: "The image's name.", completion: .imageName) var name: String
    @Option(name: .customShort("F"), help: ArgumentHelp("Fields to print, values only.", valueName: "fields")) var fields: String?
    @OptionGroup var output: JSONOption
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        do {
            let format = try fields.map { spec throws(PartitionError) in try ImageFields.fieldList(spec) }
            let (image, unknown) = try connection.manager().images.show(name)
            ImageFields.warnUnknownUsers(unknown)
            if output.json {
                printLine(ImageFields.json(image, only: format?.fields))
            } else if let format {
                printLine(format.fields.map { ImageFields.value($0, of: image).text }.joined(separator: format.delimiter))
            } else {
                var rows: [[String]] = []
                for (key, _) in ImageFields.known where key != "short_digest" {
                    rows.append([key + ":", ImageFields.value(key, of: image).humanText])
                }
                if let config = image.manifest.config {
                    rows.append(["entrypoint:", config.entrypoint?.joined(separator: " ") ?? "-"])
                    rows.append(["cmd:", config.cmd?.joined(separator: " ") ?? "-"])
                    rows.append(["env:", config.env.isEmpty ? "-" : config.env.joined(separator: " ")])
                    rows.append(["workdir:", config.workdir ?? "-"])
                    rows.append(["user:", config.user ?? "-"])
                }
                printLine(TextOutput.align(rows))
            }
        } catch {
            throw error.with(operation: "image show")
        }
    }
}

struct ImageBuild: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build", abstract: "Build the image of a recipe (e.g. debian-12); unchanged inputs keep the image as it is.")

    @Argument(help: "The recipe, which is also the image's name.") var recipe: String
    @OptionGroup var output: JSONOption
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        do {
            let started = ContinuousClock.now
            let manager = try connection.manager()
            let (manifest, built) = try ImageTerminalProgress.showing { progress throws(PartitionError) in
                try manager.images.build(recipe, progress: progress)
            }
            ImageReport.done(manifest, built ? "built" : "up to date", started: started, json: output.json)
        } catch {
            throw error.with(operation: "image build")
        }
    }
}

struct ImageImport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Import an image: dir:/PATH (a directory tree), or an OCI image where partctl has the importer.",
        discussion: "Example: partctl image import dir:/srv/rootfs --name tools")

    @Argument(help: "Where the image comes from, with its transport (dir:/PATH, oci-archive:FILE, ...).") var reference: String
    @Option(name: .long, help: "The new image's name.") var name: String
    @OptionGroup var output: JSONOption
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        do {
            let started = ContinuousClock.now
            let manager = try connection.manager()
            let manifest = try ImageTerminalProgress.showing { progress throws(PartitionError) in
                try manager.images.importImage(reference, name: name, progress: progress)
            }
            ImageReport.done(manifest, "imported", started: started, json: output.json)
        } catch {
            throw error.with(operation: "image import")
        }
    }
}

struct ImageRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove", abstract: "Remove an image; refused while a partition's definition names it.")

    @Argument(help: "The image's name.", completion: .imageName) var name: String
    @OptionGroup var output: JSONOption
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        do {
            try connection.manager().images.remove(name)
        } catch {
            throw error.with(operation: "image remove")
        }
    }
}

/// One line when a build or import ends: on a terminal for people, with --json for scripts.
enum ImageReport {
    static func done(_ manifest: ImageManifest, _ what: String, started: ContinuousClock.Instant, json: Bool) {
        if json {
            var out = "{"
            JSONOutput.pair("name", .string(manifest.name), into: &out, first: true)
            JSONOutput.pair("digest", .string(manifest.digest), into: &out)
            JSONOutput.pair("result", .string(what), into: &out)
            printLine(out + "}")
        } else if isatty(STDERR_FILENO) == 1 {
            StandardStream.write("\(manifest.name): \(what) (\(manifest.shortDigest), \(FieldValue.bytes(manifest.size).humanText)) in \(LifecycleReport.elapsed(since: started))\n",
                                 to: STDERR_FILENO)
        }
    }
}
