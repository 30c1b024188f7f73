/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/reconcile.c: what vfiomapd does with what libvirt reports, on a Manager without bus (manager.h)
 * serving the intel-client sample host. The messages are the ones the libvirt thread builds; this covers
 * what the real libvirtd of tests/integration/test-libvirt.sh cannot produce on a machine without VFIO:
 * running domains with VFIO devices, and VFIO devices hot-added to them (DEVICE_ADDED). */

#include "libvirt.h"
#include "machine.h"
#include "manager.h"
#include "tap.h"

#include <dirent.h>
#include <libvirt/libvirt.h>
#include <limits.h>
#include <time.h>

static char runtime_dir[] = "/tmp/vfiomap-reconcile.XXXXXX";

static bool exists_in_runtime_dir(const char *relpath) {
        char p[PATH_MAX];

        (void) snprintf(p, sizeof(p), "%s/%s", runtime_dir, relpath);
        return access(p, F_OK) == 0;
}

/* The runtime directory holds files and one level of directories (machines/). */
static void remove_tree(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;

        while (d && (de = readdir(d))) {
                char p[PATH_MAX];

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                (void) snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
                if (unlink(p) < 0)
                        remove_tree(p);
        }
        if (d)
                closedir(d);
        (void) rmdir(dir);
}

/* A domain XML with the given VFIO devices ("bb:ss.f", alias hostdevN) plus a disk. */
static char *domain_xml(const char *name, const char *const *devices) {
        char *xml = NULL, *n;
        unsigned i = 0;

        (void) asprintf_safe(
                &xml,
                "<domain type='kvm'><name>%s</name><memory unit='GiB'>4</memory>"
                "<os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os><devices>"
                "<disk type='file' device='disk'><alias name='virtio-disk0'/></disk>",
                name);
        for (; devices && devices[i]; i++) {
                unsigned b, s, f;
                (void) sscanf(devices[i], "%x:%x.%x", &b, &s, &f);
                n = NULL;
                (void) asprintf_safe(
                        &n,
                        "%s<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0' "
                        "bus='%u' slot='%u' function='%u'/></source><alias name='hostdev%u'/></hostdev>",
                        xml,
                        b,
                        s,
                        f,
                        i);
                free(xml);
                xml = n;
        }
        n = NULL;
        (void) asprintf_safe(&n, "%s</devices></domain>", xml);
        free(xml);
        return n;
}

static LibvirtMessage *message(LibvirtMessageType type, uint64_t since, const char *name, char *xml) {
        LibvirtMessage *msg = calloc(1, sizeof(LibvirtMessage));

        msg->type = type;
        msg->since = since;
        msg->name = name ? strdup(name) : NULL;
        msg->xml = xml;
        msg->active = xml ? 1 : 0;
        return msg;
}

static void deliver(Manager *m, LibvirtMessage *msg) {
        ok(manager_libvirt_message(m, msg) >= 0,
           "message %d for %s handled",
           (int) msg->type,
           strna(msg->name));
        libvirt_message_free(msg);
}

static uint64_t now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

static const char *state(Manager *m, const char *name) {
        Machine *machine = manager_find_machine(m, name);
        return machine ? machine_state_to_string(machine->state) : "(none)";
}

