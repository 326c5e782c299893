/*
 * Cloning a WPAR's init, directly or under a supervisor, and the init's life until execve.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cspawn_internal.h"
#include "cspawn_start.h"

/* What the supervisor process tells the caller before it execs: both PIDs, or why it failed. */
struct supervisor_info {
    int32_t ok;
    pid_t supervisor;
    pid_t init;
    struct cspawn_failure failure;
};

/* The host's /dev/null as this mount namespace sees it, opened O_PATH and checked to be the
 * character device 1:3: what masked files get bound over them. It must be opened after clone, in
 * the child's own mount namespace: open_tree refuses mounts of another namespace. */
static int open_devnull(int report_fd) {
    int fd = open("/dev/null", O_PATH | O_CLOEXEC | O_NOFOLLOW);
    struct stat status;
    if (fd < 0 || fstat(fd, &status) != 0) cs_fail(report_fd, -1, "open /dev/null", "/dev/null", errno);
    if (!S_ISCHR(status.st_mode) || status.st_rdev != makedev(1, 3)) {
        cs_fail(report_fd, -1, "check /dev/null", "/dev/null", ENODEV);
    }
    return fd;
}

_Noreturn void cs_child_main(const struct cspawn_plan *plan, int sync_fd, int report_fd) {
    /* Until the parent releases us it runs on, and we may share its memory (CLONE_VM): only calls
     * that cannot fail and the raw read, so that not even errno is written. Every signal stays
     * blocked meanwhile, so none of the parent's handlers can run here. */
    if (plan->death_signal > 0) prctl(PR_SET_PDEATHSIG, plan->death_signal, 0, 0, 0);
    /* Not dumpable until execve: nothing may open /proc/1/exe (the partctl binary) meanwhile. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

    /* Wait until the parent has put us in our cgroups, written the ID maps and set up the network.
     * End-of-file means it gave up (or died): leave without touching anything. */
    int passed[CSPAWN_MAX_PASSED];
    size_t passed_count = 0;
    long released = plan->passed_count > 0 ? cs_receive_release(sync_fd, passed, CSPAWN_MAX_PASSED, &passed_count)
                                           : cs_read_byte(sync_fd);
    if (released != 1) _exit(0);
    /* Released: the parent now waits for our execve or exit. */
    close(sync_fd);
    cs_reset_signal_handlers();
    if (passed_count != plan->passed_count) cs_fail(report_fd, -1, "receive the host's mounts", NULL, EPROTO);

    if (plan->become_root && cs_set_ids_root() != 0) cs_fail(report_fd, -1, "become root in the user namespace", NULL, errno);
    /* Now that we are in the WPAR's cgroups, a cgroup namespace rooted there. */
    if ((plan->namespaces & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) != 0) {
        cs_fail(report_fd, -1, "unshare the cgroup namespace", NULL, errno);
    }
    /* The minimal init, before the root moves: from here on, host paths are the WPAR's. */
    int program_fd = cs_open_host_program(&plan->exec, report_fd);
    if (plan->namespaces & CLONE_NEWNS) {
        int devnull_fd = open_devnull(report_fd);
        cs_build_root(plan, devnull_fd, report_fd, passed);
        close(devnull_fd);
    }
    if (plan->hostname != NULL) {
        size_t length = 0;
        while (plan->hostname[length] != '\0') length++;
        if (sethostname(plan->hostname, length) != 0) cs_fail(report_fd, -1, "sethostname", plan->hostname, errno);
    }
    cs_finish_exec(&plan->exec, program_fd, report_fd);
}

static void write_all(int fd, const void *data, size_t size) {
    const char *bytes = data;
    while (size > 0) {
        ssize_t written = write(fd, bytes, size);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) return;
        bytes += written;
        size -= (size_t)written;
    }
}

/* Moves `fds` to 3, 4, ... (clearing close-on-exec), closes every other descriptor above 2 and
 * points 0-2 at /dev/null. */
