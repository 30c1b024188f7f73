/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The host model: every PCI and IOMMU fact vfiomap needs, read from a root directory ("/" for the live
 * host, a snapshot or fixture tree otherwise).
 *
 * Loading only reads (open/openat, opendir/readdir, readlinkat: umockdev redirects exactly these, see
 * ../shared/DOMAIN.md §6). Problems with individual files never fail the load: they become warnings on
 * the device, group or unit concerned, so one odd device never hides the rest of the host. Objects refer
 * to each other by key (PCI address, group number, unit name), never by pointer, so a single device or
 * group can be re-read in place by the daemon. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "reset.h"
#include "rom.h"
#include "sysfs-parse.h"

/* Warnings that only privileges cure end with one of these, so that a client can count them in one line
 * instead of printing one per file (a non-root reader gets two per device). */
#define HOST_WARNING_PARTIAL_CONFIG "(reading it fully needs CAP_SYS_ADMIN)"
#define HOST_WARNING_HIDDEN_RANGES "(read without privileges?)"

typedef struct Bar {
        unsigned index; /* 0-5 BARs, 6 ROM, 7-12 SR-IOV BARs */
        uint64_t start, end, flags;
} Bar;

typedef enum WindowKind {
        WINDOW_IO,
        WINDOW_MEM,
        WINDOW_PREF,
        _WINDOW_KIND_MAX,
} WindowKind;

const char *window_kind_to_string(WindowKind k);

typedef struct Window {
        WindowKind kind;
        uint64_t start, end, flags;
} Window;

#define DEVICE_BARS_MAX 7
#define DEVICE_IOV_BARS_MAX 6
#define DEVICE_WINDOWS_MAX 3

typedef struct Device {
        char address[PCI_ADDRESS_MAX];
        PciAddress addr;
        char *syspath;          /* relative to the root: "sys/devices/pci0000:00/0000:00:1c.0/0000:02:00.0" */
        uint16_t vendor, device, subsystem_vendor, subsystem_device;
        uint32_t class;
        int revision;           /* the "revision" file, -1 when unknown */
        /* Whether the files were read: an unreadable device directory must not look like a device 0000:0000
         * of class 0 without a driver, which VFIO would accept. */
        bool vendor_known, device_known, class_known;
        bool driver_known;      /* the driver link was read, or is absent (unbound) */
        char *driver;           /* NULL when unbound (or unknown, see driver_known) */
        char *driver_override;  /* NULL when "(null)" or absent */
        int group;              /* -1 without an IOMMU group (or when unknown, see group_known) */
        bool group_known;       /* the iommu_group link was read, or is absent (no IOMMU) */
        char *parent;           /* address of the upstream bridge, NULL on a root bus */
        char *iommu;            /* name of the unit serving it, NULL if unknown */
        /* Allocated to size, NULL when empty: most functions have one to three BARs and no windows, and
         * fixed arrays for the maximum were two thirds of the daemon's memory for a device. */
        Bar *bars;              /* BARs 0-5 and the ROM that have a non-zero range, at most DEVICE_BARS_MAX */
        size_t n_bars;
        Bar *iov_bars;          /* SR-IOV VF BARs, at most DEVICE_IOV_BARS_MAX */
        size_t n_iov_bars;
        Window *windows;        /* bridge windows with a non-zero range, at most DEVICE_WINDOWS_MAX */
        size_t n_windows;
        bool resource_zeroed;   /* every range 0: a non-root reader, not an empty device */
        char *physfn;           /* a VF's PF */
        char **virtfns;         /* a PF's VFs, sorted */
        int sriov_numvfs;       /* -1 when not SR-IOV capable */
        int numa_node;          /* -1 when unknown or no NUMA */
        bool config_read;       /* the config file was read (even partially) */
        size_t config_size;     /* bytes read from config */
        PciConfig config;       /* valid when config_read */
        DeviceReset reset;      /* reset.h */
        int boot_vga;           /* sysfs boot_vga: 1, 0, -1 when absent (bar-ownership.h) */
        RomSysfs rom_sysfs;     /* sysfs rom (rom.h) */
        char *vfio_cdev;        /* "vfio0" of sysfs vfio-dev/, NULL without one (iommufd.h) */
        char **warnings;
} Device;

