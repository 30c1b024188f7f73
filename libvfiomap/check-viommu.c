/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* With a vIOMMU, one host IOMMU group needs one guest DMA address space (guest-topology.h says why and how
 * QEMU forms them). This check compares the address spaces of the assigned members of each group and, when
 * they differ, gives the XML that puts them behind one pcie-to-pci-bridge, where they alias to one
 * requester ID (Alex Williamson's example in reference/pci-requester-id-aliasing.txt). */

#include "guest-topology.h"
#include "layout-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static const Group *hostdev_group(const Host *h, const VmHostdev *d) {
        const Device *dev = host_find_device(h, d->address);

        if (!dev || dev->group < 0)
                return NULL;
        return host_find_group(h, (unsigned) dev->group);
}

static void describe_space(const VmHostdev *d, const GuestDmaSpace *sp, char buf[static 128]) {
        if (sp->assigned)
                snprintf(buf, 128, "no guest <address>: libvirt gives it a pcie-root-port of its own");
        else if (sp->aliased && sp->key >= 0x10000)
                snprintf(
                        buf,
                        128,
                        "guest %02x:%02x.%x, behind controller index %u",
                        d->guest.bus,
                        d->guest.slot,
                        d->guest.function,
                        sp->via);
        else if (sp->aliased)
                snprintf(
                        buf,
                        128,
                        "guest %02x:%02x.%x, seen as %02x:%02x.%x behind controller index %u",
                        d->guest.bus,
                        d->guest.slot,
                        d->guest.function,
                        sp->bus,
                        sp->devfn >> 3,
                        sp->devfn & 7,
                        sp->via);
        else
                snprintf(
                        buf,
                        128,
                        "guest %02x:%02x.%x, a requester ID of its own",
                        d->guest.bus,
                        d->guest.slot,
                        d->guest.function);
}

/* The domain XML that moves the group's assigned members to slots 1, 2, ... of a new pcie-to-pci-bridge
 * (slot 0 of the bridge is not hotpluggable, libvirt starts at 1; a slot each avoids multifunction='on').
 * libvirt plugs the bridge into a pcie-root-port or pcie-root by itself. */
