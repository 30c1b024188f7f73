/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* test-hotplug-driver [--bench DEVICES EVENTS [--floor PROGRAM]]: the live model of vfiomapd under
 * umockdev.
 *
 * Runs under umockdev-wrapper (the testbed's uevent sender resolves devices through /sys, which only the
 * preload library redirects). Builds a testbed holding a host (devices, IOMMU groups), starts $VFIOMAPD on
 * the private bus ($DBUS_SYSTEM_BUS_ADDRESS, set up by test-hotplug.sh) with the same preload, sends add,
 * bind, unbind and remove uevents and checks through sd-bus that the model, the signals and the machines
 * follow.
 *
 * In C because only libumockdev can inject uevents into a running process (umockdev-run has no way to do
 * it from a script), and because sd-bus lets one process both trigger events and time the signals they
 * cause. With --bench it builds a DEVICES-device host, times EVENTS hot-added devices from uevent to
 * DeviceAdded, and the round trips of ListGroups, ComputeLayout and the bus's own GetId. With --floor it
 * times PROGRAM (tests/bench/uevent-echo) instead of vfiomapd, the same way on the same host: a peer that
 * answers each uevent with a signal of DeviceAdded's shape and does nothing else, the floor that
 * tests/bench/run divides vfiomapd's latencies by. */

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <time.h>

/* Before glib, whose MIN and MAX replace ours (gmacros.h undefines them first). */
#include "tap.h"
#include "util.h"

#include <umockdev.h>

static UMockdevTestbed *testbed;
static pid_t daemon_pid = -1;
/* Whose signals are counted: vfiomapd's, or with --floor the echo peer's (tests/bench/uevent-echo.c). */
static const char *floor_program;
static const char *peer_bus_name = "org.vfiomap1";
#define FLOOR_BUS_NAME "org.vfiomap1.BenchUeventEcho"
/* vfiomapd's runtime directory, in $TMPDIR (the scripts point it at their own temporary directory, which
 * they remove even when this program is killed); "" until made. */
static char runtime_dir[PATH_MAX];

/* What the bus told us. */
static unsigned n_added, n_removed, n_changed_manager;
static char last_added[64], last_removed[64];
static uint64_t *added_at; /* per bench device, µs */
static unsigned bench_first_bus;

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

static void sys_write(const char *relpath, const char *content) {
        _cleanup_free_ char *p = NULL;
        FILE *f;

        (void) asprintf_safe(&p, "%s/%s", umockdev_testbed_get_root_dir(testbed), relpath);
        f = fopen(p, "we");
        if (f) {
                fputs(content, f);
                fclose(f);
        }
}

static void sys_mkdir_p(const char *relpath) {
        _cleanup_free_ char *p = NULL;

        (void) asprintf_safe(&p, "%s/%s", umockdev_testbed_get_root_dir(testbed), relpath);
        for (char *s = p + 1; *s; s++)
                if (*s == '/') {
                        *s = 0;
                        (void) mkdir(p, 0755);
                        *s = '/';
                }
        (void) mkdir(p, 0755);
}

static void sys_symlink(const char *target, const char *relpath) {
        _cleanup_free_ char *p = NULL;

        (void) asprintf_safe(&p, "%s/%s", umockdev_testbed_get_root_dir(testbed), relpath);
        (void) unlink(p);
        (void) symlink(target, p);
}

static void sys_unlink(const char *relpath) {
        _cleanup_free_ char *p = NULL;

        (void) asprintf_safe(&p, "%s/%s", umockdev_testbed_get_root_dir(testbed), relpath);
        (void) unlink(p);
}

static void make_group(unsigned n) {
        char d[128], f[160];

        (void) snprintf(d, sizeof(d), "sys/kernel/iommu_groups/%u/devices", n);
        sys_mkdir_p(d);
        (void) snprintf(f, sizeof(f), "sys/kernel/iommu_groups/%u/reserved_regions", n);
        sys_write(f, "0x00000000fee00000 0x00000000feefffff msi\n");
        (void) snprintf(f, sizeof(f), "sys/kernel/iommu_groups/%u/type", n);
        sys_write(f, "DMA\n");
}

/* A PCI function below parent ("pci0000:00" or "pci0000:00/0000:00:01.0"); driver NULL: unbound. The
 * group's files and links exist before the device, as DOMAIN.md §6 asks. Returns the devpath. */
