#ifndef PARTCTL_CSPAWN_PLAN_H
#define PARTCTL_CSPAWN_PLAN_H
/*
 * The setup plan the child executes between clone and execve.
 *
 * Swift builds and validates the plan (WorkloadEngine/SpawnPlan.swift); the child only walks it in
 * order. Every string and array belongs to the caller and must stay valid until cspawn_start (and,
 * for the exec part, cspawn_join_start) returns; the child reads its own copy of them after clone.
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#pragma clang assume_nonnull begin

/* What one setup operation does. Targets are paths inside the new root. */
enum cspawn_op_kind {
    /* A host directory tree (source), cloned recursively, becomes the new root. */
    CSPAWN_OP_ROOT_TREE = 1,
    /* A new file system (fstype + options, e.g. overlay) becomes the new root. */
    CSPAWN_OP_ROOT_FS = 2,
    /* A host path (source) is bind-mounted on target. */
    CSPAWN_OP_BIND = 3,
    /* A new file system (fstype + options) is mounted on target. */
    CSPAWN_OP_FS = 4,
    /* A symbolic link is made at target pointing to source (the link text). */
    CSPAWN_OP_SYMLINK = 5,
    /* target is hidden: a file gets the host's /dev/null bound over it, a directory a read-only
     * empty tmpfs. A missing target is skipped. */
    CSPAWN_OP_MASK = 6,
    /* target is bound over itself with attrs (read-only). A missing target is skipped. */
    CSPAWN_OP_READONLY = 7,
    /* The mount on target gets attrs set (e.g. /dev made read-only once populated). */
    CSPAWN_OP_SET_ATTRS = 8,
    /* Passed mounts (see cspawn_plan.passed_count): the host's parent opened them and sent them with
     * the release, idmapped to the child's user namespace where the file system allows. */
    /* Passed mount `passed` is attached at `target`, a name on a scratch tmpfs mounted on the stage
     * (the first LAYER mounts it): where overlay layers hang while the overlay root is made. */
    CSPAWN_OP_LAYER = 9,
    /* Passed mount `passed` is attached on target (created when missing). */
    CSPAWN_OP_BIND_PASSED = 10,
    /* Passed mount `passed` becomes the new root: a host tree the parent opened (and idmapped) for
     * a child whose user namespace cannot reach it itself. */
    CSPAWN_OP_ROOT_PASSED = 11,
};

enum cspawn_op_flags {
    /* Bind or set attributes on the whole tree below the source, not only its top mount. */
    CSPAWN_FLAG_RECURSIVE = 1 << 0,
    /* Create a missing target (and its missing parents, as directories): a directory, or an empty
     * file when a bind's source is not a directory. */
    CSPAWN_FLAG_CREATE = 1 << 1,
    /* The source must be a character device (device nodes bound into /dev). */
    CSPAWN_FLAG_CHAR_DEVICE = 1 << 2,
    /* A missing source is skipped instead of failing. */
    CSPAWN_FLAG_OPTIONAL = 1 << 3,
};

/* Namespaces, the kernel's CLONE_NEW* values (visible to Swift without _GNU_SOURCE). */
enum cspawn_namespace {
    CSPAWN_NS_MOUNT = 0x00020000,
    CSPAWN_NS_CGROUP = 0x02000000,
    CSPAWN_NS_UTS = 0x04000000,
    CSPAWN_NS_IPC = 0x08000000,
    CSPAWN_NS_USER = 0x10000000,
    CSPAWN_NS_PID = 0x20000000,
    CSPAWN_NS_NET = 0x40000000,
};

/* Mount attributes, the kernel's MOUNT_ATTR_* values (fsmount, mount_setattr). */
enum cspawn_mount_attr {
    CSPAWN_ATTR_RDONLY = 0x01,
    CSPAWN_ATTR_NOSUID = 0x02,
    CSPAWN_ATTR_NODEV = 0x04,
    CSPAWN_ATTR_NOEXEC = 0x08,
    CSPAWN_ATTR_NOATIME = 0x10,
    CSPAWN_ATTR_STRICTATIME = 0x20,
};

/* The identity (st_dev, st_ino) of a host object as the parent checked it; both 0: not pinned. */
struct cspawn_identity {
    uint64_t dev;
    uint64_t ino;
};

enum cspawn_fs_option_flags {
    /* value is a host directory (an overlay layer): the child opens it before anything moves,
     * without following any symlink, checks its identity and hands the kernel that very
     * directory (by descriptor), never the path text. Consecutive "lowerdir" options are the
     * lower layers, top first. */
    CSPAWN_FS_OPTION_HOST_DIRECTORY = 1 << 0,
};

/* One fsconfig parameter of a new file system: key=value, or a flag when value is NULL. */
struct cspawn_fs_option {
    const char *key;
    const char *_Nullable value;
    uint32_t flags;  /* enum cspawn_fs_option_flags */
    struct cspawn_identity identity;
};

