/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* BindVfio(group) and UnbindVfio(group): hand a whole IOMMU group to vfio-pci so that it becomes viable,
 * and give it back afterwards.
 *
 * VFIO wants every member of a group on a VFIO driver, on a driver that does no DMA of its own (pci-stub),
 * or on pcieport (../shared/DOMAIN.md §2, group viability). Binding uses the kernel's documented way
 * (Documentation/ABI/testing/sysfs-bus-pci, driver_override): set driver_override to "vfio-pci", unbind
 * the current driver, and write the address to /sys/bus/pci/drivers_probe. Bridges and ports are left
 * alone: they do not block a group and the host needs them.
 *
 * What each device had before (driver and driver_override) is kept in $runtime_dir/bindings.json, so that
 * UnbindVfio restores it even after a restart of vfiomapd: the override goes back to what it was, the
 * device is unbound from vfio-pci, and drivers_probe lets its own driver take it again. The uevents that
 * follow update the model as for any other driver change. */

#include "bus-util.h"
#include "claims-file.h"
#include "json-util.h"
#include "log.h"
#include "machine.h"
#include "manager.h"

#include <fcntl.h>
#include <sys/stat.h>

#define BINDINGS_FILE_NAME "bindings.json"
#define PCI_CLASS_BRIDGE 0x06 /* base class: host, ISA, PCI-to-PCI bridges... */

int manager_load_bindings(Manager *m) {
        _cleanup_free_ char *path = NULL;
        json_object *j;

        if (asprintf_safe(&path, "%s/" BINDINGS_FILE_NAME, m->runtime_dir) < 0)
                return log_oom();
        j = json_object_from_file(path);
        if (!j) {
                if (access(path, F_OK) >= 0)
                        log_warning("%s cannot be read; the drivers it remembers are forgotten.", path);
                j = json_object_new_object();
                if (!j)
                        return log_oom();
        } else if (!json_object_is_type(j, json_type_object)) {
                log_warning("%s is not a JSON object; the drivers it remembers are forgotten.", path);
                json_object_put(j);
                j = json_object_new_object();
                if (!j)
                        return log_oom();
        }
        json_object_put(m->bindings);
        m->bindings = j;
        return 0;
}

static int save_bindings(Manager *m) {
        const char *s = json_object_to_json_string_ext(m->bindings, JSON_C_TO_STRING_PRETTY);
        _cleanup_free_ char *path = NULL, *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t l;

        if (!s)
                return -ENOMEM;
        l = strlen(s);
        if (asprintf_safe(&path, "%s/" BINDINGS_FILE_NAME, m->runtime_dir) < 0 ||
            asprintf_safe(&tmp, "%s/.#" BINDINGS_FILE_NAME "XXXXXX", m->runtime_dir) < 0)
                return -ENOMEM;
        (void) mkdir(m->runtime_dir, 0755);
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fchmod(fd, 0644) < 0 || write(fd, s, l) != (ssize_t) l || fsync(fd) < 0 ||
            rename(tmp, path) < 0) {
                int k = errno > 0 ? -errno : -EIO;
                (void) unlink(tmp);
                return k;
        }
        return 0;
}

static int parse_group(sd_bus_message *message, Manager *m, const Group **ret, sd_bus_error *error) {
        uint32_t n;
        int k;

        k = sd_bus_message_read(message, "u", &n);
        if (k < 0)
                return k;
        *ret = host_find_group(m->host, n);
        if (!*ret)
                return sd_bus_error_setf(
                        error, VFIOMAP_ERROR_NO_SUCH_GROUP, "IOMMU group %u does not exist.", n);
        if (manager_read_only(m))
                return sd_bus_error_setf(
                        error,
                        VFIOMAP_ERROR_READ_ONLY,
                        "vfiomapd serves the host tree %s (--root): it does not bind drivers.",
                        m->root);
        return 0;
}

/* Sets the override, unbinds the current driver, probes: the driver named by the override takes it. */
static int rebind(const Device *d, const char *override, sd_bus_error *error) {
        _cleanup_free_ char *p_override = NULL, *p_unbind = NULL;
        int k;

        if (asprintf_safe(&p_override, "sys/bus/pci/devices/%s/driver_override", d->address) < 0 ||
            asprintf_safe(&p_unbind, "sys/bus/pci/devices/%s/driver/unbind", d->address) < 0)
                return -ENOMEM;
        /* An empty override is written as "\n", which the kernel reads as "clear". */
        k = write_sysfs("", p_override, isempty(override) ? "\n" : override);
        if (k < 0)
                return sd_bus_error_set_errnof(
                        error, k, "Failed to set the driver override of %s: %m", d->address);
        if (d->driver) {
                k = write_sysfs("", p_unbind, d->address);
                if (k < 0)
                        return sd_bus_error_set_errnof(
                                error, k, "Failed to unbind %s from %s: %m", d->address, d->driver);
        }
        k = write_sysfs("", "sys/bus/pci/drivers_probe", d->address);
        if (k < 0)
                return sd_bus_error_set_errnof(error, k, "Failed to probe a driver for %s: %m", d->address);
        return 0;
}

static json_object *bindings_of(Manager *m, unsigned group, bool create) {
        char key[16];
        json_object *a;

        (void) snprintf(key, sizeof(key), "%u", group);
        a = jget(m->bindings, key);
        if (!a && create) {
                a = json_object_new_array();
                if (a)
                        (void) json_object_object_add(m->bindings, key, a);
        }
        return a;
}