static int install_supervisor_fds(const struct cspawn_supervisor *supervisor) {
    int moved[16];
    if (supervisor->fd_count > 16) { errno = EINVAL; return -1; }
    int floor = 3 + (int)supervisor->fd_count;
    for (size_t i = 0; i < supervisor->fd_count; i++) {
        moved[i] = fcntl(supervisor->fds[i], F_DUPFD_CLOEXEC, floor);
        if (moved[i] < 0) return -1;
    }
    for (size_t i = 0; i < supervisor->fd_count; i++) {
        if (dup2(moved[i], 3 + (int)i) < 0) return -1;  /* dup2 clears close-on-exec */
    }
    if (cs_close_range((unsigned int)floor, ~0U) != 0) return -1;
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0) return -1;
    for (int i = 0; i < 3; i++) {
        if (dup2(null, i) < 0) return -1;
    }
    return 0;
}

/* The grandchild: subreaper, parent of the init, then the supervisor program. */
_Noreturn static void run_supervisor(const struct cspawn_plan *plan, const struct cspawn_supervisor *supervisor,
                                     const int sync[2], const int report[2], int info_fd) {
    struct supervisor_info info;
    memset(&info, 0, sizeof info);
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    long pid = cs_clone(plan->namespaces & ~(uint64_t)CLONE_NEWCGROUP, plan->cgroup_fd);
    if (pid == 0) {
        close(info_fd);
        close(sync[1]);
        close(report[0]);
        cs_child_main(plan, sync[0], report[1]);
    }
    if (pid < 0) {
        cs_set_failure(&info.failure, -1, "clone", NULL, errno);
        write_all(info_fd, &info, sizeof info);
        _exit(127);
    }
    /* Only the caller may hold the sync pipe's write end (its death must release the child as
     * end-of-file) and the report pipe's read end. */
    close(sync[0]);
    close(sync[1]);
    close(report[0]);
    close(report[1]);
    info.ok = 1;
    info.supervisor = getpid();
    info.init = (pid_t)pid;
    write_all(info_fd, &info, sizeof info);
    close(info_fd);

    if (install_supervisor_fds(supervisor) != 0) {
        kill((pid_t)pid, SIGKILL);
        _exit(127);
    }
    /* argv lives in this process's private copy of the caller's memory, so it may be patched. */
    char pid_text[16];
    if (supervisor->pid_argument >= 0) {
        char digits[16];
        int count = 0;
        for (long rest = pid; count == 0 || rest > 0; rest /= 10) digits[count++] = (char)('0' + rest % 10);
        for (int i = 0; i < count; i++) pid_text[i] = digits[count - 1 - i];
        pid_text[count] = '\0';
        ((const char **)supervisor->argv)[supervisor->pid_argument] = pid_text;
    }
    cs_reset_signal_handlers();
    cs_unblock_signals();
    execve(supervisor->path, (char *const *)supervisor->argv, (char *const *)supervisor->envp);
    kill((pid_t)pid, SIGKILL);
    _exit(127);
}

static int start_supervised(const struct cspawn_plan *plan, const struct cspawn_supervisor *supervisor,
                            int sync[2], int report[2], struct cspawn_child *child,
                            struct cspawn_failure *failure, const sigset_t *old_mask) {
    int info[2];
    if (cs_pipe(info) != 0) {
        cs_set_failure(failure, -1, "pipe", NULL, errno);
        pthread_sigmask(SIG_SETMASK, old_mask, NULL);
        return -1;
    }
    long middle = cs_fork();
    if (middle == 0) {
        /* A new session, then the supervisor as our child; we exit so it is adopted by the
         * nearest subreaper or init and outlives the caller without becoming its zombie. */
        close(info[0]);
        setsid();
        long grandchild = cs_fork();
        if (grandchild == 0) run_supervisor(plan, supervisor, sync, report, info[1]);
        if (grandchild < 0) {
            struct supervisor_info none;
            memset(&none, 0, sizeof none);
            cs_set_failure(&none.failure, -1, "fork the supervisor", NULL, errno);
            write_all(info[1], &none, sizeof none);
        }
        _exit(0);
    }
    int fork_error = errno;
    pthread_sigmask(SIG_SETMASK, old_mask, NULL);
    close(info[1]);
    close(sync[0]);
    close(report[1]);
    if (middle < 0) {
        cs_set_failure(failure, -1, "fork", NULL, fork_error);
        close(info[0]);
        close(sync[1]);
        close(report[0]);
        return -1;
    }
    while (waitpid((pid_t)middle, NULL, 0) < 0 && errno == EINTR) {}

    struct supervisor_info info_record;
    memset(&info_record, 0, sizeof info_record);
    ssize_t got;
    do {
        got = read(info[0], &info_record, sizeof info_record);
    } while (got < 0 && errno == EINTR);
    close(info[0]);
    if (got != (ssize_t)sizeof info_record || !info_record.ok) {
        if (got == (ssize_t)sizeof info_record) *failure = info_record.failure;
        else cs_set_failure(failure, -1, "start the supervisor", supervisor->path, got < 0 ? errno : EPIPE);
        close(sync[1]);
        close(report[0]);
        return -1;
    }
    child->pid = info_record.init;
    child->supervisor_pid = info_record.supervisor;
    child->sync_fd = sync[1];
    child->report_fd = report[0];
    return 0;
}

