/*
 * Building the new root in the child's private mount namespace, then pivot_root into it.
 *
 * Every mount uses the new mount API: a detached mount (open_tree for binds, fsopen/fsmount for new
 * file systems) gets its attributes while detached and is then attached with move_mount onto a
 * target descriptor. Targets are opened with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS) relative
 * to the new root, so a symlink anywhere in a target path (planted by the WPAR in its own root, or
 * swapped in while setup runs) is refused instead of redirecting a mount onto the host
 * (CVE-2021-30465, CVE-2019-16884, CVE-2024-45310, CVE-2025-31133).
 *
 * Sources are the other way round: every host object is opened and cloned before the new root is
 * attached (cspawn_sources.c), so no host path is ever looked up once the WPAR's tree is in place.
 * Nothing here opens anything under /proc after the root switch (runc's CVE-2025-52881).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include "cspawn_internal.h"

#define RESOLVE_SAFELY (CS_RESOLVE_IN_ROOT | CS_RESOLVE_NO_SYMLINKS | CS_RESOLVE_NO_MAGICLINKS)

struct build {
    const struct cspawn_plan *plan;
    int report_fd;
    int devnull_fd;
    int root_fd;
    int index;             /* the op being run, for failure reports */
    const char *step;      /* its name */
    int *trees;            /* per op: its host source, opened and cloned before anything moved, or -1 */
    const int *passed;     /* mounts the parent passed (plan->passed_count of them) */
    int scratch_fd;        /* the tmpfs on the stage that LAYER ops hang layers on, or -1 */
};

_Noreturn static void fail(const struct build *build, const char *path, int error) {
    cs_fail(build->report_fd, build->index, build->step, path, error);
}

/* Opens `path` (inside the new root) as O_PATH without following any symlink; -1 with errno. */
static int open_target(const struct build *build, const char *path) {
    return cs_openat2(build->root_fd, path, O_PATH | O_CLOEXEC, RESOLVE_SAFELY);
}

/*
 * Creates the missing components of `path` inside the new root: directories, and for the last one
 * a directory or an empty file. Each component is created relative to a descriptor of its parent
 * that was itself opened without following symlinks, with calls that never follow one (mkdirat,
 * O_CREAT|O_EXCL).
 */
static void create_target(const struct build *build, const char *path, int as_file) {
    char prefix[PATH_MAX];
    char name[NAME_MAX + 1];
    size_t length = 0;
    int parent = build->root_fd;
    const char *cursor = path;

    while (*cursor == '/') cursor++;
    while (*cursor != '\0') {
        size_t name_length = 0;
        while (cursor[name_length] != '\0' && cursor[name_length] != '/') name_length++;
        if (name_length > NAME_MAX || length + name_length + 2 > sizeof prefix) fail(build, path, ENAMETOOLONG);
        for (size_t i = 0; i < name_length; i++) name[i] = cursor[i];
        name[name_length] = '\0';
        if (length > 0) prefix[length++] = '/';
        for (size_t i = 0; i < name_length; i++) prefix[length++] = name[i];
        prefix[length] = '\0';
        cursor += name_length;
        while (*cursor == '/') cursor++;
        int last = *cursor == '\0';

        int fd = open_target(build, prefix);
        if (fd < 0 && errno == ENOENT) {
            if (last && as_file) {
                int file = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (file < 0 && errno != EEXIST) fail(build, path, errno);
                if (file >= 0) close(file);
            } else if (mkdirat(parent, name, 0755) != 0 && errno != EEXIST) {
                fail(build, path, errno);
            }
            fd = open_target(build, prefix);
        }
        if (fd < 0) fail(build, path, errno);
        if (parent != build->root_fd) close(parent);
        parent = fd;
    }
    if (parent != build->root_fd) close(parent);
}

/* The target of the current op as an O_PATH descriptor; -1 when missing and `optional`. */
static int target_of(const struct build *build, const struct cspawn_op *op, int create_as_file, int optional) {
    int fd = open_target(build, op->target);
    if (fd < 0 && errno == ENOENT && (op->flags & CSPAWN_FLAG_CREATE)) {
        create_target(build, op->target, create_as_file);
        fd = open_target(build, op->target);
    }
    if (fd < 0 && errno == ENOENT && optional) return -1;
    if (fd < 0) fail(build, op->target, errno);
    return fd;
}

