/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* devices, device, groups, group, iommu: the host model as tables, details or JSON.
 *
 * Everything here renders from the JSON document (proto/host-json.md), whether it came from a tree under
 * --root or from vfiomapd, so the two paths cannot drift apart. */

#include <inttypes.h>

#include "json-util.h"
#include "table.h"
#include "util.h"
#include "vfiomapctl.h"

/* A number as text, "" when null. */
static const char *jnum(json_object *o, const char *key, char buf[static 24]) {
        json_object *v = jget(o, key);

        buf[0] = 0;
        if (json_object_is_type(v, json_type_int))
                (void) snprintf(buf, 24, "%" PRId64, json_object_get_int64(v));
        return buf;
}

/* Warnings belong to the output a person reads: after the table, one per line, naming the object. */
static void print_object_warnings(const char *what, const char *name, json_object *o) {
        json_object *w = jget(o, "warnings");

        for (size_t i = 0; i < jlen(w); i++)
                printf("warning: %s %s: %s\n", what, name, json_object_get_string(jidx(w, i)));
}

static void print_summary(const Context *c, size_t n, const char *singular, const char *plural) {
        if (c->legend)
                printf("\n%zu %s listed.\n", n, n == 1 ? singular : plural);
}

/* Prints one member of the state document as JSON; takes a reference so the state can be freed. */
static int print_member(const Context *c, json_object *state, const char *key) {
        return print_json(c, json_object_get(jget(state, key)));
}

/* "0x8086" -> "8086" for tables, where the 0x is noise. */
static const char *hex_digits(const char *s) {
        return s && startswith(s, "0x") ? s + 2 : s;
}

/* An id as a table shows it: a null (unreadable) one is "unknown", never a made-up 0000. */
static const char *id_or_unknown(json_object *o, const char *key) {
        return hex_digits(jstr(o, key)) ?: "unknown";
}

/* "8086:4680", "unknown" when neither id could be read. */
static const char *format_id(json_object *d, char buf[static 32]) {
        if (!jstr(d, "vendor") && !jstr(d, "device"))
                return "unknown";
        (void) snprintf(buf, 32, "%s:%s", id_or_unknown(d, "vendor"), id_or_unknown(d, "device"));
        return buf;
}

/* "Intel Corporation AlderLake-S GT1" as lspci prints it, "Intel Corporation Device 4680" when pci.ids
 * knows only the vendor, NULL when it knows neither (or there is no pci.ids). */
static char *format_name(json_object *d) {
        const char *vendor = jstr(d, "vendor_name"), *device = jstr(d, "device_name");
        char *s = NULL;

        if (!vendor && !device)
                return NULL;
        if (device)
                (void) asprintf_safe(&s, "%s %s", vendor ?: "", device);
        else
                (void) asprintf_safe(&s, "%s Device %s", vendor, id_or_unknown(d, "device"));
        return s;
}

/* A device whose driver link could not be read has an unknown driver, not none. Documents from a daemon
 * that predates driver_known have no such key: their driver is as known as it says. */
static bool driver_known(json_object *d) {
        json_object *v = jget(d, "driver_known");
        return !v || json_object_get_boolean(v);
}

/* The group's "viable" as a word: yes, no, or unknown (null: a member's driver could not be read). */
static const char *viable_word(json_object *g) {
        json_object *v = jget(g, "viable");
        return !v ? "unknown" : json_object_get_boolean(v) ? "yes" : "no";
}

int verb_devices(int argc, char *argv[], Context *c) {
        _cleanup_(json_object_putp) json_object *state = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        json_object *devices;
        int k;

        k = context_describe_parts(c, c->json ? DESCRIBE_DEVICES : DESCRIBE_ALL, &state);
        if (k < 0)
                return k;
        devices = jget(state, "devices");
        annotate_pci_names(c, devices);
        if (c->json)
                return print_member(c, state, "devices");

        t = table_new("ADDRESS", "ID", "REV", "CLASS", "DRIVER", "GROUP", "IOMMU", "PARENT", "RESET", "NAME",
                      NULL);
        if (!t)
                return log_error_errno(ENOMEM, "%m");
        table_set_shrinkable(t, 9);
        for (size_t i = 0; i < jlen(devices); i++) {
                json_object *d = jidx(devices, i);
                _cleanup_free_ char *name = format_name(d);
                char id[32], group[24], reset[64];

                if (table_add_row(t, jstr(d, "address"), format_id(d, id), hex_digits(jstr(d, "revision")),
                                  id_or_unknown(d, "class"), driver_known(d) ? jstr(d, "driver") : "unknown",
                                  jnum(d, "group", group), jstr(d, "iommu"), jstr(d, "parent"),
                                  device_reset_column(d, reset, sizeof(reset)), name) < 0)
                        return log_error_errno(ENOMEM, "%m");
        }
        if (table_rows(t) > 0)
                (void) table_print(t, stdout, c->legend);
        print_summary(c, table_rows(t), "device", "devices");
        print_host_warnings(state, stdout);
        return 0;
}

