/*
 * The last steps before execve, shared by a WPAR's init and by a process joining a WPAR: a new
 * session, stdio, the session keyring, no descriptor but 0-2 left open, capabilities cut down to the
 * kept set (bounding set first), no_new_privs, the working directory, the seccomp filter, and
 * execve with exactly the environment given.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cspawn_internal.h"

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

static const char default_path[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

static void install_stdio(const struct cspawn_exec *exec, int report_fd) {
    int moved[3] = { -1, -1, -1 };
    /* First above everything, so that a source that is itself 0, 1 or 2 is not overwritten early. */
    for (int i = 0; i < 3; i++) {
        if (exec->stdio[i] < 0) continue;
        moved[i] = fcntl(exec->stdio[i], F_DUPFD_CLOEXEC, 3);
        if (moved[i] < 0) cs_fail(report_fd, -1, "set up stdio", NULL, errno);
    }
    for (int i = 0; i < 3; i++) {
        if (moved[i] < 0) continue;
        if (dup2(moved[i], i) < 0) cs_fail(report_fd, -1, "set up stdio", NULL, errno);
    }
}

static void drop_capabilities(const struct cspawn_exec *exec, int report_fd) {
    for (int cap = 0; cap <= exec->last_capability && cap < 64; cap++) {
        if (exec->keep_capabilities & (1ULL << cap)) continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
            cs_fail(report_fd, -1, "drop the capability bounding set", NULL, errno);
        }
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
        cs_fail(report_fd, -1, "clear ambient capabilities", NULL, errno);
    }
    uint64_t keep = exec->keep_capabilities;
    if (exec->set_user) {
        /* Still with CAP_SETUID and CAP_SETGID. Leaving uid 0 clears the permitted and effective
         * sets (no SECBIT_KEEP_CAPS), so a non-root User keeps none, only the bounding set. */
        if (cs_set_ids(exec->uid, exec->gid, exec->groups, exec->group_count) != 0) {
            cs_fail(report_fd, -1, "change to the WPAR's user", NULL, errno);
        }
        if (exec->uid != 0) keep = 0;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) cs_fail(report_fd, -1, "set no_new_privs", NULL, errno);
    /* Effective and permitted only; inheritable and ambient stay empty (as runc), so a process that
     * changes to a non-root uid inside ends with no capabilities at all. */
    if (cs_capset(keep) != 0) cs_fail(report_fd, -1, "set capabilities", NULL, errno);
}

static const char *find_variable(const char *const *envp, const char *name, size_t length) {
    if (envp == NULL) return NULL;
    for (size_t i = 0; envp[i] != NULL; i++) {
        const char *entry = envp[i];
        size_t j = 0;
        while (j < length && entry[j] == name[j]) j++;
        if (j == length && entry[j] == '=') return entry + length + 1;
    }
    return NULL;
}

/* execve, searching the environment's PATH (inside the WPAR) for a name without a slash. */
_Noreturn static void exec_program(const struct cspawn_exec *exec, int report_fd) {
    const char *program = exec->argv[0];
    char *const *argv = (char *const *)exec->argv;
    char *const *envp = (char *const *)exec->envp;
    int has_slash = 0;
    for (const char *p = program; *p != '\0'; p++) has_slash |= *p == '/';
    if (has_slash) {
        execve(program, argv, envp);
        cs_fail(report_fd, -1, "execve", program, errno);
    }
    const char *search = find_variable(exec->envp, "PATH", 4);
    if (search == NULL) search = default_path;
    int saved = ENOENT;
    char candidate[4096];
    while (*search != '\0') {
        size_t length = 0;
        while (search[length] != '\0' && search[length] != ':') length++;
        size_t name_length = 0;
        while (program[name_length] != '\0') name_length++;
        if (length + name_length + 2 <= sizeof candidate) {
            size_t at = 0;
            for (size_t i = 0; i < length; i++) candidate[at++] = search[i];
            if (at == 0) candidate[at++] = '.';
            candidate[at++] = '/';
            for (size_t i = 0; i <= name_length; i++) candidate[at++] = program[i];
            execve(candidate, argv, envp);
            if (errno == EACCES) saved = EACCES;
            else if (errno != ENOENT && errno != ENOTDIR) cs_fail(report_fd, -1, "execve", candidate, errno);
        }
        search += length;
        if (*search == ':') search++;
    }
    cs_fail(report_fd, -1, "execve", program, saved);
}

