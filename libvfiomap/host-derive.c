/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Facts derived from the loaded model: group viability and the reasons a group has several members. */

#include "host.h"
#include "util.h"

/* s, of length l, equals or ends with a string literal: fixed-size compares the compiler inlines. */
#define EQUALS_LITERAL(s, l, literal) \
        ((l) == sizeof(literal) - 1 && memcmp(s, literal, sizeof(literal) - 1) == 0)
#define ENDS_WITH_LITERAL(s, l, literal) \
        ((l) >= sizeof(literal) - 1 && \
         memcmp((s) + (l) - (sizeof(literal) - 1), literal, sizeof(literal) - 1) == 0)

bool driver_is_vfio_safe(const char *driver) {
        size_t l;

        /* The drivers that set driver_managed_dma (vfio_pci_core based variants are all named *vfio-pci or
         * *vfio_pci), plus pcieport, which does no DMA of its own (drivers/vfio/group.c and
         * drivers/pci/pcie/portdrv.c). Asked for every member of every group a ListGroups call returns. */
        if (!driver)
                return true;
        l = strlen(driver);
        return EQUALS_LITERAL(driver, l, "vfio-pci") || EQUALS_LITERAL(driver, l, "pci-stub") ||
                EQUALS_LITERAL(driver, l, "pcieport") || ENDS_WITH_LITERAL(driver, l, "-vfio-pci") ||
                ENDS_WITH_LITERAL(driver, l, "_vfio_pci") || ENDS_WITH_LITERAL(driver, l, "vfio-pci-core");
}

bool driver_is_vfio(const char *driver) {
        size_t l;

        if (!driver)
                return false;
        l = strlen(driver);
        return EQUALS_LITERAL(driver, l, "vfio-pci") || ENDS_WITH_LITERAL(driver, l, "-vfio-pci") ||
                ENDS_WITH_LITERAL(driver, l, "_vfio_pci");
}

/* Orders addresses spelled as pci_address_format() spells them as pci_address_compare() orders the
 * addresses themselves: every field is a fixed number of lower-case hex digits, which sort as their values,
 * except the domain, which on VMD has five (0x10000 and up; no ':' at index 4) and then sorts last. */
static int address_spelling_compare(const char *a, const char *b) {
        bool a5 = a[4] != ':', b5 = b[4] != ':';

        if (a5 != b5)
                return a5 ? 1 : -1;
        return strcmp(a, b);
}

/* The device of a group member, searched in the devices table from index *from on; *from is then set past
 * it, so that the next member of the group (members are sorted like the table) is searched after it. The
 * loader spells members and devices alike (pci_address_format()), so the search compares that text
 * instead of parsing every member again (a third of what group_is_viable() cost a ListGroups call). A
 * member not found so (spelled otherwise, or no device) is left to host_find_device(), which gives the same
 * answer for any spelling. */
static const Device *find_member_device(const Host *h, const char *address, size_t *from) {
        size_t lo = *from, hi = h->n_devices;

        if (strnlen(address, 5) == 5)
                while (lo < hi) {
                        size_t mid = lo + (hi - lo) / 2;
                        int c = address_spelling_compare(h->devices[mid]->address, address);

                        if (c == 0) {
                                *from = mid + 1;
                                return h->devices[mid];
                        }
                        if (c < 0)
                                lo = mid + 1;
                        else
                                hi = mid;
                }
        return host_find_device(h, address);
}

int group_blockers(const Host *h, const Group *g, char *const *assigned, Blocker **ret) {
        Blocker *b = NULL;
        size_t n = 0, from = 0;

        STRV_FOREACH(m, g->devices) {
                const Device *d = find_member_device(h, *m, &from);
                Blocker *nb;

                /* A member we could not model, or whose driver link we could not read, may be bound to
                 * anything: never call that viable. */
                if (strv_contains(assigned, *m) || (d && d->driver_known && driver_is_vfio_safe(d->driver)))
                        continue;
                nb = realloc(b, sizeof(Blocker) * (n + 1));
                if (!nb) {
                        free(b);
                        return -ENOMEM;
                }
                b = nb;
                b[n++] = d && d->driver_known ? (Blocker) { .device = d->address, .driver = d->driver }
                                              : (Blocker) { .device = d ? d->address : *m,
                                                            .driver = BLOCKER_DRIVER_UNKNOWN };
        }
        *ret = b;
        return (int) n;
}

