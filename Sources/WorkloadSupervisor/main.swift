// partctl-supervisor: the small process that holds one running WPAR (DESIGN §5, issue 3 part 6).
//
// partctl starts it through CSpawn (cspawn_start with a supervisor), which makes it the parent of
// the WPAR's init before it execs this program. It imports only Glibc: with 200 WPARs running,
// every kilobyte it keeps counts (no Foundation, no PartitionModel).
import Glibc

guard let configuration = SupervisorConfiguration(arguments: CommandLine.arguments) else {
    let usage = "usage: partctl-supervisor NAME INIT-PID RUNTIME-DIR EXIT-RECORD [CONSOLE-FD]\n"
    _ = usage.withCString { write(2, $0, strlen($0)) }
    exit(2)
}
exit(Supervisor(configuration).run())
