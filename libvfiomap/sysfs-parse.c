/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Pure parsers for the kernel's files (sysfs-parse.h). Everything below works on (pointer, end) spans, so
 * a buffer passed with a length is never read past it, NUL-terminated or not; numbers are accumulated with
 * an explicit overflow check rather than strtoull(), which would accept signs, blanks and set errno. */

#include "sysfs-parse.h"
#include "util.h"

/* ---- span helpers ---- */

static int unhex(char c) {
        unsigned d = (unsigned char) c - '0';

        if (d <= 9)
                return d;
        d = ((unsigned char) c | 0x20) - 'a'; /* 'A'-'F' -> 'a'-'f' */
        if (d <= 5)
                return d + 10;
        return -EINVAL;
}

/* Reads at least min and at most max hex digits at *p. Leading zeros are fine (the kernel pads with
 * %016llx); a value beyond 64 bits is -ERANGE. */
static int span_hex_digits(const char **p, const char *end, size_t min, size_t max, uint64_t *ret) {
        const char *s = *p;
        uint64_t v = 0;
        size_t n = 0;

        for (; s < end && n < max; s++, n++) {
                int d = unhex(*s);

                if (d < 0)
                        break;
                if (v > UINT64_MAX >> 4)
                        return -ERANGE;
                v = v << 4 | (unsigned) d;
        }
        if (n < min)
                return -EINVAL;
        *p = s;
        *ret = v;
        return 0;
}

static int span_hex(const char **p, const char *end, uint64_t *ret) {
        return span_hex_digits(p, end, 1, SIZE_MAX, ret);
}

static bool span_skip(const char **p, const char *end, const char *literal) {
        size_t l = strlen(literal);

        if ((size_t) (end - *p) < l || memcmp(*p, literal, l) != 0)
                return false;
        *p += l;
        return true;
}

/* "0x" and hex digits, as printed by "0x%016llx". */
static int span_hex_0x(const char **p, const char *end, uint64_t *ret) {
        const char *s = *p;
        int r;

        if (!span_skip(&s, end, "0x"))
                return -EINVAL;
        r = span_hex(&s, end, ret);
        if (r < 0)
                return r;
        *p = s;
        return 0;
}

/* Hex digits with an optional 0x, for the "%llx" attributes that some tools and fixtures write with one. */
static int span_hex_opt_0x(const char **p, const char *end, uint64_t *ret) {
        const char *s = *p;
        int r;

        if (!span_skip(&s, end, "0x"))
                (void) span_skip(&s, end, "0X");
        r = span_hex(&s, end, ret);
        if (r < 0)
                return r;
        *p = s;
        return 0;
}

static bool span_equal(const char *s, const char *end, const char *literal) {
        size_t l = strlen(literal);

        return (size_t) (end - s) == l && memcmp(s, literal, l) == 0;
}

/* The end of a NUL-terminated string without its one trailing newline. */
static const char *end_without_newline(const char *s) {
        const char *end = s + strlen(s);

        if (end > s && end[-1] == '\n')
                end--;
        return end;
}

/* ---- reserved regions ---- */

/* drivers/iommu/iommu.c, iommu_group_resv_type_string[]: hardware and software MSI both print "msi". */
static const char *const resv_type_table[_RESV_TYPE_MAX] = {
        [RESV_DIRECT] = "direct",
        [RESV_DIRECT_RELAXABLE] = "direct-relaxable",
        [RESV_RESERVED] = "reserved",
        [RESV_MSI] = "msi",
};

const char *resv_type_to_string(ResvType t) {
        if (t < 0 || t >= _RESV_TYPE_MAX)
                return NULL;
        return resv_type_table[t];
}

static ResvType resv_type_from_span(const char *s, const char *end) {
        for (ResvType t = 0; t < _RESV_TYPE_MAX; t++)
                if (span_equal(s, end, resv_type_table[t]))
                        return t;
        return _RESV_TYPE_INVALID;
}

ResvType resv_type_from_string(const char *s) {
        if (!s)
                return _RESV_TYPE_INVALID;
        return resv_type_from_span(s, s + strlen(s));
}

