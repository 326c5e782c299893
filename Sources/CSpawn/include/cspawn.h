#ifndef PARTCTL_CSPAWN_H
#define PARTCTL_CSPAWN_H
/* The fork-to-exec child path of the WPAR engine: Swift builds and validates a setup plan, this
 * target only executes it in the child and reports errno plus the failing step (DESIGN §5). */
#include "cspawn_plan.h"
#include "cspawn_failure.h"
#include "cspawn_start.h"
#include "cspawn_join.h"
#endif
