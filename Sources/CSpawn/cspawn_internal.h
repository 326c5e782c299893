#ifndef PARTCTL_CSPAWN_INTERNAL_H
#define PARTCTL_CSPAWN_INTERNAL_H
/*
 * Shared by the C files of CSpawn; not part of the module's interface.
 *
 * After clone the child is a copy of a multithreaded process whose other threads are gone, so it
 * only makes system calls: no malloc, no stdio, no locks, and raw syscall() wherever the glibc
 * wrapper does more than the call (the set*id family broadcasts to threads that no longer exist,
 * raise() uses a cached thread id, fork() runs atfork handlers).
 */
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include "cspawn_plan.h"
#include "cspawn_failure.h"
#include "cspawn_start.h"

#pragma clang assume_nonnull begin

/* Kernel interfaces newer than some libc headers, under our own names so that no header clashes. */
#define CS_CLONE_INTO_CGROUP 0x200000000ULL
#define CS_AT_RECURSIVE 0x8000
#define CS_OPEN_TREE_CLONE 1
#define CS_MOVE_MOUNT_F_EMPTY_PATH 0x04
#define CS_MOVE_MOUNT_T_EMPTY_PATH 0x40
#define CS_FSOPEN_CLOEXEC 1
#define CS_FSCONFIG_SET_FLAG 0
#define CS_FSCONFIG_SET_STRING 1
#define CS_FSCONFIG_CMD_CREATE 6
#define CS_FSMOUNT_CLOEXEC 1
#define CS_RESOLVE_NO_MAGICLINKS 0x02
#define CS_RESOLVE_NO_SYMLINKS 0x04
#define CS_RESOLVE_IN_ROOT 0x10
#define CS_KEYCTL_JOIN_SESSION_KEYRING 1

struct cs_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
        set_tid_size, cgroup;
};

struct cs_mount_attr {
    uint64_t attr_set, attr_clr, propagation, userns_fd;
};

struct cs_open_how {
    uint64_t flags, mode, resolve;
};

/* Raw system calls (cspawn_syscalls.c). Each returns what the kernel returns, errno set. */
long cs_clone(uint64_t flags, int cgroup_fd);
long cs_fork(void);
int cs_open_tree(int dirfd, const char *path, unsigned int flags);
int cs_move_mount(int from_dirfd, const char *from_path, int to_dirfd, const char *to_path, unsigned int flags);
int cs_fsopen(const char *fstype, unsigned int flags);
int cs_fsconfig(int fd, unsigned int cmd, const char *_Nullable key, const char *_Nullable value, int aux);
int cs_fsmount(int fd, unsigned int flags, unsigned int attrs);
int cs_mount_setattr(int dirfd, const char *path, unsigned int flags, uint64_t attrs);
int cs_openat2(int dirfd, const char *path, uint64_t flags, uint64_t resolve);
int cs_pivot_root(const char *new_root, const char *put_old);
int cs_close_range(unsigned int first, unsigned int last);
int cs_set_ids_root(void);
/* setgroups, setresgid, setresuid as raw system calls (no glibc broadcast to other threads). */
int cs_set_ids(uint32_t uid, uint32_t gid, const uint32_t *_Nullable groups, size_t count);
long cs_keyctl_join(const char *name);
int cs_capset(uint64_t keep);
/* execveat(fd, "", argv, envp, AT_EMPTY_PATH): runs the file the descriptor holds. */
int cs_execveat(int fd, const char *_Nullable const *argv, const char *_Nullable const *envp);
/* For a child that may share the caller's memory before it is released: no glibc wrapper logic
 * (cancellation state lives in the caller's thread) and errno is written only on failure.
 * cs_read_byte returns 1 when a byte came, 0 at end-of-file, -1 on error; EINTR is retried. */
long cs_read_byte(int fd);
void cs_close_raw(int fd);
/* The release as a message on the sync socket, with passed mounts as SCM_RIGHTS (cspawn_passed.c).
 * cs_receive_release returns what recvmsg returned (1: released), the descriptors in `fds`. */