int cs_open_host_program(const struct cspawn_exec *exec, int report_fd) {
    if (exec->host_program == NULL) return -1;
    const char *path = exec->host_program;
    int fd = cs_open_host_path(path, &exec->host_program_identity);
    if (fd < 0) cs_fail(report_fd, -1, "open the minimal init", path, errno);
    struct stat status;
    if (fstat(fd, &status) != 0) cs_fail(report_fd, -1, "open the minimal init", path, errno);
    if (!S_ISREG(status.st_mode)) cs_fail(report_fd, -1, "open the minimal init", path, EACCES);
    /* A detached read-only bind of that file: what /proc/1/exe then leads to cannot be written. */
    int tree = cs_open_tree(fd, "", CS_OPEN_TREE_CLONE | O_CLOEXEC | AT_EMPTY_PATH);
    if (tree < 0) cs_fail(report_fd, -1, "open the minimal init", path, errno);
    close(fd);
    if (cs_mount_setattr(tree, "", AT_EMPTY_PATH, CSPAWN_ATTR_RDONLY | CSPAWN_ATTR_NOSUID | CSPAWN_ATTR_NODEV) != 0) {
        cs_fail(report_fd, -1, "make the minimal init read-only", path, errno);
    }
    return tree;
}

/* Closes every descriptor above 2 but the report pipe and the program (both close-on-exec). */
static int close_all_but(int report_fd, int program_fd) {
    int keep_low = report_fd, keep_high = program_fd;
    if (program_fd < 0) keep_high = report_fd;
    if (keep_high < keep_low) { int swap = keep_low; keep_low = keep_high; keep_high = swap; }
    if (keep_low > 3 && cs_close_range(3, (unsigned int)keep_low - 1) != 0) return -1;
    if (keep_high > keep_low + 1 && cs_close_range((unsigned int)keep_low + 1, (unsigned int)keep_high - 1) != 0) return -1;
    return cs_close_range((unsigned int)keep_high + 1, ~0U);
}

_Noreturn void cs_finish_exec(const struct cspawn_exec *exec, int program_fd, int report_fd) {
    if (setsid() < 0) cs_fail(report_fd, -1, "setsid", NULL, errno);
    install_stdio(exec, report_fd);
    if (exec->controlling_tty && ioctl(0, TIOCSCTTY, 0) != 0) {
        cs_fail(report_fd, -1, "set the controlling terminal", NULL, errno);
    }
    umask(022);
    if (exec->keyring != NULL && cs_keyctl_join(exec->keyring) < 0 && errno != ENOSYS) {
        cs_fail(report_fd, -1, "join a session keyring", exec->keyring, errno);
    }
    if (exec->nofile_limit > 0) {
        struct rlimit limit = { exec->nofile_limit, exec->nofile_limit };
        if (setrlimit(RLIMIT_NOFILE, &limit) != 0) cs_fail(report_fd, -1, "limit open files", NULL, errno);
    }
    /* Only 0-2, the report pipe and the init's program (both close-on-exec) survive: no host
     * descriptor reaches the WPAR, and no directory is open when chdir runs (CVE-2024-21626). */
    if (close_all_but(report_fd, program_fd) != 0) cs_fail(report_fd, -1, "close inherited descriptors", NULL, errno);
    drop_capabilities(exec, report_fd);
    if (chdir(exec->workdir) != 0) cs_fail(report_fd, -1, "chdir", exec->workdir, errno);
    cs_unblock_signals();
    /* Last: nothing but execve runs under the filter, which may deny what the steps above use. */
    cs_install_seccomp(exec, report_fd);
    if (program_fd >= 0) {
        cs_execveat(program_fd, exec->argv, exec->envp);
        cs_fail(report_fd, -1, "execute the minimal init", exec->host_program, errno);
    }
    exec_program(exec, report_fd);
}
