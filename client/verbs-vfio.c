/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* bind-vfio ADDRESS|group N, unbind ADDRESS|group N: vfiomapd's BindVfio and UnbindVfio. A device stands
 * for its whole group: VFIO takes groups, never single devices. */

#include "json-util.h"
#include "util.h"
#include "vfiomapctl.h"

#include <inttypes.h>
#include <systemd/sd-bus.h>

/* The command line's target before anything is asked: "group N", or a device (address, normalised). */
static int parse_target_arg(int argc, char *argv[], int *ret_group, char address[static PCI_ADDRESS_MAX]) {
        int group;

        if (argc == 3) {
                if (!streq(argv[1], "group") || safe_atoi(argv[2], &group) < 0 || group < 0)
                        return log_error_errno(
                                EINVAL,
                                "Expected \"group NUMBER\" or a PCI address, not \"%s %s\".",
                                argv[1],
                                argv[2]);
                *ret_group = group;
                return 0;
        }
        *ret_group = -1;
        return parse_address_arg(argv[1], address);
}

static int resolve_target(sd_bus *bus, int given_group, const char *address, uint32_t *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *path;
        int group, k;

        if (given_group >= 0) {
                *ret = (uint32_t) given_group;
                return 0;
        }
        k = sd_bus_call_method(
                bus,
                VFIOMAP_SERVICE,
                VFIOMAP_PATH,
                VFIOMAP_MANAGER,
                "GetDevice",
                &error,
                &reply,
                "s",
                address);
        if (k < 0)
                return log_bus_error(&error, k, "GetDevice");
        k = sd_bus_message_read(reply, "o", &path);
        if (k >= 0)
                k = sd_bus_get_property_trivial(
                        bus,
                        VFIOMAP_SERVICE,
                        path,
                        "org.vfiomap1.Device",
                        "IommuGroup",
                        &error,
                        'i',
                        &group);
        if (k < 0)
                return log_bus_error(&error, k, "IommuGroup");
        if (group < 0)
                return log_error_errno(
                        ENXIO, "Device %s is in no IOMMU group: VFIO cannot take it.", address);
        *ret = (uint32_t) group;
        return 0;
}

static int call(int argc, char *argv[], Context *c, const char *method) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_object_putp) json_object *list = NULL;
        const char *address, *driver;
        char target[PCI_ADDRESS_MAX];
        uint32_t group = 0;
        bool bind = streq(method, "BindVfio");
        int target_group, k;

        if (c->root)
                return log_error_errno(EINVAL, "A host tree has no drivers to change; drop --root.");
        k = parse_target_arg(argc, argv, &target_group, target);
        if (k < 0)
                return k;
        k = bus_open(c, &bus);
        if (k < 0)
                return k;
        k = resolve_target(bus, target_group, target, &group);
        if (k < 0)
                return k;
        /* polkit may ask for a password. */
        (void) sd_bus_set_allow_interactive_authorization(bus, true);
        k = sd_bus_call_method(
                bus, VFIOMAP_SERVICE, VFIOMAP_PATH, VFIOMAP_MANAGER, method, &error, &reply, "u", group);
        if (k < 0)
                return log_bus_error(&error, k, method);

        list = json_object_new_array();
        if (!list)
                return log_error_errno(ENOMEM, "%m");
        k = sd_bus_message_enter_container(reply, 'a', "(ss)");
        while (k >= 0 && (k = sd_bus_message_read(reply, "(ss)", &address, &driver)) > 0) {
                json_object *o = json_object_new_object();
                if (!o)
                        return log_error_errno(ENOMEM, "%m");
                (void) json_object_object_add(o, "device", json_object_new_string(address));
                (void) json_object_object_add(
                        o,
                        bind ? "previous_driver" : "driver",
                        isempty(driver) ? NULL : json_object_new_string(driver));
                (void) json_object_array_add(list, o);
        }
        if (k < 0)
                return log_error_errno(k, "Failed to read vfiomapd's reply: %m");

        if (c->json)
                return print_json(c, TAKE_PTR(list));
        if (jlen(list) == 0)
                printf("IOMMU group %" PRIu32 ": %s\n",
                       group,
                       bind ? "every device is on vfio-pci already, or is a bridge"
                            : "nothing to give back");
        for (size_t i = 0; i < jlen(list); i++) {
                json_object *o = jidx(list, i);
                const char *d = jstr(o, bind ? "previous_driver" : "driver");

                if (bind)
                        printf("%s: %s -> vfio-pci\n", jstr(o, "device"), d ?: "(no driver)");
                else
                        printf("%s: vfio-pci -> %s\n", jstr(o, "device"), d ?: "(no driver)");
        }
        return EXIT_SUCCESS;
}

int verb_bind_vfio(int argc, char *argv[], Context *c) {
        return call(argc, argv, c, "BindVfio");
}

int verb_unbind(int argc, char *argv[], Context *c) {
        return call(argc, argv, c, "UnbindVfio");
}
