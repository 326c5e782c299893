#ifndef PARTCTL_CSPAWN_FAILURE_H
#define PARTCTL_CSPAWN_FAILURE_H
#include <stdint.h>

/* Why a spawn failed: the step (its index in the plan's ops, or -1 for a fixed step such as
 * pivot_root or execve), its name, the errno and the path it concerned. The child writes it through
 * a close-on-exec pipe; end-of-file on that pipe means execve succeeded. */
struct cspawn_failure {
    int32_t step_index;
    int32_t error;
    char step[64];
    char path[512];
};

#endif