static char *add_device(
        const char *parent,
        const char *bdf,
        unsigned vendor,
        unsigned device,
        unsigned class,
        const char *driver,
        unsigned group,
        const char *physfn) {
        _cleanup_free_ char *up = NULL, *desc = NULL, *link = NULL, *glink = NULL;
        char *devpath = NULL;
        GError *error = NULL;
        unsigned depth = 2; /* devices/<parent components>/<bdf>: ".." per component up to sys/ */

        for (const char *p = parent; *p; p++)
                depth += *p == '/';
        for (unsigned i = 0; i < depth + 1; i++) {
                char *n = NULL;
                (void) asprintf_safe(&n, "%s..%s", up ?: "", i < depth ? "/" : "");
                free(up);
                up = n;
        }
        make_group(group);
        (void) asprintf_safe(
                &desc,
                "P: /devices/%s/%s\nE: SUBSYSTEM=pci\nE: PCI_SLOT_NAME=%s\n"
                "A: vendor=0x%04x\\n\nA: device=0x%04x\\n\nA: class=0x%06x\\n\n"
                "A: subsystem_vendor=0x0000\\n\nA: subsystem_device=0x0000\\n\n"
                "A: driver_override=(null)\\n\nA: numa_node=-1\\n\n"
                "L: iommu_group=%s/kernel/iommu_groups/%u\n%s%s%s%s%s",
                parent,
                bdf,
                bdf,
                vendor,
                device,
                class,
                up,
                group,
                driver ? "L: driver=" : "",
                driver ? up : "",
                driver ? "/bus/pci/drivers/" : "",
                driver ?: "",
                driver ? "\n" : "");
        if (physfn) {
                char *n = NULL;
                (void) asprintf_safe(&n, "%sL: physfn=../%s\n", desc, physfn);
                free(desc);
                desc = n;
        }
        (void) asprintf_safe(&glink, "sys/kernel/iommu_groups/%u/devices/%s", group, bdf);
        (void) asprintf_safe(&link, "../../../../devices/%s/%s", parent, bdf);
        sys_symlink(link, glink);
        if (!umockdev_testbed_add_from_string(testbed, desc, &error)) {
                printf("# umockdev: %s\n", error ? error->message : "?");
                return NULL;
        }
        (void) asprintf_safe(&devpath, "/sys/devices/%s/%s", parent, bdf);
        return devpath;
}

static void set_driver(const char *devpath, const char *driver) {
        _cleanup_free_ char *rel = NULL, *target = NULL;
        unsigned depth = 0;

        (void) asprintf_safe(&rel, "%s/driver", devpath + 1);
        sys_unlink(rel);
        if (!driver)
                return;
        for (const char *p = devpath + strlen("/sys/"); *p; p++)
                depth += *p == '/';
        target = strdup("..");
        for (unsigned i = 0; i < depth; i++) {
                char *n = NULL;
                (void) asprintf_safe(&n, "../%s", target);
                free(target);
                target = n;
        }
        {
                char *n = NULL;
                (void) asprintf_safe(&n, "%s/bus/pci/drivers/%s", target, driver);
                free(target);
                target = n;
        }
        sys_symlink(target, rel);
}

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *member = sd_bus_message_get_member(m), *address = NULL;

        if (streq(member, "DeviceAdded") || streq(member, "DeviceRemoved")) {
                if (sd_bus_message_read(m, "s", &address) < 0)
                        return 0;
                if (streq(member, "DeviceAdded")) {
                        n_added++;
                        (void) snprintf(last_added, sizeof(last_added), "%s", address);
                        /* Bench devices are 0000:BB:DD.F with BB >= bench_first_bus: index from the address.
                         */
                        if (added_at) {
                                unsigned bus, dev, fn;
                                if (sscanf(address, "0000:%x:%x.%x", &bus, &dev, &fn) == 3 &&
                                    bus >= bench_first_bus)
                                        added_at[(bus - bench_first_bus) * 256 + dev * 8 + fn] = now_usec();
                        }
                } else {
                        n_removed++;
                        (void) snprintf(last_removed, sizeof(last_removed), "%s", address);
                }
        } else if (streq(member, "PropertiesChanged") && streq(sd_bus_message_get_path(m), "/org/vfiomap1"))
                n_changed_manager++;
        return 0;
}

static void pump(sd_bus *bus, uint64_t usec) {
        uint64_t end = now_usec() + usec;

        for (;;) {
                int k = sd_bus_process(bus, NULL);
                uint64_t n = now_usec();
                if (k > 0)
                        continue;
                if (n >= end || k < 0)
                        return;
                (void) sd_bus_wait(bus, end - n);
        }
}

/* Processes bus traffic until cond holds or timeout_usec passes. */
#define PUMP_UNTIL(bus, cond, timeout_usec) \
        ({ \
                uint64_t _end = now_usec() + (timeout_usec); \
                while (!(cond) && now_usec() < _end) \
                        pump((bus), 10000); \
                (cond); \
        })

static char *get_string(sd_bus *bus, const char *path, const char *iface, const char *prop) {
        char *s = NULL;
        (void) sd_bus_get_property_string(bus, "org.vfiomap1", path, iface, prop, NULL, &s);
        return s;
}

static uint32_t get_u32(sd_bus *bus, const char *path, const char *iface, const char *prop) {
        uint32_t v = UINT32_MAX;
        (void) sd_bus_get_property_trivial(bus, "org.vfiomap1", path, iface, prop, NULL, 'u', &v);
        return v;
}

static int get_bool(sd_bus *bus, const char *path, const char *iface, const char *prop) {
        int v = -1;
        (void) sd_bus_get_property_trivial(bus, "org.vfiomap1", path, iface, prop, NULL, 'b', &v);
        return v;
}

static char *device_path(const char *address) {
        char *p = NULL;
        (void) sd_bus_path_encode("/org/vfiomap1/device", address, &p);
        return p;
}

/* vfiomapd, or with --floor the echo peer, under the testbed's preload library; returns once peer_bus_name
 * is owned by that very process (a leftover owner of the name must not pass for it: its signals would never
 * come). */