static json_object *find_device(json_object *state, const char *want) {
        json_object *devices = jget(state, "devices");

        for (size_t i = 0; i < jlen(devices); i++)
                if (streq_ptr(jstr(jidx(devices, i), "address"), want))
                        return jidx(devices, i);
        return NULL;
}

static json_object *find_group(json_object *state, int number) {
        json_object *groups = jget(state, "groups");

        for (size_t i = 0; i < jlen(groups); i++)
                if (json_object_get_int(jget(jidx(groups, i), "group")) == number)
                        return jidx(groups, i);
        return NULL;
}

static void print_range_line(const char *label, json_object *range, const char *extra) {
        char size[SIZE_STRLEN] = "";
        uint64_t start, end;
        const char *s = jstr(range, "start"), *e = jstr(range, "end");

        if (s && e && safe_atou64_base(s, 16, &start) >= 0 && safe_atou64_base(e, 16, &end) >= 0 && end >= start)
                (void) format_size(size, end - start == UINT64_MAX ? UINT64_MAX : end - start + 1);
        printf("    %-16s %18s-%-18s %10s %s\n", label, strna(s), strna(e), size, extra ?: "");
}

static const char *bar_kind(json_object *b) {
        if (jbool(b, "io"))
                return "io";
        if (jbool(b, "prefetchable"))
                return jbool(b, "mem64") ? "mem64 prefetchable" : "mem prefetchable";
        return jbool(b, "mem64") ? "mem64" : "mem";
}

