/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libvirt functions vfiomapctl and vfiomapd call, loaded with dlopen() on first use instead of linked.
 *
 * Why: libvirt.so.0 pulls in some 60 libraries (glib, gnutls, krb5, curl, ICU...). Linked, the dynamic
 * loader maps and relocates all of them before main() of every vfiomapctl run, ~15 ms and ~8 MiB of RSS
 * even for verbs that never talk to libvirt: the libvirt hook (run three times per "virsh start" and never
 * allowed to call libvirt), groups, devices, layout. Only apply (client) and the libvirt watcher (daemon)
 * need it, so only they pay for it (docs/BENCHMARKS.md, figures 1, 5 and 6).
 *
 * Each function keeps libvirt's own name and prototype (checked against <libvirt/libvirt.h> at compile
 * time), so callers are written as if linked; when the library cannot be loaded, calls fail the way
 * libvirt's own do (NULL or -1) and virGetLastErrorMessage() says why. Built into both programs, not into
 * libvfiomap.a: the library keeps no global state. */

#include <dlfcn.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#define LIBVIRT_SONAME "libvirt.so.0"

#define SYMBOLS(X) \
        X(virConnectClose) \
        X(virConnectDomainEventDeregisterAny) \
        X(virConnectDomainEventRegisterAny) \
        X(virConnectListAllDomains) \
        X(virConnectOpen) \
        X(virConnectOpenReadOnly) \
        X(virConnectRegisterCloseCallback) \
        X(virConnectSetKeepAlive) \
        X(virConnectUnregisterCloseCallback) \
        X(virDomainDefineXML) \
        X(virDomainDefineXMLFlags) \
        X(virDomainFree) \
        X(virDomainGetName) \
        X(virDomainGetXMLDesc) \
        X(virDomainIsActive) \
        X(virDomainLookupByName) \
        X(virEventRegisterImpl) \
        X(virGetLastErrorCode) \
        X(virGetLastErrorMessage) \
        X(virSetErrorFunc)

#define DECLARE(name) static __typeof__(name) *sym_##name;
SYMBOLS(DECLARE)

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool loaded;
static char load_error[256];

static void load(void) {
        void *dl;

        /* RTLD_NODELETE: libvirt starts threads and registers atexit handlers; it is never unloaded. */
        dl = dlopen(LIBVIRT_SONAME, RTLD_NOW | RTLD_NODELETE);
        if (!dl) {
                (void) snprintf(load_error, sizeof(load_error), "libvirt is not available: %s", dlerror());
                return;
        }
#define RESOLVE(name) \
        sym_##name = (__typeof__(sym_##name)) dlsym(dl, #name); \
        if (!sym_##name) { \
                (void) snprintf(load_error, sizeof(load_error), "%s lacks %s", LIBVIRT_SONAME, #name); \
                return; \
        }
        SYMBOLS(RESOLVE)
        loaded = true;
}

static bool libvirt_loaded(void) {
        (void) pthread_once(&once, load);
        return loaded;
}

#define FORWARD(ret, fail, name, params, args) \
        ret name params { \
                if (!libvirt_loaded()) \
                        return fail; \
                return sym_##name args; \
        }
#define FORWARD_VOID(name, params, args) \
        void name params { \
                if (libvirt_loaded()) \
                        sym_##name args; \
        }

FORWARD(int, -1, virConnectClose, (virConnectPtr conn), (conn))
FORWARD(int, -1, virConnectDomainEventDeregisterAny, (virConnectPtr conn, int id), (conn, id))
FORWARD(int,
        -1,
        virConnectDomainEventRegisterAny,
        (virConnectPtr conn,
         virDomainPtr dom,
         int id,
         virConnectDomainEventGenericCallback cb,
         void *opaque,
         virFreeCallback freecb),
        (conn, dom, id, cb, opaque, freecb))
FORWARD(int,
        -1,
        virConnectListAllDomains,
        (virConnectPtr conn, virDomainPtr **domains, unsigned int flags),
        (conn, domains, flags))
FORWARD(virConnectPtr, NULL, virConnectOpen, (const char *name), (name))
FORWARD(virConnectPtr, NULL, virConnectOpenReadOnly, (const char *name), (name))
FORWARD(int,
        -1,
        virConnectRegisterCloseCallback,
        (virConnectPtr conn, virConnectCloseFunc cb, void *opaque, virFreeCallback freecb),
        (conn, cb, opaque, freecb))
FORWARD(int,
        -1,
        virConnectSetKeepAlive,
        (virConnectPtr conn, int interval, unsigned int count),
        (conn, interval, count))
FORWARD(int,
        -1,
        virConnectUnregisterCloseCallback,
        (virConnectPtr conn, virConnectCloseFunc cb),
        (conn, cb))
FORWARD(virDomainPtr, NULL, virDomainDefineXML, (virConnectPtr conn, const char *xml), (conn, xml))
FORWARD(virDomainPtr,
        NULL,
        virDomainDefineXMLFlags,
        (virConnectPtr conn, const char *xml, unsigned int flags),
        (conn, xml, flags))
FORWARD(int, -1, virDomainFree, (virDomainPtr domain), (domain))
FORWARD(const char *, NULL, virDomainGetName, (virDomainPtr domain), (domain))
FORWARD(char *, NULL, virDomainGetXMLDesc, (virDomainPtr domain, unsigned int flags), (domain, flags))
FORWARD(int, -1, virDomainIsActive, (virDomainPtr dom), (dom))
FORWARD(virDomainPtr, NULL, virDomainLookupByName, (virConnectPtr conn, const char *name), (conn, name))
FORWARD_VOID(virEventRegisterImpl,
             (virEventAddHandleFunc add_handle,
              virEventUpdateHandleFunc update_handle,
              virEventRemoveHandleFunc remove_handle,
              virEventAddTimeoutFunc add_timeout,
              virEventUpdateTimeoutFunc update_timeout,
              virEventRemoveTimeoutFunc remove_timeout),
             (add_handle, update_handle, remove_handle, add_timeout, update_timeout, remove_timeout))
FORWARD(int, VIR_ERR_NO_SUPPORT, virGetLastErrorCode, (void), ())
FORWARD(const char *, load_error, virGetLastErrorMessage, (void), ())
FORWARD_VOID(virSetErrorFunc, (void *user_data, virErrorFunc handler), (user_data, handler))
