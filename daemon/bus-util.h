/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What every vtable shares: vfiomap's named D-Bus errors and the authorization check. */

#include "manager.h"
#include "sysfs-parse.h"

#include <json-c/json.h>
#include <systemd/sd-bus.h>

#define VFIOMAP_ERROR_GROUP_NOT_VIABLE "org.vfiomap1.Error.GroupNotViable"
#define VFIOMAP_ERROR_GROUP_OWNED "org.vfiomap1.Error.GroupOwned"
#define VFIOMAP_ERROR_DEVICE_NOT_FOUND "org.vfiomap1.Error.DeviceNotFound"
#define VFIOMAP_ERROR_NO_IOMMU_GROUP "org.vfiomap1.Error.NoIommuGroup"
#define VFIOMAP_ERROR_INVALID_SPEC "org.vfiomap1.Error.InvalidSpec"
#define VFIOMAP_ERROR_LAYOUT_ERROR "org.vfiomap1.Error.LayoutError"
#define VFIOMAP_ERROR_NO_SUCH_MACHINE "org.vfiomap1.Error.NoSuchMachine"
#define VFIOMAP_ERROR_NO_SUCH_GROUP "org.vfiomap1.Error.NoSuchGroup"
#define VFIOMAP_ERROR_READ_ONLY "org.vfiomap1.Error.ReadOnly"

/* Manager.RenderLayout's flags (proto/org.vfiomap1.Manager.xml): also draw the SVG picture. */
#define VFIOMAP_RENDER_LAYOUT_SVG (UINT64_C(1) << 0)

/* Registers the errno mapping of the errors above, so a client's sd_bus_error_get_errno() is meaningful.
 * Call once before using the bus. */
int bus_error_map_register(void);

/* Checks that the sender of message may change state: root, or the polkit action org.vfiomap1.manage.
 * Returns 1 when allowed; 0 when a polkit query was started, in which case the method handler must return
 * 1 without replying: the message is dispatched again once polkit answered (the pattern of systemd's
 * bus_verify_polkit_async(), through the public sd_bus_enqueue_for_read()); negative with error set
 * (AccessDenied) when refused. */
int bus_verify_manage(Manager *m, sd_bus_message *message, sd_bus_error *error);
void bus_polkit_queries_free(Manager *m);

/* Parses "dddd:bb:ss.f", or "bb:ss.f" in domain 0000 as lspci prints it, into the normalised form. */
int parse_pci_address_arg(const char *s, char ret[static PCI_ADDRESS_MAX]);

/* A caller's string as an error message may quote it: itself, unless it is longer than any valid value
 * could be (the bus carries strings of up to 128 MiB; an error echoing one would be as large). */
#define BUS_ARG_QUOTE_MAX 256U
static inline const char *bus_arg_quotable(const char *s) {
        return strnlen(s, BUS_ARG_QUOTE_MAX + 1) <= BUS_ARG_QUOTE_MAX ? s : "(too long to quote)";
}

/* Replies with a JSON document as a single string argument. j stays the caller's (every Describe leaked
 * its document until valgrind said so). */
int bus_reply_json(sd_bus_message *message, json_object *j);
