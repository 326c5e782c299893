import Glibc

/// Debug builds count virDomainGetMetadata calls, so that a command's metadata reads can be measured
/// (docs/architecture.md, "Reading an LPAR once"): with PARTCTL_DEBUG_METADATA_READS set, the count is
/// written to stderr when the process exits. Release builds have none of this.
enum MetadataReadCount {
    #if DEBUG
    nonisolated(unsafe) static var reads = 0
    nonisolated(unsafe) static var reporting = false

    static func record() {
        reads += 1
        guard !reporting, getenv("PARTCTL_DEBUG_METADATA_READS") != nil else { return }
        reporting = true
        atexit {
            let line = Array("partctl-debug: libvirt metadata reads: \(MetadataReadCount.reads)\n".utf8)
            _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
        }
    }
    #else
    @inline(__always) static func record() {}
    #endif
}
