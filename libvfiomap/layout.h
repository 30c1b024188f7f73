/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The layout engine: from a host model and a VM description, the guest physical layout QEMU will build, the
 * host addresses that layout must stay away from, a verdict and the settings that would make it fit.
 *
 * Without a vIOMMU (or with one in passthrough mode) an assigned device DMAs to guest physical addresses
 * used as IOVAs, so every guest RAM byte must be an IOVA the host can map and route to the IOMMU: not in a
 * reserved region of the device's group, not at a host BAR or bridge window a non-isolated switch routes
 * peer-to-peer before the IOMMU sees the request, and not beyond the IOMMU's address width
 * (../shared/DOMAIN.md §1).
 *
 * layout_compute() is pure: it reads the Host and the VmSpec and allocates a Layout, nothing else. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "host.h"
#include "interval.h"
#include "vmspec.h"

typedef enum Severity {
        SEVERITY_INFO,
        SEVERITY_WARNING,
        SEVERITY_ERROR,
        _SEVERITY_MAX,
} Severity;

const char *severity_to_string(Severity s);

/* The verdict is the highest severity among the problems (info counts as ok). */
typedef enum Verdict {
        VERDICT_OK,
        VERDICT_WARNING,
        VERDICT_ERROR,
        _VERDICT_MAX,
} Verdict;

const char *verdict_to_string(Verdict v);

/* Problem codes. Stable: documented in ../proto/layout-json.md; new ones may be added, none may change its
 * meaning. */
#define PROBLEM_DEVICE_NOT_FOUND "device-not-found"
#define PROBLEM_NO_IOMMU_GROUP "no-iommu-group"
#define PROBLEM_GROUP_NOT_VIABLE "group-not-viable"
#define PROBLEM_DIRECT_REGION "direct-region"
#define PROBLEM_RAM_OVERLAPS_RESERVED "ram-overlaps-reserved"
#define PROBLEM_RAM_OVERLAPS_PEER_MMIO "ram-overlaps-peer-mmio"
#define PROBLEM_RAM_BEYOND_IOMMU_WIDTH "ram-beyond-iommu-width"
#define PROBLEM_HOLE64_BEYOND_IOMMU_WIDTH "hole64-beyond-iommu-width"
#define PROBLEM_PHYS_BITS_BEYOND_IOMMU_WIDTH "phys-bits-beyond-iommu-width"
#define PROBLEM_VIOMMU_AW_BITS_TOO_LARGE "viommu-aw-bits-too-large"
#define PROBLEM_AMD_HT_HOLE "amd-ht-hole"
#define PROBLEM_NO_INTERRUPT_REMAPPING "no-interrupt-remapping"
#define PROBLEM_HOTPLUG_MULTI_DEVICE_GROUP "hotplug-multi-device-group"
/* Added by vfiomap beyond the list. */
#define PROBLEM_PHYS_BITS_TOO_LOW "phys-bits-too-low"             /* QEMU refuses to start */
#define PROBLEM_LOW_RAM_OVER_IOAPIC "low-ram-over-ioapic"         /* QEMU aborts at start */
#define PROBLEM_HOTPLUG_AREA_OVERLAPS "hotplug-area-overlaps-exclusion"
#define PROBLEM_PEER_MMIO_UNKNOWN "peer-mmio-unknown"             /* BARs unreadable (non-root reader) */
#define PROBLEM_IOMMU_WIDTH_UNKNOWN "iommu-width-unknown"
#define PROBLEM_PHYS_BITS_UNKNOWN "phys-bits-unknown"
#define PROBLEM_CPU_VENDOR_UNKNOWN "cpu-vendor-unknown"
#define PROBLEM_NO_HOSTDEVS "no-hostdevs"
#define PROBLEM_GROUP_VIABILITY_UNKNOWN "group-viability-unknown"   /* a member's driver is unreadable */
#define PROBLEM_RESERVED_REGIONS_UNKNOWN "reserved-regions-unknown" /* reserved_regions is unreadable */
#define PROBLEM_VIOMMU_GROUP_ADDRESS_SPACES "viommu-group-address-spaces" /* QEMU refuses to start */
#define PROBLEM_SMMUV3_ALIASED_DEVICES "smmuv3-aliased-devices"
#define PROBLEM_GUEST_TOPOLOGY_UNKNOWN "guest-topology-unknown"
#define PROBLEM_BAR_WINDOW_TOO_SMALL "bar-window-too-small"
#define PROBLEM_REBAR_LARGER_SIZES "rebar-larger-sizes"
#define PROBLEM_DMA_ENTRY_LIMIT "dma-entry-limit"
#define PROBLEM_VIOMMU_DMA_MAPPINGS "viommu-dma-mappings"
#define PROBLEM_MEMLOCK_TOO_LOW "memlock-too-low"
/* Host-side checks of assigned devices (hostdev-checks.h) */
#define PROBLEM_NO_RESET "no-reset"                               /* reset.c */
#define PROBLEM_BUS_RESET_NOT_OWNED "bus-reset-not-owned"         /* reset.c */
#define PROBLEM_BAR_CLAIMED_BY_HOST "bar-claimed-by-host"         /* bar-ownership.c */
#define PROBLEM_BOOT_VGA "boot-vga"                               /* bar-ownership.c */
#define PROBLEM_ROM_FILE_UNREADABLE "rom-file-unreadable"         /* rom.c */
#define PROBLEM_ROM_FILE_NOT_ROM "rom-file-not-rom"               /* rom.c */
#define PROBLEM_GPU_NO_ROM "gpu-no-rom"                           /* rom.c */
#define PROBLEM_IOMMUFD_UNAVAILABLE "iommufd-unavailable"         /* iommufd.c */
#define PROBLEM_VFIO_CDEV_MISSING "vfio-cdev-missing"             /* iommufd.c */

