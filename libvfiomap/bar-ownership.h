/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Who else holds an assigned device's BARs. vfio-pci requests a BAR when QEMU maps it
 * (vfio_pci_core_setup_barmap(): pci_request_selected_regions(pdev, 1 << bar, "vfio")); a resource some
 * host driver registered inside it first makes that fail with "vfio-pci 0000:01:00.0: BAR 1: can't reserve
 * [mem ...]" (__pci_request_region() in drivers/pci/pci.c), QEMU cannot mmap the BAR and the guest driver
 * typically fails. The usual holder is the firmware framebuffer on the boot GPU: efifb, vesafb, or the
 * sysfb "BOOTFB" resource behind simpledrm / simple-framebuffer. /proc/iomem shows it nested in the BAR.
 *
 * Pure: derivations from the Host's parsed /proc/iomem and the device's BARs. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sysfs-parse.h"

struct Host;
struct Device;
struct Reader;

typedef struct BarClaim {
        unsigned bar;           /* 0-5 */
        uint64_t start, end;    /* the claimed range, inclusive */
        const char *name;       /* the /proc/iomem name, pointing into the iomem entries */
        bool framebuffer;       /* a firmware framebuffer (efifb, vesafb, BOOTFB, simpledrm...) */
} BarClaim;

/* Whether a /proc/iomem name is one of the firmware framebuffers' (drivers/video/fbdev/efifb.c "efifb",
 * vesafb.c "vesafb", drivers/firmware/sysfb.c "BOOTFB", simpledrm and simplefb's "simple-framebuffer"
 * platform devices, "vesa-framebuffer"). */
bool iomem_name_is_framebuffer(const char *name);

/* The resources in iomem that someone other than VFIO and the device's own driver holds inside the memory
 * BARs (0-5) of d: entries lying inside a BAR that are neither the BAR itself (named after the device) nor
 * VFIO's ("vfio", "vfio-pci"), and framebuffers overlapping a BAR at all. While the device is bound to a
 * host driver, claims other than framebuffers are taken for that driver's (libvirt unbinds it before the
 * VM starts, and its claims go with it). Returns the number found (*ret NULL when 0), -ENOMEM. */
int bar_claims_find(
                const IomemEntry *iomem,
                size_t n_iomem,
                const struct Device *d,
                BarClaim **ret);

/* As bar_claims_find() on the host's /proc/iomem; 0 when it is unreadable or zeroed. */
int device_bar_claims(const struct Host *h, const struct Device *d, BarClaim **ret);

/* sysfs boot_vga (drivers/pci/pci-sysfs.c, boot_vga_show(): the VGA device the firmware initialised, only
 * present on VGA-class devices): the loader's hook. */
void device_boot_vga_load(const struct Reader *r, struct Device *d);

struct json_object;
/* The "bar_claims" array of a device in ../proto/host-json.md. */
struct json_object *device_bar_claims_to_json(const struct Host *h, const struct Device *d);
