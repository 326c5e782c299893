#if canImport(Glibc)
import Glibc
#endif

// libFuzzer's driver (linked by -sanitize=fuzzer) runs the target on every input, reading its flags
// and corpus directories from the command line. SwiftPM makes this file the program's main, so
// libFuzzer's own main is never linked.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

var argumentCount = CommandLine.argc
var arguments = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argumentCount, &arguments) { data, size in
    fuzzProfiles(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
})
