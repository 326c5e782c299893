import Glibc
import PartitionModel

/// Opens a netlink socket inside another process's network namespace.
///
/// setns(CLONE_NEWNET) moves only the calling thread: the rest of partctl, which is multithreaded
/// (Swift's runtime starts threads of its own), stays where it is. So a short-lived thread of our
/// own joins the namespace, opens the socket there and ends without ever switching back; no other
/// code runs on it, so nothing else can find itself in the WPAR's namespace by accident. The socket
/// stays bound to the namespace it was created in, so every later request on it, from any thread,
/// configures the WPAR's namespace.
enum NetworkNamespaceSocket {
    /// A netlink socket in the network namespace of `pid`. Refuses when `pid` still shares
    /// partctl's own namespace: configuring it would change the host's network.
    static func open(inNetnsOf pid: pid_t) throws(PartitionError) -> NetlinkSocket {
        let path = "/proc/\(pid)/ns/net"
        let namespace = SystemCall.retryingInterrupts { Glibc.open(path, O_RDONLY | O_CLOEXEC) }
        if namespace < 0 {
            if errno == ENOENT { throw PartitionError(.system, "The process \(pid) does not exist, so its network namespace cannot be set up.") }
            throw SystemCall.failure("open the network namespace of process \(pid)")
        }
        defer { close(namespace) }
        var theirs = stat(), ours = stat()
        guard fstat(namespace, &theirs) == 0, stat("/proc/self/ns/net", &ours) == 0 else {
            throw SystemCall.failure("identify the network namespace of process \(pid)")
        }
        if theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev {
            throw PartitionError(.invalidState, "The process \(pid) is still in partctl's own network namespace; its private namespace must exist before its network is set up.")
        }

        guard let setns = Setns.function else {
            throw PartitionError(.unsupported, "This C library has no setns(); partctl cannot configure a network namespace.")
        }
        let job = Job(namespace: namespace, setns: setns)
        let context = Unmanaged.passRetained(job).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { context in
            let job = Unmanaged<Job>.fromOpaque(context!).takeRetainedValue()
            job.run()
            return nil
        }, context)
        if created != 0 {
            Unmanaged<Job>.fromOpaque(context).release()
            throw SystemCall.failure("start a thread to enter the network namespace of process \(pid)", errno: created)
        }
        pthread_join(thread, nil)
        if job.socket < 0 {
            throw SystemCall.failure(job.failedStep == .setns ? "enter the network namespace of process \(pid)"
                                                               : "open a netlink socket in the network namespace of process \(pid)",
                                     errno: job.error)
        }
        return NetlinkSocket(adopting: job.socket)
    }

    /// What the namespace thread does, and what it leaves for the caller after pthread_join.
    private final class Job: @unchecked Sendable {
        enum Step { case setns, socket }
        let namespace: Int32
        let setns: Setns.Function
        var socket: Int32 = -1
        var error: Int32 = 0
        var failedStep: Step = .setns

        init(namespace: Int32, setns: Setns.Function) {
            self.namespace = namespace
            self.setns = setns
        }

        func run() {
            guard setns(namespace, Setns.newNetworkNamespace) == 0 else {
                error = errno
                return
            }
            socket = Glibc.socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Netlink.route)
            if socket < 0 {
                error = errno
                failedStep = .socket
            }
            // The thread ends here, still in the WPAR's namespace; it is never reused.
        }
    }
}

/// setns(2), which Swift's Glibc module does not import (it needs _GNU_SOURCE).
enum Setns {
    typealias Function = @convention(c) (Int32, Int32) -> Int32
    static let newNetworkNamespace: Int32 = 0x4000_0000  // CLONE_NEWNET
    static let function: Function? = SystemCall.libcFunction("setns").map { unsafeBitCast($0, to: Function.self) }
}
