/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* vfiomapd's libvirt side: it watches a libvirt daemon (qemu:///system by default) for running domains,
 * their lifecycle and their hot-plugged devices, and keeps the claims in line with what really runs.
 *
 * Why a thread. libvirt holds a domain's lock while it runs the qemu hook (qemuProcessStartHook() in
 * src/qemu/qemu_process.c is called with the domain object locked), and our hook waits for vfiomapd's
 * Claim. Any libvirt call of ours that needs that lock — virConnectListAllDomains(), virDomainGetXMLDesc(),
 * virDomainIsActive() of the starting domain — would block until the hook returns, and a daemon blocked
 * in libvirt cannot answer the hook: a deadlock until the hook's bus call times out and the VM start
 * fails. It is likely at boot, when libvirt autostarts VMs while vfiomapd connects. So every libvirt call
 * is made in one thread that runs its own sd-event loop (libvirt-event.c: virEventRegisterImpl() over
 * sd-event sources, no polling), and the facts it gathers reach the main thread as messages through an
 * eventfd. The main thread never calls libvirt and owns all state; the libvirt thread owns none.
 *
 * libvirt not running is normal: the thread retries with a growing delay, logs the first failure once at
 * info level and the others at debug level, and everything else vfiomapd serves works meanwhile. When
 * libvirtd restarts, the connection's close callback starts the same retry. */

#include "manager.h"

#include <stdint.h>

typedef struct LibvirtWatcher LibvirtWatcher;

typedef enum LibvirtMessageType {
        LIBVIRT_CONNECTED, /* domains: every running domain with its live XML */
        LIBVIRT_DISCONNECTED,
        LIBVIRT_LIFECYCLE,      /* name, event, detail; xml when it runs, active */
        LIBVIRT_DEVICE_ADDED,   /* name, alias, xml */
        LIBVIRT_DEVICE_REMOVED, /* name, alias, xml */
        _LIBVIRT_MESSAGE_TYPE_MAX,
} LibvirtMessageType;

typedef struct LibvirtDomain {
        char *name;
        char *xml;
} LibvirtDomain;

typedef struct LibvirtMessage LibvirtMessage;
struct LibvirtMessage {
        LibvirtMessage *next;
        LibvirtMessageType type;
        /* CLOCK_REALTIME µs, taken before libvirt was asked: a claim made after this moment is newer than
         * what the message knows and must not be undone by it. */
        uint64_t since;
        char *uri;
        char *name;
        int event, detail; /* virDomainEventType and its detail */
        int active;        /* virDomainIsActive() when the message was made: 1, 0, or -1 unknown */
        char *alias;
        char *xml; /* the live domain XML, NULL when the domain does not run or could not be read */
        LibvirtDomain *domains;
        size_t n_domains;
};

LibvirtMessage *libvirt_message_free(LibvirtMessage *msg);
DEFINE_TRIVIAL_CLEANUP_FUNC(LibvirtMessage *, libvirt_message_free);

const char *libvirt_lifecycle_to_string(int event);
const char *libvirt_lifecycle_detail_to_string(int event, int detail);

/* Starts the thread watching uri. Messages are handed to manager_libvirt_message() in m's event loop. */
int libvirt_watcher_start(Manager *m, const char *uri, LibvirtWatcher **ret);
/* Stops and joins the thread, closing the connection. Accepts NULL. */
LibvirtWatcher *libvirt_watcher_free(LibvirtWatcher *w);

/* reconcile.c, main thread: applies one message to the claims. */
int manager_libvirt_message(Manager *m, LibvirtMessage *msg);
