/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bar-ownership.h"
#include "bus-util.h"
#include "host-json.h"
#include "json-util.h"
#include "log.h"
#include "machine.h"
#include "manager.h"

#include <fcntl.h>

/* Objects are looked up by path on every call: host_reload_device() replaces Device structs in place, so
 * no pointer to one is kept across event loop iterations. */
static int device_from_path(Manager *m, const char *path, const Device **ret) {
        _cleanup_free_ char *address = NULL;
        const Device *d;
        int k;

        k = sd_bus_path_decode(path, VFIOMAP_DEVICE_PREFIX, &address);
        if (k <= 0)
                return k;
        d = host_find_device(m->host, address);
        if (!d)
                return 0;
        *ret = d;
        return 1;
}

int device_object_find(
        sd_bus *bus,
        const char *path,
        const char *interface,
        void *userdata,
        void **found,
        sd_bus_error *error) {
        const Device *d;
        int k;

        k = device_from_path(userdata, path, &d);
        if (k <= 0)
                return k;
        *found = userdata;
        return 1;
}

int device_node_enumerator(
        sd_bus *bus,
        const char *path,
        void *userdata,
        char ***nodes,
        sd_bus_error *error) {
        _cleanup_strv_free_ char **l = NULL;
        Manager *m = userdata;

        for (size_t i = 0; i < m->host->n_devices; i++) {
                char *p = NULL;
                int k = device_object_path(m->host->devices[i]->address, &p);
                if (k < 0)
                        return k;
                if (strv_consume(&l, p) < 0)
                        return -ENOMEM;
        }
        *nodes = TAKE_PTR(l);
        return 1;
}

#define GET_DEVICE(d) \
        const Device *d; \
        do { \
                int _k = device_from_path(userdata, path, &d); \
                if (_k < 0) \
                        return _k; \
                if (_k == 0) \
                        return sd_bus_error_setf( \
                                error, VFIOMAP_ERROR_DEVICE_NOT_FOUND, "The device of %s is gone.", path); \
        } while (0)

static int property_get_string(
        sd_bus *bus,
        const char *path,
        const char *interface,
        const char *property,
        sd_bus_message *reply,
        void *userdata,
        sd_bus_error *error) {
        Manager *m = userdata;
        const char *v;
        GET_DEVICE(d);

        if (streq(property, "Address"))
                v = d->address;
        else if (streq(property, "Driver"))
                v = d->driver;
        else if (streq(property, "DriverOverride"))
                v = d->driver_override;
        else if (streq(property, "Parent"))
                v = d->parent;
        else if (streq(property, "IommuUnit"))
                v = d->iommu;
        else if (streq(property, "PhysicalFunction"))
                v = d->physfn;
        else {
                Machine *owner = manager_device_owner(m, d->address);
                v = owner ? owner->claim.machine : NULL;
        }
        return sd_bus_message_append(reply, "s", v ?: "");
}

static int property_get_ids(
        sd_bus *bus,
        const char *path,
        const char *interface,
        const char *property,
        sd_bus_message *reply,
        void *userdata,
        sd_bus_error *error) {
        GET_DEVICE(d);

        if (streq(property, "VendorId"))
                return sd_bus_message_append(reply, "q", d->vendor);
        if (streq(property, "DeviceId"))
                return sd_bus_message_append(reply, "q", d->device);
        if (streq(property, "SubsystemVendorId"))
                return sd_bus_message_append(reply, "q", d->subsystem_vendor);
        if (streq(property, "SubsystemDeviceId"))
                return sd_bus_message_append(reply, "q", d->subsystem_device);
        return sd_bus_message_append(reply, "u", d->class);
}

static int property_get_int(
        sd_bus *bus,
        const char *path,
        const char *interface,
        const char *property,
        sd_bus_message *reply,
        void *userdata,
        sd_bus_error *error) {
        GET_DEVICE(d);

        if (streq(property, "IommuGroup"))
                return sd_bus_message_append(reply, "i", d->group);
        if (streq(property, "NumaNode"))
                return sd_bus_message_append(reply, "i", d->numa_node);
        return sd_bus_message_append(reply, "i", d->sriov_numvfs);
}

static int property_get_strv(
        sd_bus *bus,
        const char *path,
        const char *interface,
        const char *property,
        sd_bus_message *reply,
        void *userdata,
        sd_bus_error *error) {
        GET_DEVICE(d);
        return sd_bus_message_append_strv(
                reply, streq(property, "VirtualFunctions") ? d->virtfns : d->warnings);
}