typedef struct Group {
        unsigned number;
        char *type;             /* contents of "type", NULL when the file is absent (kernels < 5.11) */
        char **devices;         /* member addresses, sorted */
        ResvRegion *regions;
        size_t n_regions;
        bool regions_known;     /* false when reserved_regions exists but could not be read */
        char **warnings;
} Group;

typedef enum IommuKind {
        IOMMU_INTEL,
        IOMMU_AMD,
        IOMMU_ARM,
        IOMMU_UNKNOWN,
        _IOMMU_KIND_MAX,
} IommuKind;

const char *iommu_kind_to_string(IommuKind k);

typedef struct IommuUnit {
        char *name;             /* "dmar0", "ivhd0", "smmu3.0x0000000009050000" */
        IommuKind kind;
        int address_width;      /* bits, -1 when sysfs cannot tell (ARM) */
        int interrupt_remapping; /* 1, 0, or -1 when sysfs cannot tell */
        IntelIommuCaps intel;   /* kind == IOMMU_INTEL */
        AmdIommuCaps amd;       /* kind == IOMMU_AMD */
        char **devices;         /* addresses of the PCI devices it serves, sorted */
        char **warnings;
} IommuUnit;

typedef struct VfioNode {
        char *name;             /* "vfio" (the container), "7" (group 7), "devices/vfio0" (iommufd cdev) */
        int group;              /* group number, -1 for the container, cdevs and others */
        pid_t *pids;            /* processes holding it open, sorted */
        char **comms;           /* comms[i]: /proc/pids[i]/comm as proc_comm_parse() cleans it, NULL if unread */
        size_t n_pids;
} VfioNode;

typedef struct Host {
        char *root;             /* as given, for messages */
        Device **devices;       /* sorted by address */
        size_t n_devices;
        Group **groups;         /* sorted by number */
        size_t n_groups;
        IommuUnit **units;      /* sorted by name */
        size_t n_units;
        bool allow_unsafe_interrupts;
        int64_t dma_entry_limit; /* vfio_iommu_type1's limit of mappings per container, -1 unknown */
        char *cpu_vendor;       /* "GenuineIntel", "AuthenticAMD", "ARM", NULL if unknown */
        int cpu_phys_bits;      /* "address sizes: N bits physical" of /proc/cpuinfo, -1 if unknown */
        int kernel_major, kernel_minor; /* from proc/sys/kernel/osrelease, -1 if unknown */
        IomemEntry *iomem;
        size_t n_iomem;
        bool iomem_zeroed;
        VfioNode *vfio_nodes;
        size_t n_vfio_nodes;
        int dev_iommu;          /* /dev/iommu exists: 1, 0, -1 when dev/ cannot be listed (iommufd.h) */
        char **warnings;        /* host-wide problems (unreadable directories, /proc/iomem...) */
} Host;

#include "fileio.h"

/* Every path (relative to the root) the loader opened, read or readlink()ed, for `vfiomapctl snapshot`. */
typedef PathList HostTrace;

int host_load(const char *root, Host **ret);
/* As host_load(), recording every path read into trace (may be NULL). */
int host_load_traced(const char *root, HostTrace *trace, Host **ret);
Host *host_free(Host *h);
static inline void host_freep(Host **h) {
        if (*h)
                (void) host_free(*h);
}

/* Re-reads one device in place (added, changed, rebound) or drops it when its directory is gone; then
 * re-reads the group it belongs to and belonged to, and the unit links. Returns 1 when something the model
 * shows changed, 0 when nothing did, negative errno on failure. */
int host_reload_device(Host *h, const char *address);
int host_reload_group(Host *h, unsigned number);
/* Re-reads /dev/vfio and the processes holding its nodes: no event announces either (a driver bind creates
 * a node, opening one is silent), so a long-lived model calls this before it shows them. */
