#ifndef PARTCTL_CSPAWN_JOIN_H
#define PARTCTL_CSPAWN_JOIN_H
/*
 * Running a command inside a running WPAR (login, exec).
 *
 * cspawn_join_start forks an intermediate process, which waits on the sync pipe (the caller puts
 * it in the WPAR's cgroups meanwhile), makes itself non-dumpable, joins every namespace of the
 * WPAR's init at once through its pidfd (setns with a pidfd: no PID can be reused in between), and
 * clones the command's process into the WPAR's PID namespace, sharing the intermediate's memory
 * until it execs while the intermediate waits (CLONE_VM | CLONE_VFORK, as posix_spawn: no second
 * copy of the caller's page tables). That process drops to the exec part
 * of the plan (session, keyring, descriptors, capabilities, no_new_privs, workdir) and calls execve
 * at once. It stays non-dumpable until execve replaces it, so nothing inside the WPAR can open its
 * /proc/PID/exe (the partctl binary: CVE-2019-5736) or ptrace it (CVE-2016-9962) in between.
 * The intermediate waits for the command and exits with its status (or dies by its signal), so
 * the caller's waitpid on `child->pid` gives the command's exit status.
 *
 * Release and abandon as in cspawn_start.h.
 */
#include <stdint.h>
#include <sys/types.h>
#include "cspawn_plan.h"
#include "cspawn_failure.h"
#include "cspawn_start.h"

#pragma clang assume_nonnull begin

struct cspawn_join {
    int pidfd;            /* pidfd of the WPAR's init */
    uint64_t namespaces;  /* CLONE_NEW* of the namespaces to join */
    int cgroup_fd;        /* cgroup2 directory to clone into, or -1 */
    int become_root;      /* with a user namespace: become uid/gid 0 inside */
    /* -1, or a unix socket: the command then runs on a new pseudo-terminal of the WPAR's own
     * devpts, which it opens itself once inside (its /dev/pts/ptmx, no symlink followed, checked
     * to be a devpts multiplexer); it sends the master over this socket (SCM_RIGHTS) before it
     * execs and takes the slave as stdio and controlling terminal (exec.stdio is then ignored). */
    int terminal_socket;
    unsigned short rows, columns;  /* the terminal's size; 0 leaves the default */
    struct cspawn_exec exec;
};

int cspawn_join_start(const struct cspawn_join *join, struct cspawn_child *child,
                      struct cspawn_failure *failure);

#pragma clang assume_nonnull end
#endif