static int start_daemon(sd_bus *bus) {
        const char *vfiomapd = getenv("VFIOMAPD");
        pid_t parent = getpid();
        uint32_t other = 0;

        if (!floor_program) {
                if (!vfiomapd)
                        return -EINVAL;
                (void) snprintf(
                        runtime_dir,
                        sizeof(runtime_dir),
                        "%s/vfiomap-hotplug.XXXXXX",
                        getenv("TMPDIR") ?: "/tmp");
                if (!mkdtemp(runtime_dir)) {
                        runtime_dir[0] = 0;
                        return -errno;
                }
        }
        daemon_pid = fork();
        if (daemon_pid < 0)
                return -errno;
        if (daemon_pid == 0) {
                char arg[PATH_MAX + 16];
                const char *asan = getenv("ASAN_OPTIONS");
                /* Goes when we go, even when we are killed or abort (umockdev's uevent sender aborts when a
                 * receiver's queue is full) and cannot stop it ourselves. */
                if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
                        _exit(127);
                /* The testbed set UMOCKDEV_DIR in our environment; the preload library redirects /sys and
                 * the uevent socket for the daemon only. */
                setenv("LD_PRELOAD", "libumockdev-preload.so.0", 1);
                setenv("SYSTEMD_DEVICE_VERIFY_SYSFS", "0", 1);
                if (!asan)
                        setenv("ASAN_OPTIONS", "verify_asan_link_order=0", 1);
                if (floor_program) {
                        execl(floor_program, floor_program, (char *) NULL);
                        _exit(127);
                }
                (void) snprintf(arg, sizeof(arg), "--runtime-dir=%s", runtime_dir);
                /* --no-libvirt: this is the live mode, which would otherwise follow the host's libvirt. */
                execl(vfiomapd, vfiomapd, arg, "--no-libvirt", getenv("VFIOMAPD_DEBUG") ? "--debug" : NULL,
                      (char *) NULL);
                _exit(127);
        }
        for (int i = 0; i < 400; i++) {
                uint32_t owner = 0;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                if (sd_bus_call_method(
                            bus,
                            "org.freedesktop.DBus",
                            "/org/freedesktop/DBus",
                            "org.freedesktop.DBus",
                            "GetConnectionUnixProcessID",
                            NULL,
                            &reply,
                            "s",
                            peer_bus_name) >= 0 &&
                    sd_bus_message_read(reply, "u", &owner) >= 0) {
                        if (owner == (uint32_t) daemon_pid)
                                return 0;
                        other = owner;
                }
                if (waitpid(daemon_pid, NULL, WNOHANG) == daemon_pid) {
                        daemon_pid = -1;
                        if (other > 0)
                                fprintf(stderr,
                                        "%s is owned by PID %u, not by the process started.\n",
                                        peer_bus_name,
                                        other);
                        return other > 0 ? -EADDRINUSE : -ECHILD;
                }
                usleep(25000);
        }
        return -ETIMEDOUT;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void) remove(path);
        return 0;
}