typedef struct Problem {
        const char *code;  /* one of PROBLEM_* */
        Severity severity;
        char *message;
        char *device;      /* the device concerned, NULL if none */
        int group;         /* the group concerned, -1 if none */
        bool has_range;
        uint64_t start, end; /* the guest/host range concerned, inclusive */
} Problem;

typedef enum ExclusionKind {
        EXCLUSION_DIRECT,      /* reserved region "direct" */
        EXCLUSION_RESERVED,    /* reserved region "reserved" */
        EXCLUSION_MSI,         /* reserved region "msi" */
        EXCLUSION_PEER_MMIO,   /* a BAR or bridge window reachable peer-to-peer */
        EXCLUSION_IOMMU_WIDTH, /* beyond the IOMMU's address width */
        _EXCLUSION_KIND_MAX,
} ExclusionKind;

const char *exclusion_kind_to_string(ExclusionKind k);

typedef struct Exclusion {
        uint64_t start, end;   /* host IOVA = guest physical address, inclusive */
        ExclusionKind kind;
        int group;             /* regions: the group listing it; peer MMIO: the assigned device's group */
        /* The strings are interned in the Layout (a host with 100,000 BARs repeats a few hundred names). */
        const char *device;    /* peer MMIO: the device decoding it; regions: NULL */
        const char *via;       /* peer MMIO: the assigned device whose DMA can reach it; regions: one in
                                * the group */
        const char *what;      /* "BAR 2", "prefetchable window", "reserved region", "above 39 bits" */
} Exclusion;

typedef struct Recommendation {
        char *action;          /* stable id: "set-pcihole64", "set-maxphysaddr", ... */
        char *summary;         /* one sentence: what to do and why */
        char *libvirt;         /* the domain XML to add or change, NULL when there is none */
        char *qemu;            /* the matching QEMU option, NULL when there is none */
} Recommendation;

typedef struct Layout {
        char *vm_name;
        char *machine;                 /* as given: "pc-q35-7.2" */
        MachineFamily family;
        Verdict verdict;

        Problem *problems;             /* in the order found: devices, groups, then addresses */
        size_t n_problems;

        /* The guest layout QEMU builds (after its own AMD HT relocation). */
        RangeSet ram;                  /* boot RAM; its size is <memory> */
        uint64_t ram_size;
        bool has_mmio32;
        uint64_t mmio32_start, mmio32_end; /* the 32-bit hole between low RAM and 4 GiB */
        bool has_mmio64;
        uint64_t mmio64_start, mmio64_end; /* the 64-bit PCI hole */
        bool has_hotplug;
        uint64_t hotplug_start, hotplug_end; /* the memory-hotplug area of <maxMemory> */
        bool ram_relocated_above_1tib; /* QEMU moved RAM above 4 GiB to 1 TiB (AMD HT hole) */
        char *guest_cpu_vendor;        /* NULL when unknown */
        int guest_phys_bits;           /* -1 when it follows a host CPU the model does not describe */
        int viommu_aw_bits;            /* the vIOMMU's effective aw-bits, -1 without one */

        /* What the host forbids, sorted by start (ranges of different kinds may overlap). */
        Exclusion *excluded;
        size_t n_excluded;
        RangeSet excluded_set;         /* their union */
        int iommu_address_width;       /* bits, the smallest of the units serving the devices; -1 unknown */

        Recommendation *recommendations;
        size_t n_recommendations;

        /* private: the interned strings of the exclusions, an open-addressing hash set */
        char **strings;
        size_t n_strings, strings_size;
} Layout;

Layout *layout_free(Layout *l);
static inline void layout_freep(Layout **l) {
        if (*l)
                (void) layout_free(*l);
}

/* Computes the layout. Fails only on allocation failure (-ENOMEM): everything wrong with the VM or the host
 * is a problem inside the returned Layout. */
int layout_compute(const Host *h, const VmSpec *spec, Layout **ret);

/* True when a problem with this code is present. */
bool layout_has_problem(const Layout *l, const char *code);

/* ---- output (layout-json.c, layout-report.c, layout-svg.c) ---- */

struct json_object;
/* The JSON object of ../proto/layout-json.md. */
int layout_to_json(const Layout *l, struct json_object **ret);
/* The readable report: verdict, problems, recommendations, address map. */
int layout_report(const Layout *l, FILE *f);
/* The guest's regions in address order with the gaps between them ("unused") up to 2^64-1, split at the
 * IOMMU width: the rows of the text map and the bands of the picture. Returns how many were written. */
typedef struct LayoutSegment {
        uint64_t start, end;
        const char *label;
        bool ram;
} LayoutSegment;
size_t layout_segments(const Layout *l, LayoutSegment *out, size_t max);
/* The address map as a standalone SVG document. */
int layout_to_svg(const Layout *l, char **ret);
