/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "libvirt.h"

#include "libvirt-event.h"
#include "log.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>

/* Reconnection delays: quick after libvirtd went away (a restart takes well under a second when its
 * capabilities are cached), doubling up to a ceiling that keeps an absent libvirt cheap. */
#define RETRY_MIN_USEC (200 * 1000ULL)
#define RETRY_MAX_USEC (10 * 1000 * 1000ULL)
/* virConnectSetKeepAlive(): a libvirtd that hangs is noticed after about 5 * (3 + 1) s. */
#define KEEPALIVE_INTERVAL 5
#define KEEPALIVE_COUNT 3

struct LibvirtWatcher {
        /* Shared, set before the thread starts. */
        char *uri;
        int notify_fd; /* thread -> main: messages are queued */
        int quit_fd;   /* main -> thread: stop */
        pthread_t thread;
        bool thread_started;

        pthread_mutex_t lock; /* guards the queue */
        LibvirtMessage *head, *tail;

        /* Main thread only. */
        Manager *manager;
        sd_event_source *notify_source;

        /* libvirt thread only. */
        sd_event *event;
        sd_event_source *quit_source, *connect_source, *closed_source;
        virConnectPtr conn;
        int callbacks[3];
        uint64_t retry_usec;
        bool failure_logged;
};

static uint64_t now_realtime_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

LibvirtMessage *libvirt_message_free(LibvirtMessage *msg) {
        if (!msg)
                return NULL;
        for (size_t i = 0; i < msg->n_domains; i++) {
                free(msg->domains[i].name);
                free(msg->domains[i].xml);
        }
        free(msg->domains);
        free(msg->uri);
        free(msg->name);
        free(msg->alias);
        free(msg->xml);
        free(msg);
        return NULL;
}

const char *libvirt_lifecycle_to_string(int event) {
        static const char *const table[] = {
                [VIR_DOMAIN_EVENT_DEFINED] = "defined",    [VIR_DOMAIN_EVENT_UNDEFINED] = "undefined",
                [VIR_DOMAIN_EVENT_STARTED] = "started",    [VIR_DOMAIN_EVENT_SUSPENDED] = "suspended",
                [VIR_DOMAIN_EVENT_RESUMED] = "resumed",    [VIR_DOMAIN_EVENT_STOPPED] = "stopped",
                [VIR_DOMAIN_EVENT_SHUTDOWN] = "shut down", [VIR_DOMAIN_EVENT_PMSUSPENDED] = "PM-suspended",
                [VIR_DOMAIN_EVENT_CRASHED] = "crashed",
        };
        return event >= 0 && (size_t) event < ELEMENTSOF(table) && table[event] ? table[event] : "changed";
}

const char *libvirt_lifecycle_detail_to_string(int event, int detail) {
        /* The details users meet most; the rest print as a number (include/libvirt/libvirt-domain.h). */
        static const char *const started[] = {
                "booted", "migrated", "restored", "from snapshot", "woken up"
        };
        static const char *const stopped[] = { "shut down", "destroyed", "crashed",      "migrated",
                                               "saved",     "failed",    "from snapshot" };

        if (event == VIR_DOMAIN_EVENT_STARTED && detail >= 0 && (size_t) detail < ELEMENTSOF(started))
                return started[detail];
        if (event == VIR_DOMAIN_EVENT_STOPPED && detail >= 0 && (size_t) detail < ELEMENTSOF(stopped))
                return stopped[detail];
        return NULL;
}

/* ---- the queue ---- */

static void watcher_post(LibvirtWatcher *w, LibvirtMessage *msg) {
        if (!msg->uri)
                msg->uri = strdup(w->uri); /* only for messages; NULL merely shortens a log line */
        (void) pthread_mutex_lock(&w->lock);
        if (w->tail)
                w->tail->next = msg;
        else
                w->head = msg;
        w->tail = msg;
        (void) pthread_mutex_unlock(&w->lock);
        (void) eventfd_write(w->notify_fd, 1);
}

static LibvirtMessage *message_new(LibvirtMessageType type, uint64_t since) {
        LibvirtMessage *msg = calloc(1, sizeof(LibvirtMessage));

        if (!msg)
                return NULL;
        msg->type = type;
        msg->since = since;
        msg->active = -1;
        return msg;
}

