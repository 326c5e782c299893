/* Raw system calls for the child path; see cspawn_internal.h for why they are raw. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "cspawn_internal.h"

#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_fsconfig
#define SYS_fsconfig 431
#endif
#ifndef SYS_fsmount
#define SYS_fsmount 432
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

long cs_clone(uint64_t flags, int cgroup_fd) {
    struct cs_clone_args args = {0};
    args.flags = flags;
    args.exit_signal = SIGCHLD;
    if (cgroup_fd >= 0) {
        args.flags |= CS_CLONE_INTO_CGROUP;
        args.cgroup = (uint64_t)cgroup_fd;
    }
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0 && errno == ENOSYS && cgroup_fd < 0) {
        /* Before Linux 5.3: clone with a NULL stack behaves like fork. */
        pid = syscall(SYS_clone, (unsigned long)flags | SIGCHLD, 0, 0, 0, 0);
    }
    return pid;
}

long cs_fork(void) {
    return syscall(SYS_clone, (unsigned long)SIGCHLD, 0, 0, 0, 0);
}

int cs_open_tree(int dirfd, const char *path, unsigned int flags) {
    return (int)syscall(SYS_open_tree, dirfd, path, flags);
}

int cs_move_mount(int from_dirfd, const char *from_path, int to_dirfd, const char *to_path, unsigned int flags) {
    return (int)syscall(SYS_move_mount, from_dirfd, from_path, to_dirfd, to_path, flags);
}

int cs_fsopen(const char *fstype, unsigned int flags) {
    return (int)syscall(SYS_fsopen, fstype, flags);
}

int cs_fsconfig(int fd, unsigned int cmd, const char *key, const char *value, int aux) {
    return (int)syscall(SYS_fsconfig, fd, cmd, key, value, aux);
}

int cs_fsmount(int fd, unsigned int flags, unsigned int attrs) {
    return (int)syscall(SYS_fsmount, fd, flags, attrs);
}

int cs_mount_setattr(int dirfd, const char *path, unsigned int flags, uint64_t attrs) {
    struct cs_mount_attr attr = {0};
    attr.attr_set = attrs;
    /* Setting an atime mode needs the whole atime field cleared first. */
    if (attrs & 0x70) attr.attr_clr = 0x70;
    return (int)syscall(SYS_mount_setattr, dirfd, path, flags, &attr, sizeof attr);
}

int cs_openat2(int dirfd, const char *path, uint64_t flags, uint64_t resolve) {
    struct cs_open_how how = {0};
    how.flags = flags;
    how.resolve = resolve;
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

int cs_pivot_root(const char *new_root, const char *put_old) {
    return (int)syscall(SYS_pivot_root, new_root, put_old);
}

int cs_close_range(unsigned int first, unsigned int last) {
    if (first > last) return 0;
    if (syscall(SYS_close_range, first, last, 0) == 0) return 0;
    if (errno != ENOSYS) return -1;
    /* Before Linux 5.9: close them one by one up to the descriptor limit. */
    struct rlimit limit;
    unsigned long end = 1UL << 16;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < end) end = limit.rlim_cur;
    for (unsigned long fd = first; fd <= last && fd < end; fd++) {
        close((int)fd);
    }
    return 0;
}

int cs_set_ids_root(void) {
    if (syscall(SYS_setresgid, 0, 0, 0) != 0) return -1;
    if (syscall(SYS_setgroups, 0, NULL) != 0 && errno != EPERM) return -1;
    return (int)syscall(SYS_setresuid, 0, 0, 0);
}

int cs_set_ids(uint32_t uid, uint32_t gid, const uint32_t *groups, size_t count) {
    if (syscall(SYS_setgroups, count, groups) != 0) return -1;
    if (syscall(SYS_setresgid, gid, gid, gid) != 0) return -1;
    return (int)syscall(SYS_setresuid, uid, uid, uid);
}

long cs_keyctl_join(const char *name) {
    return syscall(SYS_keyctl, CS_KEYCTL_JOIN_SESSION_KEYRING, name, 0, 0, 0);
}

int cs_capset(uint64_t keep) {
    struct { uint32_t version; int pid; } header = { 0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0 };
    struct { uint32_t effective, permitted, inheritable; } data[2];
    /* The inheritable set stays empty: nothing passes to a program across a uid change. */
    data[0].effective = data[0].permitted = (uint32_t)keep;
    data[1].effective = data[1].permitted = (uint32_t)(keep >> 32);
    data[0].inheritable = data[1].inheritable = 0;
    return (int)syscall(SYS_capset, &header, data);
}

long cs_read_byte(int fd) {
    char byte;
    long got;
    do {
        got = syscall(SYS_read, fd, &byte, 1);
    } while (got < 0 && errno == EINTR);
    return got;
}

void cs_close_raw(int fd) {
    syscall(SYS_close, fd);
}

int cs_execveat(int fd, const char *const *argv, const char *const *envp) {
    return (int)syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
}
