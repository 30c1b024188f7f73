/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Pure parsers for the kernel's text and binary files (see ../shared/DOMAIN.md §2). They take a buffer,
 * return values or a negative errno, and never log, allocate globals or touch the file system, so they can
 * be fuzzed and tested on real lines. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- /sys/kernel/iommu_groups/N/reserved_regions ---- */

typedef enum ResvType {
        RESV_DIRECT,
        RESV_DIRECT_RELAXABLE,
        RESV_RESERVED,
        RESV_MSI,
        _RESV_TYPE_MAX,
        _RESV_TYPE_INVALID = -EINVAL,
} ResvType;

const char *resv_type_to_string(ResvType t);
ResvType resv_type_from_string(const char *s);

typedef struct ResvRegion {
        uint64_t start;
        uint64_t end; /* inclusive */
        ResvType type;
} ResvRegion;

/* One line "0x%016llx 0x%016llx TYPE" (drivers/iommu/iommu.c, iommu_group_show_resv_regions), with or
 * without the trailing newline. -EINVAL on anything else, including start > end. */
int resv_region_parse_line(const char *line, ResvRegion *ret);

/* ---- /sys/bus/pci/devices/BDF/resource ---- */

#define PCI_RESOURCE_IO 0x00000100ULL
#define PCI_RESOURCE_MEM 0x00000200ULL
#define PCI_RESOURCE_PREFETCH 0x00002000ULL
#define PCI_RESOURCE_MEM_64 0x00100000ULL
#define PCI_RESOURCE_WINDOW 0x00200000ULL
#define PCI_RESOURCE_DISABLED 0x10000000ULL

#define PCI_RESOURCE_LINES_MAX 17

typedef struct ResourceLine {
        uint64_t start, end, flags;
} ResourceLine;

/* Parses the whole file: lines of "0x%016llx 0x%016llx 0x%016llx" (drivers/pci/pci-sysfs.c,
 * resource_show). Stores up to max lines in ret, sets *ret_n. A line that does not parse, or a final
 * line cut short, is -EBADMSG with *ret_n holding the lines read before it (the caller records a warning
 * and keeps those); more than max lines is -E2BIG with the first max kept; an empty file is -ENODATA.
 * Values are kept as printed: a line with start > end is an empty resource, not an error. */
int resource_parse(const char *buf, size_t len, ResourceLine *ret, size_t max, size_t *ret_n);

/* Where a bridge's windows sit in that file. With CONFIG_PCI_IOV lines 7-12 are SR-IOV BARs and the
 * windows are 13/14/15; without it they are 7/8/9 (include/linux/pci.h, PCI_BRIDGE_RESOURCES). Decided
 * from the line count alone (17 or 11 lines: only a device with a subordinate bus prints its windows; the
 * kernel sets no IORESOURCE_WINDOW flag on them), never guessed: returns the index of the I/O window line
 * or -ENOENT when the file holds no bridge windows. The three lines may still be zero (window closed).
 * For a CardBus bridge (header type 2) the four lines are I/O 0, I/O 1, memory 0, memory 1 instead. */
int resource_bridge_window_base(const ResourceLine *lines, size_t n);

/* ---- config space ---- */

#define PCI_EXT_CAP_ID_ACS 0x0d
#define PCI_ACS_SV 0x01
#define PCI_ACS_TB 0x02
#define PCI_ACS_RR 0x04
#define PCI_ACS_CR 0x08
#define PCI_ACS_UF 0x10
#define PCI_ACS_EC 0x20
#define PCI_ACS_DT 0x40
/* What the kernel requires of every bridge on the path before it stops merging groups
 * (drivers/iommu/iommu.c, REQ_ACS_FLAGS). */
#define PCI_ACS_ISOLATION (PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF)