int resv_region_parse_line(const char *line, ResvRegion *ret) {
        const char *p, *end;
        uint64_t start, last;
        ResvType t;

        if (!line || !ret)
                return -EINVAL;

        /* drivers/iommu/iommu.c, iommu_group_show_resv_regions(): "0x%016llx 0x%016llx %s\n" with start and
         * start + length - 1. */
        p = line;
        end = end_without_newline(line);
        if (span_hex_0x(&p, end, &start) < 0 || !span_skip(&p, end, " ") ||
            span_hex_0x(&p, end, &last) < 0 || !span_skip(&p, end, " "))
                return -EINVAL;
        t = resv_type_from_span(p, end);
        if (t < 0)
                return -EINVAL;
        /* The kernel never prints an empty region: its end is start + length - 1 with length > 0. */
        if (start > last)
                return -EINVAL;

        *ret = (ResvRegion) { .start = start, .end = last, .type = t };
        return 0;
}

/* ---- PCI resource file ---- */

static int resource_parse_line(const char *p, const char *end, ResourceLine *ret) {
        static const char empty[] = "0x0000000000000000 0x0000000000000000 0x0000000000000000";
        ResourceLine l;

        /* Most lines are unused BARs and windows, all zeros: a third of a host load's instructions went
         * into reading their digits one by one. */
        if ((size_t) (end - p) == sizeof(empty) - 1 && memcmp(p, empty, sizeof(empty) - 1) == 0) {
                *ret = (ResourceLine) {};
                return 0;
        }

        /* drivers/pci/pci-sysfs.c, resource_show(): "0x%016llx 0x%016llx 0x%016llx\n" = start, end, flags.
         * start > end is kept as read: the line reports a struct resource as it is, and an empty resource
         * (end = start - 1 by resource_size()'s convention) must not hide the lines after it. */
        if (span_hex_0x(&p, end, &l.start) < 0 || !span_skip(&p, end, " ") ||
            span_hex_0x(&p, end, &l.end) < 0 || !span_skip(&p, end, " ") ||
            span_hex_0x(&p, end, &l.flags) < 0 || p != end)
                return -EBADMSG;
        *ret = l;
        return 0;
}

int resource_parse(const char *buf, size_t len, ResourceLine *ret, size_t max, size_t *ret_n) {
        const char *p, *end;
        size_t n = 0;

        if (!ret_n || (!ret && max > 0) || (!buf && len > 0))
                return -EINVAL;
        *ret_n = 0;
        if (len == 0)
                return -ENODATA;

        for (p = buf, end = buf + len; p < end;) {
                const char *eol = memchr(p, '\n', end - p);
                ResourceLine l;

                /* The kernel ends every line with a newline: a last line without one was cut short. */
                if (!eol || resource_parse_line(p, eol, &l) < 0)
                        return -EBADMSG;
                if (n >= max)
                        return -E2BIG;
                ret[n++] = l;
                *ret_n = n;
                p = eol + 1;
        }
        return 0;
}

int resource_bridge_window_base(const ResourceLine *lines, size_t n) {
        if (!lines && n > 0)
                return -EINVAL;

        /* drivers/pci/pci-sysfs.c, resource_show() prints DEVICE_COUNT_RESOURCE lines for a device with a
         * subordinate bus and PCI_BRIDGE_RESOURCES lines for every other one (include/linux/pci.h): 17 and
         * 13 with CONFIG_PCI_IOV, 11 and 7 without. The count alone tells the layouts apart, as in pciutils'
         * lib/sysfs.c: IORESOURCE_WINDOW marks host bridge apertures (drivers/acpi/resource.c), not the
         * windows of a PCI bridge. One line less is accepted for files written by hand. */
        switch (n) {
        case 16:
        case 17:
                return 13;
        case 10:
        case 11:
                return 7;
        default:
                return -ENOENT;
        }
}

/* ---- config space ---- */

