#ifndef PARTCTL_CLIBVIRT_LOADER_H
#define PARTCTL_CLIBVIRT_LOADER_H
/* No API of its own: libvirt_lazy.c defines libvirt's functions (as declared in <libvirt/libvirt.h>)
 * and binds each to the real one in libvirt.so.0 on its first call. */
#endif
