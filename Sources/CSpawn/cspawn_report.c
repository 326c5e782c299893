/* Failure records, signal dispositions and pipes shared by the parent and child paths. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include "cspawn_internal.h"

void cs_copy_string(char *destination, size_t capacity, const char *source) {
    size_t i = 0;
    if (capacity == 0) return;
    if (source != NULL) {
        for (; i + 1 < capacity && source[i] != '\0'; i++) destination[i] = source[i];
    }
    destination[i] = '\0';
}

void cs_set_failure(struct cspawn_failure *failure, int step_index, const char *step, const char *path, int error) {
    failure->step_index = step_index;
    failure->error = error;
    cs_copy_string(failure->step, sizeof failure->step, step);
    cs_copy_string(failure->path, sizeof failure->path, path);
}

_Noreturn void cs_fail(int report_fd, int step_index, const char *step, const char *path, int error) {
    struct cspawn_failure failure;
    cs_set_failure(&failure, step_index, step, path, error);
    /* One write below PIPE_BUF is atomic; the parent reads exactly one record. */
    ssize_t written;
    do {
        written = write(report_fd, &failure, sizeof failure);
    } while (written < 0 && errno == EINTR);
    _exit(127);
}

void cs_reset_signal_handlers(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = SIG_DFL;
    for (int signal = 1; signal < NSIG; signal++) {
        if (signal == SIGKILL || signal == SIGSTOP) continue;
        sigaction(signal, &action, NULL);  /* fails harmlessly for the reserved real-time ones */
    }
}

void cs_unblock_signals(void) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

int cs_move_above_stdio(int fds[2]) {
    for (int i = 0; i < 2; i++) {
        if (fds[i] > 2) continue;
        int moved = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
        if (moved < 0) {
            int saved = errno;
            close(fds[0]);
            close(fds[1]);
            errno = saved;
            return -1;
        }
        close(fds[i]);
        fds[i] = moved;
    }
    return 0;
}

int cs_pipe(int fds[2]) {
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    return cs_move_above_stdio(fds);
}
