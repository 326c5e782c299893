#ifndef PARTCTL_CSPAWN_START_H
#define PARTCTL_CSPAWN_START_H
/*
 * Starting a WPAR's first process.
 *
 *   cspawn_start      clones the child with the plan's namespaces; it waits on a sync pipe.
 *   (caller)          puts the child in its cgroups, writes user namespace maps, sets up its network.
 *   cspawn_release    lets the child run the plan; returns once it has called execve (or failed).
 *   cspawn_abandon    instead of releasing: the child sees end-of-file and exits without running.
 *
 * Nothing in the child allocates or takes a lock; it only makes system calls.
 */
#include <sys/types.h>
#include "cspawn_plan.h"
#include "cspawn_failure.h"

#pragma clang assume_nonnull begin

/* A program that is to hold the new process as its parent (the supervisor). The caller's process
 * forks twice (the middle process starts a new session and exits, so the supervisor outlives the
 * caller and is nobody's zombie); the grandchild becomes child subreaper, clones the WPAR's init,
 * then execs `path`. `fds` are installed as descriptors 3, 4, ... of the supervisor; every other
 * descriptor is closed, and 0-2 are /dev/null. */
struct cspawn_supervisor {
    const char *path;
    const char *_Nullable const *_Nonnull argv;
    const char *_Nullable const *_Nonnull envp;
    const int *_Nullable fds;
    size_t fd_count;
    /* Index of the argv element that is replaced by the init's PID in decimal (the supervisor
     * learns which child it holds), or -1. */
    int pid_argument;
};

struct cspawn_child {
    pid_t pid;             /* the new process, as the caller's PID namespace sees it */
    pid_t supervisor_pid;  /* with a supervisor: its PID; otherwise 0 */
    int sync_fd;           /* write end: one byte lets the child go */
    int report_fd;         /* read end: a cspawn_failure, or end-of-file after execve */
    /* A child cloned without a supervisor shares the caller's memory until execve (CLONE_VM):
     * its own stack, unmapped once end-of-file on report_fd shows it has left that memory. The
     * caller is not dumpable while any such child is setting up. */
    void *_Nullable stack;
    size_t stack_size;
};

/* Clones the child (through a supervisor when `supervisor` is given). Returns 0, or -1 with
 * `failure` filled in.
 *
 * Without a supervisor the child is cloned with CLONE_VM, as posix_spawn does: copying the page
 * tables of a large caller costs more than the rest of the clone. It runs on its own stack, makes
 * only system calls, and touches no memory of the caller but the plan, which must stay unchanged
 * until cspawn_release or cspawn_abandon returns. `plan->cgroup_fd` must then be -1 (glibc's clone,
 * which runs a CLONE_VM child on a new stack, has no CLONE_INTO_CGROUP): the caller attaches the
 * child by PID while it waits. */
int cspawn_start(const struct cspawn_plan *plan, const struct cspawn_supervisor *_Nullable supervisor,
                 struct cspawn_child *child, struct cspawn_failure *failure);

/* Lets the child run its plan and waits until it has exec'd. Returns 0 when execve succeeded,
 * -1 with `failure` filled in when a step failed. Either way it returns only once the child has
 * exec'd or exited, and closes both descriptors. The caller reaps the child (unless a supervisor
 * is its parent). */
int cspawn_release(struct cspawn_child *child, struct cspawn_failure *failure);

/* cspawn_release, sending `fds` (detached mounts, see cspawn_open_passed_tree) along with the
 * release; the plan's passed_count must equal `count`. The caller still closes its copies. */
int cspawn_release_passing(struct cspawn_child *child, const int *_Nullable fds, size_t count,
                           struct cspawn_failure *failure);

/* The parent's side of a passed mount: `path` on the host, opened without following any symlink
 * and refused (ESTALE) unless it is still the object `identity` names (both 0: not checked),
 * cloned as a detached mount (with its submounts when `recursive`), idmapped to the user namespace
 * `userns_fd` (when >= 0 and the file system can be idmapped: *idmapped says whether it was), then
 * given `attrs` (MOUNT_ATTR_*). Returns the mount's descriptor, or -1 with `failure` filled in. */
int cspawn_open_passed_tree(const char *path, const struct cspawn_identity *identity, int recursive, int userns_fd, uint64_t attrs, int *idmapped,
                            struct cspawn_failure *failure);

/* Closes the sync descriptor without releasing: the child exits at once without running its plan.
 * Returns once it has (end-of-file on the report descriptor), then closes that too. */
void cspawn_abandon(struct cspawn_child *child);

/* The running kernel's highest capability number, or -1. */
int cspawn_last_capability(void);

#pragma clang assume_nonnull end
#endif