int verb_device(int argc, char *argv[], Context *c) {
        _cleanup_(json_object_putp) json_object *state = NULL;
        json_object *d, *a, *acs;
        char num[24], address[PCI_ADDRESS_MAX];
        int k;

        k = parse_address_arg(argv[1], address);
        if (k < 0)
                return k;
        k = context_describe_parts(c, c->json ? DESCRIBE_DEVICES : DESCRIBE_ALL, &state);
        if (k < 0)
                return k;
        d = find_device(state, address);
        if (!d)
                return log_error_errno(ENODEV, "No PCI device %s on this host.", address);
        {
                _cleanup_(json_object_putp) json_object *one = json_object_new_array();

                /* Names for this device only: pci.ids is scanned for the ids asked. */
                if (one && json_object_array_add(one, json_object_get(d)) == 0)
                        annotate_pci_names(c, one);
        }
        if (c->json)
                return print_json(c, json_object_get(d));

        printf("%s\n", jstr(d, "address"));
        {
                _cleanup_free_ char *name = format_name(d);
                if (name)
                        printf("         Name: %s\n", name);
        }
        printf("           ID: %s:%s (subsystem %s:%s)", id_or_unknown(d, "vendor"),
               id_or_unknown(d, "device"), strna(hex_digits(jstr(d, "subsystem_vendor"))),
               strna(hex_digits(jstr(d, "subsystem_device"))));
        if (jstr(d, "revision"))
                printf(", rev %s", hex_digits(jstr(d, "revision")));
        printf("\n");
        printf("        Class: %s\n", id_or_unknown(d, "class"));
        printf("       Driver: %s", !driver_known(d) ? "(unknown: the driver link is unreadable)"
                                                     : jstr(d, "driver") ?: "(none)");
        if (jstr(d, "driver_override"))
                printf(" (driver_override %s)", jstr(d, "driver_override"));
        printf("\n");
        printf("  IOMMU group: %s\n", jnull(d, "group") ? "(none)" : jnum(d, "group", num));
        printf("   IOMMU unit: %s\n", jstr(d, "iommu") ?: "(unknown)");
        printf("       Parent: %s\n", jstr(d, "parent") ?: "(root bus)");
        printf("    PCIe type: %s\n", jstr(d, "pcie_type") ?: "(unknown: config space unreadable)");
        acs = jget(d, "acs");
        if (!acs)
                printf("          ACS: no capability\n");
        else if (json_object_is_type(acs, json_type_string))
                printf("          ACS: %s\n", json_object_get_string(acs));
        else
                printf("          ACS: capability %s, control %s (%s)\n", jstr(acs, "capability"),
                       jstr(acs, "control"), jbool(acs, "isolates") ? "isolates" : "does not isolate");
        if (!jnull(d, "numa_node"))
                printf("    NUMA node: %s\n", jnum(d, "numa_node", num));
        if (jstr(d, "physfn"))
                printf("  SR-IOV PF: %s\n", jstr(d, "physfn"));
        if (!jnull(d, "sriov_numvfs"))
                printf("   SR-IOV VFs: %s enabled\n", jnum(d, "sriov_numvfs", num));
        print_device_facts(d);

        printf("Resources:\n");
        if (jbool(d, "resources_hidden"))
                printf("    (hidden: the kernel shows ranges only to privileged readers)\n");
        else if (jlen(jget(d, "bars")) + jlen(jget(d, "sriov_bars")) + jlen(jget(d, "windows")) == 0)
                printf("    (none)\n");
        a = jget(d, "bars");
        for (size_t i = 0; i < jlen(a); i++) {
                json_object *b = jidx(a, i);
                int index = json_object_get_int(jget(b, "index"));
                char label[32];

                if (index == 6)
                        (void) snprintf(label, sizeof(label), "ROM");
                else
                        (void) snprintf(label, sizeof(label), "BAR%d", index);
                print_range_line(label, b, bar_kind(b));
        }
        a = jget(d, "sriov_bars");
        for (size_t i = 0; i < jlen(a); i++) {
                char label[32];
                (void) snprintf(label, sizeof(label), "VF BAR%d", json_object_get_int(jget(jidx(a, i), "index")) - 7);
                print_range_line(label, jidx(a, i), bar_kind(jidx(a, i)));
        }
        a = jget(d, "windows");
        for (size_t i = 0; i < jlen(a); i++) {
                char label[32];
                (void) snprintf(label, sizeof(label), "window %s", jstr(jidx(a, i), "kind"));
                print_range_line(label, jidx(a, i), NULL);
        }
        print_object_warnings("device", jstr(d, "address"), d);
        return 0;
}

/* "direct,msi": the kinds of reserved region a group has, in a fixed order. */
static char *region_types(json_object *g) {
        static const char *const order[] = { "direct", "direct-relaxable", "reserved", "msi" };
        json_object *regions = jget(g, "reserved_regions");
        char *s = NULL;

        for (size_t t = 0; t < ELEMENTSOF(order); t++)
                for (size_t i = 0; i < jlen(regions); i++)
                        if (streq_ptr(jstr(jidx(regions, i), "type"), order[t])) {
                                char *n;
                                if (asprintf_safe(&n, "%s%s%s", s ?: "", s ? "," : "", order[t]) < 0) {
                                        free(s);
                                        return NULL;
                                }
                                free(s);
                                s = n;
                                break;
                        }
        return s ?: strdup("");
}

/* address -> device object, for member lookups in O(1). */
static json_object *device_index(json_object *state) {
        json_object *idx = json_object_new_object(), *devices = jget(state, "devices");

        for (size_t i = 0; idx && i < jlen(devices); i++) {
                json_object *d = jidx(devices, i);
                (void) json_object_object_add(idx, jstr(d, "address"), json_object_get(d));
        }
        return idx;
}

