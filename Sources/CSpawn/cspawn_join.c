/*
 * Joining a running WPAR: see cspawn_join.h for the sequence and why it is safe against
 * /proc/PID/exe and ptrace from inside.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cspawn_internal.h"
#include "cspawn_join.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER 0x5441
#endif
#define CS_DEVPTS_SUPER_MAGIC 0x1cd1

/* Ends this process the way `status` says the command ended. */
_Noreturn static void mirror(int status) {
    if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
    int signal = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
    struct rlimit no_core = { 0, 0 };
    setrlimit(RLIMIT_CORE, &no_core);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = SIG_DFL;
    sigaction(signal, &action, NULL);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, signal);
    sigprocmask(SIG_UNBLOCK, &only, NULL);
    kill(getpid(), signal);
    _exit(128 + signal);
}

/* The command's stack while it shares the intermediate's memory. Its deepest path (the PATH
 * search's buffer) needs a few KiB. It lives in the intermediate's private copy of the caller's
 * memory: the caller never touches it, so it costs the caller nothing. */
static char command_stack[64 << 10] __attribute__((aligned(16)));

struct command_start {
    const struct cspawn_join *join;
    int report_fd;
};

/* Sends `fd` over the unix socket `socket_fd` (one byte carrying it). */
static int send_descriptor(int socket_fd, int fd) {
    char byte = 't';
    struct iovec data = { &byte, 1 };
    union { struct cmsghdr header; char space[CMSG_SPACE(sizeof(int))]; } control;
    memset(&control, 0, sizeof control);
    struct msghdr message = { .msg_iov = &data, .msg_iovlen = 1, .msg_control = control.space,
                              .msg_controllen = sizeof control.space };
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(header), &fd, sizeof fd);
    ssize_t sent;
    do {
        sent = sendmsg(socket_fd, &message, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    return sent == 1 ? 0 : -1;
}

/* A pseudo-terminal of the WPAR's own devpts, opened from inside its mount namespace: a path
 * looked up by the host (/proc/PID/root/...) would follow the WPAR's absolute symlinks into the
 * host's /dev. The master goes to partctl; the slave is returned. */
static int open_terminal(const struct cspawn_join *join, int report_fd) {
    int master = cs_openat2(AT_FDCWD, "/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC,
                            CS_RESOLVE_NO_SYMLINKS | CS_RESOLVE_NO_MAGICLINKS);
    if (master < 0) cs_fail(report_fd, -1, "open the WPAR's terminal multiplexer", "/dev/pts/ptmx", errno);
    struct statfs fs;
    struct stat status;
    if (fstatfs(master, &fs) != 0 || fs.f_type != CS_DEVPTS_SUPER_MAGIC || fstat(master, &status) != 0
        || !S_ISCHR(status.st_mode) || status.st_rdev != makedev(5, 2)) {
        cs_fail(report_fd, -1, "check that /dev/pts/ptmx is a devpts multiplexer", "/dev/pts/ptmx", ENOTTY);
    }
    int unlock = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) != 0) cs_fail(report_fd, -1, "unlock the WPAR's terminal", NULL, errno);
    if (join->rows > 0 && join->columns > 0) {
        struct winsize size = { join->rows, join->columns, 0, 0 };
        ioctl(master, TIOCSWINSZ, &size);
    }
    int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) cs_fail(report_fd, -1, "open the WPAR's terminal", NULL, errno);
    if (send_descriptor(join->terminal_socket, master) != 0) cs_fail(report_fd, -1, "hand the terminal to partctl", NULL, errno);
    close(master);
    close(join->terminal_socket);
    return slave;
}

static int command_main(void *argument) {
    const struct command_start *start = argument;
    if (start->join->terminal_socket < 0) cs_finish_exec(&start->join->exec, -1, start->report_fd);
    /* A copy on this process's own stack: the intermediate's memory is shared until execve. */
    struct cspawn_exec exec = start->join->exec;
    int slave = open_terminal(start->join, start->report_fd);
    exec.stdio[0] = exec.stdio[1] = exec.stdio[2] = slave;
    exec.controlling_tty = 1;
    cs_finish_exec(&exec, -1, start->report_fd);
}

_Noreturn static void run_intermediate(const struct cspawn_join *join, int sync_fd, int report_fd) {
    cs_reset_signal_handlers();  /* every signal stays blocked: only the command reacts to them */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    char go = 0;
    ssize_t got;
    do {
        got = read(sync_fd, &go, 1);
    } while (got < 0 && errno == EINTR);
    if (got != 1) _exit(0);
    close(sync_fd);

    /* All namespaces of the init at once; the pidfd pins that very process. */
    if (setns(join->pidfd, (int)join->namespaces) != 0) cs_fail(report_fd, -1, "setns", NULL, errno);
    if (join->become_root && cs_set_ids_root() != 0) cs_fail(report_fd, -1, "become root in the user namespace", NULL, errno);
    close(join->pidfd);

    /* The PID namespace applies to children only: the command is our child, in the WPAR. It shares
     * our memory until it has exec'd, while we wait (CLONE_VFORK, as posix_spawn does): copying
     * the page tables of what was the caller's memory costs more than the rest of the fork. It
     * stays non-dumpable meanwhile: dumpability belongs to the memory, which we made so. */
    struct command_start start = { join, report_fd };
    long command = clone(command_main, command_stack + sizeof command_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &start);
    if (command < 0) cs_fail(report_fd, -1, "fork into the WPAR", NULL, errno);
    close(report_fd);
    cs_close_range(3, ~0U);

    int status = 0;
    while (waitpid((pid_t)command, &status, 0) < 0) {
        if (errno != EINTR) _exit(127);
    }
    mirror(status);
}

int cspawn_join_start(const struct cspawn_join *join, struct cspawn_child *child, struct cspawn_failure *failure) {
    int sync[2], report[2];
    if (cs_open_child_pipes(child, failure, sync, report) != 0) return -1;
    sigset_t all, old_mask;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old_mask);
    long pid = cs_clone(0, join->cgroup_fd);
    if (pid == 0) {
        close(sync[1]);
        close(report[0]);
        run_intermediate(join, sync[0], report[1]);
    }
    int clone_error = errno;
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    return cs_adopt_child(pid, clone_error, child, failure, sync, report);
}