/* include/uapi/linux/pci_regs.h */
#define PCI_CFG_HEADER_SIZE 64
#define PCI_CFG_SPACE_SIZE 256
#define PCI_CFG_SPACE_EXP_SIZE 4096
#define PCI_STATUS 0x06
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_HEADER_TYPE 0x0e
#define PCI_SECONDARY_BUS 0x19
#define PCI_SUBORDINATE_BUS 0x1a
#define PCI_CAPABILITY_LIST 0x34
#define PCI_CB_CAPABILITY_LIST 0x14
#define PCI_CAP_ID_EXP 0x10
#define PCI_EXP_FLAGS 2
#define PCI_ACS_CAP 4
#define PCI_ACS_CTRL 6
/* drivers/pci/pci.c: at most 48 standard capabilities; extended ones take at least 8 bytes each. */
#define PCI_FIND_CAP_TTL 48
#define PCI_EXT_CAP_TTL ((PCI_CFG_SPACE_EXP_SIZE - PCI_CFG_SPACE_SIZE) / 8)

static uint16_t cfg_u16(const uint8_t *b, size_t off) {
        return (uint16_t) (b[off] | b[off + 1] << 8);
}

static uint32_t cfg_u32(const uint8_t *b, size_t off) {
        return (uint32_t) b[off] | (uint32_t) b[off + 1] << 8 | (uint32_t) b[off + 2] << 16 |
               (uint32_t) b[off + 3] << 24;
}

/* Walks the standard capability list the way drivers/pci/pci.c does (__pci_bus_find_cap_start(),
 * __pci_find_next_cap_ttl()), so a broken or looping list gives the answer the kernel sees: no PCI Express
 * capability. Only bytes that were not read make the answer unknown. */
static PcieType config_pcie_type(const uint8_t *buf, size_t len, uint8_t header_type) {
        unsigned ttl = PCI_FIND_CAP_TTL;
        uint8_t pos;

        if (!(cfg_u16(buf, PCI_STATUS) & PCI_STATUS_CAP_LIST))
                return PCIE_TYPE_NONE;
        switch (header_type) {
        case 0:
        case 1:
                pos = buf[PCI_CAPABILITY_LIST];
                break;
        case 2:
                pos = buf[PCI_CB_CAPABILITY_LIST];
                break;
        default:
                return PCIE_TYPE_NONE;
        }

        while (ttl-- > 0) {
                uint8_t id;

                if (pos < PCI_CFG_HEADER_SIZE)
                        break;
                pos &= ~3;
                if ((size_t) pos + 2 > len)
                        return PCIE_TYPE_UNKNOWN;
                id = buf[pos];
                if (id == 0xff)
                        break;
                if (id == PCI_CAP_ID_EXP) {
                        if ((size_t) pos + PCI_EXP_FLAGS + 2 > len)
                                return PCIE_TYPE_UNKNOWN;
                        /* PCI_EXP_FLAGS_TYPE, bits 7:4; reserved encodings are passed on as they are. */
                        return (PcieType) ((cfg_u16(buf, pos + PCI_EXP_FLAGS) >> 4) & 0xf);
                }
                pos = buf[pos + 1];
        }
        return PCIE_TYPE_NONE;
}

/* Walks the extended capabilities from 0x100 like pci_find_next_ext_capability() (drivers/pci/pci.c) for
 * capability id with at least need bytes of it readable; *ret_pos is where it starts. */
static AcsState config_find_ext_cap(
                const uint8_t *buf, size_t len, PcieType pcie, uint16_t id, size_t need, size_t *ret_pos) {
        unsigned ttl = PCI_EXT_CAP_TTL;
        size_t pos = PCI_CFG_SPACE_SIZE;
        uint32_t header;

        if (pcie == PCIE_TYPE_UNKNOWN)
                return ACS_UNREADABLE;
        /* Extended capabilities are PCI Express's: a conventional device has none. */
        if (pcie == PCIE_TYPE_NONE)
                return ACS_ABSENT;
        /* 64 bytes for non-root readers, 256 when the dump came from "lspci -xxx" or a kernel without
         * extended config access: whether the capability exists is unknown either way. */
        if (len < pos + 4)
                return ACS_UNREADABLE;

        header = cfg_u32(buf, pos);
        /* No extended capabilities at all: ID, version and next pointer all zero. */
        if (header == 0)
                return ACS_ABSENT;
        while (ttl-- > 0) {
                if ((header & 0xffff) == id) {
                        if (pos + need > len)
                                /* A capability that ends beyond 4 KiB is broken, not unread. */
                                return len >= PCI_CFG_SPACE_EXP_SIZE ? ACS_ABSENT : ACS_UNREADABLE;
                        *ret_pos = pos;
                        return ACS_PRESENT;
                }
                pos = (header >> 20) & 0xffc;
                if (pos < PCI_CFG_SPACE_SIZE)
                        break;
                if (pos + 4 > len)
                        return ACS_UNREADABLE;
                header = cfg_u32(buf, pos);
        }
        return ACS_ABSENT;
}

