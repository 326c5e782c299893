/*
 * The seccomp filter of a WPAR's processes. Swift compiles the program before clone (libseccomp,
 * WorkloadEngine/SeccompCompiler.swift); here it is only handed to the kernel. It goes in after
 * no_new_privs (which lets an unprivileged process install it and keeps it from being undone by a
 * setuid exec) and immediately before execve, so every step before runs unfiltered. No TSYNC: the
 * child has one thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "cspawn_internal.h"

_Static_assert(sizeof(struct cspawn_seccomp_insn) == sizeof(struct sock_filter), "sock_filter layout");

void cs_install_seccomp(const struct cspawn_exec *exec, int report_fd) {
    if (exec->seccomp_program == NULL) return;
    struct sock_fprog program = {
        .len = (unsigned short)exec->seccomp_length,
        .filter = (struct sock_filter *)exec->seccomp_program,
    };
    if (exec->seccomp_length == 0 || exec->seccomp_length > BPF_MAXINSNS) {
        cs_fail(report_fd, -1, "install the seccomp filter", NULL, EINVAL);
    }
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, exec->seccomp_flags, &program) != 0) {
        /* Kernels before 3.17 only have the prctl form, which takes no flags. */
        if (errno != ENOSYS || exec->seccomp_flags != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0) != 0) {
            cs_fail(report_fd, -1, "install the seccomp filter", NULL, errno);
        }
    }
}