static void stop_daemon(void) {
        if (daemon_pid > 0) {
                (void) kill(daemon_pid, SIGTERM);
                (void) waitpid(daemon_pid, NULL, 0);
                daemon_pid = -1;
        }
        /* claims.json, bindings.json, machines/: whatever vfiomapd left. */
        if (runtime_dir[0]) {
                (void) nftw(runtime_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
                runtime_dir[0] = 0;
        }
}

static int claim(sd_bus *bus, const char *name, const char *address, sd_bus_error *error) {
        char spec[512];

        (void) snprintf(
                spec,
                sizeof(spec),
                "{\"name\": \"%s\", \"machine\": \"pc-q35-8.2\", \"memory\": \"4G\", "
                "\"hostdevs\": [{\"address\": \"%s\"}]}",
                name,
                address);
        return sd_bus_call_method(
                bus,
                "org.vfiomap1",
                "/org/vfiomap1",
                "org.vfiomap1.Manager",
                "Claim",
                error,
                NULL,
                "ss",
                name,
                spec);
}

/* Devices made with umockdev's API send their "add" uevent as they are created, one by one. A burst (the
 * VFs appear together when sriov_numvfs is written) is made by writing the devices' files directly, then
 * sending the "add" uevents back to back. umockdev sends them over a unix datagram socket whose queue holds
 * net.unix.max_dgram_qlen messages (10 by default) and aborts when it is full, so the burst goes out in
 * chunks of 8, each once the daemon announced the previous one. A kernel netlink socket has no such limit
 * (vfiomapd asks for 128 MiB): this paces the harness, not the daemon. Devices are 0000:BB:DD.F from bus
 * first_bus, each in its own group from first_group. */
#define CHUNK 8U

static char *add_device_files(const char *bdf, unsigned group) {
        _cleanup_free_ char *dir = NULL, *f = NULL, *g = NULL;
        char *devpath = NULL;
        static const char *const attrs[][2] = {
                { "vendor", "0x8086\n" },
                { "device", "0x154c\n" },
                { "class", "0x020000\n" },
                { "subsystem_vendor", "0x0000\n" },
                { "subsystem_device", "0x0000\n" },
                { "driver_override", "(null)\n" },
                { "numa_node", "-1\n" },
        };

        make_group(group);
        sys_mkdir_p("sys/bus/pci/devices");
        (void) asprintf_safe(&dir, "sys/devices/pci0000:00/%s", bdf);
        sys_mkdir_p(dir);
        for (size_t i = 0; i < ELEMENTSOF(attrs); i++) {
                free(f);
                (void) asprintf_safe(&f, "%s/%s", dir, attrs[i][0]);
                sys_write(f, attrs[i][1]);
        }
        free(f);
        (void) asprintf_safe(&f, "%s/uevent", dir);
        {
                _cleanup_free_ char *u = NULL;
                (void) asprintf_safe(&u, "PCI_SLOT_NAME=%s\n", bdf);
                sys_write(f, u);
        }
        free(f);
        (void) asprintf_safe(&f, "%s/subsystem", dir);
        sys_symlink("../../../bus/pci", f);
        free(f);
        (void) asprintf_safe(&f, "%s/iommu_group", dir);
        (void) asprintf_safe(&g, "../../../kernel/iommu_groups/%u", group);
        sys_symlink(g, f);
        free(f);
        free(g);
        (void) asprintf_safe(&f, "sys/bus/pci/devices/%s", bdf);
        (void) asprintf_safe(&g, "../../../devices/pci0000:00/%s", bdf);
        sys_symlink(g, f);
        free(f);
        free(g);
        (void) asprintf_safe(&f, "sys/kernel/iommu_groups/%u/devices/%s", group, bdf);
        (void) asprintf_safe(&g, "../../../../devices/pci0000:00/%s", bdf);
        sys_symlink(g, f);
        (void) asprintf_safe(&devpath, "/%s", dir);
        return devpath;
}

static unsigned add_devices_burst(
        sd_bus *bus,
        unsigned first_bus,
        unsigned first_group,
        unsigned n,
        uint64_t *sent_at) {
        unsigned base = n_added;
        char **paths = calloc(n, sizeof(char *));

        for (unsigned i = 0; i < n; i++) {
                char bdf[32];
                (void) snprintf(
                        bdf, sizeof(bdf), "0000:%02x:%02x.%x", first_bus + i / 256, (i / 8) % 32, i % 8);
                paths[i] = add_device_files(bdf, first_group + i);
        }
        for (unsigned i = 0; i < n; i++) {
                if (sent_at)
                        sent_at[i] = now_usec();
                umockdev_testbed_uevent(testbed, paths[i], "add");
                if ((i + 1) % CHUNK == 0 || i + 1 == n)
                        if (!PUMP_UNTIL(bus, n_added - base >= i + 1, 10000000ULL))
                                break;
        }
        for (unsigned i = 0; i < n; i++)
                free(paths[i]);
        free(paths);
        return n_added - base;
}

/* The devices of add_devices_burst() go again: "remove" uevents in chunks, each chunk's files deleted right
 * after its events (the kernel's order, DOMAIN.md §6), until every DeviceRemoved arrived. */
static unsigned remove_devices_burst(sd_bus *bus, unsigned first_bus, unsigned first_group, unsigned n) {
        unsigned base = n_removed;

        for (unsigned i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL, *glink = NULL;
                char bdf[32];

                (void) snprintf(
                        bdf, sizeof(bdf), "0000:%02x:%02x.%x", first_bus + i / 256, (i / 8) % 32, i % 8);
                (void) asprintf_safe(&path, "/sys/devices/pci0000:00/%s", bdf);
                (void) asprintf_safe(&glink, "sys/kernel/iommu_groups/%u/devices/%s", first_group + i, bdf);
                umockdev_testbed_uevent(testbed, path, "remove");
                umockdev_testbed_remove_device(testbed, path);
                sys_unlink(glink);
                if ((i + 1) % CHUNK == 0 || i + 1 == n)
                        if (!PUMP_UNTIL(bus, n_removed - base >= i + 1, 10000000ULL))
                                break;
        }
        return n_removed - base;
}

/* ---- the functional test ---- */

static void run_test(sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *gpu = NULL, *audio = NULL, *nic = NULL, *p_gpu = NULL, *p_audio = NULL;
        char *mpath = "/org/vfiomap1/machine/vm1", *s;
        unsigned before;

        gpu = device_path("0000:01:00.0");
        audio = device_path("0000:01:00.1");

        is_int(get_u32(bus, "/org/vfiomap1", "org.vfiomap1.Manager", "NDevices"),
               4,
               "model read through umockdev");
        ok(claim(bus, "vm1", "0000:01:00.0", &error) >= 0,
           "claim vm1 (GPU; its audio function is on vfio-pci)");
        s = get_string(bus, mpath, "org.vfiomap1.Machine", "State");
        is_str(s, "claimed", "vm1 is claimed");
        free(s);

        /* bind: the audio function goes back to a host driver. */
        set_driver("/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.1", "snd_hda_intel");
        umockdev_testbed_uevent(testbed, "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.1", "bind");
        ok(PUMP_UNTIL(
                   bus,
                   ({
                           char *d = get_string(bus, audio, "org.vfiomap1.Device", "Driver");
                           bool b = streq_ptr(d, "snd_hda_intel");
                           free(d);
                           b;
                   }),
                   5000000ULL),
           "bind uevent: Driver follows");
        is_int(get_bool(bus, "/org/vfiomap1/group/1", "org.vfiomap1.Group", "Viable"),
               0,
               "group 1 is not viable");
        s = get_string(bus, mpath, "org.vfiomap1.Machine", "State");
        is_str(s, "degraded", "a peer on a host driver degrades vm1");
        free(s);

        /* unbind: nothing holds it, the group is usable again. */
        set_driver("/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.1", NULL);
        umockdev_testbed_uevent(testbed, "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.1", "unbind");
        ok(PUMP_UNTIL(
                   bus,
                   get_bool(bus, "/org/vfiomap1/group/1", "org.vfiomap1.Group", "Viable") == 1,
                   5000000ULL),
           "unbind uevent: group 1 viable again");
        s = get_string(bus, mpath, "org.vfiomap1.Machine", "State");
        is_str(s, "claimed", "vm1 is whole again");
        free(s);

        /* add */
        before = n_added;
        nic = add_device("pci0000:00", "0000:00:1c.0", 0x8086, 0x15b8, 0x020000, "e1000e", 7, NULL);
        ok(PUMP_UNTIL(bus, n_added > before, 5000000ULL), "add uevent: DeviceAdded");
        is_str(last_added, "0000:00:1c.0", "DeviceAdded names the device");
        ok(PUMP_UNTIL(
                   bus, get_u32(bus, "/org/vfiomap1", "org.vfiomap1.Manager", "NDevices") == 5, 2000000ULL),
           "NDevices is 5");

        /* remove: the event first, then the files (DOMAIN.md §6); the daemon must cope with seeing sysfs
         * still populated and re-read later. */
        before = n_removed;
        umockdev_testbed_uevent(testbed, nic, "remove");
        pump(bus, 5000);
        umockdev_testbed_remove_device(testbed, nic);
        sys_unlink("sys/kernel/iommu_groups/7/devices/0000:00:1c.0");
        ok(PUMP_UNTIL(bus, n_removed > before, 5000000ULL), "remove uevent: DeviceRemoved");
        is_str(last_removed, "0000:00:1c.0", "DeviceRemoved names the device");
        ok(PUMP_UNTIL(
                   bus, get_u32(bus, "/org/vfiomap1", "org.vfiomap1.Manager", "NDevices") == 4, 2000000ULL),
           "NDevices is 4 again");

        /* A claimed device disappears. */
        umockdev_testbed_uevent(testbed, "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0", "remove");
        umockdev_testbed_remove_device(testbed, "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0");
        sys_unlink("sys/kernel/iommu_groups/1/devices/0000:01:00.0");
        ok(PUMP_UNTIL(
                   bus,
                   ({
                           char *st = get_string(bus, mpath, "org.vfiomap1.Machine", "State");
                           bool b = streq_ptr(st, "degraded");
                           free(st);
                           b;
                   }),
                   5000000ULL),
           "removing a claimed device degrades its machine");

        /* A burst: 64 VFs, each in its own group. */
        {
                const unsigned n = 64;
                unsigned changed_before = n_changed_manager;

                before = n_added;
                (void) add_devices_burst(bus, 0x05, 100, n, NULL);
                ok(PUMP_UNTIL(bus, n_added - before == n, 10000000ULL),
                   "burst of %u adds: %u DeviceAdded",
                   n,
                   n_added - before);
                pump(bus, 100000);
                is_int(get_u32(bus, "/org/vfiomap1", "org.vfiomap1.Manager", "NDevices"),
                       3 + n,
                       "NDevices counts them all");
                /* One signal per chunk, or two when a chunk straddles the end of a batch (BATCH_USEC), which a
                 * slowed daemon (sanitizers, valgrind, a loaded machine) makes common; one per event would be
                 * 64. */
                ok(n_changed_manager - changed_before <= 2 * (n / CHUNK) + 1,
                   "Manager PropertiesChanged coalesced: %u signals for %u events in chunks of %u",
                   n_changed_manager - changed_before,
                   n,
                   CHUNK);
        }
}

/* ---- BindVfio and UnbindVfio ---- */

static char *sys_read(const char *relpath) {
        _cleanup_free_ char *p = NULL;
        char *buf = NULL;
        size_t n = 0;
        FILE *f;

        (void) asprintf_safe(&p, "%s/%s", umockdev_testbed_get_root_dir(testbed), relpath);
        f = fopen(p, "re");
        if (!f)
                return strdup("(missing)");
        if (getdelim(&buf, &n, 0, f) < 0) {
                free(buf);
                buf = strdup("");
        }
        fclose(f);
        return buf;
}

/* The first (device, driver) pair of a BindVfio/UnbindVfio reply, "" when the list is empty. */
static int call_vfio(sd_bus *bus, const char *method, unsigned group, char **ret, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *address = "", *driver = "";
        int k;

        k = sd_bus_call_method(
                bus, "org.vfiomap1", "/org/vfiomap1", "org.vfiomap1.Manager", method, error, &reply, "u", group);
        if (k < 0)
                return k;
        k = sd_bus_message_enter_container(reply, 'a', "(ss)");
        if (k >= 0)
                k = sd_bus_message_read(reply, "(ss)", &address, &driver);
        if (k < 0)
                return k;
        return asprintf_safe(ret, "%s %s", address, driver);
}

/* The daemon writes the files the kernel documents (driver_override, driver/unbind, drivers_probe); under
 * umockdev they are plain files, so the test checks what was written and plays the kernel's part (the
 * driver link and the uevent) itself. */
static void run_bind_test(sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *nvme = "/sys/devices/pci0000:00/0000:00:1d.0";
        char *s = NULL, *bindings;
        _cleanup_free_ char *path = NULL;

        sys_write("sys/bus/pci/drivers_probe", "");
        sys_mkdir_p("sys/bus/pci/drivers/nvme");
        sys_write("sys/bus/pci/drivers/nvme/unbind", "");
        sys_mkdir_p("sys/bus/pci/drivers/vfio-pci");
        sys_write("sys/bus/pci/drivers/vfio-pci/unbind", "");
        is_int(get_bool(bus, "/org/vfiomap1/group/2", "org.vfiomap1.Group", "Viable"),
               0,
               "group 2 (NVMe on nvme) is not viable");

        ok(call_vfio(bus, "BindVfio", 2, &s, &error) >= 0,
           "BindVfio(2)%s%s",
           error.message ? ": " : "",
           error.message ?: "");
        is_str(s, "0000:00:1d.0 nvme", "BindVfio names the device and its previous driver");
        free(s);
        s = sys_read("sys/devices/pci0000:00/0000:00:1d.0/driver_override");
        ok(startswith(s, "vfio-pci"), "driver_override is vfio-pci");
        free(s);
        s = sys_read("sys/bus/pci/drivers/nvme/unbind");
        is_str(s, "0000:00:1d.0", "unbound from nvme");
        free(s);
        s = sys_read("sys/bus/pci/drivers_probe");
        is_str(s, "0000:00:1d.0", "drivers_probe asked");
        free(s);
        (void) asprintf_safe(&path, "%s/bindings.json", runtime_dir);
        bindings = NULL;
        {
                FILE *f = fopen(path, "re");
                size_t n = 0;
                if (f) {
                        if (getdelim(&bindings, &n, 0, f) < 0)
                                bindings = NULL;
                        fclose(f);
                }
        }
        ok(bindings && strstr(bindings, "\"nvme\""), "bindings.json remembers nvme");
        free(bindings);

        /* The kernel's part: vfio-pci takes the device. */
        set_driver(nvme, "vfio-pci");
        umockdev_testbed_uevent(testbed, nvme, "bind");
        ok(PUMP_UNTIL(bus, get_bool(bus, "/org/vfiomap1/group/2", "org.vfiomap1.Group", "Viable") == 1, 5000000ULL),
           "group 2 is viable once vfio-pci has it");

        ok(call_vfio(bus, "UnbindVfio", 2, &s, &error) >= 0,
           "UnbindVfio(2)%s%s",
           error.message ? ": " : "",
           error.message ?: "");
        is_str(s, "0000:00:1d.0 nvme", "UnbindVfio gives it back to nvme");
        free(s);
        s = sys_read("sys/devices/pci0000:00/0000:00:1d.0/driver_override");
        ok(s[0] == '\n', "driver_override cleared (\"\\n\")");
        free(s);
        s = sys_read("sys/bus/pci/drivers/vfio-pci/unbind");
        is_str(s, "0000:00:1d.0", "unbound from vfio-pci");
        free(s);
        sd_bus_error_free(&error);
        ok(call_vfio(bus, "UnbindVfio", 2, &s, &error) < 0 &&
                   sd_bus_error_has_name(&error, SD_BUS_ERROR_INVALID_ARGS),
           "UnbindVfio again: nothing to give back");
}

/* ---- the benchmark ---- */

static int compare_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static double rate(
        sd_bus *bus,
        const char *dest,
        const char *path,
        const char *iface,
        const char *member,
        const char *sig,
        const char *arg) {
        uint64_t start = now_usec(), n = 0;

        while (now_usec() - start < 1000000ULL) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                int k = arg ? sd_bus_call_method(bus, dest, path, iface, member, NULL, &reply, sig, arg)
                            : sd_bus_call_method(bus, dest, path, iface, member, NULL, &reply, NULL);
                if (k < 0)
                        return -1;
                n++;
        }
        return (double) n * 1e6 / (double) (now_usec() - start);
}