static AcsState config_acs(
                const uint8_t *buf, size_t len, PcieType pcie, uint16_t *ret_cap, uint16_t *ret_ctrl) {
        size_t pos = 0;
        AcsState st = config_find_ext_cap(buf, len, pcie, PCI_EXT_CAP_ID_ACS, PCI_ACS_CTRL + 2, &pos);

        if (st == ACS_PRESENT) {
                *ret_cap = cfg_u16(buf, pos + PCI_ACS_CAP);
                *ret_ctrl = cfg_u16(buf, pos + PCI_ACS_CTRL);
        }
        return st;
}

#define PCI_EXT_CAP_ID_REBAR 0x15
#define PCI_REBAR_CAP 4           /* per entry: the capability register (supported sizes) */
#define PCI_REBAR_CTRL 8          /* per entry: the control register */
#define PCI_REBAR_CAP_SIZES 0xfffffff0U /* bits 4-31: 1 MiB << (bit - 4) */
#define PCI_REBAR_CTRL_BAR_IDX 0x7U
#define PCI_REBAR_CTRL_NBAR_MASK 0xe0U
#define PCI_REBAR_CTRL_NBAR_SHIFT 5
#define PCI_REBAR_CTRL_BAR_SIZE 0x3f00U
#define PCI_REBAR_CTRL_BAR_SHIFT 8

/* The Resizable BAR capability (include/uapi/linux/pci_regs.h; drivers/pci/pci.c,
 * pci_rebar_get_possible_sizes() reads only the capability register's bits 4-31, 1 MiB to 128 TiB, and so
 * does vfiomap). The number of
 * entries is in the first control register; each entry is 8 bytes. */
static AcsState config_rebar(const uint8_t *buf, size_t len, PcieType pcie, PciConfig *c) {
        size_t pos = 0;
        unsigned nbars;
        AcsState st = config_find_ext_cap(buf, len, pcie, PCI_EXT_CAP_ID_REBAR, PCI_REBAR_CTRL + 4, &pos);

        if (st != ACS_PRESENT)
                return st;
        nbars = (cfg_u32(buf, pos + PCI_REBAR_CTRL) & PCI_REBAR_CTRL_NBAR_MASK) >> PCI_REBAR_CTRL_NBAR_SHIFT;
        for (unsigned i = 0; i < nbars && i < PCI_REBAR_MAX; i++) {
                size_t e = pos + 8 * i;
                uint32_t cap, ctrl;
                unsigned bar, enc;
                bool dup = false;

                if (e + PCI_REBAR_CTRL + 4 > len)
                        break;
                cap = cfg_u32(buf, e + PCI_REBAR_CAP);
                ctrl = cfg_u32(buf, e + PCI_REBAR_CTRL);
                bar = ctrl & PCI_REBAR_CTRL_BAR_IDX;
                for (unsigned k = 0; k < c->n_rebar; k++)
                        dup = dup || c->rebar_bars[k].bar == bar;
                /* Size encodings above 43 (8 EiB) are reserved. */
                enc = (ctrl & PCI_REBAR_CTRL_BAR_SIZE) >> PCI_REBAR_CTRL_BAR_SHIFT;
                if (bar > 5 || dup || enc > 43)
                        continue;
                /* Field by field: c was zeroed whole, padding included (fuzz-pci-config
                 * compares two parses bytewise). */
                c->rebar_bars[c->n_rebar].bar = (uint8_t) bar;
                c->rebar_bars[c->n_rebar].current = (uint8_t) (20 + enc);
                /* bit 4 + k (1 MiB << k) becomes bit 20 + k */
                c->rebar_bars[c->n_rebar].sizes = (uint64_t) (cap & PCI_REBAR_CAP_SIZES) << 16;
                c->n_rebar++;
        }
        return ACS_PRESENT;
}

