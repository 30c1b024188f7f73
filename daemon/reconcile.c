/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The main thread's half of the libvirt side (libvirt.h): what libvirt reports is applied to the claims.
 *
 * The rule: a claim follows the libvirt domain of the same name. A running domain with VFIO devices holds
 * a claim on their groups, whether or not the qemu hook ran (it is not installed, vfiomapd was down when
 * the domain started, libvirtd was restarted); a claim whose domain does not run, or runs without VFIO
 * devices, is released. Only claims older than what libvirt reported are released: the hook may claim a
 * domain while its start is under way and before libvirt lists it as running. */

#include "bus-util.h"
#include "domain-xml.h"
#include "json-util.h"
#include "libvirt.h"
#include "log.h"
#include "machine.h"

#include <libvirt/libvirt.h>

static int strv_compare(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The claim covers exactly these devices. */
static bool claim_matches(const Machine *machine, char **devices) {
        size_t n = strv_length(devices);

        if (n != strv_length(machine->claim.devices))
                return false;
        qsort(devices, n, sizeof(char *), strv_compare);
        for (size_t i = 0; i < n; i++)
                if (!streq(devices[i], machine->claim.devices[i]))
                        return false;
        return true;
}

static int release_stale(Manager *m, const char *name, uint64_t since, const char *why) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        Machine *machine = manager_find_machine(m, name);
        int k;

        if (!machine)
                return 0;
        if (machine->claim.claimed_at >= since) {
                log_debug("Keeping the claim of %s: it is newer than libvirt's report.", name);
                return 0;
        }
        log_info("Releasing the claim of %s: libvirt reports the domain %s.", name, why);
        k = manager_release(m, name, &error);
        if (k < 0)
                log_warning_errno(k, "Failed to release the claim of %s: %s", name, error.message ?: "%m");
        return k == -ENOMEM ? k : 0;
}

/* xml NULL: the domain does not run. */
static int reconcile_domain(Manager *m, const char *name, const char *xml, uint64_t since) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_strv_free_ char **devices = NULL;
        _cleanup_free_ char *msg = NULL;
        Machine *machine;
        int n, k;

        if (!xml)
                return release_stale(m, name, since, "not running");

        n = domain_xml_pci_hostdevs(xml, strlen(xml), &devices, &msg);
        if (n == -ENOMEM)
                return n;
        if (n < 0) {
                log_warning(
                        "Cannot read the XML libvirt gave for domain %s (%s); its claim is left as it is.",
                        name,
                        strna(msg));
                return 0;
        }
        if (n == 0)
                return release_stale(m, name, since, "running without VFIO devices");

        machine = manager_find_machine(m, name);
        if (machine && claim_matches(machine, devices))
                return 0;
        if (!claim_name_is_valid(name)) {
                log_warning(
                        "Domain %s runs with VFIO devices, but its name cannot be a vfiomap machine name.",
                        name);
                return 0;
        }
        k = manager_claim(m, name, xml, NULL, &error);
        if (k == -ENOMEM)
                return k;
        if (k < 0) {
                /* The domain runs regardless; what vfiomap would have refused is worth a warning. */
                log_warning(
                        "Domain %s runs with VFIO devices vfiomap cannot claim for it: %s",
                        name,
                        error.message ?: strerror(-k));
                return 0;
        }
        log_info(
                "Claimed the IOMMU groups of running domain %s on libvirt's word%s.",
                name,
                machine ? " (its devices changed)" : "");
        return 0;
}

static int reconcile_all(Manager *m, const LibvirtMessage *msg) {
        _cleanup_strv_free_ char **stale = NULL;
        int k;

        for (size_t i = 0; i < msg->n_domains; i++) {
                k = reconcile_domain(m, msg->domains[i].name, msg->domains[i].xml, msg->since);
                if (k < 0)
                        return k;
        }
        /* Collected first: releasing changes m->machines. */
        for (size_t i = 0; i < m->n_machines; i++) {
                bool running = false;

                for (size_t j = 0; j < msg->n_domains && !running; j++)
                        running = streq(msg->domains[j].name, m->machines[i]->claim.machine);
                if (!running && strv_extend(&stale, m->machines[i]->claim.machine) < 0)
                        return -ENOMEM;
        }
        STRV_FOREACH (name, stale) {
                k = release_stale(m, *name, msg->since, "not running");
                if (k < 0)
                        return k;
        }
        return 0;
}