static int bridge_snippet(const VmSpec *s, const size_t *members, size_t n, int index, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "<controller type='pci' index='%d' model='pcie-to-pci-bridge'/>\n", index);
        for (size_t k = 0; k < n && k < 31; k++) {
                const VmHostdev *d = &s->hostdevs[members[k]];
                PciAddress a;

                if (pci_address_parse(d->address, &a) < 0)
                        continue;
                if (d->interface)
                        fprintf(f, "<interface type='hostdev' managed='%s'>\n", d->managed ? "yes" : "no");
                else
                        fprintf(f,
                                "<hostdev mode='subsystem' type='pci' managed='%s'>\n",
                                d->managed ? "yes" : "no");
                fprintf(f,
                        "  <source><address %sdomain='0x%04x' bus='0x%02x' slot='0x%02x' "
                        "function='0x%x'/></source>\n"
                        "  <address type='pci' domain='0x0000' bus='0x%02x' slot='0x%02zx' "
                        "function='0x0'/>\n"
                        "</%s>\n",
                        d->interface ? "type='pci' " : "",
                        a.domain,
                        a.bus,
                        a.slot,
                        a.function,
                        (unsigned) index,
                        k + 1,
                        d->interface ? "interface" : "hostdev");
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

static int check_group(
        Builder *b,
        const GuestDmaSpace *spaces,
        const Group *const *groups,
        size_t first,
        bool used[static 256],
        bool *reported_unknown) {
        const Group *g = groups[first];
        const VmSpec *s = layout_builder_spec(b);
        _cleanup_free_ size_t *members = NULL;
        _cleanup_free_ char *xml = NULL;
        size_t n = 0, split = 0;
        int index = -1, r;

        members = calloc(s->n_hostdevs, sizeof(size_t));
        if (!members)
                return -ENOMEM;
        for (size_t i = first; i < s->n_hostdevs; i++)
                if (groups[i] == g)
                        members[n++] = i;
        if (n < 2)
                return 0;

        for (size_t k = 0; k < n; k++) {
                const VmHostdev *d = &s->hostdevs[members[k]];
                const GuestDmaSpace *sp = &spaces[members[k]];
                char here[128], there[128];

                if (!sp->known) {
                        if (reported_unknown[members[k]])
                                continue;
                        reported_unknown[members[k]] = true;
                        r = layout_builder_problem(
                                b,
                                PROBLEM_GUEST_TOPOLOGY_UNKNOWN,
                                SEVERITY_INFO,
                                d->address,
                                (int) g->number,
                                NULL,
                                "The guest bus %u of %s is not provided by a <controller "
                                "type='pci'> of a known model: whether it shares a vIOMMU "
                                "address space with the other members of group %u cannot be "
                                "told.",
                                d->guest.bus,
                                d->address,
                                g->number);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (k == 0 || !spaces[members[0]].known || sp->key == spaces[members[0]].key)
                        continue;
                describe_space(&s->hostdevs[members[0]], &spaces[members[0]], there);
                describe_space(d, sp, here);
                split++;
                /* The text is QEMU's (vfio_get_group(), hw/vfio/container.c) with the device prefix its
                 * vfio_pci_realize() error adds. */
                r = layout_builder_problem(
                        b,
                        PROBLEM_VIOMMU_GROUP_ADDRESS_SPACES,
                        SEVERITY_ERROR,
                        d->address,
                        (int) g->number,
                        NULL,
                        "Group %u: %s (%s) and %s (%s) are in different DMA address spaces "
                        "of the %s vIOMMU, and VFIO serves one group in one: QEMU refuses to "
                        "start with \"vfio %s: group %u used in multiple address spaces\".",
                        g->number,
                        s->hostdevs[members[0]].address,
                        there,
                        d->address,
                        here,
                        viommu_model_to_string(s->viommu),
                        d->address,
                        g->number);
                if (r < 0)
                        return r;
        }
        if (split == 0)
                return 0;

        for (unsigned k = 1; k < 256 && index < 0; k++)
                if (!used[k])
                        index = (int) k;
        if (index < 0)
                return layout_builder_recommend(
                        b,
                        "share-address-space",
                        NULL,
                        NULL,
                        "Put the assigned members of group %u behind one "
                        "pcie-to-pci-bridge (every controller index is taken), or "
                        "remove the <iommu>.",
                        g->number);
        used[index] = true;
        r = bridge_snippet(s, members, n, index, &xml);
        if (r < 0)
                return r;
        return layout_builder_recommend(
                b,
                "share-address-space",
                xml,
                NULL,
                "Put the assigned members of group %u behind one pcie-to-pci-bridge (controller index %d): "
                "a "
                "conventional bus aliases them to one requester ID, so they share one vIOMMU address "
                "space%s. Or "
                "remove the <iommu>, or assign only one member of the group.",
                g->number,
                index,
                s->viommu == VIOMMU_SMMUV3 ? " (with smmuv3, see smmuv3-aliased-devices: the guest kernel "
                                             "must cope with aliased stream IDs)"
                                           : "");
}

/* The 2019 report in reference/pci-requester-id-aliasing.txt: an arm64 guest whose arm-smmu-v3 driver gets
 * the alias stream ID once per device behind a PCIe-to-PCI bridge and adds it twice hits a BUG_ON. Which
 * guest kernel release fixed that is not verified here, so this is a warning. */
static int check_smmuv3_aliases(Builder *b, const GuestDmaSpace *spaces) {
        const VmSpec *s = layout_builder_spec(b);

        for (size_t i = 0; i < s->n_hostdevs; i++) {
                if (!spaces[i].known || !spaces[i].aliased)
                        continue;
                for (size_t j = 0; j < i; j++) {
                        int r;

                        if (!spaces[j].known || spaces[j].key != spaces[i].key)
                                continue;
                        r = layout_builder_problem(
                                b,
                                PROBLEM_SMMUV3_ALIASED_DEVICES,
                                SEVERITY_WARNING,
                                s->hostdevs[i].address,
                                -1,
                                NULL,
                                "%s and %s share one requester ID behind controller index %u: with smmuv3 "
                                "the "
                                "guest's arm-smmu-v3 driver sees the alias stream ID for both, which older "
                                "guest "
                                "kernels add twice and stop on a BUG_ON at boot.",
                                s->hostdevs[j].address,
                                s->hostdevs[i].address,
                                spaces[i].via);
                        if (r < 0)
                                return r;
                        break;
                }
        }
        return 0;
}

int layout_check_viommu_spaces(Builder *b) {
        const VmSpec *s = layout_builder_spec(b);
        const Host *h = layout_builder_host(b);
        _cleanup_free_ GuestDmaSpace *spaces = NULL;
        _cleanup_free_ bool *reported_unknown = NULL;
        _cleanup_free_ const Group **groups = NULL;
        bool used[256] = { [0] = true };
        int r;

        /* Without a vIOMMU every device DMAs into the one system address space. */
        if (s->viommu == VIOMMU_NONE || s->n_hostdevs == 0)
                return 0;

        spaces = calloc(s->n_hostdevs, sizeof(GuestDmaSpace));
        reported_unknown = calloc(s->n_hostdevs, sizeof(bool));
        groups = calloc(s->n_hostdevs, sizeof(Group *));
        if (!spaces || !reported_unknown || !groups)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_hostdevs; i++)
                groups[i] = hostdev_group(h, &s->hostdevs[i]);
        r = guest_dma_spaces(s, spaces);
        if (r < 0)
                return r;
        for (size_t i = 0; i < s->n_controllers; i++)
                if (s->controllers[i].index < 256)
                        used[s->controllers[i].index] = true;

        for (size_t i = 0; i < s->n_hostdevs; i++) {
                bool first = groups[i] != NULL;

                for (size_t j = 0; first && j < i; j++)
                        if (groups[j] == groups[i])
                                first = false;
                if (!first)
                        continue;
                r = check_group(b, spaces, groups, i, used, reported_unknown);
                if (r < 0)
                        return r;
        }
        if (s->viommu == VIOMMU_SMMUV3)
                return check_smmuv3_aliases(b, spaces);
        return 0;
}
