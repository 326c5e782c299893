// libvirt is loaded on the first call into it, not when partctl starts.
//
// libvirt.so.0 brings 56 shared libraries (gnutls, glib, curl, krb5, ...); binding their ~18,000 symbols
// takes ~11 ms, which every partctl command paid, also those that never touch an LPAR (profiles, WPARs).
// Each libvirt function LibvirtKit calls is defined here with libvirt's own signature: it resolves the
// real function with dlsym on first use and forwards to it. A function missing from the list below is
// a link error ("undefined reference to virX"): add one line for it.
//
// The definitions are hidden: were they exported, libvirt's own calls to its public functions would
// bind to them (the executable comes first in the global scope) and loop.
#pragma GCC visibility push(hidden)
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#pragma GCC visibility pop

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void *libvirtHandle;
static pthread_once_t libvirtOnce = PTHREAD_ONCE_INIT;

static void libvirtOpen(void) {
    // RTLD_LOCAL: libvirt's symbols are reached through dlsym only, never through the global scope.
    libvirtHandle = dlopen("libvirt.so.0", RTLD_NOW | RTLD_LOCAL);
}

/// The address of libvirt's `name`; a host without libvirt ends the process with one line, as the
/// dynamic loader did before (but only for commands that need libvirt).
static void *libvirtSymbol(const char *name) {
    pthread_once(&libvirtOnce, libvirtOpen);
    void *symbol = libvirtHandle ? dlsym(libvirtHandle, name) : NULL;
    if (symbol == NULL) {
        const char *reason = dlerror();
        fprintf(stderr, "partctl: libvirt is needed for this command but cannot be loaded: %s\n",
                reason ? reason : name);
        exit(1);
    }
    return symbol;
}

// `resolved_name()` is the real function, looked up once; FUNCTION returns its result, PROCEDURE returns void.
#define LIBVIRT_RESOLVER(name)                                                           \
    static __typeof__(&name) resolved_##name(void) {                                     \
        static __typeof__(&name) resolved;                                               \
        __typeof__(&name) function = __atomic_load_n(&resolved, __ATOMIC_ACQUIRE);       \
        if (function == NULL) {                                                          \
            function = (__typeof__(&name))libvirtSymbol(#name);                          \
            __atomic_store_n(&resolved, function, __ATOMIC_RELEASE);                     \
        }                                                                                \
        return function;                                                                 \
    }
