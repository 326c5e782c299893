/*
 * Mounts the parent passes to the child with its release (the host's trees a user-namespaced WPAR
 * sees through idmapped mounts).
 *
 * Only a process privileged over the host's file systems may idmap a mount, and only while it is
 * detached; only the child may attach a mount in its own mount namespace. So the parent clones and
 * idmaps each tree once the child's user namespace has its maps, and sends the descriptors over the
 * sync socket (SCM_RIGHTS) with the release byte.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "cspawn_internal.h"

#define CS_MOUNT_ATTR_IDMAP 0x00100000ULL

int cspawn_open_passed_tree(const char *path, const struct cspawn_identity *identity, int recursive, int userns_fd, uint64_t attrs, int *idmapped,
                            struct cspawn_failure *failure) {
    memset(failure, 0, sizeof *failure);
    *idmapped = 0;
    /* No symlink at any component (the caller gives canonical host paths), and the object the
     * host-path rules checked: the same pin as the sources the child opens (cspawn_sources.c). */
    int directory = cs_open_host_path(path, identity);
    if (directory < 0) {
        cs_set_failure(failure, -1, "open a host tree to pass", path, errno);
        return -1;
    }
    unsigned int recursion = recursive ? CS_AT_RECURSIVE : 0;
    int tree = cs_open_tree(directory, "", CS_OPEN_TREE_CLONE | O_CLOEXEC | AT_EMPTY_PATH | recursion);
    int saved = errno;
    close(directory);
    if (tree < 0) {
        cs_set_failure(failure, -1, "clone a host tree to pass", path, saved);
        return -1;
    }
    if (userns_fd >= 0) {
        struct cs_mount_attr attr = {0};
        attr.attr_set = CS_MOUNT_ATTR_IDMAP;
        attr.userns_fd = (uint64_t)userns_fd;
        /* A file system that cannot be idmapped (tmpfs before Linux 6.3, proc, ...) is passed as it
         * is: its owners then show as the overflow ID inside. */
        if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | recursion, &attr, sizeof attr) == 0) *idmapped = 1;
    }
    if (attrs != 0 && cs_mount_setattr(tree, "", AT_EMPTY_PATH | recursion, attrs) != 0) {
        saved = errno;
        close(tree);
        cs_set_failure(failure, -1, "set the attributes of a host tree to pass", path, saved);
        return -1;
    }
    return tree;
}

long cs_send_release(int fd, const int *_Nullable fds, size_t count) {
    char go = 'g';
    struct iovec data = { &go, 1 };
    union {
        char buffer[CMSG_SPACE(sizeof(int) * CSPAWN_MAX_PASSED)];
        struct cmsghdr align;
    } control;
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    if (count > 0 && fds != NULL) {
        if (count > CSPAWN_MAX_PASSED) { errno = E2BIG; return -1; }
        memset(&control, 0, sizeof control);
        message.msg_control = control.buffer;
        message.msg_controllen = CMSG_SPACE(sizeof(int) * count);
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int) * count);
        memcpy(CMSG_DATA(header), fds, sizeof(int) * count);
    }
    long sent;
    do {
        sent = sendmsg(fd, &message, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    return sent;
}

long cs_receive_release(int fd, int *fds, size_t capacity, size_t *received) {
    char go;
    struct iovec data = { &go, 1 };
    union {
        char buffer[CMSG_SPACE(sizeof(int) * CSPAWN_MAX_PASSED)];
        struct cmsghdr align;
    } control;
    struct msghdr message;
    for (size_t i = 0; i < sizeof message; i++) ((char *)&message)[i] = 0;
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    message.msg_control = control.buffer;
    message.msg_controllen = sizeof control.buffer;
    *received = 0;
    long got;
    do {
        got = syscall(SYS_recvmsg, fd, &message, MSG_CMSG_CLOEXEC);
    } while (got < 0 && errno == EINTR);
    if (got != 1) return got;
    if (message.msg_flags & MSG_CTRUNC) return -1;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header != NULL; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
        size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        const unsigned char *bytes = CMSG_DATA(header);
        for (size_t i = 0; i < count; i++) {
            int passed;
            unsigned char *out = (unsigned char *)&passed;
            for (size_t b = 0; b < sizeof passed; b++) out[b] = bytes[i * sizeof passed + b];
            if (*received < capacity) fds[(*received)++] = passed;
            else cs_close_raw(passed);
        }
    }
    return got;
}

int cs_socketpair(int fds[2]) {
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return -1;
    return cs_move_above_stdio(fds);
}