int host_reload_vfio(Host *h);
/* Re-reads /proc/iomem: drivers request and release their BARs there on bind and unbind, so a long-lived
 * model calls this after applying such events (the BAR claims of bar-ownership.c read it). Keeps the old
 * entries when the file cannot be read or parsed. */
int host_reload_iomem(Host *h);

const Device *host_find_device(const Host *h, const char *address);
const Group *host_find_group(const Host *h, unsigned number);
const IommuUnit *host_find_unit(const Host *h, const char *name);
const VfioNode *host_find_vfio_group_node(const Host *h, unsigned number);

/* ---- derived facts ---- */

/* Drivers that leave DMA to VFIO or do none themselves (the kernel's driver_managed_dma): vfio-pci and its
 * variant drivers, pci-stub, pcieport. */
bool driver_is_vfio_safe(const char *driver);
/* The drivers QEMU's vfio-pci can open a device through: vfio-pci and its variant drivers. pci-stub makes a
 * group viable but gives no VFIO device; an unbound device has none either. */
bool driver_is_vfio(const char *driver);

/* The driver of a blocker we could not read (a member without a usable sysfs entry). */
#define BLOCKER_DRIVER_UNKNOWN "(unknown)"

typedef struct Blocker {
        const char *device;     /* points into the Host */
        const char *driver;
} Blocker;

/* Members of the group that prevent VFIO from using it: bound to a driver that is not VFIO-safe. A member
 * listed in assigned (a NULL-terminated list of addresses, may be NULL) counts as fine: it will be handed
 * to VFIO for the same VM. Returns the number of blockers, negative errno on allocation failure. */
int group_blockers(const Host *h, const Group *g, char *const *assigned, Blocker **ret);
/* False when a member blocks or may block (its driver is unknown): what VFIO users must assume. */
bool group_is_viable(const Host *h, const Group *g);

typedef enum Viability {
        VIABILITY_NO,
        VIABILITY_YES,
        VIABILITY_UNKNOWN,      /* no member is known to block, but some member's driver is unknown */
} Viability;

/* What is known: NO as soon as one member is bound to a host driver, UNKNOWN when the only blockers are
 * members that could not be read. */
Viability group_viability(const Host *h, const Group *g);

typedef enum SharedReason {
        SHARED_DMA_ALIAS,       /* conventional devices behind a PCIe-to-PCI bridge share its requester ID */
        SHARED_NO_ACS,          /* a bridge on the path does not isolate its downstream devices */
        SHARED_MULTIFUNCTION,   /* functions of one slot without ACS */
        SHARED_UNKNOWN,         /* a quirk or an alias the config space does not show */
        _SHARED_REASON_MAX,
} SharedReason;

const char *shared_reason_to_string(SharedReason r);

typedef struct SharedBecause {
        SharedReason reason;
        const char *device;     /* the bridge, function 0, or (unknown) the unexplained member */
} SharedBecause;

/* Why a group has several members (../shared/DOMAIN.md §2, how the kernel forms groups). Empty for
 * single-member groups. Entries are unique and sorted by reason, then device. */
int group_shared_because(const Host *h, const Group *g, SharedBecause **ret);

/* The unit serving the group's members, NULL if none is known. */
const char *group_iommu(const Host *h, const Group *g);

/* The device has an ACS capability whose control enables every isolation bit (SV, RR, CR, UF) that the
 * capability implements; bits a port does not implement are hard-wired (pci_acs_flags_enabled() in
 * drivers/pci/pci.c). This is what stops peer-to-peer routing at a switch's downstream port. */
bool device_acs_isolates(const Device *d);

/* Whether the kernel considers this device ACS-isolated when it forms groups, by PCI Express type
 * (pci_acs_enabled() in drivers/pci/pci.c): root and downstream ports need their flags enabled, a
 * single-function endpoint or upstream port needs none, a multifunction one needs its flags,
 * conventional PCI and PCIe-to-PCI bridges never are. 1 yes, 0 no, -1 when config space could not be
 * read far enough to tell. Device-specific kernel quirks are invisible here. */
int device_acs_enabled(const Device *d);
bool device_is_bridge(const Device *d);
