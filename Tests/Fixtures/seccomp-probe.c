/*
 * Probe of a WPAR's syscall filter, built static by the seccomp tests (cc -static) and run inside
 * a WPAR. `seccomp-probe default` checks that the default filter is installed (Seccomp: 2), that
 * each call it denies fails with EPERM (clone3: ENOSYS) and that ordinary calls still work;
 * `seccomp-probe unconfined` checks that no filter is installed. One line per check; the exit
 * status is the number of failed checks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;

static void report(const char *name, int ok, long result, int error) {
    if (ok) {
        printf("%s: ok\n", name);
    } else {
        printf("%s: FAIL (result %ld, errno %d %s)\n", name, result, error, strerror(error));
        failures++;
    }
}

/* A call that must be refused with `expected`. */
static void denied(const char *name, long result, int expected) {
    int error = errno;
    report(name, result == -1 && error == expected, result, error);
}

static void allowed(const char *name, long result) {
    int error = errno;
    report(name, result != -1, result, error);
}

static int seccomp_mode(void) {
    FILE *status = fopen("/proc/self/status", "r");
    if (status == NULL) return -1;
    char line[256];
    int mode = -1;
    while (fgets(line, sizeof line, status) != NULL) {
        if (strncmp(line, "Seccomp:", 8) == 0) mode = atoi(line + 8);
    }
    fclose(status);
    return mode;
}

/* A clone that would make a namespace: in the child (if the filter let it through) exit at once. */
static long clone_with(unsigned long flags) {
    long pid = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid((pid_t)pid, NULL, 0);
    return pid > 0 ? 0 : pid;
}

static long clone3_with(unsigned long flags) {
    uint64_t args[11] = { flags, 0, 0, 0, SIGCHLD, 0, 0, 0, 0, 0, 0 };
    long pid = syscall(435, args, 88);
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid((pid_t)pid, NULL, 0);
    return pid > 0 ? 0 : pid;
}

/* getpid through the i386 ABI (int 0x80, __NR_getpid 20): another architecture to the filter. */
static long i386_getpid(void) {
    long result;
    __asm__ volatile("int $0x80" : "=a"(result) : "a"(20L) : "memory");
    if (result < 0 && result > -4096) {
        errno = (int)-result;
        return -1;
    }
    return result;
}

static void *thread_main(void *argument) { return argument; }