#define LIBVIRT_FUNCTION(ret, name, params, args) \
    LIBVIRT_RESOLVER(name) ret name params { return resolved_##name() args; }
#define LIBVIRT_PROCEDURE(name, params, args) \
    LIBVIRT_RESOLVER(name) void name params { resolved_##name() args; }

LIBVIRT_FUNCTION(int, virConnectClose, (virConnectPtr conn), (conn))
LIBVIRT_FUNCTION(int, virConnectGetAllDomainStats, (virConnectPtr conn, unsigned int stats, virDomainStatsRecordPtr **retStats, unsigned int flags), (conn, stats, retStats, flags))
LIBVIRT_FUNCTION(char *, virConnectGetCapabilities, (virConnectPtr conn), (conn))
LIBVIRT_FUNCTION(char *, virConnectGetDomainCapabilities, (virConnectPtr conn, const char *emulatorbin, const char *arch, const char *machine, const char *virttype, unsigned int flags), (conn, emulatorbin, arch, machine, virttype, flags))
LIBVIRT_FUNCTION(char *, virConnectGetHostname, (virConnectPtr conn), (conn))
LIBVIRT_FUNCTION(int, virConnectGetLibVersion, (virConnectPtr conn, unsigned long *libVer), (conn, libVer))
LIBVIRT_FUNCTION(int, virConnectGetMaxVcpus, (virConnectPtr conn, const char *type), (conn, type))
LIBVIRT_FUNCTION(char *, virConnectGetURI, (virConnectPtr conn), (conn))
LIBVIRT_FUNCTION(int, virConnectGetVersion, (virConnectPtr conn, unsigned long *hvVer), (conn, hvVer))
LIBVIRT_FUNCTION(int, virConnectIsAlive, (virConnectPtr conn), (conn))
LIBVIRT_FUNCTION(int, virConnectListAllDomains, (virConnectPtr conn, virDomainPtr **domains, unsigned int flags), (conn, domains, flags))
LIBVIRT_FUNCTION(virConnectPtr, virConnectOpen, (const char *name), (name))
LIBVIRT_FUNCTION(virConnectPtr, virConnectOpenReadOnly, (const char *name), (name))
LIBVIRT_FUNCTION(int, virConnectSetKeepAlive, (virConnectPtr conn, int interval, unsigned int count), (conn, interval, count))
LIBVIRT_FUNCTION(int, virDomainCreateWithFlags, (virDomainPtr domain, unsigned int flags), (domain, flags))
LIBVIRT_FUNCTION(virDomainPtr, virDomainDefineXMLFlags, (virConnectPtr conn, const char *xml, unsigned int flags), (conn, xml, flags))
LIBVIRT_FUNCTION(int, virDomainDestroy, (virDomainPtr domain), (domain))
LIBVIRT_FUNCTION(int, virDomainFree, (virDomainPtr domain), (domain))
LIBVIRT_FUNCTION(int, virDomainGetAutostart, (virDomainPtr domain, int *autostart), (domain, autostart))
LIBVIRT_FUNCTION(unsigned int, virDomainGetID, (virDomainPtr domain), (domain))
LIBVIRT_FUNCTION(int, virDomainGetInfo, (virDomainPtr domain, virDomainInfoPtr info), (domain, info))
LIBVIRT_FUNCTION(char *, virDomainGetMetadata, (virDomainPtr domain, int type, const char *uri, unsigned int flags), (domain, type, uri, flags))
LIBVIRT_FUNCTION(const char *, virDomainGetName, (virDomainPtr domain), (domain))
LIBVIRT_FUNCTION(int, virDomainGetSchedulerParameters, (virDomainPtr domain, virTypedParameterPtr params, int *nparams), (domain, params, nparams))
LIBVIRT_FUNCTION(int, virDomainGetSchedulerParametersFlags, (virDomainPtr domain, virTypedParameterPtr params, int *nparams, unsigned int flags), (domain, params, nparams, flags))
LIBVIRT_FUNCTION(char *, virDomainGetSchedulerType, (virDomainPtr domain, int *nparams), (domain, nparams))
LIBVIRT_FUNCTION(int, virDomainGetState, (virDomainPtr domain, int *state, int *reason, unsigned int flags), (domain, state, reason, flags))
LIBVIRT_FUNCTION(int, virDomainGetUUIDString, (virDomainPtr domain, char *buf), (domain, buf))
LIBVIRT_FUNCTION(int, virDomainGetVcpusFlags, (virDomainPtr domain, unsigned int flags), (domain, flags))
LIBVIRT_FUNCTION(char *, virDomainGetXMLDesc, (virDomainPtr domain, unsigned int flags), (domain, flags))
LIBVIRT_FUNCTION(int, virDomainInterfaceAddresses, (virDomainPtr dom, virDomainInterfacePtr **ifaces, unsigned int source, unsigned int flags), (dom, ifaces, source, flags))
LIBVIRT_PROCEDURE(virDomainInterfaceFree, (virDomainInterfacePtr iface), (iface))
LIBVIRT_FUNCTION(int, virDomainIsActive, (virDomainPtr dom), (dom))
LIBVIRT_FUNCTION(int, virDomainIsPersistent, (virDomainPtr dom), (dom))
LIBVIRT_FUNCTION(virDomainPtr, virDomainLookupByName, (virConnectPtr conn, const char *name), (conn, name))
LIBVIRT_FUNCTION(virDomainPtr, virDomainLookupByUUIDString, (virConnectPtr conn, const char *uuid), (conn, uuid))
LIBVIRT_FUNCTION(int, virDomainOpenChannel, (virDomainPtr dom, const char *name, virStreamPtr st, unsigned int flags), (dom, name, st, flags))
LIBVIRT_FUNCTION(int, virDomainOpenConsole, (virDomainPtr dom, const char *dev_name, virStreamPtr st, unsigned int flags), (dom, dev_name, st, flags))
LIBVIRT_FUNCTION(int, virDomainAttachDeviceFlags, (virDomainPtr domain, const char *xml, unsigned int flags), (domain, xml, flags))
LIBVIRT_FUNCTION(int, virDomainDetachDeviceFlags, (virDomainPtr domain, const char *xml, unsigned int flags), (domain, xml, flags))
LIBVIRT_FUNCTION(int, virDomainReboot, (virDomainPtr domain, unsigned int flags), (domain, flags))
LIBVIRT_FUNCTION(int, virDomainRef, (virDomainPtr domain), (domain))
LIBVIRT_FUNCTION(char *, virDomainScreenshot, (virDomainPtr domain, virStreamPtr stream, unsigned int screen, unsigned int flags), (domain, stream, screen, flags))
LIBVIRT_FUNCTION(int, virDomainResume, (virDomainPtr domain), (domain))
LIBVIRT_FUNCTION(int, virDomainSetAutostart, (virDomainPtr domain, int autostart), (domain, autostart))
LIBVIRT_FUNCTION(int, virDomainSetMemoryFlags, (virDomainPtr domain, unsigned long memory, unsigned int flags), (domain, memory, flags))
LIBVIRT_FUNCTION(int, virDomainSetMetadata, (virDomainPtr domain, int type, const char *metadata, const char *key, const char *uri, unsigned int flags), (domain, type, metadata, key, uri, flags))
LIBVIRT_FUNCTION(int, virDomainSetSchedulerParametersFlags, (virDomainPtr domain, virTypedParameterPtr params, int nparams, unsigned int flags), (domain, params, nparams, flags))
LIBVIRT_FUNCTION(int, virDomainSetVcpusFlags, (virDomainPtr domain, unsigned int nvcpus, unsigned int flags), (domain, nvcpus, flags))
LIBVIRT_FUNCTION(int, virDomainShutdownFlags, (virDomainPtr domain, unsigned int flags), (domain, flags))
LIBVIRT_PROCEDURE(virDomainStatsRecordListFree, (virDomainStatsRecordPtr *stats), (stats))
LIBVIRT_FUNCTION(int, virDomainSuspend, (virDomainPtr domain), (domain))
LIBVIRT_FUNCTION(int, virDomainUndefineFlags, (virDomainPtr domain, unsigned int flags), (domain, flags))
LIBVIRT_FUNCTION(int, virEventAddHandle, (int fd, int events, virEventHandleCallback cb, void *opaque, virFreeCallback ff), (fd, events, cb, opaque, ff))
LIBVIRT_FUNCTION(int, virEventAddTimeout, (int frequency, virEventTimeoutCallback cb, void *opaque, virFreeCallback ff), (frequency, cb, opaque, ff))
LIBVIRT_FUNCTION(int, virEventRegisterDefaultImpl, (void), ())
LIBVIRT_FUNCTION(int, virEventRemoveHandle, (int watch), (watch))
LIBVIRT_FUNCTION(int, virEventRemoveTimeout, (int timer), (timer))
LIBVIRT_FUNCTION(int, virEventRunDefaultImpl, (void), ())
LIBVIRT_PROCEDURE(virEventUpdateHandle, (int watch, int events), (watch, events))
LIBVIRT_FUNCTION(virErrorPtr, virGetLastError, (void), ())
LIBVIRT_FUNCTION(int, virInitialize, (void), ())
LIBVIRT_FUNCTION(int, virNetworkCreate, (virNetworkPtr network), (network))
LIBVIRT_FUNCTION(int, virConnectListAllNetworks, (virConnectPtr conn, virNetworkPtr **nets, unsigned int flags), (conn, nets, flags))
LIBVIRT_FUNCTION(const char *, virNetworkGetName, (virNetworkPtr network), (network))
LIBVIRT_FUNCTION(char *, virNetworkGetXMLDesc, (virNetworkPtr network, unsigned int flags), (network, flags))
LIBVIRT_FUNCTION(int, virNetworkFree, (virNetworkPtr network), (network))
LIBVIRT_FUNCTION(int, virNetworkGetAutostart, (virNetworkPtr network, int *autostart), (network, autostart))
LIBVIRT_FUNCTION(int, virNetworkIsActive, (virNetworkPtr net), (net))
LIBVIRT_FUNCTION(virNetworkPtr, virNetworkLookupByName, (virConnectPtr conn, const char *name), (conn, name))
LIBVIRT_FUNCTION(int, virNetworkSetAutostart, (virNetworkPtr network, int autostart), (network, autostart))
LIBVIRT_FUNCTION(unsigned long long, virNodeGetFreeMemory, (virConnectPtr conn), (conn))
LIBVIRT_FUNCTION(int, virNodeGetInfo, (virConnectPtr conn, virNodeInfoPtr info), (conn, info))
LIBVIRT_PROCEDURE(virResetLastError, (void), ())
LIBVIRT_PROCEDURE(virSetErrorFunc, (void *userData, virErrorFunc handler), (userData, handler))
LIBVIRT_FUNCTION(int, virStoragePoolBuild, (virStoragePoolPtr pool, unsigned int flags), (pool, flags))
LIBVIRT_FUNCTION(int, virStoragePoolCreate, (virStoragePoolPtr pool, unsigned int flags), (pool, flags))
LIBVIRT_FUNCTION(virStoragePoolPtr, virStoragePoolDefineXML, (virConnectPtr conn, const char *xmlDesc, unsigned int flags), (conn, xmlDesc, flags))
LIBVIRT_FUNCTION(int, virStoragePoolDestroy, (virStoragePoolPtr pool), (pool))
LIBVIRT_FUNCTION(int, virStoragePoolFree, (virStoragePoolPtr pool), (pool))
LIBVIRT_FUNCTION(int, virStoragePoolGetAutostart, (virStoragePoolPtr pool, int *autostart), (pool, autostart))
LIBVIRT_FUNCTION(const char *, virStoragePoolGetName, (virStoragePoolPtr pool), (pool))
LIBVIRT_FUNCTION(char *, virStoragePoolGetXMLDesc, (virStoragePoolPtr pool, unsigned int flags), (pool, flags))
LIBVIRT_FUNCTION(int, virStoragePoolIsActive, (virStoragePoolPtr pool), (pool))
LIBVIRT_FUNCTION(int, virStoragePoolListAllVolumes, (virStoragePoolPtr pool, virStorageVolPtr **vols, unsigned int flags), (pool, vols, flags))
LIBVIRT_FUNCTION(virStoragePoolPtr, virStoragePoolLookupByName, (virConnectPtr conn, const char *name), (conn, name))
LIBVIRT_FUNCTION(int, virStoragePoolRefresh, (virStoragePoolPtr pool, unsigned int flags), (pool, flags))
LIBVIRT_FUNCTION(int, virStoragePoolSetAutostart, (virStoragePoolPtr pool, int autostart), (pool, autostart))
LIBVIRT_FUNCTION(int, virStoragePoolUndefine, (virStoragePoolPtr pool), (pool))
LIBVIRT_FUNCTION(virStorageVolPtr, virStorageVolCreateXML, (virStoragePoolPtr pool, const char *xmlDesc, unsigned int flags), (pool, xmlDesc, flags))
LIBVIRT_FUNCTION(int, virStorageVolDelete, (virStorageVolPtr vol, unsigned int flags), (vol, flags))
LIBVIRT_FUNCTION(int, virStorageVolFree, (virStorageVolPtr vol), (vol))
LIBVIRT_FUNCTION(int, virStorageVolGetInfo, (virStorageVolPtr vol, virStorageVolInfoPtr info), (vol, info))
LIBVIRT_FUNCTION(const char *, virStorageVolGetName, (virStorageVolPtr vol), (vol))
LIBVIRT_FUNCTION(char *, virStorageVolGetPath, (virStorageVolPtr vol), (vol))
LIBVIRT_FUNCTION(char *, virStorageVolGetXMLDesc, (virStorageVolPtr vol, unsigned int flags), (vol, flags))
LIBVIRT_FUNCTION(virStorageVolPtr, virStorageVolLookupByName, (virStoragePoolPtr pool, const char *name), (pool, name))
LIBVIRT_FUNCTION(int, virStorageVolUpload, (virStorageVolPtr vol, virStreamPtr stream, unsigned long long offset, unsigned long long length, unsigned int flags), (vol, stream, offset, length, flags))
LIBVIRT_FUNCTION(int, virStreamAbort, (virStreamPtr st), (st))
LIBVIRT_FUNCTION(int, virStreamEventAddCallback, (virStreamPtr stream, int events, virStreamEventCallback cb, void *opaque, virFreeCallback ff), (stream, events, cb, opaque, ff))
LIBVIRT_FUNCTION(int, virStreamEventRemoveCallback, (virStreamPtr stream), (stream))
LIBVIRT_FUNCTION(int, virStreamEventUpdateCallback, (virStreamPtr stream, int events), (stream, events))
LIBVIRT_FUNCTION(int, virStreamFinish, (virStreamPtr st), (st))
LIBVIRT_FUNCTION(int, virStreamFree, (virStreamPtr st), (st))
LIBVIRT_FUNCTION(virStreamPtr, virStreamNew, (virConnectPtr conn, unsigned int flags), (conn, flags))
LIBVIRT_FUNCTION(int, virStreamRecv, (virStreamPtr st, char *data, size_t nbytes), (st, data, nbytes))
LIBVIRT_FUNCTION(int, virStreamSend, (virStreamPtr st, const char *data, size_t nbytes), (st, data, nbytes))
LIBVIRT_FUNCTION(int, virTypedParamsAddBoolean, (virTypedParameterPtr *params, int *nparams, int *maxparams, const char *name, int value), (params, nparams, maxparams, name, value))
LIBVIRT_FUNCTION(int, virTypedParamsAddDouble, (virTypedParameterPtr *params, int *nparams, int *maxparams, const char *name, double value), (params, nparams, maxparams, name, value))
LIBVIRT_FUNCTION(int, virTypedParamsAddInt, (virTypedParameterPtr *params, int *nparams, int *maxparams, const char *name, int value), (params, nparams, maxparams, name, value))
LIBVIRT_FUNCTION(int, virTypedParamsAddLLong, (virTypedParameterPtr *params, int *nparams, int *maxparams, const char *name, long long value), (params, nparams, maxparams, name, value))
LIBVIRT_FUNCTION(int, virTypedParamsAddString, (virTypedParameterPtr *params, int *nparams, int *maxparams, const char *name, const char *value), (params, nparams, maxparams, name, value))
LIBVIRT_FUNCTION(int, virTypedParamsAddUInt, (virTypedParameterPtr *params, int *nparams, int *maxparams, const char *name, unsigned int value), (params, nparams, maxparams, name, value))
LIBVIRT_FUNCTION(int, virTypedParamsAddULLong, (virTypedParameterPtr *params, int *nparams, int *maxparams, const char *name, unsigned long long value), (params, nparams, maxparams, name, value))
LIBVIRT_PROCEDURE(virTypedParamsClear, (virTypedParameterPtr params, int nparams), (params, nparams))
LIBVIRT_PROCEDURE(virTypedParamsFree, (virTypedParameterPtr params, int nparams), (params, nparams))
// Managed systems, relocation, snapshots and backups (issue 12).
LIBVIRT_FUNCTION(int, virConnectCompareCPU, (virConnectPtr conn, const char *xmlDesc, unsigned int flags), (conn, xmlDesc, flags))
LIBVIRT_FUNCTION(const char *, virConnectGetType, (virConnectPtr conn), (conn))
LIBVIRT_FUNCTION(int, virDomainAbortJob, (virDomainPtr dom), (dom))
LIBVIRT_FUNCTION(int, virDomainGetBlockInfo, (virDomainPtr dom, const char *disk, virDomainBlockInfoPtr info, unsigned int flags), (dom, disk, info, flags))
LIBVIRT_FUNCTION(int, virDomainGetJobInfo, (virDomainPtr dom, virDomainJobInfoPtr info), (dom, info))
LIBVIRT_FUNCTION(int, virDomainGetJobStats, (virDomainPtr domain, int *type, virTypedParameterPtr *params, int *nparams, unsigned int flags), (domain, type, params, nparams, flags))
LIBVIRT_FUNCTION(int, virDomainGetUUID, (virDomainPtr domain, unsigned char *uuid), (domain, uuid))
LIBVIRT_FUNCTION(int, virDomainListAllSnapshots, (virDomainPtr domain, virDomainSnapshotPtr **snaps, unsigned int flags), (domain, snaps, flags))
LIBVIRT_FUNCTION(virDomainPtr, virDomainMigrate3, (virDomainPtr domain, virConnectPtr dconn, virTypedParameterPtr params, unsigned int nparams, unsigned int flags), (domain, dconn, params, nparams, flags))
LIBVIRT_FUNCTION(int, virDomainMigrateGetMaxDowntime, (virDomainPtr domain, unsigned long long *downtime, unsigned int flags), (domain, downtime, flags))
LIBVIRT_FUNCTION(int, virDomainMigrateSetMaxDowntime, (virDomainPtr domain, unsigned long long downtime, unsigned int flags), (domain, downtime, flags))
LIBVIRT_FUNCTION(int, virDomainMigrateSetMaxSpeed, (virDomainPtr domain, unsigned long bandwidth, unsigned int flags), (domain, bandwidth, flags))
LIBVIRT_FUNCTION(int, virDomainMigrateToURI3, (virDomainPtr domain, const char *dconnuri, virTypedParameterPtr params, unsigned int nparams, unsigned int flags), (domain, dconnuri, params, nparams, flags))
LIBVIRT_FUNCTION(int, virDomainRevertToSnapshot, (virDomainSnapshotPtr snapshot, unsigned int flags), (snapshot, flags))
LIBVIRT_FUNCTION(virDomainSnapshotPtr, virDomainSnapshotCreateXML, (virDomainPtr domain, const char *xmlDesc, unsigned int flags), (domain, xmlDesc, flags))
LIBVIRT_FUNCTION(virDomainSnapshotPtr, virDomainSnapshotCurrent, (virDomainPtr domain, unsigned int flags), (domain, flags))
LIBVIRT_FUNCTION(int, virDomainSnapshotDelete, (virDomainSnapshotPtr snapshot, unsigned int flags), (snapshot, flags))
LIBVIRT_FUNCTION(int, virDomainSnapshotFree, (virDomainSnapshotPtr snapshot), (snapshot))
LIBVIRT_FUNCTION(const char *, virDomainSnapshotGetName, (virDomainSnapshotPtr snapshot), (snapshot))
LIBVIRT_FUNCTION(virDomainSnapshotPtr, virDomainSnapshotGetParent, (virDomainSnapshotPtr snapshot, unsigned int flags), (snapshot, flags))
LIBVIRT_FUNCTION(char *, virDomainSnapshotGetXMLDesc, (virDomainSnapshotPtr snapshot, unsigned int flags), (snapshot, flags))
LIBVIRT_FUNCTION(int, virDomainSnapshotIsCurrent, (virDomainSnapshotPtr snapshot, unsigned int flags), (snapshot, flags))
LIBVIRT_FUNCTION(virDomainSnapshotPtr, virDomainSnapshotLookupByName, (virDomainPtr domain, const char *name, unsigned int flags), (domain, name, flags))
LIBVIRT_FUNCTION(int, virStorageVolDownload, (virStorageVolPtr vol, virStreamPtr stream, unsigned long long offset, unsigned long long length, unsigned int flags), (vol, stream, offset, length, flags))
LIBVIRT_FUNCTION(virStorageVolPtr, virStorageVolLookupByPath, (virConnectPtr conn, const char *path), (conn, path))
LIBVIRT_FUNCTION(int, virTypedParamsGetDouble, (virTypedParameterPtr params, int nparams, const char *name, double *value), (params, nparams, name, value))
LIBVIRT_FUNCTION(int, virTypedParamsGetInt, (virTypedParameterPtr params, int nparams, const char *name, int *value), (params, nparams, name, value))
LIBVIRT_FUNCTION(int, virTypedParamsGetLLong, (virTypedParameterPtr params, int nparams, const char *name, long long *value), (params, nparams, name, value))
LIBVIRT_FUNCTION(int, virTypedParamsGetString, (virTypedParameterPtr params, int nparams, const char *name, const char **value), (params, nparams, name, value))
LIBVIRT_FUNCTION(int, virTypedParamsGetUInt, (virTypedParameterPtr params, int nparams, const char *name, unsigned int *value), (params, nparams, name, value))
LIBVIRT_FUNCTION(int, virTypedParamsGetULLong, (virTypedParameterPtr params, int nparams, const char *name, unsigned long long *value), (params, nparams, name, value))
// Relocation of LPARs (issue 12): what --validate asks of the destination.
LIBVIRT_FUNCTION(virInterfacePtr, virInterfaceLookupByName, (virConnectPtr conn, const char *name), (conn, name))
LIBVIRT_FUNCTION(int, virInterfaceIsActive, (virInterfacePtr iface), (iface))
LIBVIRT_FUNCTION(int, virInterfaceFree, (virInterfacePtr iface), (iface))
LIBVIRT_FUNCTION(int, virNodeGetMemoryStats, (virConnectPtr conn, int cellNum, virNodeMemoryStatsPtr params, int *nparams, unsigned int flags), (conn, cellNum, params, nparams, flags))
LIBVIRT_FUNCTION(virStoragePoolPtr, virStoragePoolCreateXML, (virConnectPtr conn, const char *xmlDesc, unsigned int flags), (conn, xmlDesc, flags))