int pci_config_parse(const uint8_t *buf, size_t len, PciConfig *ret) {
        PciConfig c;
        uint8_t ht;

        if (!ret || (!buf && len > 0))
                return -EINVAL;
        if (len < PCI_CFG_HEADER_SIZE)
                return -EBADMSG;
        len = MIN(len, (size_t) PCI_CFG_SPACE_EXP_SIZE);

        ht = buf[PCI_HEADER_TYPE];
        /* Zeroed whole, padding included, then field by field: two parses of one buffer compare equal
         * bytewise (fuzz-pci-config). */
        memset(&c, 0, sizeof(c));
        c.vendor = cfg_u16(buf, 0x00);
        c.device = cfg_u16(buf, 0x02);
        /* revision at 0x08, then prog-if, subclass, base class: the sysfs "class" value */
        c.class = (uint32_t) buf[0x09] | (uint32_t) buf[0x0a] << 8 | (uint32_t) buf[0x0b] << 16;
        c.header_type = ht & 0x7f;
        c.multifunction = ht & 0x80;
        c.acs = ACS_UNREADABLE;
        if (c.header_type == 1) {
                c.secondary_bus = buf[PCI_SECONDARY_BUS];
                c.subordinate_bus = buf[PCI_SUBORDINATE_BUS];
        }
        c.pcie_type = config_pcie_type(buf, len, c.header_type);
        c.acs = config_acs(buf, len, c.pcie_type, &c.acs_capability, &c.acs_control);
        c.rebar = config_rebar(buf, len, c.pcie_type, &c);

        *ret = c;
        return 0;
}

const char *pcie_type_to_string(PcieType t) {
        switch (t) {
        case PCIE_TYPE_ENDPOINT:
                return "endpoint";
        case PCIE_TYPE_LEGACY_ENDPOINT:
                return "legacy-endpoint";
        case PCIE_TYPE_ROOT_PORT:
                return "root-port";
        case PCIE_TYPE_UPSTREAM:
                return "upstream-port";
        case PCIE_TYPE_DOWNSTREAM:
                return "downstream-port";
        case PCIE_TYPE_PCIE_TO_PCI:
                return "pcie-to-pci-bridge";
        case PCIE_TYPE_PCI_TO_PCIE:
                return "pci-to-pcie-bridge";
        case PCIE_TYPE_RC_INTEGRATED:
                return "rc-integrated-endpoint";
        case PCIE_TYPE_RC_EC:
                return "rc-event-collector";
        case PCIE_TYPE_NONE:
                return "conventional-pci";
        case PCIE_TYPE_UNKNOWN:
                return "unknown";
        default:
                /* pci_config_parse() passes reserved encodings (2, 3, 0xb-0xf) through. */
                return "reserved";
        }
}

const char *acs_state_to_string(AcsState s) {
        switch (s) {
        case ACS_UNREADABLE:
                return "unreadable";
        case ACS_ABSENT:
                return "absent";
        case ACS_PRESENT:
                return "present";
        default:
                return NULL;
        }
}

/* ---- IOMMU units ---- */

int parse_hex_u64(const char *s, uint64_t *ret) {
        const char *p, *end;
        uint64_t v;
        int r;

        if (!s || !ret)
                return -EINVAL;
        p = s;
        end = end_without_newline(s);
        r = span_hex_opt_0x(&p, end, &v);
        if (r < 0)
                return r;
        if (p != end)
                return -EINVAL;
        *ret = v;
        return 0;
}

int intel_iommu_parse_caps(const char *cap, const char *ecap, IntelIommuCaps *ret) {
        uint64_t c, e;
        int r;

        if (!cap || !ecap || !ret)
                return -EINVAL;
        /* drivers/iommu/intel/iommu.c, cap_show()/ecap_show(): "%llx\n" */
        r = parse_hex_u64(cap, &c);
        if (r < 0)
                return r;
        r = parse_hex_u64(ecap, &e);
        if (r < 0)
                return r;

        /* drivers/iommu/intel/iommu.h: cap_mgaw(), cap_sagaw(), cap_caching_mode(), ecap_ir_support() */
        *ret = (IntelIommuCaps) {
                .mgaw = (unsigned) ((c >> 16) & 0x3f) + 1,
                .sagaw = (unsigned) ((c >> 8) & 0x1f),
                .caching_mode = (c >> 7) & 1,
                .interrupt_remapping = (e >> 3) & 1,
        };
        return 0;
}