static int on_notify(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        LibvirtWatcher *w = userdata;
        LibvirtMessage *list;
        eventfd_t value;

        (void) eventfd_read(fd, &value);
        (void) pthread_mutex_lock(&w->lock);
        list = w->head;
        w->head = w->tail = NULL;
        (void) pthread_mutex_unlock(&w->lock);

        while (list) {
                LibvirtMessage *next = list->next;
                int k = manager_libvirt_message(w->manager, list);
                if (k == -ENOMEM)
                        log_oom();
                libvirt_message_free(list);
                list = next;
        }
        /* The post source that normally flushes PropertiesChanged only fires after another source's
         * dispatch once it is enabled, which a quiet daemon may not see for a long time: flush here. */
        return manager_flush_properties_changed(w->manager);
}

/* ---- the libvirt thread ---- */

static void ignore_libvirt_error(void *userdata, virErrorPtr error) {
        /* libvirt prints every error on stderr by default; ours are logged where they matter, once. */
}

static const char *last_error(void) {
        const char *s = virGetLastErrorMessage();
        return s ?: "unknown error";
}

static char *domain_xml(virDomainPtr dom) {
        /* Flags 0: the live definition of a running domain, with the aliases DEVICE_ADDED names. Not
         * VIR_DOMAIN_XML_SECURE, which a read-only connection may not ask for. */
        return virDomainGetXMLDesc(dom, 0);
}

/* 1 running, 0 not running (or gone), -1 unknown (the connection failed): only a definite 0 may release
 * a claim. */
static int domain_active(virDomainPtr dom) {
        int k = virDomainIsActive(dom);

        if (k >= 0)
                return k;
        return virGetLastErrorCode() == VIR_ERR_NO_DOMAIN ? 0 : -1;
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque) {
        LibvirtWatcher *w = opaque;
        LibvirtMessage *msg = message_new(LIBVIRT_LIFECYCLE, now_realtime_usec());

        if (!msg)
                return 0;
        msg->name = strdup(virDomainGetName(dom));
        msg->event = event;
        msg->detail = detail;
        /* Asked now, in this thread: if the domain was started again since the event (the qemu hook has
         * claimed it anew), this blocks until that start is done and reports it running. */
        msg->active = domain_active(dom);
        if (msg->active > 0)
                msg->xml = domain_xml(dom);
        if (!msg->name) {
                libvirt_message_free(msg);
                return 0;
        }
        watcher_post(w, msg);
        return 0;
}

static void post_device_event(
        LibvirtWatcher *w,
        LibvirtMessageType type,
        virDomainPtr dom,
        const char *alias) {
        LibvirtMessage *msg = message_new(type, now_realtime_usec());

        if (!msg)
                return;
        msg->name = strdup(virDomainGetName(dom));
        msg->alias = strdup(alias);
        msg->active = domain_active(dom);
        if (msg->active > 0)
                msg->xml = domain_xml(dom);
        if (!msg->name || !msg->alias) {
                libvirt_message_free(msg);
                return;
        }
        watcher_post(w, msg);
}

static void on_device_added(virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque) {
        post_device_event(opaque, LIBVIRT_DEVICE_ADDED, dom, alias);
}

static void on_device_removed(virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque) {
        post_device_event(opaque, LIBVIRT_DEVICE_REMOVED, dom, alias);
}

static void watcher_disconnect(LibvirtWatcher *w) {
        if (!w->conn)
                return;
        for (size_t i = 0; i < ELEMENTSOF(w->callbacks); i++)
                if (w->callbacks[i] >= 0) {
                        /* Fails harmlessly when the connection is already dead. */
                        (void) virConnectDomainEventDeregisterAny(w->conn, w->callbacks[i]);
                        w->callbacks[i] = -1;
                }
        (void) virConnectUnregisterCloseCallback(w->conn, NULL);
        (void) virConnectClose(w->conn);
        w->conn = NULL;
}

