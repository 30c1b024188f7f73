/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The guest's PCI topology and the DMA address spaces a vIOMMU gives its devices.
 *
 * With a vIOMMU, QEMU gives every requester ID the IOMMU can tell apart an address space of its own, and
 * VFIO puts one host IOMMU group into one container, which serves one address space: two functions of one
 * host group in two guest address spaces fail ("vfio 0000:01:00.1: group 1 used in multiple address
 * spaces", vfio_get_group() in hw/vfio/container.c; reference/pci-requester-id-aliasing.txt). Which
 * requester ID the IOMMU sees follows pci_device_get_iommu_bus_devfn() in hw/pci/pci.c (QEMU 4.1 and
 * newer, Alex Williamson's "pci: Use PCI aliases when determining device IOMMU address space"): walking up
 * from the device's bus to the root bus, every conventional (non-express) bus masks the requester ID —
 * behind a PCIe-to-PCI bridge (pcie-to-pci-bridge) to (that bridge's secondary bus, devfn 00.0), behind
 * any other bridge (pci-bridge, dmi-to-pci-bridge, pci-expander-bus) to the bridge's own (bus, devfn).
 * Express buses (pcie-root, root ports, switch ports, pcie-expander-bus) pass it through, so devices there
 * each keep their own.
 *
 * Pure: reads a VmSpec, writes an array. */

#include "vmspec.h"

#include <stdint.h>

/* One hostdev's guest DMA address space: the (bus, devfn) the vIOMMU sees, or a key of its own. */
typedef struct GuestDmaSpace {
        uint32_t key;       /* equal keys: one address space */
        bool known;         /* false: the topology names a bus no controller provides, or an unknown model */
        bool aliased;       /* the requester ID is masked by a conventional bus on the way up */
        bool assigned;      /* the address was left to libvirt (no <address>): a root port of its own */
        unsigned via;       /* aliased: the index of the controller whose bus masks it (the topmost) */
        uint8_t bus, devfn; /* the requester ID the vIOMMU sees, when known and not assigned */
} GuestDmaSpace;

/* Fills ret[i] for every hostdev of s (ret has s->n_hostdevs entries). Linear in hostdevs times the depth
 * of the bus hierarchy (at most VMSPEC_CONTROLLERS_MAX). Returns 0, or -ENOMEM. */
int guest_dma_spaces(const VmSpec *s, GuestDmaSpace *ret);

/* The smallest controller index that is not in use, or -1 when all 256 are. */
int guest_free_controller_index(const VmSpec *s);
