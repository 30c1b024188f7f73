/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "guest-topology.h"

#include "util.h"

#include <errno.h>
#include <string.h>

#define DEVFN(slot, function) ((uint8_t) (((slot) &0x1f) << 3 | ((function) &0x7)))

/* Key ranges: a requester ID (bus << 8 | devfn) is below 0x10000; the others are per bridge or per hostdev
 * and never equal a requester ID or each other. */
#define KEY_BEHIND_UNPLACED_BRIDGE 0x10000U /* | index << 8: a conventional bridge libvirt will place */
#define KEY_OWN_ROOT_PORT 0x20000U          /* + hostdev: no <address>, libvirt gives it a root port */
#define KEY_UNKNOWN 0x30000U                /* + hostdev: the topology cannot tell */

/* The buses whose devices keep their requester ID: QEMU's PCIe buses (pci_bus_is_express()). */
static bool model_is_express(PciControllerModel m) {
        return IN_SET(
                m,
                PCI_CONTROLLER_PCIE_ROOT,
                PCI_CONTROLLER_PCIE_ROOT_PORT,
                PCI_CONTROLLER_PCIE_SWITCH_UPSTREAM_PORT,
                PCI_CONTROLLER_PCIE_SWITCH_DOWNSTREAM_PORT,
                PCI_CONTROLLER_PCIE_EXPANDER_BUS);
}

static void dma_space_of(
        const VmSpec *s,
        const VmController *const by_index[static 256],
        size_t i,
        GuestDmaSpace *ret) {
        const VmGuestAddress *a = &s->hostdevs[i].guest;
        unsigned cur, steps = 0;
        uint8_t bus, devfn;

        *ret = (GuestDmaSpace){};
        if (!a->set) {
                /* libvirt's address assignment (qemuDomainAssignPCIAddresses() in
                 * src/qemu/qemu_domain_address.c) gives each PCIe hostdev of a q35 or virt guest a
                 * pcie-root-port of its own, and an i440fx guest's a slot of bus 0: an address space each.
                 * A host device libvirt treats as conventional PCI may instead land behind a
                 * pcie-to-pci-bridge it adds, and share one: counting it as its own is the cautious side
                 * (a split reported that libvirt's placement would avoid; the fix applies either way). The
                 * domain XML of `virsh dumpxml` always carries the assigned addresses. */
                ret->known = ret->assigned = true;
                ret->key = KEY_OWN_ROOT_PORT + (uint32_t) i;
                return;
        }
        /* cur walks up the buses; (bus, devfn) is the requester ID as the vIOMMU will see it. */
        cur = bus = a->bus;
        devfn = DEVFN(a->slot, a->function);
        ret->known = true;
        /* pci_device_get_iommu_bus_devfn(): up to the root bus, where the vIOMMU sits. */
        while (cur != 0) {
                const VmController *c = by_index[cur];

                /* A bus no controller provides (libvirt refuses the domain), an unknown model, or a loop
                 * that libvirt's parser would refuse too: nothing can be said. */
                if (!c || c->model == PCI_CONTROLLER_OTHER || ++steps > VMSPEC_CONTROLLERS_MAX) {
                        *ret = (GuestDmaSpace){ .key = KEY_UNKNOWN + (uint32_t) i };
                        return;
                }
                if (!model_is_express(c->model)) {
                        ret->aliased = true;
                        ret->via = c->index;
                        if (c->model == PCI_CONTROLLER_PCIE_TO_PCI_BRIDGE) {
                                /* A PCIe-to-PCI bridge takes ownership with its secondary bus and devfn 0
                                 * (PCIe-to-PCI/PCI-X bridge spec 2.3, as the kernel's
                                 * pci_for_each_dma_alias()). */
                                bus = (uint8_t) c->index;
                                devfn = 0;
                        } else if (c->address.set) {
                                /* Other bridges use their own requester ID. */
                                bus = c->address.bus;
                                devfn = DEVFN(c->address.slot, c->address.function);
                        } else {
                                /* libvirt will place the bridge: everything behind it shares one address
                                 * space, wherever that is. */
                                ret->key = KEY_BEHIND_UNPLACED_BRIDGE | c->index << 8;
                                return;
                        }
                }
                /* A controller libvirt still has to place goes on an express bus (a pcie-to-pci-bridge on a
                 * root port or pcie-root), which changes nothing further up. */
                if (!c->address.set)
                        break;
                cur = c->address.bus;
        }
        ret->bus = bus;
        ret->devfn = devfn;
        ret->key = (uint32_t) bus << 8 | devfn;
}

int guest_dma_spaces(const VmSpec *s, GuestDmaSpace *ret) {
        const VmController *by_index[256] = {};

        for (size_t i = 0; i < s->n_controllers; i++)
                if (s->controllers[i].index < ELEMENTSOF(by_index))
                        by_index[s->controllers[i].index] = &s->controllers[i];
        for (size_t i = 0; i < s->n_hostdevs; i++)
                dma_space_of(s, by_index, i, &ret[i]);
        return 0;
}

int guest_free_controller_index(const VmSpec *s) {
        bool used[256] = { [0] = true };

        for (size_t i = 0; i < s->n_controllers; i++)
                if (s->controllers[i].index < ELEMENTSOF(used))
                        used[s->controllers[i].index] = true;
        for (unsigned k = 1; k < ELEMENTSOF(used); k++)
                if (!used[k])
                        return (int) k;
        return -1;
}
