// wpar-probe: drives the WPAR engine from a separate process, for the engine's tests (kill -9 at
// fault points, concurrent activations) and for timing the transient run path without the CLI.
//
//   wpar-probe run [--pids N] -- CMD...      transient application WPAR; exits with its status
//   wpar-probe activate|shutdown|force|remove NAME
//   wpar-probe status NAME
//   wpar-probe density COUNT                 COUNT idle system WPARs; prints their supervisors' PSS
//
// State lives where RuntimePaths.fromEnvironment() says (PARTCTL_ROOT, PARTCTL_RUNTIME_ROOT).
import Glibc
import PartitionModel
import WorkloadEngine

func fail(_ message: String) -> Never {
    let text = "wpar-probe: \(message)\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
    exit(1)
}

var arguments = Array(CommandLine.arguments.dropFirst())
guard let verb = arguments.first else { fail("usage: wpar-probe run|activate|shutdown|force|remove|status ...") }
arguments.removeFirst()
let engine = WorkloadEngine()

do {
    switch verb {
    case "run":
        var limits = WorkloadLimits()
        if arguments.first == "--pids", arguments.count > 1 {
            limits.pidsMax = Int(arguments[1])
            arguments.removeFirst(2)
        }
        if arguments.first == "--" { arguments.removeFirst() }
        let spec = WorkloadSpec(name: try PartitionName("probe"), kind: .application, root: .host, command: arguments,
                                network: .none, limits: limits)
        exit(try engine.run(spec))
    case "activate", "shutdown", "force", "remove", "status":
        guard let text = arguments.first else { fail("\(verb) needs a WPAR name") }
        let name = try PartitionName(text)
        switch verb {
        case "activate": try engine.activate(name)
        case "shutdown": try engine.shutdown(name, within: arguments.count > 1 ? Double(arguments[1]) ?? 10 : 10)
        case "force": try engine.force(name)
        case "remove": try engine.remove(name, force: true)
        default: print(try engine.status(name).state.rawValue)
        }
    case "density":
        guard let count = arguments.first.flatMap(Int.init), count > 0 else { fail("density needs a count") }
        try DensityProbe(engine: engine, count: count).measure()
    default:
        fail("unknown verb \(verb)")
    }
} catch {
    fail("\(error)")
}
