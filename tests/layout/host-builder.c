/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "host-builder.h"
#include "util.h"

static void *check(void *p) {
        if (!p) {
                fputs("Bail out! out of memory\n", stdout);
                abort();
        }
        return p;
}

#define APPEND(array, n, value)                                                                         \
        do {                                                                                            \
                (array) = check(realloc((array), sizeof((array)[0]) * ((n) + 1)));                      \
                (array)[(n)++] = (value);                                                               \
        } while (0)

Host *hb_host_new(const char *cpu_vendor) {
        Host *h = check(calloc(1, sizeof(Host)));

        h->dev_iommu = -1;
        h->root = check(strdup("(in memory)"));
        h->cpu_vendor = cpu_vendor ? check(strdup(cpu_vendor)) : NULL;
        /* Unknown unless a case sets them, as host_load() leaves them without cpuinfo/osrelease. */
        h->cpu_phys_bits = -1;
        h->dma_entry_limit = 65535;
        h->kernel_major = h->kernel_minor = -1;
        return h;
}

static Group *group_get(Host *h, unsigned number) {
        Group *g;

        for (size_t i = 0; i < h->n_groups; i++)
                if (h->groups[i]->number == number)
                        return h->groups[i];
        g = check(calloc(1, sizeof(Group)));
        g->number = number;
        g->type = check(strdup("DMA"));
        g->regions_known = true;
        APPEND(h->groups, h->n_groups, g);
        return g;
}

Device *hb_device(Host *h, const char *address, uint32_t class, PcieType type, const char *parent,
                  const char *driver, int group) {
        Device *d = check(calloc(1, sizeof(Device)));

        if (pci_address_parse(address, &d->addr) < 0)
                abort();
        pci_address_format(&d->addr, d->address);
        d->syspath = check(strdup("sys/devices/in-memory"));
        d->class = class;
        d->vendor_known = d->device_known = d->class_known = d->driver_known = d->group_known = true;
        d->revision = -1;
        d->config_read = true;
        d->config_size = 4096;
        d->config.class = class;
        d->config.pcie_type = type;
        d->config.acs = ACS_ABSENT;
        d->config.rebar = ACS_ABSENT;
        d->config.header_type = (class >> 8) == 0x0604 ? 1 : 0;
        d->parent = parent ? check(strdup(parent)) : NULL;
        d->driver = driver ? check(strdup(driver)) : NULL;
        d->group = group;
        d->sriov_numvfs = -1;
        d->numa_node = -1;
        d->reset.d3cold_allowed = -1;
        d->boot_vga = -1;
        if (group >= 0)
                (void) group_get(h, (unsigned) group);
        APPEND(h->devices, h->n_devices, d);
        return d;
}

void hb_acs(Device *d, uint16_t control) {
        d->config.acs = ACS_PRESENT;
        d->config.acs_capability = 0x5f;
        d->config.acs_control = control;
}

void hb_rebar(Device *d, unsigned bar, unsigned current_log2, uint64_t sizes) {
        if (d->config.n_rebar >= PCI_REBAR_MAX)
                abort();
        d->config.rebar = ACS_PRESENT;
        d->config.rebar_bars[d->config.n_rebar++] = (PciRebar) { .bar = (uint8_t) bar,
                                                                 .current = (uint8_t) current_log2,
                                                                 .sizes = sizes };
}

void hb_bar(Device *d, unsigned index, uint64_t start, uint64_t end, bool prefetchable64) {
        uint64_t flags = PCI_RESOURCE_MEM | (prefetchable64 ? PCI_RESOURCE_PREFETCH | PCI_RESOURCE_MEM_64 : 0);
        if (d->n_bars >= DEVICE_BARS_MAX)
                abort();
        d->bars = check(realloc(d->bars, (d->n_bars + 1) * sizeof(Bar)));
        d->bars[d->n_bars++] = (Bar) { .index = index, .start = start, .end = end, .flags = flags };
}

void hb_iov_bar(Device *d, unsigned index, uint64_t start, uint64_t end) {
        if (d->n_iov_bars >= DEVICE_IOV_BARS_MAX)
                abort();
        d->iov_bars = check(realloc(d->iov_bars, (d->n_iov_bars + 1) * sizeof(Bar)));
        d->iov_bars[d->n_iov_bars++] = (Bar) { .index = 7 + index, .start = start, .end = end,
                                               .flags = PCI_RESOURCE_MEM | PCI_RESOURCE_MEM_64 };
}

void hb_window(Device *d, WindowKind kind, uint64_t start, uint64_t end) {
        uint64_t flags = PCI_RESOURCE_WINDOW |
                         (kind == WINDOW_IO ? PCI_RESOURCE_IO
                                            : PCI_RESOURCE_MEM | (kind == WINDOW_PREF ? PCI_RESOURCE_PREFETCH : 0));
        if (d->n_windows >= DEVICE_WINDOWS_MAX)
                abort();
        d->windows = check(realloc(d->windows, (d->n_windows + 1) * sizeof(Window)));
        d->windows[d->n_windows++] = (Window) { .kind = kind, .start = start, .end = end, .flags = flags };
}

void hb_resv(Host *h, unsigned group, uint64_t start, uint64_t end, ResvType type) {
        Group *g = group_get(h, group);
        ResvRegion r = { .start = start, .end = end, .type = type };
        APPEND(g->regions, g->n_regions, r);
}

void hb_unit(Host *h, const char *name, IommuKind kind, int width, int ir, ...) {
        IommuUnit *u = check(calloc(1, sizeof(IommuUnit)));
        va_list ap;

        u->name = check(strdup(name));
        u->kind = kind;
        u->address_width = width;
        u->interrupt_remapping = ir;
        va_start(ap, ir);
        for (const char *a; (a = va_arg(ap, const char *));) {
                if (strv_extend(&u->devices, a) < 0)
                        abort();
                for (size_t i = 0; i < h->n_devices; i++)
                        if (streq(h->devices[i]->address, a)) {
                                free(h->devices[i]->iommu);
                                h->devices[i]->iommu = check(strdup(name));
                        }
        }
        va_end(ap);
        APPEND(h->units, h->n_units, u);
}

static int device_compare(const void *a, const void *b) {
        return pci_address_compare(&(*(Device *const *) a)->addr, &(*(Device *const *) b)->addr);
}

static int group_compare(const void *a, const void *b) {
        unsigned x = (*(Group *const *) a)->number, y = (*(Group *const *) b)->number;
        return x < y ? -1 : x > y;
}

static int unit_compare(const void *a, const void *b) {
        return strcmp((*(IommuUnit *const *) a)->name, (*(IommuUnit *const *) b)->name);
}

Host *hb_finish(Host *h) {
        if (h->n_devices > 0)
                qsort(h->devices, h->n_devices, sizeof(Device *), device_compare);
        if (h->n_groups > 0)
                qsort(h->groups, h->n_groups, sizeof(Group *), group_compare);
        if (h->n_units > 0)
                qsort(h->units, h->n_units, sizeof(IommuUnit *), unit_compare);
        /* Members in address order, in one pass (benchmark hosts have 25,000 of them). */
        for (size_t g = 0; g < h->n_groups; g++) {
                Group *grp = h->groups[g];
                size_t n = 0;
                for (size_t i = 0; i < h->n_devices; i++)
                        n += h->devices[i]->group == (int) grp->number;
                grp->devices = check(calloc(n + 1, sizeof(char *)));
                n = 0;
                for (size_t i = 0; i < h->n_devices; i++)
                        if (h->devices[i]->group == (int) grp->number)
                                grp->devices[n++] = check(strdup(h->devices[i]->address));
        }
        return h;
}