/* The host facts of issue 13 (libvfiomap/reset.c...): read when the device is (re)loaded. Power state
 * changes announce nothing, so these emit no PropertiesChanged. */
static int property_get_facts(
        sd_bus *bus,
        const char *path,
        const char *interface,
        const char *property,
        sd_bus_message *reply,
        void *userdata,
        sd_bus_error *error) {
        Manager *m = userdata;
        GET_DEVICE(d);

        if (streq(property, "ResetMethods")) {
                _cleanup_strv_free_ char **methods = NULL;
                int k = device_reset_methods(m->host, d, &methods);
                if (k < 0)
                        return k;
                return sd_bus_message_append_strv(reply, methods);
        }
        if (streq(property, "VfioCdev"))
                return sd_bus_message_append(reply, "s", d->vfio_cdev ?: "");
        if (streq(property, "RomSysfs"))
                return sd_bus_message_append(reply, "s", rom_sysfs_to_string(d->rom_sysfs));
        if (streq(property, "HasRomBar"))
                return sd_bus_message_append(reply, "b", device_has_rom_bar(d));
        if (streq(property, "BootVga"))
                return sd_bus_message_append(reply, "i", d->boot_vga);
        if (streq(property, "BarClaims")) {
                _cleanup_free_ BarClaim *claims = NULL;
                int n = device_bar_claims(m->host, d, &claims), k;
                if (n < 0)
                        return n;
                k = sd_bus_message_open_container(reply, 'a', "(ustt)");
                for (int i = 0; k >= 0 && i < n; i++)
                        k = sd_bus_message_append(
                                reply, "(ustt)", claims[i].bar, claims[i].name, claims[i].start, claims[i].end);
                return k < 0 ? k : sd_bus_message_close_container(reply);
        }
        return sd_bus_message_append(reply, "s", d->reset.power_state ?: "");
}

const char *const device_changing_properties[] = {
        "Driver",      "DriverOverride", "IommuGroup", "IommuUnit", "VirtualFunctions",
        "SriovNumVfs", "Owner",          "Warnings",   NULL,
};

static char *strv_join_nl(char *const *l) {
        size_t n = 1;
        char *s, *p;

        STRV_FOREACH (x, l)
                n += strlen(*x) + 1;
        s = p = malloc(n);
        if (!s)
                return NULL;
        *p = 0;
        STRV_FOREACH (x, l)
                p = stpcpy(stpcpy(p, *x), "\n");
        return s;
}