/* The direct child's stack. Its deepest path (building the root, two path buffers) needs a few
 * KiB; the rest is margin, and only touched pages cost anything. The lowest page is a guard. */
enum { DIRECT_STACK_SIZE = 256 << 10, DIRECT_STACK_GUARD = 4096 };

/* What the direct child starts with, placed at the top of its stack: the caller's frame is gone by
 * the time the child reads it. */
struct direct_start {
    const struct cspawn_plan *plan;
    int sync_fd, report_fd;                /* the child's ends */
    int caller_sync_fd, caller_report_fd;  /* the caller's ends, to close in the child's fd table */
};

/* Dumpability belongs to the memory a direct child shares with this process. It is cleared before
 * the first such child exists (so no moment of a setup is dumpable) and restored when the last one
 * has left that memory, whichever thread started them. Only 1 can be set back: a process at 2
 * (suid_dumpable) stays at 0, the safe side. */
static pthread_mutex_t dumpable_lock = PTHREAD_MUTEX_INITIALIZER;
static int children_sharing_memory;
static int dumpable_before;

static void hold_undumpable(void) {
    pthread_mutex_lock(&dumpable_lock);
    if (children_sharing_memory++ == 0) {
        dumpable_before = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1;
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
    pthread_mutex_unlock(&dumpable_lock);
}

static void release_undumpable(void) {
    pthread_mutex_lock(&dumpable_lock);
    if (--children_sharing_memory == 0 && dumpable_before) prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    pthread_mutex_unlock(&dumpable_lock);
}

static int direct_child(void *argument) {
    const struct direct_start *start = argument;
    cs_close_raw(start->caller_sync_fd);
    cs_close_raw(start->caller_report_fd);
    cs_child_main(start->plan, start->sync_fd, start->report_fd);
}

/* Clones the child sharing this process's memory (CLONE_VM, no CLONE_VFORK: the caller prepares
 * the child while it waits on the sync pipe). -1 with errno when it cannot. */
static long clone_direct(const struct cspawn_plan *plan, int sync[2], int report[2], struct cspawn_child *child) {
    uint64_t flags = plan->namespaces & ~(uint64_t)CLONE_NEWCGROUP;
    /* glibc's clone takes an int whose low byte is the exit signal (CLONE_NEWTIME lives there). */
    if (plan->cgroup_fd >= 0 || (flags & ~(uint64_t)0x7fffff00)) {
        errno = EINVAL;
        return -1;
    }
    void *stack = mmap(NULL, DIRECT_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) return -1;
    if (mprotect(stack, DIRECT_STACK_GUARD, PROT_NONE) != 0) {
        int saved = errno;
        munmap(stack, DIRECT_STACK_SIZE);
        errno = saved;
        return -1;
    }
    struct direct_start *start = (struct direct_start *)((char *)stack + DIRECT_STACK_SIZE) - 1;
    start->plan = plan;
    start->sync_fd = sync[0];
    start->report_fd = report[1];
    start->caller_sync_fd = sync[1];
    start->caller_report_fd = report[0];

    hold_undumpable();
    /* glibc aligns the stack top itself; the start record sits just above it. */
    long pid = clone(direct_child, start, (int)flags | CLONE_VM | SIGCHLD, start);
    if (pid < 0) {
        int saved = errno;
        release_undumpable();
        munmap(stack, DIRECT_STACK_SIZE);
        errno = saved;
        return -1;
    }
    child->stack = stack;
    child->stack_size = DIRECT_STACK_SIZE;
    return pid;
}

int cspawn_start(const struct cspawn_plan *plan, const struct cspawn_supervisor *supervisor,
                 struct cspawn_child *child, struct cspawn_failure *failure) {
    int sync[2], report[2];
    if (cs_open_child_pipes(child, failure, sync, report) != 0) return -1;

    /* The child starts with every signal blocked, so no handler of this process runs in it
     * before it has reset them. */
    sigset_t all, old_mask;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old_mask);

    if (supervisor != NULL) {
        return start_supervised(plan, supervisor, sync, report, child, failure, &old_mask);
    }

    long pid = clone_direct(plan, sync, report, child);
    int clone_error = errno;
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    return cs_adopt_child(pid, clone_error, child, failure, sync, report);
}