int verb_groups(int argc, char *argv[], Context *c) {
        _cleanup_(json_object_putp) json_object *state = NULL, *index = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        json_object *groups;
        int k;

        k = context_describe_parts(c, c->json ? DESCRIBE_GROUPS : DESCRIBE_ALL, &state);
        if (k < 0)
                return k;
        if (c->json)
                return print_member(c, state, "groups");

        index = device_index(state);
        groups = jget(state, "groups");
        t = table_new("GROUP", "TYPE", "IOMMU", "VIABLE", "REGIONS", "DEVICES", NULL);
        if (!t || !index)
                return log_error_errno(ENOMEM, "%m");
        table_set_shrinkable(t, 5);
        for (size_t i = 0; i < jlen(groups); i++) {
                json_object *g = jidx(groups, i), *members = jget(g, "devices");
                _cleanup_free_ char *types = region_types(g), *list = NULL;
                char num[24];

                for (size_t m = 0; m < jlen(members); m++) {
                        const char *addr = json_object_get_string(jidx(members, m));
                        json_object *d = jget(index, addr);
                        const char *driver = !d || !driver_known(d) ? "unknown" : jstr(d, "driver");
                        char *n;

                        if (asprintf_safe(&n, "%s%s%s(%s)", list ?: "", list ? " " : "", addr, driver ?: "-") < 0)
                                return log_error_errno(ENOMEM, "%m");
                        free(list);
                        list = n;
                }
                if (table_add_row(t, jnum(g, "group", num), jstr(g, "type"), jstr(g, "iommu"), viable_word(g),
                                  jnull(g, "reserved_regions") ? "unknown" : types, list) < 0)
                        return log_error_errno(ENOMEM, "%m");
        }
        if (table_rows(t) > 0)
                (void) table_print(t, stdout, c->legend);
        print_summary(c, table_rows(t), "group", "groups");
        if (jlen(groups) == 0 && jlen(jget(jget(state, "iommu"), "units")) == 0 && c->legend) {
                json_object *devices = jget(state, "devices");
                size_t grouped = 0;

                /* Devices whose iommu_group links name groups prove the IOMMU on: the groups are what is
                 * missing or unreadable. */
                for (size_t i = 0; i < jlen(devices); i++)
                        grouped += !jnull(jidx(devices, i), "group");
                if (grouped > 0)
                        printf("No IOMMU groups under sys/kernel/iommu_groups, though %zu devices name IOMMU "
                               "groups: the tree is incomplete or unreadable (see the warnings).\n", grouped);
                else
                        printf("No IOMMU groups: the IOMMU is off or absent (intel_iommu=on or amd_iommu=on, "
                               "and VT-d/AMD-Vi in the firmware).\n");
        }
        print_host_warnings(state, stdout);
        return 0;
}

static void explain_shared(json_object *s) {
        const char *reason = jstr(s, "reason"), *dev = jstr(s, "device");

        if (streq_ptr(reason, "dma-alias"))
                printf("    dma-alias: the devices behind PCIe-to-PCI bridge %s use its requester ID\n", dev);
        else if (streq_ptr(reason, "no-acs"))
                printf("    no-acs: bridge %s does not isolate the devices below it (no ACS)\n", dev);
        else if (streq_ptr(reason, "multifunction"))
                printf("    multifunction: the functions of slot %s are not isolated from each other (no ACS)\n",
                       dev);
        else
                printf("    unknown: %s shares the group for a reason config space does not show "
                       "(a kernel quirk or DMA alias)\n",
                       dev);
}

