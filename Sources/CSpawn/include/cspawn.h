#ifndef PARTCTL_CSPAWN_H
#define PARTCTL_CSPAWN_H
/* The fork-to-exec child path of the WPAR engine (being written). */
#endif
