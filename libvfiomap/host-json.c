/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <limits.h>

#include "bar-ownership.h"
#include "host-json.h"
#include "iommufd.h"
#include "util.h"

/* json-c's add functions only fail on allocation failure, which we treat like the rest of json-c's
 * allocation failures: the object is then incomplete, never invalid. Every key below is a string literal
 * added once per object: json-c neither copies it nor looks for an earlier value (a host of 4,000
 * functions adds some 60,000 keys, and their copies were a tenth of `groups --json`). */
#define ADD(o, k, v)                                                                                    \
        (void) json_object_object_add_ex((o), ("" k), (v),                                              \
                                         JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_ADD_CONSTANT_KEY)

json_object *json_addr(uint64_t a) {
        char buf[ADDR_STRLEN];
        return json_object_new_string(format_addr(buf, a));
}

json_object *json_range(uint64_t start, uint64_t end) {
        json_object *o = json_object_new_object();
        ADD(o, "start", json_addr(start));
        ADD(o, "end", json_addr(end));
        return o;
}

static json_object *json_hex(uint64_t v, int width) {
        char buf[32];
        (void) snprintf(buf, sizeof(buf), "0x%0*" PRIx64, width, v);
        return json_object_new_string(buf);
}

static json_object *json_string_or_null(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

/* An array with room for n elements: json-c's default is 32 slots, and a host of 4,000 functions has some
 * 24,000 arrays, nearly all of zero to two elements (6 MB of empty slots, and their page faults). */
static json_object *json_array_sized(size_t n) {
        return json_object_new_array_ext((int) MIN(MAX(n, (size_t) 1), (size_t) INT_MAX));
}

static json_object *json_strv(char *const *l) {
        json_object *a = json_array_sized(strv_length(l));
        STRV_FOREACH(s, l)
                (void) json_object_array_add(a, json_object_new_string(*s));
        return a;
}

static json_object *bar_to_json(const Bar *b) {
        json_object *o = json_object_new_object();
        ADD(o, "index", json_object_new_int(b->index));
        ADD(o, "start", json_addr(b->start));
        ADD(o, "end", json_addr(b->end));
        ADD(o, "io", json_object_new_boolean(!!(b->flags & PCI_RESOURCE_IO)));
        ADD(o, "prefetchable", json_object_new_boolean(!!(b->flags & PCI_RESOURCE_PREFETCH)));
        ADD(o, "mem64", json_object_new_boolean(!!(b->flags & PCI_RESOURCE_MEM_64)));
        return o;
}

static json_object *acs_to_json(const Device *d) {
        json_object *o;

        if (!d->config_read || d->config.acs == ACS_UNREADABLE)
                return json_object_new_string("unreadable");
        if (d->config.acs == ACS_ABSENT)
                return NULL;
        o = json_object_new_object();
        ADD(o, "capability", json_hex(d->config.acs_capability, 4));
        ADD(o, "control", json_hex(d->config.acs_control, 4));
        ADD(o, "isolates", json_object_new_boolean(device_acs_isolates(d)));
        return o;
}

/* The Resizable BAR capability, in the same three shapes as "acs". */
static json_object *rebar_to_json(const Device *d) {
        json_object *a;

        if (!d->config_read || d->config.rebar == ACS_UNREADABLE)
                return json_object_new_string("unreadable");
        if (d->config.rebar == ACS_ABSENT)
                return NULL;
        a = json_array_sized(d->config.n_rebar);
        for (unsigned i = 0; i < d->config.n_rebar; i++) {
                const PciRebar *r = d->config.rebar_bars + i;
                json_object *o = json_object_new_object(), *sizes = json_object_new_array();

                ADD(o, "bar", json_object_new_int(r->bar));
                ADD(o, "current", json_object_new_uint64(UINT64_C(1) << r->current));
                for (unsigned bit = 20; bit < 64; bit++)
                        if (r->sizes & (UINT64_C(1) << bit))
                                (void) json_object_array_add(sizes,
                                                             json_object_new_uint64(UINT64_C(1) << bit));
                ADD(o, "sizes", sizes);
                (void) json_object_array_add(a, o);
        }
        return a;
}

json_object *device_to_json(const Host *h, const Device *d) {
        json_object *o = json_object_new_object(), *bars, *iov, *windows;

        ADD(o, "address", json_object_new_string(d->address));
        ADD(o, "vendor", d->vendor_known ? json_hex(d->vendor, 4) : NULL);
        ADD(o, "device", d->device_known ? json_hex(d->device, 4) : NULL);
        ADD(o, "subsystem_vendor", json_hex(d->subsystem_vendor, 4));
        ADD(o, "subsystem_device", json_hex(d->subsystem_device, 4));
        ADD(o, "class", d->class_known ? json_hex(d->class, 6) : NULL);
        ADD(o, "revision", d->revision >= 0 ? json_hex(d->revision, 2) : NULL);
        ADD(o, "driver", json_string_or_null(d->driver));
        ADD(o, "driver_known", json_object_new_boolean(d->driver_known));
        ADD(o, "driver_override", json_string_or_null(d->driver_override));
        ADD(o, "group", d->group >= 0 ? json_object_new_int(d->group) : NULL);
        ADD(o, "parent", json_string_or_null(d->parent));
        ADD(o, "iommu", json_string_or_null(d->iommu));
        ADD(o, "pcie_type",
            d->config_read && d->config.pcie_type != PCIE_TYPE_UNKNOWN
                    ? json_object_new_string(pcie_type_to_string(d->config.pcie_type))
                    : NULL);
        ADD(o, "multifunction", d->config_read ? json_object_new_boolean(d->config.multifunction) : NULL);

        bars = json_array_sized(d->n_bars);
        for (size_t i = 0; i < d->n_bars; i++)
                (void) json_object_array_add(bars, bar_to_json(d->bars + i));
        ADD(o, "bars", bars);
        iov = json_array_sized(d->n_iov_bars);
        for (size_t i = 0; i < d->n_iov_bars; i++)
                (void) json_object_array_add(iov, bar_to_json(d->iov_bars + i));
        ADD(o, "sriov_bars", iov);
        windows = json_array_sized(d->n_windows);
        for (size_t i = 0; i < d->n_windows; i++) {
                json_object *w = json_object_new_object();
                ADD(w, "kind", json_object_new_string(window_kind_to_string(d->windows[i].kind)));
                ADD(w, "start", json_addr(d->windows[i].start));
                ADD(w, "end", json_addr(d->windows[i].end));
                (void) json_object_array_add(windows, w);
        }
        ADD(o, "windows", windows);
        ADD(o, "resources_hidden", json_object_new_boolean(d->resource_zeroed));

        ADD(o, "physfn", json_string_or_null(d->physfn));
        ADD(o, "virtfns", json_strv(d->virtfns));
        ADD(o, "sriov_numvfs", d->sriov_numvfs >= 0 ? json_object_new_int(d->sriov_numvfs) : NULL);
        ADD(o, "numa_node", d->numa_node >= 0 ? json_object_new_int(d->numa_node) : NULL);
        ADD(o, "acs", acs_to_json(d));
        ADD(o, "rebar", rebar_to_json(d));
        ADD(o, "reset", device_reset_to_json(h, d));
        ADD(o, "boot_vga", d->boot_vga >= 0 ? json_object_new_boolean(d->boot_vga) : NULL);
        ADD(o, "bar_claims", device_bar_claims_to_json(h, d));
        ADD(o, "rom", device_rom_to_json(d));
        ADD(o, "vfio_cdev", device_vfio_cdev_to_json(h, d));
        ADD(o, "warnings", json_strv(d->warnings));
        (void) h;
        return o;
}

json_object *group_to_json(const Host *h, const Group *g) {
        _cleanup_free_ Blocker *blockers = NULL;
        _cleanup_free_ SharedBecause *shared = NULL;
        json_object *o = json_object_new_object(), *regions, *a, *pids, *procs;
        const VfioNode *node;
        const char *unit;
        int n;

        ADD(o, "group", json_object_new_int(g->number));
        ADD(o, "type", json_string_or_null(g->type));
        ADD(o, "devices", json_strv(g->devices));

        regions = g->regions_known ? json_array_sized(g->n_regions) : NULL;
        for (size_t i = 0; regions && i < g->n_regions; i++) {
                json_object *r = json_range(g->regions[i].start, g->regions[i].end);
                ADD(r, "type", json_object_new_string(resv_type_to_string(g->regions[i].type)));
                (void) json_object_array_add(regions, r);
        }
        ADD(o, "reserved_regions", regions);

        n = group_blockers(h, g, NULL, &blockers);
        switch (group_viability(h, g)) {
        case VIABILITY_YES:
                ADD(o, "viable", json_object_new_boolean(true));
                break;
        case VIABILITY_NO:
                ADD(o, "viable", json_object_new_boolean(false));
                break;
        default:
                ADD(o, "viable", NULL);
        }
        a = json_array_sized(MAX(n, 0));
        for (int i = 0; i < n; i++) {
                json_object *b = json_object_new_object();
                ADD(b, "device", json_object_new_string(blockers[i].device));
                ADD(b, "driver", json_string_or_null(blockers[i].driver));
                (void) json_object_array_add(a, b);
        }
        ADD(o, "blockers", a);

        n = group_shared_because(h, g, &shared);
        a = json_array_sized(MAX(n, 0));
        for (int i = 0; i < n; i++) {
                json_object *s = json_object_new_object();
                ADD(s, "reason", json_object_new_string(shared_reason_to_string(shared[i].reason)));
                ADD(s, "device", json_object_new_string(shared[i].device));
                (void) json_object_array_add(a, s);
        }
        ADD(o, "shared_because", a);

        unit = group_iommu(h, g);
        ADD(o, "iommu", json_string_or_null(unit));

        node = host_find_vfio_group_node(h, g->number);
        pids = json_array_sized(node ? node->n_pids : 0);
        procs = json_array_sized(node ? node->n_pids : 0);
        for (size_t i = 0; node && i < node->n_pids; i++) {
                json_object *p = json_object_new_object();
                (void) json_object_array_add(pids, json_object_new_int(node->pids[i]));
                ADD(p, "pid", json_object_new_int(node->pids[i]));
                ADD(p, "comm", json_string_or_null(node->comms ? node->comms[i] : NULL));
                (void) json_object_array_add(procs, p);
        }
        ADD(o, "vfio_node", node ? json_object_new_string(node->name) : NULL);
        /* vfio_users stays a list of numbers for the readers that know only it. */
        ADD(o, "vfio_users", pids);
        ADD(o, "vfio_processes", procs);
        ADD(o, "vfio_cdev_processes", group_vfio_cdev_processes_to_json(h, g->devices));
        ADD(o, "warnings", json_strv(g->warnings));
        return o;
}

json_object *unit_to_json(const Host *h, const IommuUnit *u) {
        json_object *o = json_object_new_object();

        ADD(o, "name", json_object_new_string(u->name));
        ADD(o, "kind", json_object_new_string(iommu_kind_to_string(u->kind)));
        ADD(o, "address_width", u->address_width >= 0 ? json_object_new_int(u->address_width) : NULL);
        ADD(o, "interrupt_remapping",
            u->interrupt_remapping >= 0 ? json_object_new_boolean(u->interrupt_remapping) : NULL);
        if (u->kind == IOMMU_INTEL && u->address_width >= 0) {
                ADD(o, "sagaw", json_hex(u->intel.sagaw, 2));
                ADD(o, "caching_mode", json_object_new_boolean(u->intel.caching_mode));
        }
        ADD(o, "devices", json_strv(u->devices));
        ADD(o, "warnings", json_strv(u->warnings));
        (void) h;
        return o;
}

json_object *host_devices_to_json(const Host *h) {
        json_object *a = json_array_sized(h->n_devices);
        for (size_t i = 0; i < h->n_devices; i++)
                (void) json_object_array_add(a, device_to_json(h, h->devices[i]));
        return a;
}

json_object *host_groups_to_json(const Host *h) {
        json_object *a = json_array_sized(h->n_groups);
        for (size_t i = 0; i < h->n_groups; i++)
                (void) json_object_array_add(a, group_to_json(h, h->groups[i]));
        return a;
}

json_object *host_iommu_to_json(const Host *h) {
        json_object *o = json_object_new_object(), *a = json_object_new_array();

        for (size_t i = 0; i < h->n_units; i++)
                (void) json_object_array_add(a, unit_to_json(h, h->units[i]));
        ADD(o, "units", a);
        ADD(o, "allow_unsafe_interrupts", json_object_new_boolean(h->allow_unsafe_interrupts));
        ADD(o, "dma_entry_limit",
            h->dma_entry_limit >= 0 ? json_object_new_int64(h->dma_entry_limit) : NULL);
        ADD(o, "iommufd", h->dev_iommu >= 0 ? json_object_new_boolean(h->dev_iommu) : NULL);
        return o;
}

json_object *host_to_json(const Host *h) {
        json_object *o = json_object_new_object();

        ADD(o, "cpu_vendor", json_string_or_null(h->cpu_vendor));
        ADD(o, "cpu_phys_bits", h->cpu_phys_bits >= 0 ? json_object_new_int(h->cpu_phys_bits) : NULL);
        ADD(o, "devices", host_devices_to_json(h));
        ADD(o, "groups", host_groups_to_json(h));
        ADD(o, "iommu", host_iommu_to_json(h));
        ADD(o, "iomem_hidden", json_object_new_boolean(h->iomem_zeroed));
        ADD(o, "warnings", json_strv(h->warnings));
        return o;
}