int verb_group(int argc, char *argv[], Context *c) {
        _cleanup_(json_object_putp) json_object *state = NULL, *index = NULL;
        json_object *g, *a;
        int k, n;

        if (safe_atoi(argv[1], &n) < 0 || n < 0)
                return log_error_errno(EINVAL, "\"%s\" is not an IOMMU group number.", argv[1]);
        k = context_describe_parts(c, c->json ? DESCRIBE_GROUPS : DESCRIBE_ALL, &state);
        if (k < 0)
                return k;
        g = find_group(state, n);
        if (!g)
                return log_error_errno(ENOENT, "No IOMMU group %d on this host.", n);
        if (c->json)
                return print_json(c, json_object_get(g));
        index = device_index(state);
        if (!index)
                return log_error_errno(ENOMEM, "%m");

        printf("Group %d\n", n);
        printf("      Type: %s\n", jstr(g, "type") ?: "(unknown)");
        printf("     IOMMU: %s\n", jstr(g, "iommu") ?: "(unknown)");
        printf("    Viable: %s\n", viable_word(g));
        a = jget(g, "blockers");
        for (size_t i = 0; i < jlen(a); i++) {
                const char *driver = jstr(jidx(a, i), "driver");

                if (streq_ptr(driver, BLOCKER_DRIVER_UNKNOWN))
                        printf("            %s could not be read, so its driver is unknown\n",
                               jstr(jidx(a, i), "device"));
                else
                        printf("            %s is bound to %s: bind it to vfio-pci, or unbind it\n",
                               jstr(jidx(a, i), "device"), strna(driver));
        }
        printf("Devices:\n");
        a = jget(g, "devices");
        for (size_t i = 0; i < jlen(a); i++) {
                const char *addr = json_object_get_string(jidx(a, i));
                json_object *d = jget(index, addr);
                char id[32];

                if (!d) {
                        printf("    %s (unreadable, see the warnings)\n", addr);
                        continue;
                }
                printf("    %s %s %s %s\n", addr, format_id(d, id), id_or_unknown(d, "class"),
                       !driver_known(d) ? "(driver unknown)" : jstr(d, "driver") ?: "(unbound)");
        }
        a = jget(g, "shared_because");
        if (jlen(a) > 0) {
                printf("Shared because:\n");
                for (size_t i = 0; i < jlen(a); i++)
                        explain_shared(jidx(a, i));
        }
        printf("Reserved regions:\n");
        a = jget(g, "reserved_regions");
        if (!a)
                printf("    (unknown: reserved_regions could not be read, see the warnings)\n");
        else if (jlen(a) == 0)
                printf("    (none)\n");
        for (size_t i = 0; i < jlen(a); i++)
                print_range_line(jstr(jidx(a, i), "type"), jidx(a, i), NULL);
        if (jstr(g, "vfio_node")) {
                a = jget(g, "vfio_users");
                printf("VFIO: /dev/vfio/%s, ", jstr(g, "vfio_node"));
                if (jlen(a) == 0)
                        printf("not open\n");
                else {
                        /* vfio_processes names them; a daemon older than this client sends only the PIDs. */
                        json_object *procs = jget(g, "vfio_processes");

                        printf("open by PID");
                        for (size_t i = 0; i < jlen(a); i++) {
                                const char *comm = i < jlen(procs) ? jstr(jidx(procs, i), "comm") : NULL;

                                printf("%s %d", i > 0 ? "," : "", json_object_get_int(jidx(a, i)));
                                if (comm)
                                        printf(" (%s)", comm);
                        }
                        printf("\n");
                }
        }
        print_group_cdev_users(g);
        print_object_warnings("group", argv[1], g);
        return 0;
}

int verb_iommu(int argc, char *argv[], Context *c) {
        _cleanup_(json_object_putp) json_object *state = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        json_object *iommu, *units;
        int k;

        k = context_describe_parts(c, c->json ? DESCRIBE_IOMMU : DESCRIBE_ALL, &state);
        if (k < 0)
                return k;
        if (c->json)
                return print_member(c, state, "iommu");

        iommu = jget(state, "iommu");
        units = jget(iommu, "units");
        t = table_new("UNIT", "KIND", "WIDTH", "IRQ-REMAP", "DEVICES", NULL);
        if (!t)
                return log_error_errno(ENOMEM, "%m");
        for (size_t i = 0; i < jlen(units); i++) {
                json_object *u = jidx(units, i), *ir = jget(u, "interrupt_remapping");
                char width[32] = "", count[24], num[24];

                if (!jnull(u, "address_width"))
                        (void) snprintf(width, sizeof(width), "%s-bit", jnum(u, "address_width", num));
                (void) snprintf(count, sizeof(count), "%zu", jlen(jget(u, "devices")));
                if (table_add_row(t, jstr(u, "name"), jstr(u, "kind"), width,
                                  !ir ? "" : json_object_get_boolean(ir) ? "yes" : "no", count) < 0)
                        return log_error_errno(ENOMEM, "%m");
        }
        if (table_rows(t) > 0)
                (void) table_print(t, stdout, c->legend);
        print_summary(c, table_rows(t), "unit", "units");
        if (c->legend)
                printf("Unsafe interrupts allowed: %s\n", jbool(iommu, "allow_unsafe_interrupts") ? "yes" : "no");
        if (c->legend && !jnull(iommu, "iommufd"))
                printf("iommufd (/dev/iommu): %s\n", jbool(iommu, "iommufd") ? "yes" : "no");
        for (size_t i = 0; i < jlen(units); i++)
                print_object_warnings("IOMMU", jstr(jidx(units, i), "name"), jidx(units, i));
        return 0;
}
