import Glibc

// glibc functions that Swift's Glibc module does not import (<sys/xattr.h>, and the _GNU_SOURCE
// parts of <unistd.h> and <stdio.h>), bound by symbol as HostObject binds fstatfs. Every argument
// is an integer or a pointer, so the C calling convention is the same.

@_silgen_name("llistxattr")
func listAttributes(_ path: UnsafePointer<CChar>, _ list: UnsafeMutablePointer<CChar>?, _ size: Int) -> Int
@_silgen_name("lgetxattr")
func getAttribute(_ path: UnsafePointer<CChar>, _ name: UnsafePointer<CChar>, _ value: UnsafeMutableRawPointer?, _ size: Int) -> Int
@_silgen_name("lsetxattr")
func setAttribute(_ path: UnsafePointer<CChar>, _ name: UnsafePointer<CChar>, _ value: UnsafeRawPointer?, _ size: Int, _ flags: Int32) -> Int32
@_silgen_name("copy_file_range")
func copyFileRange(_ input: Int32, _ inputOffset: UnsafeMutablePointer<Int64>?, _ output: Int32,
                   _ outputOffset: UnsafeMutablePointer<Int64>?, _ length: Int, _ flags: UInt32) -> Int
@_silgen_name("renameat2")
private func renameat2Call(_ oldDirectory: Int32, _ oldName: UnsafePointer<CChar>, _ newDirectory: Int32,
                           _ newName: UnsafePointer<CChar>, _ flags: UInt32) -> Int32

public enum DirectoryExchange {
    /// <linux/fs.h> RENAME_EXCHANGE.
    static let exchange: UInt32 = 2

    /// Swaps the two entries `first` and `second` of the directory `directory` in one step: at no
    /// moment is either name missing (a kill leaves one of the two states, never a half).
    public static func exchange(_ first: String, _ second: String, in directory: Int32) -> Bool {
        renameat2Call(directory, first, directory, second, exchange) == 0
    }
}
