/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* How a device can be reset: what VFIO does to every assigned device when the VM starts, resets and stops.
 *
 * vfio-pci resets a device through pci_try_reset_function(), which tries the methods of
 * pci_reset_fn_methods[] (drivers/pci/pci.c) in order: device_specific (quirks), acpi (_RST), flr (PCIe
 * Device Capabilities bit 28), af_flr (the Advanced Features capability), pm (D3hot and back, unless PMCSR
 * says No_Soft_Reset), bus (a secondary bus reset, only for a device alone on its bus) and cxl_bus. Since
 * 5.15 the kernel lists the methods it found in sysfs "reset_method" and hides the file when there are none.
 * When none applies, QEMU falls back to its own hot reset of the bus (VFIO_DEVICE_PCI_HOT_RESET), which the
 * kernel grants only when the VM owns the group of every device the bus reset reaches (hw/vfio/pci.c,
 * vfio_pci_hot_reset(); drivers/vfio/pci/vfio_pci_core.c). Neither working: "vfio: Cannot reset device
 * 0000:00:1f.3, no available reset mechanism.", and the device keeps its state across guest reboots.
 *
 * Pure: parsers of buffers, and derivations from a loaded Host. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct Host;
struct Device;

/* The names the kernel prints in reset_method (pci_reset_fn_methods[].name) */
#define RESET_METHOD_NAME_MAX 32
/* PCI_NUM_RESET_METHODS (include/linux/pci.h) is 8 with the unused slot 0: at most 7 names. */
#define RESET_METHODS_MAX 7

/* What config space says about the function-level resets (bit fields: one byte per device of the model). */
typedef struct ResetCaps {
        bool read : 1;             /* the standard capability list was read to its end */
        bool pcie : 1;             /* a PCI Express capability */
        bool flr : 1;              /* its Device Capabilities FLR bit (PCI_EXP_DEVCAP_FLR) */
        bool af : 1;               /* an Advanced Features capability (0x13) */
        bool af_flr : 1;           /* with both TP and FLR (pci_af_flr() requires the two) */
        bool pm : 1;               /* a Power Management capability */
        bool pm_no_soft_reset : 1; /* its PMCSR No_Soft_Reset bit: D3hot->D0 does not reset */
} ResetCaps;

typedef struct DeviceReset {
        ResetCaps caps;         /* valid when caps.read */
        char **reset_method;    /* sysfs reset_method as listed (may be empty), NULL when the file is absent */
        int d3cold_allowed;     /* sysfs d3cold_allowed: 1, 0, -1 when absent */
        char *power_state;      /* sysfs power_state ("D0", "D3hot", "D3cold", "unknown"), NULL when absent */
} DeviceReset;

void device_reset_done(DeviceReset *r);
bool reset_caps_equal(const ResetCaps *a, const ResetCaps *b);
bool device_reset_equal(const DeviceReset *a, const DeviceReset *b);

/* Parses reset_method (drivers/pci/pci.c, reset_method_show(): the names separated by single
 * spaces, then a newline; nothing at all when no method is enabled). Every name must be one the kernel
 * could print: lowercase letters, digits and '_', at most RESET_METHOD_NAME_MAX - 1 bytes, at most
 * RESET_METHODS_MAX of them, none twice. -EBADMSG otherwise. An empty file gives an empty list. */
int reset_method_parse(const char *buf, size_t len, char ***ret);

/* Walks the standard capability list of a config space dump as pci_find_capability() does (48 entries at
 * most, a looping or broken list ends the walk) and reads the reset bits. -EBADMSG when even the 64-byte
 * header is missing; ret->read is false when the list leads past len (a non-root reader's 64 bytes, or a
 * 256-byte dump whose capability at 0xfc has registers beyond it). */
int pci_config_reset_parse(const uint8_t *buf, size_t len, ResetCaps *ret);

/* Reads reset_method, d3cold_allowed and power_state of the device directory (the loader's hook). */
struct Reader;
void device_reset_load(const struct Reader *r, struct Device *d);

typedef enum ResetSource {
        RESET_SOURCE_SYSFS,   /* reset_method */
        RESET_SOURCE_CONFIG,  /* derived from config space and the topology */
        RESET_SOURCE_UNKNOWN, /* neither: config space unreadable */
        _RESET_SOURCE_MAX,
} ResetSource;

const char *reset_source_to_string(ResetSource s);

/* The methods pci_reset_function() would use, in the kernel's order: reset_method when present, else
 * flr/af_flr/pm from config space and bus when the device is alone on a secondary bus and is no bridge
 * (pci_parent_bus_reset()). device_specific and acpi are invisible outside the kernel. *ret gets a strv
 * (possibly empty), NULL for RESET_SOURCE_UNKNOWN. Returns the source or -ENOMEM. */
int device_reset_methods(const struct Host *h, const struct Device *d, char ***ret);

/* The devices a secondary bus reset of the device's parent bridge reaches: every device below that bridge,
 * the device itself included, sorted. -ENOTTY on a root bus (no bridge to reset), -ENOMEM. */
int device_bus_reset_scope(const struct Host *h, const struct Device *d, char ***ret);

/* The "reset" object of a device in ../proto/host-json.md. */
struct json_object;
struct json_object *device_reset_to_json(const struct Host *h, const struct Device *d);
