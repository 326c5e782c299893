#ifndef PARTCTL_CLIBVIRT_SHIM_H
#define PARTCTL_CLIBVIRT_SHIM_H
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#endif
