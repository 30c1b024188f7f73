/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "libvirt-event.h"

#include "log.h"
#include "util.h"

#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <pthread.h>
#include <sys/epoll.h>

/* One registered handle or timeout. libvirt names both by a positive int; ours come from one counter. */
typedef struct Watch Watch;
struct Watch {
        Watch *next;
        int id;
        bool timer;
        int fd;      /* handles: the fd as libvirt gave it (the source may watch a dup, see add) */
        int timeout; /* timers: period in ms, -1 disabled, 0 "on every loop iteration" */
        sd_event_source *source;
        sd_event_source *free_source; /* defer source that runs ff after removal */
        virEventHandleCallback handle_cb;
        virEventTimeoutCallback timeout_cb;
        void *opaque;
        virFreeCallback ff;
};

static sd_event *loop;
static pthread_t loop_thread;
static Watch *watches;
static int last_id;

static bool in_loop_thread(const char *what) {
        if (pthread_equal(pthread_self(), loop_thread))
                return true;
        log_error("libvirt called %s from a thread other than its event loop's; ignored.", what);
        return false;
}

static Watch *watch_find(int id) {
        for (Watch *w = watches; w; w = w->next)
                if (w->id == id && !w->free_source)
                        return w;
        return NULL;
}

static void watch_unlink(Watch *w) {
        for (Watch **p = &watches; *p; p = &(*p)->next)
                if (*p == w) {
                        *p = w->next;
                        return;
                }
}

static uint32_t epoll_from_vir(int events) {
        return (events & VIR_EVENT_HANDLE_READABLE ? EPOLLIN : 0) |
                (events & VIR_EVENT_HANDLE_WRITABLE ? EPOLLOUT : 0);
}

static int vir_from_epoll(uint32_t revents) {
        return (revents & EPOLLIN ? VIR_EVENT_HANDLE_READABLE : 0) |
                (revents & EPOLLOUT ? VIR_EVENT_HANDLE_WRITABLE : 0) |
                (revents & EPOLLERR ? VIR_EVENT_HANDLE_ERROR : 0) |
                (revents & EPOLLHUP ? VIR_EVENT_HANDLE_HANGUP : 0);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Watch *w = userdata;

        /* The callback may remove this very watch: w stays allocated until its free_source ran, which is
         * never before this dispatch returns. */
        w->handle_cb(w->id, w->fd, vir_from_epoll(revents), w->opaque);
        return 0;
}

static int handle_set_events(Watch *w, int events) {
        int k;

        /* libvirt's own loop (src/util/vireventglib.c) does not poll a handle whose event set is empty;
         * epoll would still report ERR and HUP, so switch the source off instead. */
        if (events == 0)
                return sd_event_source_set_enabled(w->source, SD_EVENT_OFF);
        k = sd_event_source_set_io_events(w->source, epoll_from_vir(events));
        if (k < 0)
                return k;
        return sd_event_source_set_enabled(w->source, SD_EVENT_ON);
}

static int add_handle(int fd, int events, virEventHandleCallback cb, void *opaque, virFreeCallback ff) {
        _cleanup_free_ Watch *w = NULL;
        int k;

        if (!in_loop_thread("virEventAddHandle"))
                return -1;
        w = calloc(1, sizeof(Watch));
        if (!w)
                return -1;
        *w = (Watch){ .id = ++last_id, .fd = fd, .handle_cb = cb, .opaque = opaque, .ff = ff };

        k = sd_event_add_io(loop, &w->source, fd, epoll_from_vir(events), on_io, w);
        if (k == -EEXIST) {
                /* libvirt may register one fd twice with disjoint event sets (libvirt-event.h); epoll knows
                 * an fd once, so the second watch observes a duplicate, as sd_event_add_io(3) suggests. */
                _cleanup_close_ int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (copy < 0)
                        return -1;
                k = sd_event_add_io(loop, &w->source, copy, epoll_from_vir(events), on_io, w);
                if (k >= 0)
                        (void) sd_event_source_set_io_fd_own(w->source, TAKE_FD(copy));
        }
        if (k < 0) {
                log_debug_errno(k, "Failed to watch fd %d for libvirt: %m", fd);
                return -1;
        }
        if (handle_set_events(w, events) < 0) {
                sd_event_source_disable_unref(w->source);
                return -1;
        }
        w->next = watches;
        watches = w;
        return TAKE_PTR(w)->id;
}