/* PCI Express Capabilities register, device/port type (PCI_EXP_TYPE_* in include/uapi/linux/pci_regs.h) */
typedef enum PcieType {
        PCIE_TYPE_ENDPOINT = 0x0,
        PCIE_TYPE_LEGACY_ENDPOINT = 0x1,
        PCIE_TYPE_ROOT_PORT = 0x4,
        PCIE_TYPE_UPSTREAM = 0x5,
        PCIE_TYPE_DOWNSTREAM = 0x6,
        PCIE_TYPE_PCIE_TO_PCI = 0x7,
        PCIE_TYPE_PCI_TO_PCIE = 0x8,
        PCIE_TYPE_RC_INTEGRATED = 0x9,
        PCIE_TYPE_RC_EC = 0xa,
        PCIE_TYPE_NONE = -1,          /* conventional PCI: no PCI Express capability */
        PCIE_TYPE_UNKNOWN = -2,       /* config space not readable far enough to tell */
} PcieType;

/* "endpoint", "root-port", ..., "conventional-pci", "unknown"; "reserved" for the encodings the
 * specification leaves unused. Never NULL. */
const char *pcie_type_to_string(PcieType t);

typedef enum AcsState {
        ACS_UNREADABLE, /* config space cut short (non-root readers get 64 bytes) */
        ACS_ABSENT,     /* the whole extended space was read and has no ACS capability */
        ACS_PRESENT,
} AcsState;

/* "unreadable", "absent", "present" */
const char *acs_state_to_string(AcsState s);

/* One BAR of the Resizable BAR extended capability (0x0015, PCIe base spec 7.8.6): the sizes it can be
 * resized to and its current size, as log2 of bytes. */
typedef struct PciRebar {
        uint8_t bar;            /* BAR index 0-5 */
        uint8_t current;        /* log2 of the current size: 20 (1 MiB) .. 63 */
        uint64_t sizes;         /* bit n set: 2^n bytes supported (n = 20..47, the capability register) */
} PciRebar;

#define PCI_REBAR_MAX 6U

typedef struct PciConfig {
        uint16_t vendor, device;
        uint32_t class;
        uint8_t header_type; /* without the multifunction bit */
        bool multifunction;
        uint8_t secondary_bus, subordinate_bus; /* type 1 headers only */
        PcieType pcie_type;
        AcsState acs;
        uint16_t acs_capability, acs_control;
        AcsState rebar;         /* the same three states, for the Resizable BAR capability */
        uint8_t n_rebar;
        PciRebar rebar_bars[PCI_REBAR_MAX];
} PciConfig;

/* Reads what vfiomap needs from a config space dump of len bytes (64, 256 or 4096 in practice). Walks
 * the capability lists with loop and bounds protection, as the kernel does: a looping or broken list
 * means "no such capability". pcie_type is PCIE_TYPE_UNKNOWN only when the list leads past len. acs:
 * ABSENT for conventional PCI devices; for PCI Express ones UNREADABLE unless the extended space was read
 * (len > 256) far enough to decide. rebar likewise, with the BARs the capability lists (entries naming a BAR
 * beyond 5, or twice, are dropped as the kernel's pci_rebar_find_pos() would never match them).
 * -EBADMSG when even the 64-byte header is missing. */
int pci_config_parse(const uint8_t *buf, size_t len, PciConfig *ret);

/* ---- IOMMU units ---- */

typedef struct IntelIommuCaps {
        unsigned mgaw;   /* maximum guest address width, bits */
        unsigned sagaw;  /* supported adjusted guest address widths, bitmask */
        bool caching_mode;
        bool interrupt_remapping;
} IntelIommuCaps;

/* cap and ecap: the contents of intel-iommu/cap and intel-iommu/ecap ("%llx\n", no 0x). */
int intel_iommu_parse_caps(const char *cap, const char *ecap, IntelIommuCaps *ret);
/* Parses the single-value hex files (cap, ecap, version...) with optional 0x and trailing newline. */
int parse_hex_u64(const char *s, uint64_t *ret);

typedef struct AmdIommuCaps {
        uint64_t efr, efr2;
        bool has_efr2;
        unsigned hats;          /* EFR bits 11:10 */
        int address_width;      /* 48, 57, 64, or -1 for the reserved encoding */
} AmdIommuCaps;