bool group_is_viable(const Host *h, const Group *g) {
        size_t from = 0;

        STRV_FOREACH(m, g->devices) {
                const Device *d = find_member_device(h, *m, &from);
                if (!d || !d->driver_known || !driver_is_vfio_safe(d->driver))
                        return false;
        }
        return true;
}

Viability group_viability(const Host *h, const Group *g) {
        Viability v = VIABILITY_YES;
        size_t from = 0;

        STRV_FOREACH(m, g->devices) {
                const Device *d = find_member_device(h, *m, &from);

                if (!d || !d->driver_known)
                        v = VIABILITY_UNKNOWN;
                else if (!driver_is_vfio_safe(d->driver))
                        return VIABILITY_NO;
        }
        return v;
}

static const char *const shared_reason_table[_SHARED_REASON_MAX] = {
        [SHARED_DMA_ALIAS] = "dma-alias",
        [SHARED_NO_ACS] = "no-acs",
        [SHARED_MULTIFUNCTION] = "multifunction",
        [SHARED_UNKNOWN] = "unknown",
};

const char *shared_reason_to_string(SharedReason r) {
        return r >= 0 && r < _SHARED_REASON_MAX ? shared_reason_table[r] : NULL;
}

bool device_acs_isolates(const Device *d) {
        uint16_t want;

        if (!d->config_read || d->config.acs != ACS_PRESENT)
                return false;
        /* Except for egress control, a feature missing from the capability is hard-wired enabled. */
        want = PCI_ACS_ISOLATION & (d->config.acs_capability | PCI_ACS_EC);
        return (d->config.acs_control & want) == want;
}

int device_acs_enabled(const Device *d) {
        if (!d->config_read || d->config.pcie_type == PCIE_TYPE_UNKNOWN)
                return -1;
        switch (d->config.pcie_type) {
        case PCIE_TYPE_NONE:            /* conventional PCI never supports ACS */
        case PCIE_TYPE_PCIE_TO_PCI:     /* PCIe 3.0 6.12.1: ACS is never applicable */
        case PCIE_TYPE_PCI_TO_PCIE:     /* primary side is PCI/PCI-X: handled like conventional */
        case PCIE_TYPE_RC_EC:
                return 0;
        case PCIE_TYPE_ROOT_PORT:
        case PCIE_TYPE_DOWNSTREAM:
                if (d->config.acs == ACS_UNREADABLE)
                        return -1;
                return device_acs_isolates(d);
        case PCIE_TYPE_ENDPOINT:
        case PCIE_TYPE_UPSTREAM:
        case PCIE_TYPE_LEGACY_ENDPOINT:
        case PCIE_TYPE_RC_INTEGRATED:
                /* PCIe 3.0 6.12.1.2: only multifunction devices need ACS among these. */
                if (!d->config.multifunction)
                        return 1;
                if (d->config.acs == ACS_UNREADABLE)
                        return -1;
                return device_acs_isolates(d);
        default:
                /* 6.12.1.3: no ACS applies to the remaining single-function types. */
                return 1;
        }
}

/* The bridge that made the kernel merge a device into its parent's group: pci_device_group() joins the
 * parent's group unless pci_acs_path_enabled() holds from the parent up to the root bus, so the culprit
 * is the lowest device on that path that is not ACS-enabled. NULL when the whole path is enabled; sets
 * *unknown when a device on the path cannot be judged from config space. */
static const Device *first_unisolated_on_path(const Host *h, const Device *from, bool *unknown) {
        const Device *p = from;

        *unknown = false;
        for (unsigned depth = 0; p && depth < 256; depth++) {
                int e = device_acs_enabled(p);

                if (e < 0) {
                        *unknown = true;
                        return p;
                }
                if (e == 0)
                        return p;
                p = host_find_device(h, p->parent);
        }
        return NULL;
}

bool device_is_bridge(const Device *d) {
        /* Class 0x0604 (PCI-to-PCI) and 0x0609 (semi-transparent); host bridges (0x0600) have no
         * secondary bus in sysfs. */
        return (d->class >> 8) == 0x0604 || (d->class >> 8) == 0x0609;
}

static bool is_member(const Group *g, const char *address) {
        return address && strv_contains(g->devices, address);
}

static int add_reason(SharedBecause **list, size_t *n, SharedReason reason, const char *device) {
        SharedBecause *nl;

        for (size_t i = 0; i < *n; i++)
                if ((*list)[i].reason == reason && streq((*list)[i].device, device))
                        return 0;
        nl = realloc(*list, sizeof(SharedBecause) * (*n + 1));
        if (!nl)
                return -ENOMEM;
        *list = nl;
        (*list)[(*n)++] = (SharedBecause) { .reason = reason, .device = device };
        return 0;
}

