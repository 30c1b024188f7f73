/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* uevent-echo: the floor of the hotplug figure (tests/bench/run figure 2). A do-nothing peer of vfiomapd:
 * it watches "pci" uevents through sd_device_monitor as vfiomapd does (tests/integration/
 * test-hotplug-driver --bench --floor starts it under the same umockdev testbed, on the same private bus),
 * and answers each "add" and "remove" at once with a DeviceAdded or DeviceRemoved signal of vfiomapd's
 * shape, "so" (address, object path). It reads no sysfs, keeps no model and batches nothing, so the time
 * from uevent to signal is what the socket, sd-device, sd-event and the bus cost on this machine under
 * this load; vfiomapd's latency divided by it says how much the daemon adds to that.
 *
 * Takes the bus name org.vfiomap1.BenchUeventEcho once its monitor is listening: the driver waits for the
 * name, as it waits for org.vfiomap1. Exits on SIGTERM or SIGINT. */

#include "util.h"

#include <signal.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-device.h>
#include <systemd/sd-event.h>

#define ECHO_NAME "org.vfiomap1.BenchUeventEcho"
#define ECHO_PATH "/org/vfiomap1/bench"
#define ECHO_IFACE "org.vfiomap1.BenchUeventEcho"
#define ECHO_DEVICE_PREFIX "/org/vfiomap1/bench/device"

/* The same receive buffer as vfiomapd (daemon/udev-monitor.c), so neither drops what the other keeps. */
#define MONITOR_RCVBUF (128U * 1024U * 1024U)

static int on_uevent(sd_device_monitor *monitor, sd_device *device, void *userdata) {
        sd_bus *bus = userdata;
        _cleanup_free_ char *path = NULL;
        const char *action = NULL, *devpath = NULL, *address, *member;
        int k;

        (void) sd_device_get_property_value(device, "ACTION", &action);
        if (streq_ptr(action, "add"))
                member = "DeviceAdded";
        else if (streq_ptr(action, "remove"))
                member = "DeviceRemoved";
        else
                return 0;
        if (sd_device_get_devpath(device, &devpath) < 0)
                return 0;
        /* The function's address is the last component of its devpath; vfiomapd checks and normalises it
         * (libvfiomap/uevent.c), which costs nothing next to the rest. */
        address = strrchr(devpath, '/');
        address = address ? address + 1 : devpath;
        k = sd_bus_path_encode(ECHO_DEVICE_PREFIX, address, &path);
        if (k < 0)
                return 0;
        k = sd_bus_emit_signal(bus, ECHO_PATH, ECHO_IFACE, member, "so", address, path);
        if (k < 0)
                fprintf(stderr, "Failed to emit %s for %s: %s\n", member, address, strerror(-k));
        return 0;
}

/* Errors at the edge, in one line: what failed and why. */
static int fail(const char *what, int k) {
        fprintf(stderr, "uevent-echo: failed to %s: %s\n", what, strerror(-k));
        return EXIT_FAILURE;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_device_monitor_unrefp) sd_device_monitor *monitor = NULL;
        sigset_t mask;
        int k;

        if (argc > 1) {
                fprintf(stderr, "%s takes no arguments: see tests/bench/uevent-echo.c.\n", argv[0]);
                return 2;
        }
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return fail("block signals", -errno);

        /* A NULL handler makes sd-event exit the loop. */
        k = sd_event_default(&event);
        if (k >= 0)
                k = sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL);
        if (k >= 0)
                k = sd_event_add_signal(event, NULL, SIGINT, NULL, NULL);
        if (k < 0)
                return fail("set up the event loop", k);

        k = sd_bus_open_system(&bus);
        if (k >= 0)
                k = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (k < 0)
                return fail("connect to the bus", k);

        /* As vfiomapd's monitor: by subsystem (umockdev sends no tag bloom filter), the same buffer. */
        k = sd_device_monitor_new(&monitor);
        if (k < 0)
                return fail("create the uevent monitor", k);
        (void) sd_device_monitor_set_receive_buffer_size(monitor, MONITOR_RCVBUF);
        k = sd_device_monitor_filter_add_match_subsystem_devtype(monitor, "pci", NULL);
        if (k >= 0)
                k = sd_device_monitor_attach_event(monitor, event);
        if (k >= 0)
                k = sd_device_monitor_start(monitor, on_uevent, bus);
        if (k < 0)
                return fail("start the uevent monitor", k);

        /* Last: once the name is on the bus, the monitor listens. */
        k = sd_bus_request_name(bus, ECHO_NAME, 0);
        if (k < 0)
                return fail("take the bus name " ECHO_NAME, k);

        k = sd_event_loop(event);
        if (k < 0)
                return fail("run the event loop", k);
        return EXIT_SUCCESS;
}
