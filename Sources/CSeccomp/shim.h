/* libseccomp's interface (Debian's libseccomp-dev). The library itself is linked statically by the
 * targets that use it (Package.swift), so no binary needs libseccomp.so at run time. */
#define _GNU_SOURCE
#include <seccomp.h>
#include <sys/mman.h>

/* A close-on-exec memory file to export a filter into (libseccomp 2.5 exports only to a descriptor;
 * Glibc's Swift module hides memfd_create behind _GNU_SOURCE). */
static inline int partctl_seccomp_memfd(void) {
    return memfd_create("partctl-seccomp", MFD_CLOEXEC);
}