static json_object *binding_find(json_object *list, const char *address) {
        for (size_t i = 0; i < jlen(list); i++)
                if (streq_ptr(jstr(jidx(list, i), "device"), address))
                        return jidx(list, i);
        return NULL;
}

int method_bind_vfio(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        const Group *g;
        json_object *list;
        int k, fd;

        k = parse_group(message, m, &g, error);
        if (k < 0)
                return k;
        k = bus_verify_manage(m, message, error);
        if (k <= 0)
                return k < 0 ? k : 1;

        /* driver_override names a driver, it does not load one: without vfio-pci loaded, drivers_probe
         * leaves the devices unbound and succeeds, /dev/vfio/N never appears, and QEMU fails later with
         * "failed to open /dev/vfio/N: No such file or directory" (seen in tests/vm/check-daemon-vfio.sh).
         * vfiomapd.service loads it (ExecStartPre=); otherwise refuse before changing anything. */
        fd = open("/sys/bus/pci/drivers/vfio-pci", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return sd_bus_error_setf(
                        error,
                        SD_BUS_ERROR_FAILED,
                        "The vfio-pci driver is not loaded (/sys/bus/pci/drivers/vfio-pci: %s): run "
                        "\"modprobe vfio-pci\" first. IOMMU group %u was left as it is.",
                        strerror(errno),
                        g->number);
        (void) close(fd);

        list = bindings_of(m, g->number, true);
        if (!list)
                return -ENOMEM;
        k = sd_bus_message_new_method_return(message, &reply);
        if (k >= 0)
                k = sd_bus_message_open_container(reply, 'a', "(ss)");
        if (k < 0)
                return k;
        STRV_FOREACH (a, g->devices) {
                const Device *d = host_find_device(m->host, *a);
                json_object *b;

                if (!d || streq_ptr(d->driver, "vfio-pci") || (d->class >> 16) == PCI_CLASS_BRIDGE ||
                    (d->driver && driver_is_vfio_safe(d->driver)))
                        continue;
                /* Remembered before touching the device, and kept from an earlier BindVfio: the first
                 * driver is the one to give back. */
                if (!binding_find(list, d->address)) {
                        b = json_object_new_object();
                        if (!b)
                                return -ENOMEM;
                        (void) json_object_object_add(b, "device", json_object_new_string(d->address));
                        (void) json_object_object_add(
                                b, "driver", d->driver ? json_object_new_string(d->driver) : NULL);
                        (void) json_object_object_add(
                                b,
                                "override",
                                d->driver_override ? json_object_new_string(d->driver_override) : NULL);
                        (void) json_object_array_add(list, b);
                        k = save_bindings(m);
                        if (k < 0)
                                return sd_bus_error_set_errnof(
                                        error, k, "Failed to remember the driver of %s: %m", d->address);
                }
                k = rebind(d, "vfio-pci", error);
                if (k < 0)
                        return k;
                log_info(
                        "Device %s (IOMMU group %u): %s -> vfio-pci.",
                        d->address,
                        g->number,
                        strna(d->driver));
                k = sd_bus_message_append(reply, "(ss)", d->address, d->driver ?: "");
                if (k < 0)
                        return k;
        }
        k = sd_bus_message_close_container(reply);
        if (k < 0)
                return k;
        return sd_bus_send(NULL, reply, NULL);
}

int method_unbind_vfio(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        const Group *g;
        Machine *owner;
        json_object *list;
        char key[16];
        int k;

        k = parse_group(message, m, &g, error);
        if (k < 0)
                return k;
        list = bindings_of(m, g->number, false);
        if (jlen(list) == 0)
                return sd_bus_error_setf(
                        error,
                        SD_BUS_ERROR_INVALID_ARGS,
                        "IOMMU group %u was not bound to vfio-pci by vfiomap: there is no previous driver "
                        "to restore.",
                        g->number);
        owner = manager_group_owner(m, g->number);
        if (owner)
                return sd_bus_error_setf(
                        error,
                        VFIOMAP_ERROR_GROUP_OWNED,
                        "IOMMU group %u is claimed by machine %s; stop it before giving the devices back "
                        "to the host.",
                        g->number,
                        owner->claim.machine);
        k = bus_verify_manage(m, message, error);
        if (k <= 0)
                return k < 0 ? k : 1;

        k = sd_bus_message_new_method_return(message, &reply);
        if (k >= 0)
                k = sd_bus_message_open_container(reply, 'a', "(ss)");
        if (k < 0)
                return k;
        for (size_t i = 0; i < jlen(list); i++) {
                json_object *b = jidx(list, i);
                const Device *d = host_find_device(m->host, jstr(b, "device"));

                if (!d)
                        continue; /* gone meanwhile: nothing to give back */
                k = rebind(d, jstr(b, "override"), error);
                if (k < 0)
                        return k;
                log_info(
                        "Device %s (IOMMU group %u): %s -> %s.",
                        d->address,
                        g->number,
                        strna(d->driver),
                        jstr(b, "driver") ?: "no driver");
                k = sd_bus_message_append(reply, "(ss)", d->address, jstr(b, "driver") ?: "");
                if (k < 0)
                        return k;
        }
        (void) snprintf(key, sizeof(key), "%u", g->number);
        json_object_object_del(m->bindings, key);
        k = save_bindings(m);
        if (k < 0)
                log_warning_errno(k, "Failed to save %s/" BINDINGS_FILE_NAME ": %m", m->runtime_dir);
        k = sd_bus_message_close_container(reply);
        if (k < 0)
                return k;
        return sd_bus_send(NULL, reply, NULL);
}