long cs_send_release(int fd, const int *_Nullable fds, size_t count);
long cs_receive_release(int fd, int *fds, size_t capacity, size_t *received);
/* socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC) with both ends above 2: the sync channel. */
int cs_socketpair(int fds[_Nonnull 2]);

/* Failure reporting from the child: fills a cspawn_failure, writes it to report_fd, _exit(127). */
_Noreturn void cs_fail(int report_fd, int step_index, const char *step, const char *_Nullable path, int error);
void cs_copy_string(char *destination, size_t capacity, const char *_Nullable source);
void cs_set_failure(struct cspawn_failure *failure, int step_index, const char *step,
                    const char *_Nullable path, int error);

/* Installs exec->seccomp_program, if any (cspawn_seccomp.c); fails through cs_fail. */
void cs_install_seccomp(const struct cspawn_exec *exec, int report_fd);

/* Signal dispositions back to default (the parent's handlers must not run in the child). */
void cs_reset_signal_handlers(void);
void cs_unblock_signals(void);

/* The most ops a plan may have (the child keeps one descriptor slot per op on its stack). */
#define CSPAWN_MAX_OPS 1024

/* Host objects, before anything moves (cspawn_sources.c). cs_open_host_path opens `path` O_PATH
 * without following a symlink at any component and, when `identity` is pinned, checks it is that
 * object (ESTALE if not); -1 with errno. cs_new_filesystem makes a detached mount of a new file
 * system, its host-directory options given to the kernel as the opened directories. cs_prepare_sources
 * fills trees[i] for each op i that takes a host object (ROOT_TREE, BIND, ROOT_FS) with its detached
 * mount, -1 otherwise. Failures go through cs_fail. */
int cs_open_host_path(const char *path, const struct cspawn_identity *identity);
int cs_new_filesystem(int report_fd, int index, const char *step, const char *fstype,
                      const struct cspawn_fs_option *_Nullable options, size_t count, uint64_t attrs, const char *path);
void cs_prepare_sources(const struct cspawn_plan *plan, int *trees, int report_fd);

/* Runs the plan's ops inside the child's mount namespace and pivots into the new root. */
void cs_build_root(const struct cspawn_plan *plan, int devnull_fd, int report_fd, const int *passed_fds);

/* The process part: session, stdio, keyring, descriptors, capabilities, no_new_privs, workdir,
 * execve. Never returns. */
_Noreturn void cs_finish_exec(const struct cspawn_exec *exec, int program_fd, int report_fd);
/* exec->host_program opened as cspawn_plan.h describes, while host paths are the host's; -1 when
 * there is none. Failures go through cs_fail. */
int cs_open_host_program(const struct cspawn_exec *exec, int report_fd);

/* The child of cspawn_start after clone. Never returns. */
_Noreturn void cs_child_main(const struct cspawn_plan *plan, int sync_fd, int report_fd);

/* pipe2(O_CLOEXEC) with both ends above 2, so they never collide with stdio. */
int cs_pipe(int fds[_Nonnull 2]);
/* Moves either end of a fresh descriptor pair that landed on 0-2 above them (close-on-exec);
 * closes both and returns -1 on failure. */
int cs_move_above_stdio(int fds[_Nonnull 2]);

/* The parent's side of starting a child: resets `child`, opens the sync and report pipes (0 or -1
 * with `failure` set), and after clone keeps the parent's ends in `child` or, when clone failed
 * (pid < 0), records the failure and closes everything (0 or -1). Shared by start and join. */
int cs_open_child_pipes(struct cspawn_child *child, struct cspawn_failure *failure, int sync[_Nonnull 2], int report[_Nonnull 2]);
int cs_adopt_child(long pid, int clone_error, struct cspawn_child *child, struct cspawn_failure *failure,
                   int sync[_Nonnull 2], int report[_Nonnull 2]);

#pragma clang assume_nonnull end
#endif