static void amd_iommu_caps_fill(uint64_t efr, uint64_t efr2, bool has_efr2, AmdIommuCaps *ret) {
        /* FEATURE_HATS, EFR bits 11:10 (drivers/iommu/amd/amd_iommu_types.h): host page table levels minus
         * four, each level adding 9 bits to the 48 of a 4-level table; 3 is reserved. */
        static const int widths[4] = { 48, 57, 64, -1 };
        unsigned hats = (unsigned) ((efr >> 10) & 3);

        *ret = (AmdIommuCaps) {
                .efr = efr,
                .efr2 = efr2,
                .has_efr2 = has_efr2,
                .hats = hats,
                .address_width = widths[hats],
        };
}

int amd_iommu_parse_features_order(const char *s, AmdFeaturesOrder order, AmdIommuCaps *ret) {
        const char *p, *end;
        uint64_t a, b;
        int r;

        if (!s || !ret || order < 0 || order >= _AMD_FEATURES_ORDER_MAX)
                return -EINVAL;

        /* drivers/iommu/amd/init.c, amd_iommu_show_features(): "%llx\n" (EFR) before EFR2 support,
         * "%llx:%llx\n" with features2, features after it, and amd_iommu_efr, amd_iommu_efr2 -- the other
         * way round -- once the driver kept one global copy of the registers. */
        p = s;
        end = end_without_newline(s);
        r = span_hex_opt_0x(&p, end, &a);
        if (r < 0)
                return r;
        if (p == end) {
                amd_iommu_caps_fill(a, 0, false, ret);
                return 0;
        }
        if (!span_skip(&p, end, ":"))
                return -EINVAL;
        r = span_hex_opt_0x(&p, end, &b);
        if (r < 0)
                return r;
        if (p != end)
                return -EINVAL;

        switch (order) {
        case AMD_FEATURES_EFR2_FIRST:
                amd_iommu_caps_fill(b, a, true, ret);
                return 0;
        case AMD_FEATURES_EFR_FIRST:
                amd_iommu_caps_fill(a, b, true, ret);
                return 0;
        default:
                /* EFR is zero only on a unit without it (IOMMU_CAP_EFR clear), and then EFR2 is zero too: a
                 * single non-zero half must be EFR. Two different non-zero halves need the kernel's
                 * version. */
                if (a == 0 || b == 0) {
                        amd_iommu_caps_fill(a | b, 0, true, ret);
                        return 0;
                }
                if (a == b) {
                        amd_iommu_caps_fill(a, b, true, ret);
                        return 0;
                }
                return -ENOTUNIQ;
        }
}

int amd_iommu_parse_features(const char *s, AmdIommuCaps *ret) {
        return amd_iommu_parse_features_order(s, AMD_FEATURES_AUTO, ret);
}

/* ---- /proc/iomem ---- */

void iomem_free(IomemEntry *e, size_t n) {
        if (!e)
                return;
        for (size_t i = 0; i < n; i++)
                free(e[i].name);
        free(e);
}

/* One line of kernel/resource.c, r_show(): "%*s%0*llx-%0*llx : %s\n", indented two spaces per level below
 * the root, with at least 4 (ioports) or 8 (iomem) digits. The name is everything after " : ", spaces and
 * colons included ("PCI Bus 0000:00", "0000:00:02.0"). */
static int iomem_parse_line(const char *p, const char *end, IomemEntry *ret) {
        const char *s = p;
        uint64_t start, last;
        size_t spaces;

        while (s < end && *s == ' ')
                s++;
        spaces = (size_t) (s - p);
        if (spaces % 2 != 0)
                return -EBADMSG;
        if (span_hex(&s, end, &start) < 0 || !span_skip(&s, end, "-") || span_hex(&s, end, &last) < 0 ||
            !span_skip(&s, end, " : "))
                return -EBADMSG;
        if (start > last || memchr(s, 0, end - s))
                return -EBADMSG;

        *ret = (IomemEntry) { .start = start, .end = last, .depth = (unsigned) (spaces / 2) };
        ret->name = strndup(s, end - s);
        if (!ret->name)
                return -ENOMEM;
        return 0;
}

