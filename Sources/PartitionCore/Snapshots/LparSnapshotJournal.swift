import PartitionModel
import SystemKit
import WorkloadEngine
#if canImport(Glibc)
import Glibc
#endif

/// `<runtime root>/snapshots/lpars/<lpar>`: written before an LPAR's nested WPARs are frozen for a
/// snapshot, removed once they are thawed. Left by a killed command, it makes the next command on
/// the LPAR thaw them (`repairLparSnapshot`).
struct LparSnapshotJournal {
    let directory: String
    let file: String

    init(runtimeRoot: String, lpar: PartitionName) {
        directory = runtimeRoot + "/snapshots/lpars"
        file = directory + "/" + lpar.rawValue
    }

    var exists: Bool { access(file, F_OK) == 0 }

    func write() throws(PartitionError) {
        try StateDirectory.ensure(directory, mode: 0o700)
        try AtomicFile.write(Array("frozen\n".utf8), to: file, mode: 0o600)
    }

    func remove() throws(PartitionError) {
        if unlink(file) != 0 && errno != ENOENT { throw POSIX.failure("remove the snapshot journal \(file)") }
    }
}