static void watcher_schedule_connect(LibvirtWatcher *w) {
        w->retry_usec = w->retry_usec == 0 ? RETRY_MIN_USEC : MIN(w->retry_usec * 2, RETRY_MAX_USEC);
        (void) sd_event_source_set_time_relative(w->connect_source, w->retry_usec);
        (void) sd_event_source_set_enabled(w->connect_source, SD_EVENT_ONESHOT);
}

static void on_close(virConnectPtr conn, int reason, void *opaque) {
        LibvirtWatcher *w = opaque;

        /* Called from inside libvirt's connection code: the connection is torn down from a clean stack. */
        log_debug("libvirt closed the connection (reason %d).", reason);
        (void) sd_event_source_set_enabled(w->closed_source, SD_EVENT_ONESHOT);
}

static int on_closed(sd_event_source *s, void *userdata) {
        LibvirtWatcher *w = userdata;
        LibvirtMessage *msg;

        if (!w->conn)
                return 0;
        watcher_disconnect(w);
        msg = message_new(LIBVIRT_DISCONNECTED, now_realtime_usec());
        if (msg)
                watcher_post(w, msg);
        w->retry_usec = 0;
        watcher_schedule_connect(w);
        return 0;
}

/* Every running domain with its live XML. */
static int watcher_snapshot(LibvirtWatcher *w, LibvirtMessage *msg) {
        virDomainPtr *domains = NULL;
        int n;

        n = virConnectListAllDomains(w->conn, &domains, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
        if (n < 0)
                return -EIO;
        msg->domains = calloc((size_t) n + 1, sizeof(LibvirtDomain));
        for (int i = 0; i < n; i++) {
                char *xml;

                if (msg->domains && (xml = domain_xml(domains[i]))) {
                        LibvirtDomain *d = msg->domains + msg->n_domains;
                        d->xml = xml;
                        d->name = strdup(virDomainGetName(domains[i]));
                        if (d->name)
                                msg->n_domains++;
                        else
                                free(xml);
                }
                /* A domain that stopped since the listing has no XML: it is simply not running. */
                virDomainFree(domains[i]);
        }
        free(domains);
        return msg->domains ? 0 : -ENOMEM;
}

static int on_connect(sd_event_source *s, uint64_t usec, void *userdata) {
        LibvirtWatcher *w = userdata;
        _cleanup_(libvirt_message_freep) LibvirtMessage *msg = NULL;

        /* Read-only: vfiomapd only watches; it never changes anything in libvirt. */
        w->conn = virConnectOpenReadOnly(w->uri);
        if (!w->conn) {
                if (!w->failure_logged)
                        log_info(
                                "libvirt at %s is not reachable (%s); vfiomapd serves everything else "
                                "and keeps trying in the background.",
                                w->uri,
                                last_error());
                else
                        log_debug("libvirt at %s is still not reachable: %s", w->uri, last_error());
                w->failure_logged = true;
                watcher_schedule_connect(w);
                return 0;
        }

        if (virConnectRegisterCloseCallback(w->conn, on_close, w, NULL) < 0 ||
            (w->callbacks[0] = virConnectDomainEventRegisterAny(
                     w->conn,
                     NULL,
                     VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                     VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle),
                     w,
                     NULL)) < 0 ||
            (w->callbacks[1] = virConnectDomainEventRegisterAny(
                     w->conn,
                     NULL,
                     VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
                     VIR_DOMAIN_EVENT_CALLBACK(on_device_added),
                     w,
                     NULL)) < 0 ||
            (w->callbacks[2] = virConnectDomainEventRegisterAny(
                     w->conn,
                     NULL,
                     VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
                     VIR_DOMAIN_EVENT_CALLBACK(on_device_removed),
                     w,
                     NULL)) < 0) {
                log_warning("Failed to watch libvirt's domain events at %s: %s", w->uri, last_error());
                watcher_disconnect(w);
                watcher_schedule_connect(w);
                return 0;
        }
        /* Local drivers (test:///) have no keepalive: that is fine, they cannot hang. */
        (void) virConnectSetKeepAlive(w->conn, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT);

        /* Events are registered first, so nothing that happens after the listing is missed; "since" is
         * taken before it, so a claim made while we list is not undone by the listing. */
        msg = message_new(LIBVIRT_CONNECTED, now_realtime_usec());
        if (!msg)
                return log_oom();
        if (watcher_snapshot(w, msg) < 0) {
                log_warning("Failed to list libvirt's running domains at %s: %s", w->uri, last_error());
                watcher_disconnect(w);
                watcher_schedule_connect(w);
                return 0;
        }
        w->retry_usec = 0;
        w->failure_logged = false;
        watcher_post(w, TAKE_PTR(msg));
        return 0;
}