static long rss_kib(pid_t pid) {
        char p[64], line[256];
        long v = -1;
        FILE *f;

        (void) snprintf(p, sizeof(p), "/proc/%d/status", (int) pid);
        f = fopen(p, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
                        break;
        fclose(f);
        return v;
}

/* utime + stime of a process, in ms (proc(5): fields 14 and 15 of /proc/PID/stat, in clock ticks). */
static double cpu_ms(pid_t pid) {
        char p[64], buf[1024], *s;
        unsigned long utime = 0, stime = 0;
        FILE *f;

        (void) snprintf(p, sizeof(p), "/proc/%d/stat", (int) pid);
        f = fopen(p, "re");
        if (!f)
                return -1;
        s = fgets(buf, sizeof(buf), f);
        fclose(f);
        if (!s || !(s = strrchr(buf, ')')))
                return -1;
        if (sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
                return -1;
        return (double) (utime + stime) * 1000.0 / (double) sysconf(_SC_CLK_TCK);
}

static uint64_t percentile(const uint64_t *sorted, unsigned n, unsigned p) {
        unsigned i = (n * p + 99) / 100;
        return sorted[i > 0 ? i - 1 : 0];
}

/* Devices on buses from 0x80 are timed: index = (bus - 0x80) * 256 + devfn. The burst uses buses 0x80..,
 * single events bus 0x90, the storms buses 0xa0... */
#define BENCH_BUS_BURST 0x80U
#define BENCH_BUS_SINGLE 0x90U
#define BENCH_BUS_STORM 0xa0U
#define BENCH_SINGLES 100U
#define BENCH_STORMS 5U

static int run_bench(sd_bus *bus, unsigned n_devices, unsigned n_events) {
        _cleanup_free_ uint64_t *sent_at = calloc(MAX(n_events, BENCH_SINGLES), sizeof(uint64_t)),
                                *lat = calloc(MAX(n_events, BENCH_SINGLES), sizeof(uint64_t));
        const char *name = floor_program ? "uevent-echo" : "vfiomapd";
        /* The floor answers add and remove alike: one storm shows that it loses no remove either. */
        unsigned got = 0, burst_got, n_storms = floor_program ? 1 : BENCH_STORMS;
        uint64_t t0;
        int k;

        /* The host: n_devices functions on buses 1.., each its own group (the common server shape). */
        for (unsigned i = 0; i < n_devices; i++) {
                char bdf[32];
                char *p;
                (void) snprintf(bdf, sizeof(bdf), "0000:%02x:%02x.%x", 1 + i / 256, (i / 8) % 32, i % 8);
                p = add_device_files(bdf, 1 + i);
                set_driver(p, "i40e");
                free(p);
        }
        bench_first_bus = BENCH_BUS_BURST;
        added_at = calloc(0x80 * 256, sizeof(uint64_t));
        if (!sent_at || !lat || !added_at || n_events > (BENCH_BUS_SINGLE - BENCH_BUS_BURST) * 256)
                return EXIT_FAILURE;

        t0 = now_usec();
        k = start_daemon(bus);
        if (k < 0) {
                fprintf(stderr, "%s did not start: %s\n", name, strerror(-k));
                return EXIT_FAILURE;
        }
        printf("bench peer %s\n", name);
        printf("%s startup on a %u-device host: %.0f ms\n", name, n_devices, (now_usec() - t0) / 1000.0);
        printf("%s RSS with %u devices: %ld KiB\n", name, n_devices, rss_kib(daemon_pid));

        (void) add_devices_burst(bus, bench_first_bus, 10000, n_events, sent_at);
        (void) PUMP_UNTIL(bus, n_added >= n_events, 10000000ULL);
        for (unsigned i = 0; i < n_events; i++)
                if (added_at[i])
                        lat[got++] = added_at[i] - sent_at[i];
        qsort(lat, got, sizeof(uint64_t), compare_u64);
        printf("hotplug burst (%s): %u add uevents on a %u-device host, %u DeviceAdded received, %u lost\n",
               name,
               n_events,
               n_devices,
               got,
               n_events - got);
        if (got > 0)
                printf("hotplug latency (uevent sent -> DeviceAdded received): median %.2f ms, p99 %.2f ms, "
                       "max %.2f ms\n",
                       lat[got / 2] / 1000.0,
                       lat[(got * 99) / 100 - ((got * 99) % 100 == 0)] / 1000.0,
                       lat[got - 1] / 1000.0);
        printf("%s RSS after the burst (%u devices): %ld KiB\n",
               name,
               n_devices + n_events,
               rss_kib(daemon_pid));
        /* Machine-readable lines for tests/bench/run. */
        printf("bench burst_sent %u\nbench burst_received %u\n", n_events, got);
        if (got > 0)
                printf("bench burst_median_ms %.3f\nbench burst_p99_ms %.3f\n",
                       lat[got / 2] / 1000.0,
                       percentile(lat, got, 99) / 1000.0);

        burst_got = got;

        /* Single events: one device at a time on an idle daemon, the next once the previous was announced
         * and the daemon had 20 ms of quiet, so no batch of the previous event is still open. */
        got = 0;
        for (unsigned i = 0; i < BENCH_SINGLES; i++) {
                char bdf[32];
                _cleanup_free_ char *p = NULL;
                unsigned idx = (BENCH_BUS_SINGLE - BENCH_BUS_BURST) * 256 + i;

                (void) snprintf(bdf, sizeof(bdf), "0000:%02x:%02x.%x", BENCH_BUS_SINGLE, i / 8, i % 8);
                p = add_device_files(bdf, 20000 + i);
                pump(bus, 20000);
                sent_at[i] = now_usec();
                umockdev_testbed_uevent(testbed, p, "add");
                if (PUMP_UNTIL(bus, added_at[idx] != 0, 2000000ULL))
                        lat[got++] = added_at[idx] - sent_at[i];
        }
        qsort(lat, got, sizeof(uint64_t), compare_u64);
        printf("bench single_sent %u\nbench single_received %u\n", BENCH_SINGLES, got);
        if (got > 0)
                printf("single uevents (%s) on a %u-device host: median %.2f ms, p99 %.2f ms, max %.2f ms\n"
                       "bench single_median_ms %.3f\nbench single_p99_ms %.3f\n",
                       name,
                       n_devices + n_events,
                       lat[got / 2] / 1000.0,
                       percentile(lat, got, 99) / 1000.0,
                       lat[got - 1] / 1000.0,
                       lat[got / 2] / 1000.0,
                       percentile(lat, got, 99) / 1000.0);

        /* Storms: n_events devices appear and go, n_storms times; the RSS after each must not grow. */
        printf("bench idle_rss_kib %ld\nbench idle_cpu_ms %.0f\n", rss_kib(daemon_pid), cpu_ms(daemon_pid));
        for (unsigned s = 0; s < n_storms; s++) {
                unsigned added = add_devices_burst(bus, BENCH_BUS_STORM, 30000, n_events, NULL);
                unsigned removed = remove_devices_burst(bus, BENCH_BUS_STORM, 30000, n_events);
                pump(bus, 100000);
                printf("bench storm %u added %u removed %u rss_kib %ld cpu_ms %.0f\n",
                       s + 1,
                       added,
                       removed,
                       rss_kib(daemon_pid),
                       cpu_ms(daemon_pid));
        }
        fflush(stdout);

        if (!floor_program) {
                const char *spec = "{\"name\": \"bench\", \"machine\": \"pc-q35-8.2\", \"memory\": \"16G\", "
                                   "\"hostdevs\": [{\"address\": \"0000:01:00.0\"}]}";
                double floor =
                        rate(bus,
                             "org.freedesktop.DBus",
                             "/org/freedesktop/DBus",
                             "org.freedesktop.DBus",
                             "GetId",
                             NULL,
                             NULL);
                double lg =
                        rate(bus,
                             "org.vfiomap1",
                             "/org/vfiomap1",
                             "org.vfiomap1.Manager",
                             "ListGroups",
                             NULL,
                             NULL);
                double cl =
                        rate(bus,
                             "org.vfiomap1",
                             "/org/vfiomap1",
                             "org.vfiomap1.Manager",
                             "ComputeLayout",
                             "s",
                             spec);
                double nd =
                        rate(bus,
                             "org.vfiomap1",
                             "/org/vfiomap1",
                             "org.freedesktop.DBus.Properties",
                             "Get",
                             NULL,
                             NULL);
                (void) nd;
                printf("round trips per second: org.freedesktop.DBus.GetId %.0f (the bus's floor), "
                       "ListGroups (%u groups) %.0f, ComputeLayout %.0f\n",
                       floor,
                       n_devices + n_events,
                       lg,
                       cl);
        }
        free(added_at);
        return burst_got == n_events && got == BENCH_SINGLES ? EXIT_SUCCESS : EXIT_FAILURE;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        bool bench = argc > 1 && streq(argv[1], "--bench");
        int k, r;

        if (bench && argc == 6 && streq(argv[4], "--floor")) {
                floor_program = argv[5];
                peer_bus_name = FLOOR_BUS_NAME;
        } else if ((bench && argc != 4) || (!bench && argc != 1)) {
                fprintf(stderr, "Usage: %s [--bench DEVICES EVENTS [--floor PROGRAM]]\n", argv[0]);
                return 2;
        }
        if (!getenv("DBUS_SYSTEM_BUS_ADDRESS") || (!floor_program && !getenv("VFIOMAPD"))) {
                fprintf(stderr,
                        "Run through test-hotplug.sh or bench-daemon.sh: they set up the private bus.\n");
                return 2;
        }
        /* umockdev's uevent sender resolves the device with libudev, which is sd-device on systemd 252: a
         * syspath in the testbed directory is not under /sys, which sd-device refuses unless told not to
         * verify (../shared/DOMAIN.md §6). The daemon inherits it. */
        setenv("SYSTEMD_DEVICE_VERIFY_SYSFS", "0", 1);
        testbed = umockdev_testbed_new();
        if (!bench)
                ok(testbed && umockdev_in_mock_environment(), "umockdev testbed, under the preload library");

        k = sd_bus_open_system(&bus);
        if (k < 0 || sd_bus_match_signal(bus, NULL, peer_bus_name, NULL, NULL, NULL, on_signal, NULL) < 0) {
                fprintf(stderr, "Cannot use the private bus: %s\n", strerror(-k));
                return EXIT_FAILURE;
        }

        if (bench) {
                /* Line by line into the harness's file: the figures of a run survive its end by abort(). */
                (void) setvbuf(stdout, NULL, _IOLBF, 0);
                r = run_bench(bus, (unsigned) atoi(argv[2]), (unsigned) atoi(argv[3]));
        } else {
                _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL;

                /* Group 1: a root port, a GPU and its audio function, both on vfio-pci; group 2: NVMe. */
                a = add_device("pci0000:00", "0000:00:01.0", 0x8086, 0x1901, 0x060400, "pcieport", 1, NULL);
                b = add_device(
                        "pci0000:00/0000:00:01.0",
                        "0000:01:00.0",
                        0x10de,
                        0x1b80,
                        0x030000,
                        "vfio-pci",
                        1,
                        NULL);
                c = add_device(
                        "pci0000:00/0000:00:01.0",
                        "0000:01:00.1",
                        0x10de,
                        0x10f0,
                        0x040300,
                        "vfio-pci",
                        1,
                        NULL);
                d = add_device("pci0000:00", "0000:00:1d.0", 0x144d, 0xa808, 0x010802, "nvme", 2, NULL);
                k = start_daemon(bus);
                if (!ok(k >= 0, "vfiomapd starts under umockdev-preload"))
                        printf("# %s\n", strerror(-k));
                else {
                        run_test(bus);
                        run_bind_test(bus);
                }
                r = tap_done();
        }
        stop_daemon();
        g_object_unref(testbed);
        return r;
}