int main(void) {
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        static const char *const gpu[] = { "01:00.0", "01:00.1", NULL };
        static const char *const gpu_and_audio[] = { "01:00.0", "01:00.1", "00:1f.3", NULL };
        static const char *const gpu_and_nvme[] = { "01:00.0", "01:00.1", "03:00.0", NULL };
        _cleanup_free_ char *ghost = NULL, *fresh = NULL;
        LibvirtMessage *msg;
        Machine *machine;
        uint64_t since;

        if (!mkdtemp(runtime_dir))
                tap_skip_all("cannot create a temporary directory");
        ok(manager_new(&m) >= 0, "manager");
        m->root = strdup(SAMPLE_HOSTS_DIR "/intel-client");
        m->runtime_dir = strdup(runtime_dir);
        ok(manager_load(m) >= 0, "intel-client loaded");

        /* Two claims before libvirt reports: one older (its domain is gone), one newer (a start under way).
         */
        ghost = domain_xml("ghost", (const char *const[]){ "03:00.0", NULL });
        ok(manager_claim(m, "ghost", ghost, NULL, &error) >= 0,
           "ghost claims group 11 %s",
           error.message ?: "");
        since = now() + 1;
        usleep(2000);
        fresh = domain_xml("fresh", (const char *const[]){ "02:00.0", NULL });
        ok(manager_claim(m, "fresh", fresh, NULL, &error) >= 0,
           "fresh claims group 10 %s",
           error.message ?: "");
        manager_find_machine(m, "fresh")->claim.claimed_at =
                since + 1000000; /* made after the listing began */

        /* Connected: "gpu" runs with VFIO devices, though no hook ran for it. */
        msg = message(LIBVIRT_CONNECTED, since, NULL, NULL);
        msg->domains = calloc(2, sizeof(LibvirtDomain));
        msg->domains[0] = (LibvirtDomain){ .name = strdup("gpu"), .xml = domain_xml("gpu", gpu) };
        msg->domains[1] = (LibvirtDomain){ .name = strdup("plain"), .xml = domain_xml("plain", NULL) };
        msg->n_domains = 2;
        deliver(m, msg);
        ok(m->libvirt_connected, "connected");
        is_str(state(m, "gpu"), "claimed", "a running domain's devices are claimed without the hook");
        ok(!manager_find_machine(m, "ghost"), "a claim whose domain does not run is released");
        ok(manager_find_machine(m, "fresh"), "a claim newer than the listing is kept");
        ok(!manager_find_machine(m, "plain"), "a domain without VFIO devices claims nothing");
        ok(exists_in_runtime_dir("machines/gpu.json"), "machines/gpu.json written");
        ok(!exists_in_runtime_dir("machines/ghost.json"), "machines/ghost.json removed");

        /* A VFIO device hot-added to gpu, whose group is not viable (ISA bridge, SMBus... on host drivers).
         */
        msg = message(LIBVIRT_DEVICE_ADDED, now(), "gpu", domain_xml("gpu", gpu_and_audio));
        msg->alias = strdup("hostdev2");
        deliver(m, msg);
        machine = manager_find_machine(m, "gpu");
        is_str(state(m, "gpu"), "degraded", "a conflicting hot-added device degrades the machine");
        ok(machine && machine->problems &&
                   strstr(machine->problems[0], "Hot-added device 0000:00:1f.3: Group 9"),
           "the problem names the device and its group: %s",
           machine && machine->problems ? machine->problems[0] : "(none)");
        is_int(machine ? machine->claim.n_groups : 0, 1, "the claim did not grow to group 9");

        /* A device whose group is fine: the claim grows, and the new claim has no problems. */
        msg = message(LIBVIRT_DEVICE_ADDED, now(), "gpu", domain_xml("gpu", gpu_and_nvme));
        msg->alias = strdup("hostdev2");
        deliver(m, msg);
        machine = manager_find_machine(m, "gpu");
        is_int(machine ? machine->claim.n_groups : 0, 2, "the claim grows to the NVMe drive's group");
        is_str(state(m, "gpu"), "claimed", "... and the machine is whole");

        /* The same device reported again (the claim holds it already): no "already assigned" problem. */
        msg = message(LIBVIRT_DEVICE_ADDED, now(), "gpu", domain_xml("gpu", gpu_and_nvme));
        msg->alias = strdup("hostdev2");
        deliver(m, msg);
        machine = manager_find_machine(m, "gpu");
        is_str(state(m, "gpu"), "claimed", "a device the claim holds, added again, degrades nothing");
        ok(machine && !machine->problems, "... and is no problem of the machine");

        /* Not a VFIO device: nothing changes. */
        msg = message(LIBVIRT_DEVICE_ADDED, now(), "gpu", domain_xml("gpu", gpu_and_nvme));
        msg->alias = strdup("virtio-disk0");
        deliver(m, msg);
        is_int(manager_find_machine(m, "gpu")->claim.n_groups, 2, "a disk changes no claim");

        /* Removed again: the claim shrinks. */
        msg = message(LIBVIRT_DEVICE_REMOVED, now(), "gpu", domain_xml("gpu", gpu));
        msg->alias = strdup("hostdev2");
        deliver(m, msg);
        is_int(manager_find_machine(m, "gpu")->claim.n_groups, 1, "a removed device shrinks the claim");

        /* Stopped, but libvirt could not say whether it runs again: keep. Stopped for sure: release. */
        msg = message(LIBVIRT_LIFECYCLE, now(), "gpu", NULL);
        msg->event = VIR_DOMAIN_EVENT_STOPPED;
        msg->active = -1;
        deliver(m, msg);
        ok(manager_find_machine(m, "gpu"), "STOPPED with an unknown state keeps the claim");
        msg = message(LIBVIRT_LIFECYCLE, now(), "gpu", NULL);
        msg->event = VIR_DOMAIN_EVENT_STOPPED;
        deliver(m, msg);
        ok(!manager_find_machine(m, "gpu"), "STOPPED releases the claim");

        /* Started again (the hook did not run): claimed. */
        msg = message(LIBVIRT_LIFECYCLE, now(), "gpu", domain_xml("gpu", gpu));
        msg->event = VIR_DOMAIN_EVENT_STARTED;
        deliver(m, msg);
        is_str(state(m, "gpu"), "claimed", "STARTED claims");

        /* A running domain whose group another machine holds: the domain runs, the claim is refused. */
        msg = message(LIBVIRT_LIFECYCLE, now(), "thief", domain_xml("thief", gpu));
        msg->event = VIR_DOMAIN_EVENT_STARTED;
        deliver(m, msg);
        ok(!manager_find_machine(m, "thief"), "no claim on a group another machine holds");

        msg = message(LIBVIRT_DISCONNECTED, now(), NULL, NULL);
        deliver(m, msg);
        ok(!m->libvirt_connected, "disconnected");

        remove_tree(runtime_dir);
        return tap_done();
}