int iomem_parse(
                const char *buf,
                size_t len,
                IomemEntry **ret,
                size_t *ret_n,
                size_t *ret_n_bad,
                bool *ret_zeroed) {
        IomemEntry *entries = NULL;
        size_t n = 0, allocated = 0, n_bad = 0;
        bool all_zero = true;
        const char *p, *end;

        if (!ret || !ret_n || (!buf && len > 0))
                return -EINVAL;

        for (p = buf, end = buf + len; p < end;) {
                const char *eol = memchr(p, '\n', end - p);
                IomemEntry e;
                int r;

                /* A last line without its newline was cut short: its name may be incomplete. */
                if (!eol) {
                        n_bad++;
                        break;
                }
                r = iomem_parse_line(p, eol, &e);
                p = eol + 1;
                if (r == -ENOMEM)
                        goto nomem;
                /* A child is at most one level below the line before it; anything else breaks the tree. */
                if (r >= 0 && e.depth > (n > 0 ? entries[n - 1].depth + 1 : 0)) {
                        free(e.name);
                        r = -EBADMSG;
                }
                if (r < 0) {
                        n_bad++;
                        continue;
                }
                if (!GREEDY_REALLOC(entries, allocated, n + 1)) {
                        free(e.name);
                        goto nomem;
                }
                if (e.start != 0 || e.end != 0)
                        all_zero = false;
                entries[n++] = e;
        }
        /* Kept for the daemon's lifetime: give back the growth slack (up to half the array). */
        if (n > 0 && n < allocated) {
                IomemEntry *shrunk = realloc(entries, n * sizeof(IomemEntry));
                if (shrunk)
                        entries = shrunk;
        }

        *ret = entries;
        *ret_n = n;
        if (ret_n_bad)
                *ret_n_bad = n_bad;
        if (ret_zeroed)
                *ret_zeroed = n > 0 && all_zero;
        return 0;

nomem:
        iomem_free(entries, n);
        return -ENOMEM;
}

/* ---- /proc/cpuinfo ---- */

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

int cpuinfo_parse_vendor(const char *buf, size_t len, char **ret) {
        bool arm = false;
        const char *p, *end;

        if (!ret || (!buf && len > 0))
                return -EINVAL;

        /* arch/x86/kernel/cpu/proc.c, show_cpuinfo(): "vendor_id\t: %s\n"; arch/arm64/kernel/cpuinfo.c,
         * c_show(): "CPU implementer\t: 0x%02x\n" and no vendor line. */
        for (p = buf, end = buf + len; p < end;) {
                const char *eol = memchr(p, '\n', end - p) ?: end;
                const char *colon = memchr(p, ':', eol - p);
                const char *k_end, *v, *v_end;

                if (!colon)
                        goto next;
                for (k_end = colon; k_end > p && is_blank(k_end[-1]); k_end--)
                        ;
                for (v = colon + 1; v < eol && is_blank(*v); v++)
                        ;
                for (v_end = eol; v_end > v && (is_blank(v_end[-1]) || v_end[-1] == '\r'); v_end--)
                        ;

                if (span_equal(p, k_end, "vendor_id")) {
                        char *s;

                        if (v == v_end)
                                return -EBADMSG;
                        for (const char *c = v; c < v_end; c++)
                                if (*c < 0x20 || *c > 0x7e)
                                        return -EBADMSG;
                        s = strndup(v, v_end - v);
                        if (!s)
                                return -ENOMEM;
                        *ret = s;
                        return 0;
                }
                if (span_equal(p, k_end, "CPU implementer"))
                        arm = true;
        next:
                p = eol < end ? eol + 1 : end;
        }

        if (!arm)
                return -ENOENT;
        *ret = strdup("ARM");
        return *ret ? 0 : -ENOMEM;
}