int cs_open_child_pipes(struct cspawn_child *child, struct cspawn_failure *failure, int sync[2], int report[2]) {
    memset(failure, 0, sizeof *failure);
    memset(child, 0, sizeof *child);
    child->pid = -1;
    child->sync_fd = -1;
    child->report_fd = -1;
    if (cs_socketpair(sync) != 0) {
        cs_set_failure(failure, -1, "socketpair", NULL, errno);
        return -1;
    }
    if (cs_pipe(report) != 0) {
        cs_set_failure(failure, -1, "pipe", NULL, errno);
        close(sync[0]);
        close(sync[1]);
        return -1;
    }
    return 0;
}

int cs_adopt_child(long pid, int clone_error, struct cspawn_child *child, struct cspawn_failure *failure,
                   int sync[2], int report[2]) {
    close(sync[0]);
    close(report[1]);
    if (pid < 0) {
        cs_set_failure(failure, -1, "clone", NULL, clone_error);
        close(sync[1]);
        close(report[0]);
        return -1;
    }
    child->pid = (pid_t)pid;
    child->sync_fd = sync[1];
    child->report_fd = report[0];
    return 0;
}

/* Reads `fd` until end-of-file, which on the report pipe means the child has exec'd or exited:
 * the kernel replaces or drops a process's memory before it closes its descriptors. */
static void await_end_of_file(int fd) {
    char rest[64];
    ssize_t got;
    do {
        got = read(fd, rest, sizeof rest);
    } while (got > 0 || (got < 0 && errno == EINTR));
}

/* Once the child has left this process's memory: its stack goes, dumpability may come back. */
static void forget_direct_child(struct cspawn_child *child) {
    if (child->stack == NULL) return;
    munmap(child->stack, child->stack_size);
    child->stack = NULL;
    child->stack_size = 0;
    release_undumpable();
}

int cspawn_release(struct cspawn_child *child, struct cspawn_failure *failure) {
    return cspawn_release_passing(child, NULL, 0, failure);
}

int cspawn_release_passing(struct cspawn_child *child, const int *fds, size_t count, struct cspawn_failure *failure) {
    memset(failure, 0, sizeof *failure);
    ssize_t written = cs_send_release(child->sync_fd, fds, count);
    int write_error = errno;
    close(child->sync_fd);
    child->sync_fd = -1;

    struct cspawn_failure record;
    ssize_t got;
    do {
        got = read(child->report_fd, &record, sizeof record);
    } while (got < 0 && errno == EINTR);
    int read_error = errno;
    if (got != 0) await_end_of_file(child->report_fd);
    close(child->report_fd);
    child->report_fd = -1;
    forget_direct_child(child);

    if (got == 0 && written == 1) return 0;  /* end-of-file: execve succeeded */
    if (got == (ssize_t)sizeof record) {
        *failure = record;
    } else if (written != 1) {
        cs_set_failure(failure, -1, "release the child", NULL, write_error);
    } else {
        cs_set_failure(failure, -1, "read the child's report", NULL, got < 0 ? read_error : EPROTO);
    }
    return -1;
}

void cspawn_abandon(struct cspawn_child *child) {
    if (child->sync_fd >= 0) close(child->sync_fd);
    if (child->report_fd >= 0) {
        /* A child sharing our memory must be gone from it before its stack is unmapped. */
        if (child->stack != NULL) await_end_of_file(child->report_fd);
        close(child->report_fd);
    }
    child->sync_fd = -1;
    child->report_fd = -1;
    forget_direct_child(child);
}

int cspawn_last_capability(void) {
    int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    char text[16];
    ssize_t got = read(fd, text, sizeof text - 1);
    close(fd);
    if (got <= 0) return -1;
    int value = 0;
    for (ssize_t i = 0; i < got && text[i] >= '0' && text[i] <= '9'; i++) value = value * 10 + (text[i] - '0');
    return value;
}
