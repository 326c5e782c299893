import Glibc

/// Tells whether this process's mount table has changed since the watch was made: the kernel marks
/// an open /proc/self/mountinfo with POLLPRI once a mount or unmount has happened in its mount
/// namespace since it was opened (or since poll last said so). Something read from the mount
/// table right after the watch was made stays current for as long as `changed()` is false.
final class MountTableWatch: Sendable {
    private let descriptor: Int32

    /// nil when /proc/self/mountinfo cannot be opened.
    init?() {
        descriptor = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC)
        if descriptor < 0 { return nil }
    }

    deinit { close(descriptor) }

    /// True once the table has changed; a failed poll counts as a change, so callers read it again.
    func changed() -> Bool {
        var entry = pollfd(fd: descriptor, events: Int16(POLLPRI), revents: 0)
        let ready = SystemCall.retryingInterrupts { poll(&entry, 1, 0) }
        return ready < 0 || entry.revents & Int16(POLLPRI | POLLERR | POLLNVAL) != 0
    }
}