int device_property_values(Manager *m, const Device *d, char ***ret) {
        _cleanup_strv_free_ char **v = NULL;
        Machine *owner = manager_device_owner(m, d->address);
        char *s;

        /* In the order of device_changing_properties. A value is only compared, never shown. */
        if (strv_extend(&v, d->driver ?: "") < 0 || strv_extend(&v, d->driver_override ?: "") < 0 ||
            strv_extendf(&v, "%d", d->group) < 0 || strv_extend(&v, d->iommu ?: "") < 0)
                return -ENOMEM;
        s = strv_join_nl(d->virtfns);
        if (!s || strv_consume(&v, s) < 0)
                return -ENOMEM;
        if (strv_extendf(&v, "%d", d->sriov_numvfs) < 0 ||
            strv_extend(&v, owner ? owner->claim.machine : "") < 0)
                return -ENOMEM;
        s = strv_join_nl(d->warnings);
        if (!s || strv_consume(&v, s) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(v);
        return 0;
}

static int method_describe(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(json_object_putp) json_object *j = NULL;
        Manager *m = userdata;
        const char *path = sd_bus_message_get_path(message);
        GET_DEVICE(d);

        j = device_to_json(m->host, d);
        return bus_reply_json(message, j);
}

int write_sysfs(const char *root, const char *relpath, const char *value) {
        _cleanup_free_ char *p = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t l = strlen(value);

        if (asprintf_safe(&p, "%s/%s", root, relpath) < 0)
                return -ENOMEM;
        fd = open(p, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        /* sysfs attributes take the whole value in one write(). */
        if (write(fd, value, l) != (ssize_t) l)
                return errno > 0 ? -errno : -EIO;
        return 0;
}

static bool driver_name_is_valid(const char *s) {
        if (strlen(s) > 64)
                return false;
        for (const char *p = s; *p; p++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", *p))
                        return false;
        return true;
}

/* BindDriver("vfio-pci") hands a device to VFIO the way the kernel documents it
 * (Documentation/ABI/testing/sysfs-bus-pci, driver_override): set driver_override, unbind the current
 * driver, ask the PCI core to probe again. BindDriver("") clears the override and lets the host driver
 * have it back. The uevents that follow update the model. */
static int method_bind_driver(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *unbind = NULL, *override = NULL;
        Manager *m = userdata;
        const char *path = sd_bus_message_get_path(message), *driver;
        Machine *owner;
        int k;
        GET_DEVICE(d);

        k = sd_bus_message_read(message, "s", &driver);
        if (k < 0)
                return k;
        if (!driver_name_is_valid(driver))
                return sd_bus_error_setf(
                        error,
                        SD_BUS_ERROR_INVALID_ARGS,
                        "\"%s\" is not a driver name.",
                        bus_arg_quotable(driver));
        if (manager_read_only(m))
                return sd_bus_error_setf(
                        error,
                        VFIOMAP_ERROR_READ_ONLY,
                        "vfiomapd serves the host tree %s (--root): it does not bind drivers.",
                        m->root);
        owner = manager_device_owner(m, d->address);
        if (owner && !isempty(driver) && !driver_is_vfio_safe(driver))
                return sd_bus_error_setf(
                        error,
                        VFIOMAP_ERROR_GROUP_OWNED,
                        "Device %s belongs to machine %s; release it before binding %s.",
                        d->address,
                        owner->claim.machine,
                        driver);

        k = bus_verify_manage(m, message, error);
        if (k < 0)
                return k;
        if (k == 0)
                return 1;

        if (asprintf_safe(&override, "sys/bus/pci/devices/%s/driver_override", d->address) < 0 ||
            asprintf_safe(&unbind, "sys/bus/pci/devices/%s/driver/unbind", d->address) < 0)
                return -ENOMEM;
        /* An empty override is written as "\n", which the kernel reads as "clear". */
        k = write_sysfs("", override, isempty(driver) ? "\n" : driver);
        if (k < 0)
                return sd_bus_error_set_errnof(
                        error, k, "Failed to set the driver override of %s: %m", d->address);
        if (d->driver) {
                k = write_sysfs("", unbind, d->address);
                if (k < 0)
                        return sd_bus_error_set_errnof(
                                error, k, "Failed to unbind %s from %s: %m", d->address, d->driver);
        }
        k = write_sysfs("", "sys/bus/pci/drivers_probe", d->address);
        if (k < 0)
                return sd_bus_error_set_errnof(error, k, "Failed to probe a driver for %s: %m", d->address);
        log_info("Device %s: driver override set to \"%s\" and probed again.", d->address, driver);
        return sd_bus_reply_method_return(message, NULL);
}

const sd_bus_vtable device_vtable[] = {
        SD_BUS_VTABLE_START(0),

        SD_BUS_PROPERTY("Address", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("VendorId", "q", property_get_ids, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("DeviceId", "q", property_get_ids, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("SubsystemVendorId", "q", property_get_ids, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("SubsystemDeviceId", "q", property_get_ids, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Class", "u", property_get_ids, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Parent", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("PhysicalFunction", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("NumaNode", "i", property_get_int, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Driver", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("DriverOverride", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("IommuGroup", "i", property_get_int, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("IommuUnit", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("VirtualFunctions", "as", property_get_strv, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("SriovNumVfs", "i", property_get_int, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Owner", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Warnings", "as", property_get_strv, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ResetMethods", "as", property_get_facts, 0, 0),
        SD_BUS_PROPERTY("PowerState", "s", property_get_facts, 0, 0),
        SD_BUS_PROPERTY("BootVga", "i", property_get_facts, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("BarClaims", "a(ustt)", property_get_facts, 0, 0),
        SD_BUS_PROPERTY("HasRomBar", "b", property_get_facts, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("RomSysfs", "s", property_get_facts, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("VfioCdev", "s", property_get_facts, 0, 0),

        SD_BUS_METHOD_WITH_ARGS(
                "Describe",
                SD_BUS_NO_ARGS,
                SD_BUS_RESULT("s", json),
                method_describe,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS(
                "BindDriver",
                SD_BUS_ARGS("s", driver),
                SD_BUS_NO_RESULT,
                method_bind_driver,
                SD_BUS_VTABLE_UNPRIVILEGED),

        SD_BUS_VTABLE_END,
};