static int on_quit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        LibvirtWatcher *w = userdata;
        return sd_event_exit(w->event, 0);
}

static void *watcher_thread(void *userdata) {
        LibvirtWatcher *w = userdata;
        int k;

        k = sd_event_new(&w->event);
        if (k < 0) {
                log_error_errno(k, "Failed to create the libvirt event loop: %m");
                return NULL;
        }
        (void) libvirt_event_register(w->event);
        virSetErrorFunc(NULL, ignore_libvirt_error);

        k = sd_event_add_io(w->event, &w->quit_source, w->quit_fd, EPOLLIN, on_quit, w);
        if (k >= 0)
                k = sd_event_add_time_relative(
                        w->event, &w->connect_source, CLOCK_MONOTONIC, 0, 1000, on_connect, w);
        if (k >= 0)
                k = sd_event_add_defer(w->event, &w->closed_source, on_closed, w);
        if (k >= 0)
                k = sd_event_source_set_enabled(w->closed_source, SD_EVENT_OFF);
        if (k >= 0)
                k = sd_event_loop(w->event);
        if (k < 0)
                log_error_errno(k, "The libvirt event loop failed: %m");

        watcher_disconnect(w);
        w->quit_source = sd_event_source_disable_unref(w->quit_source);
        w->connect_source = sd_event_source_disable_unref(w->connect_source);
        w->closed_source = sd_event_source_disable_unref(w->closed_source);
        /* libvirt-event.c keeps its own reference: libvirt cannot unregister an implementation. */
        w->event = sd_event_unref(w->event);
        return NULL;
}

/* ---- main thread ---- */

int libvirt_watcher_start(Manager *m, const char *uri, LibvirtWatcher **ret) {
        LibvirtWatcher *w;
        int k;

        w = calloc(1, sizeof(LibvirtWatcher));
        if (!w)
                return -ENOMEM;
        *w = (LibvirtWatcher){
                .manager = m, .notify_fd = -EBADF, .quit_fd = -EBADF, .callbacks = { -1, -1, -1 }
        };
        (void) pthread_mutex_init(&w->lock, NULL);
        w->uri = strdup(uri);
        if (!w->uri) {
                libvirt_watcher_free(w);
                return -ENOMEM;
        }
        w->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        w->quit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->notify_fd < 0 || w->quit_fd < 0) {
                k = -errno;
                libvirt_watcher_free(w);
                return k;
        }
        k = sd_event_add_io(m->event, &w->notify_source, w->notify_fd, EPOLLIN, on_notify, w);
        if (k < 0) {
                libvirt_watcher_free(w);
                return k;
        }
        /* The thread inherits the signal mask manager_startup() set: SIGTERM stays with the main loop. */
        k = -pthread_create(&w->thread, NULL, watcher_thread, w);
        if (k < 0) {
                libvirt_watcher_free(w);
                return k;
        }
        w->thread_started = true;
        *ret = w;
        return 0;
}

LibvirtWatcher *libvirt_watcher_free(LibvirtWatcher *w) {
        if (!w)
                return NULL;
        if (w->thread_started) {
                (void) eventfd_write(w->quit_fd, 1);
                (void) pthread_join(w->thread, NULL);
        }
        sd_event_source_disable_unref(w->notify_source);
        while (w->head) {
                LibvirtMessage *next = w->head->next;
                libvirt_message_free(w->head);
                w->head = next;
        }
        if (w->notify_fd >= 0)
                (void) close(w->notify_fd);
        if (w->quit_fd >= 0)
                (void) close(w->quit_fd);
        (void) pthread_mutex_destroy(&w->lock);
        free(w->uri);
        free(w);
        return NULL;
}