/* A device libvirt hot-added to a running domain: would VFIO and the guest be fine with it, given the
 * layout the domain started with? VFIO refuses to attach a group whose reserved regions collide with the
 * existing mappings (../shared/DOMAIN.md §2), and a guest virtio-iommu does not honour the regions of a
 * device hot-plugged into a multi-device group (§3). A conflict becomes a problem of the machine
 * (Machine.Problems, State "degraded", PropertiesChanged). */
static int device_added(Manager *m, const LibvirtMessage *msg) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(json_object_putp) json_object *result = NULL;
        _cleanup_strv_free_ char **problems = NULL;
        char address[PCI_ADDRESS_MAX];
        json_object *list;
        Machine *machine;
        int k;

        if (!msg->xml)
                return 0;
        k = domain_xml_hostdev_by_alias(msg->xml, strlen(msg->xml), msg->alias, address);
        if (k <= 0)
                return k == -ENOMEM ? k : 0; /* not a VFIO device */

        machine = manager_find_machine(m, msg->name);
        if (!machine)
                return reconcile_domain(m, msg->name, msg->xml, msg->since);
        /* The claim holds it already (claimed again since, through the hook or a reconnect): nothing to
         * check, and CheckHotplug would call it "already assigned". */
        if (machine_has_device(machine, address))
                return 0;

        k = manager_check_hotplug(m, msg->name, address, &result, &error);
        if (k == -ENOMEM)
                return k;
        if (k < 0) {
                log_warning(
                        "Cannot check device %s hot-added to %s: %s",
                        address,
                        msg->name,
                        error.message ?: "");
                return 0;
        }
        list = jget(result, "problems");
        for (size_t i = 0; i < jlen(list); i++)
                if (strv_extendf(
                            &problems,
                            "Hot-added device %s: %s",
                            address,
                            strna(jstr(jidx(list, i), "message"))) < 0)
                        return -ENOMEM;

        if (jbool(result, "possible")) {
                /* The claim grows to the new device's group; the new claim replaces the machine object. */
                k = reconcile_domain(m, msg->name, msg->xml, msg->since);
                if (k < 0)
                        return k;
                machine = manager_find_machine(m, msg->name);
        }
        if (!problems || !machine)
                return 0;
        STRV_FOREACH (p, problems) {
                log_warning("Machine %s: %s", msg->name, *p);
                if (machine_add_event_problem(machine, *p) < 0)
                        return -ENOMEM;
        }
        return manager_update_machines(m);
}

int manager_libvirt_message(Manager *m, LibvirtMessage *msg) {
        const char *detail;

        switch (msg->type) {
        case LIBVIRT_CONNECTED:
                m->libvirt_connected = true;
                (void) manager_queue_properties_changed(
                        m, VFIOMAP_OBJECT_PATH, "org.vfiomap1.Manager", "LibvirtConnected");
                log_info("Watching libvirt at %s: %zu running domains.", strna(msg->uri), msg->n_domains);
                return reconcile_all(m, msg);

        case LIBVIRT_DISCONNECTED:
                m->libvirt_connected = false;
                (void) manager_queue_properties_changed(
                        m, VFIOMAP_OBJECT_PATH, "org.vfiomap1.Manager", "LibvirtConnected");
                log_info("libvirt at %s went away; reconnecting in the background.", strna(msg->uri));
                return 0;

        case LIBVIRT_LIFECYCLE:
                detail = libvirt_lifecycle_detail_to_string(msg->event, msg->detail);
                if (detail)
                        log_info(
                                "libvirt: domain %s %s (%s).",
                                msg->name,
                                libvirt_lifecycle_to_string(msg->event),
                                detail);
                else
                        log_info(
                                "libvirt: domain %s %s (detail %d).",
                                msg->name,
                                libvirt_lifecycle_to_string(msg->event),
                                msg->detail);
                if (!IN_SET(msg->event, VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STOPPED) ||
                    msg->active < 0)
                        return 0;
                return reconcile_domain(m, msg->name, msg->active > 0 ? msg->xml : NULL, msg->since);

        case LIBVIRT_DEVICE_ADDED:
                log_info("libvirt: device %s added to domain %s.", msg->alias, msg->name);
                return device_added(m, msg);

        case LIBVIRT_DEVICE_REMOVED:
                log_info("libvirt: device %s removed from domain %s.", msg->alias, msg->name);
                if (msg->active < 0)
                        return 0;
                /* The claim shrinks to the devices left, or goes with the last one. */
                return reconcile_domain(m, msg->name, msg->active > 0 ? msg->xml : NULL, msg->since);

        default: return 0;
        }
}