/* ---- /proc/PID/comm ---- */

int proc_comm_parse(const char *buf, size_t len, char ret[static PROC_COMM_MAX]) {
        if (!ret || (!buf && len > 0))
                return -EINVAL;
        /* fs/proc/base.c, comm_show(): the name and one "\n". */
        if (len > 0 && buf[len - 1] == '\n')
                len--;
        if (len == 0 || len > PROC_COMM_MAX - 1)
                return -EBADMSG;
        for (size_t i = 0; i < len; i++)
                ret[i] = (unsigned char) buf[i] >= 0x20 && (unsigned char) buf[i] < 0x7f ? buf[i] : '?';
        ret[len] = 0;
        return 0;
}

/* ---- PCI addresses ---- */

int pci_address_parse(const char *s, PciAddress *ret) {
        uint64_t domain, bus, slot, function;
        const char *p, *end;

        if (!s || !ret)
                return -EINVAL;

        /* drivers/pci/probe.c, pci_setup_device(): "%04x:%02x:%02x.%d"; VMD domains start at 0x10000. */
        p = s;
        end = s + strlen(s);
        if (span_hex_digits(&p, end, 4, 5, &domain) < 0 || !span_skip(&p, end, ":") ||
            span_hex_digits(&p, end, 2, 2, &bus) < 0 || !span_skip(&p, end, ":") ||
            span_hex_digits(&p, end, 2, 2, &slot) < 0 || !span_skip(&p, end, ".") ||
            span_hex_digits(&p, end, 1, 1, &function) < 0 || p != end)
                return -EINVAL;
        if (slot > 0x1f || function > 7)
                return -EINVAL;

        *ret = (PciAddress) {
                .domain = (uint32_t) domain,
                .bus = (uint8_t) bus,
                .slot = (uint8_t) slot,
                .function = (uint8_t) function,
        };
        return 0;
}

int pci_address_parse_user(const char *s, PciAddress *ret) {
        char full[PCI_ADDRESS_MAX + 5];
        int k;

        k = pci_address_parse(s, ret);
        if (k >= 0 || !s)
                return k;
        /* Exactly one ':' and short enough: "01:00.0" -> "0000:01:00.0". */
        if (strchr(s, ':') != strrchr(s, ':') || strlen(s) >= PCI_ADDRESS_MAX)
                return -EINVAL;
        (void) snprintf(full, sizeof(full), "0000:%s", s);
        return pci_address_parse(full, ret);
}

/* v in lower-case hex, at least min digits. */
static char *put_hex(char *p, uint32_t v, unsigned min) {
        char digits[8];
        unsigned n = 0;

        do {
                digits[n++] = "0123456789abcdef"[v & 0xf];
                v >>= 4;
        } while (v != 0 || n < min);
        while (n > 0)
                *p++ = digits[--n];
        return p;
}

void pci_address_format(const PciAddress *a, char buf[static PCI_ADDRESS_MAX]) {
        /* "%04x:%02x:%02x.%x", by hand: called for every address a host load meets, where snprintf() was
         * 6% of the instructions. Values pci_address_parse() cannot produce are cut to the buffer, never
         * written past it. */
        char t[32], *p = t;
        size_t l;

        p = put_hex(p, a->domain, 4);
        *p++ = ':';
        p = put_hex(p, a->bus, 2);
        *p++ = ':';
        p = put_hex(p, a->slot, 2);
        *p++ = '.';
        p = put_hex(p, a->function, 1);
        l = MIN((size_t) (p - t), (size_t) PCI_ADDRESS_MAX - 1);
        memcpy(buf, t, l);
        buf[l] = 0;
}

bool pci_address_is_valid(const char *s) {
        PciAddress a;

        return pci_address_parse(s, &a) >= 0;
}

int pci_address_compare(const PciAddress *a, const PciAddress *b) {
        if (a->domain != b->domain)
                return a->domain < b->domain ? -1 : 1;
        if (a->bus != b->bus)
                return a->bus < b->bus ? -1 : 1;
        if (a->slot != b->slot)
                return a->slot < b->slot ? -1 : 1;
        if (a->function != b->function)
                return a->function < b->function ? -1 : 1;
        return 0;
}