struct cspawn_op {
    uint32_t kind;   /* enum cspawn_op_kind */
    uint32_t flags;  /* enum cspawn_op_flags */
    uint64_t attrs;  /* enum cspawn_mount_attr */
    /* Host path to bind (or the link text of a symlink). Host paths are opened before the new
     * root is attached, without following any symlink, and checked against source_identity. */
    const char *_Nullable source;
    /* Path inside the new root; absolute. Never followed through a symlink. */
    const char *_Nullable target;
    /* File system type for ROOT_FS and FS ("tmpfs", "proc", "overlay", ...). */
    const char *_Nullable fstype;
    const struct cspawn_fs_option *_Nullable options;
    size_t option_count;
    /* Short name of the step for error reports, e.g. "mount /proc". */
    const char *name;
    /* What the parent checked the host source (ROOT_TREE, BIND) to be. */
    struct cspawn_identity source_identity;
    /* For LAYER and BIND_PASSED: index of the passed mount. */
    int32_t passed;
};

/* One classic BPF instruction, laid out as the kernel's struct sock_filter (linux/filter.h). */
struct cspawn_seccomp_insn {
    uint16_t code;
    uint8_t jt;
    uint8_t jf;
    uint32_t k;
};

/* At most this many mounts are passed with a release. */
enum { CSPAWN_MAX_PASSED = 64 };

/* Everything about the process itself, shared by a new WPAR's init and a process joining one. */
struct cspawn_exec {
    const char *_Nullable const *_Nonnull argv;   /* NULL-terminated; argv[0] is the program */
    const char *_Nullable const *_Nonnull envp;   /* NULL-terminated; the only environment it gets */
    const char *workdir;                 /* absolute, inside the WPAR */
    /* Descriptors (in the caller) that become 0, 1 and 2; -1 leaves that one as inherited. */
    int stdio[3];
    /* Make fd 0 (a terminal) the controlling terminal of the new session. */
    int controlling_tty;
    /* Capabilities kept: bit n is capability n. All others leave every set, bounding included. */
    uint64_t keep_capabilities;
    /* The highest capability number the kernel knows (/proc/sys/kernel/cap_last_cap). */
    int last_capability;
    /* Name of the fresh session keyring to join, or NULL to skip. */
    const char *_Nullable keyring;
    /* RLIMIT_NOFILE soft and hard limit; 0 keeps the inherited limit. */
    uint64_t nofile_limit;
    /* A finished seccomp filter program (struct sock_filter instructions, built before clone),
     * installed after no_new_privs just before execve; NULL installs none (unconfined). */
    const struct cspawn_seccomp_insn *_Nullable seccomp_program;
    uint32_t seccomp_length;  /* instructions in seccomp_program */
    uint32_t seccomp_flags;   /* SECCOMP_FILTER_FLAG_* for seccomp(SECCOMP_SET_MODE_FILTER) */
    /* A host executable run instead of argv[0] (the minimal init), or NULL. Opened by the child
     * before the root moves, without following a symlink, checked against its identity, cloned
     * onto a detached read-only mount and executed by descriptor (execveat, AT_EMPTY_PATH); the
     * descriptor is close-on-exec, so the workload never holds it. Only for a new WPAR's init. */
    const char *_Nullable host_program;
    struct cspawn_identity host_program_identity;
    /* set_user: become uid/gid with exactly these supplementary groups (an image's User) after the
     * bounding set is cut and before the capabilities are set; a uid other than 0 keeps no
     * capability in its effective and permitted sets. 0 stays root (or root of the user namespace). */
    int set_user;
    uint32_t uid;
    uint32_t gid;
    const uint32_t *_Nullable groups;
    size_t group_count;
};

struct cspawn_plan {
    /* CLONE_NEW* flags. CLONE_NEWCGROUP is unshared only after the parent has put the child in
     * its cgroups, so the namespace is rooted at the WPAR's own cgroup. */
    uint64_t namespaces;
    /* A cgroup2 directory (O_PATH or O_DIRECTORY fd) to clone into, or -1. Only for a child
     * started under a supervisor (see cspawn_start). */
    int cgroup_fd;
    /* Host directory where the new root is attached while it is assembled ("/tmp"); it is only
     * changed inside the child's private mount namespace. */
    const char *stage;
    const struct cspawn_op *ops;
    size_t op_count;
    const char *_Nullable hostname;
    /* Signal the child gets when the thread that cloned it dies (0: none). */
    int death_signal;
    /* With a user namespace: become uid/gid 0 inside once the parent has written the maps. */
    int become_root;
    struct cspawn_exec exec;
    /* How many mounts the parent passes with the release (cspawn_release_passing); 0: none. */
    size_t passed_count;
};

#pragma clang assume_nonnull end
#endif