/* A conventional (non-PCIe) device behind a PCIe-to-PCI bridge issues DMA with the bridge's requester ID
 * (drivers/pci/search.c, pci_for_each_dma_alias): returns that bridge if it is in the group. */
static const Device *alias_bridge(const Host *h, const Group *g, const Device *d) {
        const Device *p = d;

        for (unsigned depth = 0; p && depth < 256; depth++) {
                const Device *parent = host_find_device(h, p->parent);

                if (!parent)
                        return NULL;
                if (parent->config_read && parent->config.pcie_type == PCIE_TYPE_PCIE_TO_PCI &&
                    is_member(g, parent->address))
                        return parent;
                /* Only conventional devices (and conventional bridges below the PCIe-to-PCI bridge)
                 * alias; a PCIe device starts its own requester ID. */
                if (!p->config_read || p->config.pcie_type != PCIE_TYPE_NONE)
                        return NULL;
                p = parent;
        }
        return NULL;
}

static int shared_compare(const void *a, const void *b) {
        const SharedBecause *x = a, *y = b;
        if (x->reason != y->reason)
                return x->reason < y->reason ? -1 : 1;
        return strcmp(x->device, y->device);
}

int group_shared_because(const Host *h, const Group *g, SharedBecause **ret) {
        _cleanup_free_ SharedBecause *list = NULL;
        size_t n = 0;
        const char *anchor = NULL;
        int k;

        *ret = NULL;
        if (strv_length(g->devices) < 2)
                return 0;

        /* Explain each member by the edge that joined it to the group, following the kernel's order in
         * pci_device_group() (drivers/iommu/iommu.c): DMA alias, then a non-isolating bridge upstream,
         * then the other functions of a multifunction slot. The member at the top of the group joined
         * nobody and needs no explanation. */
        STRV_FOREACH(m, g->devices) {
                const Device *d = host_find_device(h, *m), *bridge, *parent;

                if (!d)
                        continue;
                bridge = alias_bridge(h, g, d);
                if (bridge) {
                        k = add_reason(&list, &n, SHARED_DMA_ALIAS, bridge->address);
                        if (k < 0)
                                return k;
                        continue;
                }
                parent = host_find_device(h, d->parent);
                if (parent && is_member(g, parent->address)) {
                        bool unknown;
                        const Device *culprit = first_unisolated_on_path(h, parent, &unknown);

                        if (culprit) {
                                /* With config space unreadable (non-root), say so rather than blame a
                                 * bridge whose ACS we never saw. */
                                k = unknown ? add_reason(&list, &n, SHARED_UNKNOWN, d->address)
                                            : add_reason(&list, &n, SHARED_NO_ACS, culprit->address);
                                if (k < 0)
                                        return k;
                                continue;
                        }
                }
                if (d->addr.function != 0 && device_acs_enabled(d) != 1) {
                        char fn0[PCI_ADDRESS_MAX];
                        PciAddress a = d->addr;
                        const Device *f0;

                        a.function = 0;
                        pci_address_format(&a, fn0);
                        f0 = host_find_device(h, fn0);
                        if (f0 && is_member(g, f0->address)) {
                                k = add_reason(&list, &n, SHARED_MULTIFUNCTION, f0->address);
                                if (k < 0)
                                        return k;
                                continue;
                        }
                }
                /* Siblings on one bus below a non-isolating bridge that is itself not in the group
                 * (a root bus without ACS, a bridge with a quirk) end up here too. */
                if (!anchor) {
                        anchor = d->address;
                        continue;
                }
                /* Another function of the anchor's slot (function 0 absent from the group) or a
                 * sibling: the kernel had a reason we cannot see (quirk, alias). */
                k = add_reason(&list, &n, SHARED_UNKNOWN, d->address);
                if (k < 0)
                        return k;
        }
        if (n > 1)
                qsort(list, n, sizeof(SharedBecause), shared_compare);
        *ret = TAKE_PTR(list);
        return (int) n;
}

const char *group_iommu(const Host *h, const Group *g) {
        size_t from = 0;

        STRV_FOREACH(m, g->devices) {
                const Device *d = find_member_device(h, *m, &from);
                if (d && d->iommu)
                        return d->iommu;
        }
        return NULL;
}