static void attach(const struct build *build, int mount_fd, int target_fd, const char *target) {
    if (cs_move_mount(mount_fd, "", target_fd, "", CS_MOVE_MOUNT_F_EMPTY_PATH | CS_MOVE_MOUNT_T_EMPTY_PATH) != 0) {
        fail(build, target, errno);
    }
}

static void set_attrs(const struct build *build, int mount_fd, uint64_t attrs, int recursive, const char *path) {
    if (attrs == 0) return;
    unsigned int flags = AT_EMPTY_PATH | (recursive ? CS_AT_RECURSIVE : 0);
    if (cs_mount_setattr(mount_fd, "", flags, attrs) != 0) fail(build, path, errno);
}

/* A detached mount of a new file system (no host paths: those only go with the root, prepared first). */
static int new_filesystem(const struct build *build, const char *fstype, const struct cspawn_fs_option *_Nullable options,
                          size_t option_count, uint64_t attrs, const char *path) {
    for (size_t i = 0; i < option_count; i++) {
        if (options[i].flags & CSPAWN_FS_OPTION_HOST_DIRECTORY) fail(build, options[i].key, EINVAL);
    }
    return cs_new_filesystem(build->report_fd, build->index, build->step, fstype, options, option_count, attrs, path);
}

/* Attaches the new root on the stage directory and keeps its descriptor as build->root_fd. */
static void attach_root(struct build *build, int mount_fd) {
    int stage = open(build->plan->stage, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (stage < 0) fail(build, build->plan->stage, errno);
    attach(build, mount_fd, stage, build->plan->stage);
    close(stage);
    build->root_fd = mount_fd;  /* the mount's root, now attached: every target resolves below it */
}

/* The root's detached mount, prepared from the host before anything moved. */
static void run_root(struct build *build, const struct cspawn_op *op) {
    int tree = build->trees[build->index];
    if (tree < 0 && op->kind == CSPAWN_OP_ROOT_FS) {
        /* Not prepared in advance: its layers are mounts the parent passed (see cs_prepare_sources). */
        tree = new_filesystem(build, op->fstype, op->options, op->option_count, op->attrs, op->fstype);
    }
    if (tree < 0) fail(build, op->source != NULL ? op->source : op->fstype, EINVAL);
    build->trees[build->index] = -1;
    if (op->kind == CSPAWN_OP_ROOT_TREE) set_attrs(build, tree, op->attrs, 1, op->source);
    attach_root(build, tree);
}

static void run_bind(const struct build *build, const struct cspawn_op *op) {
    int tree = build->trees[build->index];
    if (tree < 0 && (op->flags & CSPAWN_FLAG_OPTIONAL)) return;  /* a missing optional source */
    if (tree < 0) fail(build, op->source, EINVAL);
    build->trees[build->index] = -1;
    struct stat source;
    if (fstat(tree, &source) != 0) fail(build, op->source, errno);
    set_attrs(build, tree, op->attrs, op->flags & CSPAWN_FLAG_RECURSIVE, op->source);
    int target = target_of(build, op, !S_ISDIR(source.st_mode), 0);
    attach(build, tree, target, op->target);
    close(target);
    close(tree);
}

static void run_fs(const struct build *build, const struct cspawn_op *op) {
    int mount_fd = new_filesystem(build, op->fstype, op->options, op->option_count, op->attrs, op->target);
    int target = target_of(build, op, 0, 0);
    attach(build, mount_fd, target, op->target);
    close(target);
    close(mount_fd);
}

static void run_symlink(const struct build *build, const struct cspawn_op *op) {
    /* The link itself goes into a parent directory opened without following symlinks. */
    char parent[PATH_MAX];
    const char *base = op->target;
    size_t slash = 0;
    for (size_t i = 0; op->target[i] != '\0'; i++) {
        if (op->target[i] == '/') slash = i;
    }
    if (slash + 1 > sizeof parent) fail(build, op->target, ENAMETOOLONG);
    for (size_t i = 0; i < slash; i++) parent[i] = op->target[i];
    parent[slash] = '\0';
    base = op->target + slash + 1;
    int directory = slash == 0 ? open_target(build, "/") : open_target(build, parent);
    if (directory < 0) fail(build, op->target, errno);
    if (symlinkat(op->source, directory, base) != 0) fail(build, op->target, errno);
    close(directory);
}

/* Whether `path` is `tree` itself or lies below it. */
static int is_within(const char *path, const char *tree) {
    size_t i = 0;
    while (tree[i] != '\0' && path[i] == tree[i]) i++;
    return tree[i] == '\0' && (path[i] == '\0' || path[i] == '/');
}

/* A mask or read-only target under /proc or /sys must be on the procfs or sysfs this plan mounted
 * there, checked on the opened target (runc's lesson from CVE-2025-52881: a procfs path is checked
 * for what it opened, not for how it was reached). */
static void check_kernel_target(const struct build *build, int target, const char *path) {
    long expected = is_within(path, "/proc") ? 0x9fa0 /* PROC_SUPER_MAGIC */
                  : is_within(path, "/sys") ? 0x62656572 /* SYSFS_MAGIC */ : 0;
    if (expected == 0) return;
    struct statfs filesystem;
    if (fstatfs(target, &filesystem) != 0) fail(build, path, errno);
    if ((long)filesystem.f_type != expected) fail(build, path, EXDEV);
}

static void run_mask(const struct build *build, const struct cspawn_op *op) {
    int target = target_of(build, op, 0, 1);
    if (target < 0) return;
    check_kernel_target(build, target, op->target);
    struct stat status;
    if (fstat(target, &status) != 0) fail(build, op->target, errno);
    int mount_fd;
    if (S_ISDIR(status.st_mode)) {
        mount_fd = new_filesystem(build, "tmpfs", NULL, 0, CSPAWN_ATTR_RDONLY | CSPAWN_ATTR_NOSUID |
                                  CSPAWN_ATTR_NODEV | CSPAWN_ATTR_NOEXEC, op->target);
    } else {
        /* The host's /dev/null, checked to be the real one before clone: never a node from the root. */
        mount_fd = cs_open_tree(build->devnull_fd, "", CS_OPEN_TREE_CLONE | O_CLOEXEC | AT_EMPTY_PATH);
        if (mount_fd < 0) fail(build, "/dev/null", errno);
    }
    attach(build, mount_fd, target, op->target);
    close(mount_fd);
    close(target);
}

static void run_readonly(const struct build *build, const struct cspawn_op *op) {
    int target = target_of(build, op, 0, 1);
    if (target < 0) return;
    check_kernel_target(build, target, op->target);
    int tree = cs_open_tree(target, "", CS_OPEN_TREE_CLONE | O_CLOEXEC | AT_EMPTY_PATH | CS_AT_RECURSIVE);
    if (tree < 0) fail(build, op->target, errno);
    set_attrs(build, tree, op->attrs, 1, op->target);
    attach(build, tree, target, op->target);
    close(tree);
    close(target);
}

/* The passed mount an op names. */
static int passed_mount(const struct build *build, const struct cspawn_op *op) {
    if (op->passed < 0 || (size_t)op->passed >= build->plan->passed_count) fail(build, op->target, EINVAL);
    return build->passed[op->passed];
}

/* A layer hangs on a private tmpfs over the stage: the overlay, attached on the stage after it,
 * stacks on that tmpfs, and both go with the old root. The names are the plan's, never the WPAR's. */
static void run_layer(struct build *build, const struct cspawn_op *op) {
    if (build->scratch_fd < 0) {
        build->scratch_fd = new_filesystem(build, "tmpfs", NULL, 0, CSPAWN_ATTR_NOSUID | CSPAWN_ATTR_NODEV | CSPAWN_ATTR_NOEXEC,
                                           build->plan->stage);
        int stage = open(build->plan->stage, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (stage < 0) fail(build, build->plan->stage, errno);
        attach(build, build->scratch_fd, stage, build->plan->stage);
        close(stage);
    }
    if (mkdirat(build->scratch_fd, op->target, 0700) != 0) fail(build, op->target, errno);
    int directory = openat(build->scratch_fd, op->target, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (directory < 0) fail(build, op->target, errno);
    attach(build, passed_mount(build, op), directory, op->target);
    close(directory);
}

static void run_bind_passed(const struct build *build, const struct cspawn_op *op) {
    int tree = passed_mount(build, op);
    struct stat source;
    if (fstat(tree, &source) != 0) fail(build, op->target, errno);
    int target = target_of(build, op, !S_ISDIR(source.st_mode), 0);
    attach(build, tree, target, op->target);
    close(target);
}

static void run_set_attrs(const struct build *build, const struct cspawn_op *op) {
    int target = target_of(build, op, 0, 0);
    set_attrs(build, target, op->attrs, op->flags & CSPAWN_FLAG_RECURSIVE, op->target);
    close(target);
}

/* pivot_root(".", ".") stacks the old root on the new one; detaching it leaves no way back. */
static void pivot(struct build *build) {
    build->index = -1;
    build->step = "pivot_root";
    if (fchdir(build->root_fd) != 0) fail(build, build->plan->stage, errno);
    if (cs_pivot_root(".", ".") != 0) fail(build, build->plan->stage, errno);
    build->step = "detach the old root";
    if (umount2(".", MNT_DETACH) != 0) fail(build, "/", errno);
    if (chdir("/") != 0) fail(build, "/", errno);
    close(build->root_fd);
}

void cs_build_root(const struct cspawn_plan *plan, int devnull_fd, int report_fd, const int *passed_fds) {
    if (plan->op_count > CSPAWN_MAX_OPS) cs_fail(report_fd, -1, "check the plan", NULL, E2BIG);
    int trees[plan->op_count > 0 ? plan->op_count : 1];
    struct build build = { plan, report_fd, devnull_fd, -1, -1, "make mounts private", trees, passed_fds, -1 };
    /* Nothing done below may propagate back to the host's mount namespace. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) fail(&build, "/", errno);
    /* Every host object first, while every path still means what it means on the host. */
    cs_prepare_sources(plan, trees, report_fd);

    for (size_t i = 0; i < plan->op_count; i++) {
        const struct cspawn_op *op = &plan->ops[i];
        build.index = (int)i;
        build.step = op->name;
        if (build.root_fd < 0 && op->kind != CSPAWN_OP_ROOT_TREE && op->kind != CSPAWN_OP_ROOT_FS &&
            op->kind != CSPAWN_OP_LAYER && op->kind != CSPAWN_OP_ROOT_PASSED) {
            fail(&build, op->target, EINVAL);  /* the plan must start with its root */
        }
        switch (op->kind) {
        case CSPAWN_OP_ROOT_TREE: run_root(&build, op); break;
        case CSPAWN_OP_ROOT_FS: run_root(&build, op); break;
        case CSPAWN_OP_BIND: run_bind(&build, op); break;
        case CSPAWN_OP_FS: run_fs(&build, op); break;
        case CSPAWN_OP_SYMLINK: run_symlink(&build, op); break;
        case CSPAWN_OP_MASK: run_mask(&build, op); break;
        case CSPAWN_OP_READONLY: run_readonly(&build, op); break;
        case CSPAWN_OP_SET_ATTRS: run_set_attrs(&build, op); break;
        case CSPAWN_OP_LAYER: run_layer(&build, op); break;
        case CSPAWN_OP_BIND_PASSED: run_bind_passed(&build, op); break;
        case CSPAWN_OP_ROOT_PASSED: attach_root(&build, passed_mount(&build, op)); break;
        default: fail(&build, op->target, EINVAL);
        }
    }
    if (build.root_fd < 0) {
        build.step = "new root";
        fail(&build, plan->stage, EINVAL);
    }
    pivot(&build);
}