int main(int argc, char **argv) {
    int expect_filter = argc < 2 || strcmp(argv[1], "unconfined") != 0;
    int mode = seccomp_mode();
    char what[64];
    snprintf(what, sizeof what, "Seccomp: %d", expect_filter ? 2 : 0);
    report(what, mode == (expect_filter ? 2 : 0), mode, 0);
    if (!expect_filter) return failures;

    /* Keyrings are not namespaced: the host's user and persistent keyrings. */
    denied("keyctl user keyring", syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -4 /* USER */, 0), EPERM);
    denied("keyctl persistent keyring", syscall(SYS_keyctl, 22 /* GET_PERSISTENT */, -1, -2 /* PROCESS */), EPERM);
    denied("add_key", syscall(SYS_add_key, "user", "ptest-seccomp", "x", 1, -3 /* SESSION */), EPERM);
    denied("request_key", syscall(SYS_request_key, "user", "ptest-seccomp", NULL, 0), EPERM);
    /* Namespaces. */
    denied("unshare(CLONE_NEWUSER)", unshare(CLONE_NEWUSER), EPERM);
    denied("unshare(CLONE_NEWNS)", unshare(CLONE_NEWNS), EPERM);
    denied("setns", setns(0, CLONE_NEWNET), EPERM);
    denied("clone(CLONE_NEWUSER)", clone_with(CLONE_NEWUSER), EPERM);
    denied("clone(CLONE_NEWNET)", clone_with(CLONE_NEWNET), EPERM);
    denied("clone3", clone3_with(CLONE_NEWUSER), ENOSYS);
    /* Kernel surfaces. */
    struct { uint32_t sq, cq, flags, sq_thread_cpu, sq_thread_idle, features, wq_fd, resv[3]; uint64_t off[10]; } uring;
    memset(&uring, 0, sizeof uring);
    denied("io_uring_setup", syscall(425, 1, &uring), EPERM);
    denied("userfaultfd(UFFD_USER_MODE_ONLY)", syscall(SYS_userfaultfd, 1 /* UFFD_USER_MODE_ONLY */ | O_CLOEXEC), EPERM);
    struct perf_event_attr perf;
    memset(&perf, 0, sizeof perf);
    perf.size = sizeof perf;
    perf.type = PERF_TYPE_SOFTWARE;
    perf.config = PERF_COUNT_SW_TASK_CLOCK;
    perf.exclude_kernel = 1;
    denied("perf_event_open", syscall(SYS_perf_event_open, &perf, 0, -1, -1, 0), EPERM);
    char bpf_attr[128];
    memset(bpf_attr, 0, sizeof bpf_attr);
    denied("bpf", syscall(SYS_bpf, 0 /* MAP_CREATE */, bpf_attr, sizeof bpf_attr), EPERM);
    struct { unsigned int bytes; int type; unsigned char data[128]; } handle = { 128, 0, { 0 } };
    int mount_id;
    denied("name_to_handle_at", syscall(SYS_name_to_handle_at, AT_FDCWD, "/", &handle, &mount_id, 0), EPERM);
    denied("open_by_handle_at", syscall(SYS_open_by_handle_at, AT_FDCWD, &handle, O_RDONLY), EPERM);
    denied("mount", syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, NULL), EPERM);
    denied("umount2", syscall(SYS_umount2, "/proc", 2 /* MNT_DETACH */), EPERM);
    denied("fsopen", syscall(430, "tmpfs", 0), EPERM);
    denied("open_tree", syscall(428, AT_FDCWD, "/", 0), EPERM);
    denied("pivot_root", syscall(SYS_pivot_root, "/", "/"), EPERM);
    denied("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0), EPERM);
    denied("init_module", syscall(SYS_init_module, NULL, 0, ""), EPERM);
    denied("finit_module", syscall(SYS_finit_module, -1, "", 0), EPERM);
    denied("delete_module", syscall(SYS_delete_module, "ptest", 0), EPERM);
    denied("acct", syscall(SYS_acct, NULL), EPERM);
    denied("swapoff", syscall(SYS_swapoff, "/ptest"), EPERM);
    denied("reboot", syscall(SYS_reboot, 0, 0, 0, NULL), EPERM);
    struct timex timex;
    memset(&timex, 0, sizeof timex);
    denied("adjtimex (read)", syscall(SYS_adjtimex, &timex), EPERM);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    denied("clock_settime", syscall(SYS_clock_settime, CLOCK_REALTIME, &now), EPERM);
    denied("settimeofday", syscall(SYS_settimeofday, NULL, NULL), EPERM);
    denied("lookup_dcookie", syscall(SYS_lookup_dcookie, 0, NULL, 0), EPERM);
    denied("nfsservctl", syscall(SYS_nfsservctl, 0, NULL, NULL), EPERM);
    denied("quotactl", syscall(SYS_quotactl, 0, NULL, 0, NULL), EPERM);
    denied("kcmp", syscall(SYS_kcmp, getpid(), getpid(), 0 /* KCMP_FILE */, 0, 0), EPERM);
    denied("set_mempolicy", syscall(SYS_set_mempolicy, 0, NULL, 0), EPERM);
    denied("syslog", syscall(SYS_syslog, 10 /* SIZE_BUFFER */, NULL, 0), EPERM);
    denied("personality(ADDR_NO_RANDOMIZE)", personality(ADDR_NO_RANDOMIZE), EPERM);
    denied("personality(READ_IMPLIES_EXEC)", personality(READ_IMPLIES_EXEC | 0x80000000u), EPERM);
    /* Other ABIs of this machine: x32 and i386. */
    denied("x32 getpid", syscall(0x40000000 | SYS_getpid), EPERM);
    denied("i386 getpid (int 0x80)", i386_getpid(), EPERM);

    /* Ordinary calls still work. */
    allowed("getpid", getpid());
    allowed("personality query", personality(0xffffffff));
    allowed("personality(PER_LINUX)", personality(PER_LINUX));
    allowed("personality(PER_LINUX32)", personality(PER_LINUX32));
    personality(PER_LINUX);
    struct utsname name;
    allowed("uname", uname(&name));
    int pipes[2];
    allowed("pipe", pipe(pipes));
    char directory[] = "/tmp/ptest-seccomp-XXXXXX";
    allowed("mkdtemp", mkdtemp(directory) != NULL ? 0 : -1);
    allowed("rmdir", rmdir(directory));
    void *memory = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    allowed("mmap", memory == MAP_FAILED ? -1 : 0);
    pid_t child = fork();
    if (child == 0) _exit(3);
    int status = 0;
    allowed("fork and wait", child > 0 && waitpid(child, &status, 0) == child && WEXITSTATUS(status) == 3 ? 0 : -1);
    /* glibc starts threads with clone3 and falls back to clone on ENOSYS. */
    pthread_t thread;
    int created = pthread_create(&thread, NULL, thread_main, NULL);
    allowed("pthread_create", created == 0 && pthread_join(thread, NULL) == 0 ? 0 : -1);
    allowed("ptrace-free getppid", getppid());
    return failures;
}