/* amd-iommu/features (drivers/iommu/amd/init.c, amd_iommu_show_features()) in hex: "EFR" on old kernels,
 * then "EFR2:EFR", and "EFR:EFR2" on current ones, where the driver prints its global copy of the
 * registers. The text does not say which order it is in. */
typedef enum AmdFeaturesOrder {
        AMD_FEATURES_AUTO,       /* decide from the values: fine while one half is zero, else -ENOTUNIQ */
        AMD_FEATURES_EFR2_FIRST, /* "%llx:%llx", features2, features */
        AMD_FEATURES_EFR_FIRST,  /* "%llx:%llx", amd_iommu_efr, amd_iommu_efr2 */
        _AMD_FEATURES_ORDER_MAX,
} AmdFeaturesOrder;

int amd_iommu_parse_features_order(const char *s, AmdFeaturesOrder order, AmdIommuCaps *ret);
/* AMD_FEATURES_AUTO: -ENOTUNIQ when the halves differ and both are non-zero, so the order matters. */
int amd_iommu_parse_features(const char *s, AmdIommuCaps *ret);

/* ---- /proc/iomem ---- */

typedef struct IomemEntry {
        uint64_t start, end;
        unsigned depth; /* indentation level, two spaces each */
        char *name;
} IomemEntry;

/* Parses the whole file into a newly allocated array. Lines that do not parse are skipped and counted in
 * *ret_n_bad: garbage, start > end, odd indentation, a line nested more than one level below the entry
 * before it, a last line without its newline. *ret_zeroed is set when every range is 0-0 (what a non-root
 * reader sees). ret_n_bad and ret_zeroed may be NULL. */
int iomem_parse(
                const char *buf,
                size_t len,
                IomemEntry **ret,
                size_t *ret_n,
                size_t *ret_n_bad,
                bool *ret_zeroed);
void iomem_free(IomemEntry *e, size_t n);

/* ---- /proc/cpuinfo ---- */

/* The first "vendor_id" value ("GenuineIntel", "AuthenticAMD"); on arm64, where there is none, "ARM" when
 * a "CPU implementer" line exists. Returns a newly allocated string or -ENOENT. */
int cpuinfo_parse_vendor(const char *buf, size_t len, char **ret);

/* ---- /proc/PID/comm ---- */

/* fs/proc/array.c, proc_task_name(): at most 64 bytes (a kernel thread's name with its workqueue), and
 * /proc/PID/comm prints them unescaped: a process may name itself anything but NUL (prctl(PR_SET_NAME)). */
#define PROC_COMM_MAX 65

/* The name without its newline, every byte outside printable ASCII replaced by '?' (as ps(1) shows it), so
 * it is safe on a terminal and valid UTF-8 in JSON and on the bus. -EBADMSG when empty or longer than
 * PROC_COMM_MAX - 1 bytes. */
int proc_comm_parse(const char *buf, size_t len, char ret[static PROC_COMM_MAX]);

/* ---- PCI addresses ---- */

#define PCI_ADDRESS_MAX 16 /* "10000:00:1f.7" with VMD's five-digit domains, plus NUL */

typedef struct PciAddress {
        uint32_t domain;
        uint8_t bus, slot, function;
} PciAddress;

/* "dddd:bb:ss.f", lowercase or uppercase hex; a domain of 4 or 5 hex digits. */
int pci_address_parse(const char *s, PciAddress *ret);
/* Also accepts lspci's short form "bb:ss.f", meaning domain 0000: what users type on command lines and in
 * specs. */
int pci_address_parse_user(const char *s, PciAddress *ret);
/* The one message for an address pci_address_parse_user() refuses, in every verb, bus method and spec
 * (one %s: the address as typed). */
#define PCI_ADDRESS_USER_ERROR "\"%s\" is not a PCI address (DDDD:BB:SS.F, or BB:SS.F as lspci prints it)"
void pci_address_format(const PciAddress *a, char buf[static PCI_ADDRESS_MAX]);
bool pci_address_is_valid(const char *s);
int pci_address_compare(const PciAddress *a, const PciAddress *b);