static void update_handle(int id, int events) {
        Watch *w;

        if (!in_loop_thread("virEventUpdateHandle"))
                return;
        w = watch_find(id);
        if (w && !w->timer)
                (void) handle_set_events(w, events);
}

static int on_free(sd_event_source *s, void *userdata) {
        Watch *w = userdata;

        if (w->ff)
                w->ff(w->opaque);
        watch_unlink(w);
        sd_event_source_disable_unref(w->free_source);
        free(w);
        return 0;
}

static int remove_watch(int id, bool timer) {
        Watch *w;
        int k;

        if (!in_loop_thread(timer ? "virEventRemoveTimeout" : "virEventRemoveHandle"))
                return -1;
        w = watch_find(id);
        if (!w || w->timer != timer)
                return -1;
        w->source = sd_event_source_disable_unref(w->source);

        /* The free callback "needs to be invoked from a clean stack. If 'ff' callbacks are invoked directly
         * from the virEventRemoveHandleFunc they will likely deadlock in libvirt" (libvirt-event.h): run it
         * from a oneshot defer source on the next iteration. */
        k = sd_event_add_defer(loop, &w->free_source, on_free, w);
        if (k >= 0)
                k = sd_event_source_set_enabled(w->free_source, SD_EVENT_ONESHOT);
        if (k < 0) {
                /* Leak the opaque data rather than risk the deadlock: out of memory, or -ESTALE when the
                 * loop is finishing, which is how virConnectClose() at vfiomapd's exit gets here. */
                if (k == -ENOMEM)
                        log_oom();
                else
                        log_debug_errno(k, "Not freeing libvirt's watch %d, the event loop is finishing: %m", id);
                w->free_source = sd_event_source_disable_unref(w->free_source);
                w->ff = NULL;
                watch_unlink(w);
                free(w);
        }
        return 0;
}

static int remove_handle(int id) {
        return remove_watch(id, false);
}

static int timer_arm(Watch *w) {
        int k;

        if (w->timeout < 0)
                return sd_event_source_set_enabled(w->source, SD_EVENT_OFF);
        /* 0 ms fires on the next iteration, after whatever is pending: "on every event loop iteration". */
        k = sd_event_source_set_time_relative(w->source, (uint64_t) w->timeout * 1000U);
        if (k < 0)
                return k;
        return sd_event_source_set_enabled(w->source, SD_EVENT_ON);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Watch *w = userdata;

        /* libvirt's timeouts are periodic: re-arm first, the callback may change or remove the timer. */
        (void) timer_arm(w);
        w->timeout_cb(w->id, w->opaque);
        return 0;
}

static int add_timeout(int timeout, virEventTimeoutCallback cb, void *opaque, virFreeCallback ff) {
        _cleanup_free_ Watch *w = NULL;
        int k;

        if (!in_loop_thread("virEventAddTimeout"))
                return -1;
        w = calloc(1, sizeof(Watch));
        if (!w)
                return -1;
        *w = (Watch){ .id = ++last_id,
                      .timer = true,
                      .timeout = timeout,
                      .timeout_cb = cb,
                      .opaque = opaque,
                      .ff = ff };
        /* 1 ms accuracy: sd-event's default (250 ms) would stretch libvirt's keepalive and dispatch timers.
         */
        k = sd_event_add_time(loop, &w->source, CLOCK_MONOTONIC, 0, 1000, on_timer, w);
        if (k >= 0)
                k = timer_arm(w);
        if (k < 0) {
                sd_event_source_disable_unref(w->source);
                return -1;
        }
        w->next = watches;
        watches = w;
        return TAKE_PTR(w)->id;
}

static void update_timeout(int id, int timeout) {
        Watch *w;

        if (!in_loop_thread("virEventUpdateTimeout"))
                return;
        w = watch_find(id);
        if (!w || !w->timer)
                return;
        w->timeout = timeout;
        (void) timer_arm(w);
}

static int remove_timeout(int id) {
        return remove_watch(id, true);
}

int libvirt_event_register(sd_event *e) {
        if (loop)
                return 0;
        loop = sd_event_ref(e);
        loop_thread = pthread_self();
        virEventRegisterImpl(
                add_handle, update_handle, remove_handle, add_timeout, update_timeout, remove_timeout);
        return 0;
}
