/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"
#include "manager.h"
#include "uevent.h"

#include <fcntl.h>
#include <sys/socket.h>

/* udevd re-broadcasts every kernel uevent it has processed; a burst (enabling 256 VFs) must fit in the
 * socket's queue until we drain it. 128 MiB is what udevadm monitor asks for (SO_RCVBUFFORCE, root only;
 * sd-device falls back silently). */
#define MONITOR_RCVBUF (128U * 1024U * 1024U)

static int on_uevent(sd_device_monitor *monitor, sd_device *device, void *userdata) {
        Manager *m = userdata;
        const char *action = NULL, *devpath = NULL, *subsystem = NULL, *devpath_old = NULL;
        UeventPci u;
        int k;

        /* Look at the socket's error again before sd-device's next read, see on_monitor_readable(). */
        if (m->overflow_source)
                (void) sd_event_source_set_enabled(m->overflow_source, SD_EVENT_ONESHOT);

        (void) sd_device_get_property_value(device, "ACTION", &action);
        (void) sd_device_get_devpath(device, &devpath);
        (void) sd_device_get_subsystem(device, &subsystem);
        (void) sd_device_get_property_value(device, "DEVPATH_OLD", &devpath_old);
        /* Only the address is taken from the event, checked and normalised (libvfiomap/uevent.c): add,
         * remove, bind, unbind, change, move, whatever it was, re-reading the device and its group tells us
         * what changed; only "remove" needs to be known, because sysfs may still show the device. */
        if (uevent_pci_from_properties(action, devpath, subsystem, devpath_old, &u) < 0) {
                log_debug("Ignoring a uevent that is not about a PCI function: %s %s",
                          strna(action), strna(devpath));
                return 0;
        }
        log_debug("uevent %s for %s", uevent_action_to_string(u.action), u.address);
        if (u.old_address[0] && !streq(u.old_address, u.address)) {
                k = manager_queue_uevent(m, u.old_address, true);
                if (k < 0)
                        return log_oom();
        }
        k = manager_queue_uevent(m, u.address, u.action == UEVENT_REMOVE);
        if (k < 0)
                return log_oom();
        return 0;
}

/* sd-device swallows the ENOBUFS a netlink socket reports once its queue overflowed: the events are lost,
 * and the error is returned only by the next recvmsg(), which sd-device logs and ignores. The kernel keeps
 * the error in sk_err until someone reads it, and SO_ERROR reads and clears it (net/core/sock.c,
 * sock_error(); skb_recv_datagram() checks it before dequeuing). This source watches a duplicate of the
 * monitor's socket at a higher priority than sd-device's and runs once before each of sd-device's reads
 * (it disables itself; on_uevent() re-arms it), so it normally sees the error first and turns it into a full
 * rescan. An overflow in the instant between this check and sd-device's read still goes unnoticed; the
 * 128 MiB queue makes an overflow itself unlikely. */
static int on_monitor_readable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        int error = 0;
        socklen_t l = sizeof(error);

        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &l) < 0 || error == 0)
                return 0;
        if (error == ENOBUFS)
                log_warning("The uevent queue overflowed: events were lost, reading the whole host again.");
        else
                log_warning_errno(
                        error, "The uevent socket reported an error, reading the whole host again: %m");
        return manager_queue_rescan(m) < 0 ? log_oom() : 0;
}

int manager_start_monitor(Manager *m) {
        sd_event_source *source;
        int k, fd;

        k = sd_device_monitor_new(&m->monitor);
        if (k < 0)
                return log_error_errno(k, "Failed to create the uevent monitor: %m");
        (void) sd_device_monitor_set_description(m->monitor, "vfiomapd-pci");
        k = sd_device_monitor_set_receive_buffer_size(m->monitor, MONITOR_RCVBUF);
        if (k < 0)
                log_debug_errno(k, "Failed to enlarge the uevent receive buffer, continuing: %m");
        /* By subsystem, not by tag: umockdev sends no tag bloom filter (../shared/DOMAIN.md §6). */
        k = sd_device_monitor_filter_add_match_subsystem_devtype(m->monitor, "pci", NULL);
        if (k < 0)
                return log_error_errno(k, "Failed to filter uevents: %m");
        k = sd_device_monitor_attach_event(m->monitor, m->event);
        if (k < 0)
                return log_error_errno(k, "Failed to attach the uevent monitor: %m");
        k = sd_device_monitor_start(m->monitor, on_uevent, m);
        if (k < 0)
                return log_error_errno(k, "Failed to start the uevent monitor: %m");

        source = sd_device_monitor_get_event_source(m->monitor);
        fd = source ? sd_event_source_get_io_fd(source) : -EBADF;
        if (fd >= 0) {
                int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);

                if (dup_fd < 0)
                        return log_error_errno(errno, "Failed to duplicate the uevent socket: %m");
                k = sd_event_add_io(m->event, &m->overflow_source, dup_fd, EPOLLIN, on_monitor_readable, m);
                if (k < 0) {
                        (void) close(dup_fd);
                        return log_error_errno(k, "Failed to watch the uevent socket: %m");
                }
                (void) sd_event_source_set_io_fd_own(m->overflow_source, true);
                (void) sd_event_source_set_priority(m->overflow_source, SD_EVENT_PRIORITY_NORMAL - 10);
                (void) sd_event_source_set_enabled(m->overflow_source, SD_EVENT_ONESHOT);
        }
        return 0;
}
