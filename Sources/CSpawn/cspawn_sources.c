/*
 * The host side of a new root: every host object the plan mounts (the root tree, bind sources,
 * shared paths, device nodes, the console, overlay layers) is opened here, in the child's fresh
 * private mount namespace, before the new root is attached or anything is mounted. A path looked
 * up after the root is attached is a path the WPAR controls (issue 8, finding 1).
 *
 * Each path is opened with openat2(RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS): a symlink at any
 * component is refused, whoever planted it. The object must be the one the parent checked against
 * the host-path rules (same st_dev and st_ino), and it is cloned into a detached mount right away,
 * so that what is attached later is that very object, whatever happens to its path meanwhile.
 * open_tree(OPEN_TREE_CLONE) only clones mounts of the caller's own namespace, which is why this
 * happens in the child rather than in the parent.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include "cspawn_internal.h"

#define CS_FSCONFIG_SET_FD 5
#define CS_PROC_SUPER_MAGIC 0x9fa0
#define CS_PROC_ROOT_INO 1

/* The most host directories one new file system may take (overlay layers). */
enum { MAX_LAYERS = 128 };

int cs_open_host_path(const char *path, const struct cspawn_identity *identity) {
    int fd = cs_openat2(AT_FDCWD, path, O_PATH | O_CLOEXEC, CS_RESOLVE_NO_SYMLINKS | CS_RESOLVE_NO_MAGICLINKS);
    if (fd < 0 || (identity->dev == 0 && identity->ino == 0)) return fd;
    struct stat status;
    if (fstat(fd, &status) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    if ((uint64_t)status.st_dev != identity->dev || (uint64_t)status.st_ino != identity->ino) {
        close(fd);
        errno = ESTALE;  /* replaced since the parent checked it */
        return -1;
    }
    return fd;
}

static int is_lower(const struct cspawn_fs_option *option) {
    const char *key = option->key;
    return (option->flags & CSPAWN_FS_OPTION_HOST_DIRECTORY) && key[0] == 'l' && key[1] == 'o' && key[2] == 'w' &&
           key[3] == 'e' && key[4] == 'r' && key[5] == 'd' && key[6] == 'i' && key[7] == 'r' && key[8] == '\0';
}

/* Appends "/proc/self/fd/N" to text at *at; -1 when it does not fit. */
static int append_fd_path(char *text, size_t capacity, size_t *at, int fd) {
    static const char prefix[] = "/proc/self/fd/";
    char digits[12];
    int count = 0;
    for (unsigned int rest = (unsigned int)fd; count == 0 || rest > 0; rest /= 10) digits[count++] = (char)('0' + rest % 10);
    if (*at + sizeof prefix + (size_t)count + 1 > capacity) return -1;
    for (size_t i = 0; prefix[i] != '\0'; i++) text[(*at)++] = prefix[i];
    while (count > 0) text[(*at)++] = digits[--count];
    text[*at] = '\0';
    return 0;
}

/* The host's /proc, before the root moves: checked to be the root of a procfs, since the kernel
 * is then given /proc/self/fd/N to find a layer. */
static int check_host_proc(void) {
    int fd = cs_openat2(AT_FDCWD, "/proc", O_PATH | O_DIRECTORY | O_CLOEXEC, CS_RESOLVE_NO_SYMLINKS | CS_RESOLVE_NO_MAGICLINKS);
    if (fd < 0) return -1;
    struct statfs filesystem;
    struct stat status;
    int ok = fstatfs(fd, &filesystem) == 0 && fstat(fd, &status) == 0 &&
             filesystem.f_type == CS_PROC_SUPER_MAGIC && status.st_ino == CS_PROC_ROOT_INO;
    close(fd);
    if (!ok) errno = EXDEV;
    return ok ? 0 : -1;
}

/*
 * Configures `fs` with the options; host directories go by descriptor (`by_descriptor`: fsconfig
 * SET_FD, "lowerdir+" for each lower layer, Linux 6.13 and later) or else as /proc/self/fd/N, a
 * magic link the kernel follows to exactly the opened directory (Debian bookworm's 6.1 has no
 * other way to give overlayfs a layer that cannot be swapped). Then creates the superblock.
 * 0, or -1 with errno and *failed naming the option.
 */
static int configure(int fs, const struct cspawn_fs_option *options, size_t count, const int *layers, int by_descriptor,
                     const char **failed) {
    char lowers[MAX_LAYERS * 28];
    for (size_t i = 0; i < count; i++) {
        const struct cspawn_fs_option *option = &options[i];
        *failed = option->key;
        int result;
        if (!(option->flags & CSPAWN_FS_OPTION_HOST_DIRECTORY)) {
            result = option->value != NULL
                ? cs_fsconfig(fs, CS_FSCONFIG_SET_STRING, option->key, option->value, 0)
                : cs_fsconfig(fs, CS_FSCONFIG_SET_FLAG, option->key, NULL, 0);
        } else if (by_descriptor) {
            result = cs_fsconfig(fs, CS_FSCONFIG_SET_FD, is_lower(option) ? "lowerdir+" : option->key, NULL, layers[i]);
        } else if (is_lower(option)) {
            /* All consecutive lower layers in one "lowerdir=a:b:c". */
            size_t at = 0;
            lowers[0] = '\0';
            for (; i < count && is_lower(&options[i]); i++) {
                if (at > 0) lowers[at++] = ':';
                if (append_fd_path(lowers, sizeof lowers, &at, layers[i]) != 0) {
                    errno = E2BIG;
                    return -1;
                }
            }
            i--;
            result = cs_fsconfig(fs, CS_FSCONFIG_SET_STRING, "lowerdir", lowers, 0);
        } else {
            char path[32];
            size_t at = 0;
            append_fd_path(path, sizeof path, &at, layers[i]);
            result = cs_fsconfig(fs, CS_FSCONFIG_SET_STRING, option->key, path, 0);
        }
        if (result != 0) return -1;
    }
    *failed = NULL;
    return cs_fsconfig(fs, CS_FSCONFIG_CMD_CREATE, NULL, NULL, 0);
}

int cs_new_filesystem(int report_fd, int index, const char *step, const char *fstype,
                      const struct cspawn_fs_option *options, size_t count, uint64_t attrs, const char *path) {
    int layers[MAX_LAYERS];
    size_t host_directories = 0;
    if (count > MAX_LAYERS) cs_fail(report_fd, index, step, path, E2BIG);
    for (size_t i = 0; i < count; i++) {
        layers[i] = -1;
        if (!(options[i].flags & CSPAWN_FS_OPTION_HOST_DIRECTORY)) continue;
        const char *layer = options[i].value != NULL ? options[i].value : "";
        layers[i] = cs_open_host_path(layer, &options[i].identity);
        struct stat status;
        if (layers[i] < 0 || fstat(layers[i], &status) != 0) cs_fail(report_fd, index, step, layer, errno);
        if (!S_ISDIR(status.st_mode)) cs_fail(report_fd, index, step, layer, ENOTDIR);
        host_directories++;
    }

    const char *failed = NULL;
    int fs = cs_fsopen(fstype, CS_FSOPEN_CLOEXEC);
    if (fs < 0) cs_fail(report_fd, index, step, path, errno);
    if (configure(fs, options, count, layers, host_directories > 0, &failed) != 0) {
        if (host_directories == 0) cs_fail(report_fd, index, step, failed != NULL ? failed : path, errno);
        /* A kernel without layers by descriptor: the same layers through /proc/self/fd. */
        close(fs);
        if (check_host_proc() != 0) cs_fail(report_fd, index, step, "/proc", errno);
        fs = cs_fsopen(fstype, CS_FSOPEN_CLOEXEC);
        if (fs < 0) cs_fail(report_fd, index, step, path, errno);
        if (configure(fs, options, count, layers, 0, &failed) != 0) {
            cs_fail(report_fd, index, step, failed != NULL ? failed : path, errno);
        }
    }
    int mount_fd = cs_fsmount(fs, CS_FSMOUNT_CLOEXEC, (unsigned int)attrs);
    if (mount_fd < 0) cs_fail(report_fd, index, step, path, errno);
    close(fs);
    for (size_t i = 0; i < count; i++) {
        if (layers[i] >= 0) close(layers[i]);
    }
    return mount_fd;
}

/* Whether any option of `op` names a host directory, opened here by descriptor. */
static int has_host_directory(const struct cspawn_op *op) {
    for (size_t i = 0; i < op->option_count; i++) {
        if (op->options[i].flags & CSPAWN_FS_OPTION_HOST_DIRECTORY) return 1;
    }
    return 0;
}

/* A detached clone of the host object `op->source`; -1 when it is missing and optional. */
static int clone_source(const struct cspawn_op *op, int index, int recursive, int report_fd) {
    const char *source = op->source != NULL ? op->source : "";
    int fd = cs_open_host_path(source, &op->source_identity);
    if (fd < 0 && errno == ENOENT && (op->flags & CSPAWN_FLAG_OPTIONAL)) return -1;
    if (fd < 0) cs_fail(report_fd, index, op->name, source, errno);
    struct stat status;
    if (fstat(fd, &status) != 0) cs_fail(report_fd, index, op->name, source, errno);
    if ((op->flags & CSPAWN_FLAG_CHAR_DEVICE) && !S_ISCHR(status.st_mode)) cs_fail(report_fd, index, op->name, source, ENODEV);
    if (op->kind == CSPAWN_OP_ROOT_TREE && !S_ISDIR(status.st_mode)) cs_fail(report_fd, index, op->name, source, ENOTDIR);
    int tree = cs_open_tree(fd, "", CS_OPEN_TREE_CLONE | O_CLOEXEC | AT_EMPTY_PATH | (recursive ? CS_AT_RECURSIVE : 0));
    if (tree < 0) cs_fail(report_fd, index, op->name, source, errno);
    close(fd);
    return tree;
}

void cs_prepare_sources(const struct cspawn_plan *plan, int *trees, int report_fd) {
    for (size_t i = 0; i < plan->op_count; i++) {
        const struct cspawn_op *op = &plan->ops[i];
        int index = (int)i;
        trees[i] = -1;
        switch (op->kind) {
        case CSPAWN_OP_ROOT_TREE:
            trees[i] = clone_source(op, index, 1, report_fd);
            break;
        case CSPAWN_OP_BIND:
            trees[i] = clone_source(op, index, (op->flags & CSPAWN_FLAG_RECURSIVE) != 0, report_fd);
            break;
        case CSPAWN_OP_ROOT_FS:
            /* A root made only of mounts the parent passed (LAYER ops, user namespaces) is made
             * when its step comes, once those layers hang on the stage. */
            if (!has_host_directory(op)) break;
            trees[i] = cs_new_filesystem(report_fd, index, op->name, op->fstype != NULL ? op->fstype : "", op->options,
                                         op->option_count, op->attrs, op->fstype != NULL ? op->fstype : "");
            break;
        default:
            break;
        }
    }
}
