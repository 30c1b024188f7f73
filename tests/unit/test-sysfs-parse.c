/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The kernel-file parsers on lines real kernels print (see ../../shared/DOMAIN.md §2), on what non-root
 * readers and truncated reads see, and on garbage. Buffers passed with a length are copied into exact-size
 * allocations without a NUL, so a sanitizer build catches any read past the length. */

#include "sysfs-parse.h"
#include "tap.h"
#include "util.h"

/* An exact-size, unterminated copy of the first len bytes of s. */
static char *unterminated(const char *s, size_t len) {
        char *p = malloc(len ? len : 1);

        if (!p)
                abort();
        memcpy(p, s, len);
        return p;
}

/* Test names are one TAP line: show control characters in the inputs as escapes. */
static const char *escaped(const char *s) {
        static char buf[256];
        size_t n = 0;

        for (; *s && n < sizeof(buf) - 5; s++) {
                unsigned char c = *s;

                if (c >= 0x20 && c < 0x7f)
                        buf[n++] = c;
                else
                        n += (size_t) snprintf(buf + n, sizeof(buf) - n, "\\x%02x", c);
        }
        buf[n] = 0;
        return buf;
}

/* ---- reserved_regions ---- */

static void test_resv_type(void) {
        for (ResvType t = 0; t < _RESV_TYPE_MAX; t++)
                is_int(resv_type_from_string(resv_type_to_string(t)), t, "resv type round trip");
        is_str(resv_type_to_string(RESV_DIRECT_RELAXABLE), "direct-relaxable", "direct-relaxable string");
        is_int(resv_type_from_string("sw-msi"), -EINVAL, "sw-msi is not printed by the kernel");
        is_int(resv_type_from_string("MSI"), -EINVAL, "types are lowercase");
        is_int(resv_type_from_string(""), -EINVAL, "empty type");
        is_int(resv_type_from_string(NULL), -EINVAL, "NULL type");
        ok(resv_type_to_string(_RESV_TYPE_MAX) == NULL, "out of range type has no string");
        ok(resv_type_to_string(_RESV_TYPE_INVALID) == NULL, "invalid type has no string");
}

static void test_resv_one(const char *line, uint64_t start, uint64_t end, ResvType type, const char *name) {
        ResvRegion r = {};
        int k = resv_region_parse_line(line, &r);

        is_int(k, 0, name);
        if (k < 0)
                return;
        is_u64(r.start, start, "  start");
        is_u64(r.end, end, "  end");
        is_int(r.type, type, "  type");
}

static void test_resv_lines(void) {
        static const char *const bad[] = {
                "",
                "\n",
                "0x00000000fee00000 0x00000000feefffff",            /* type missing */
                "0x00000000fee00000 0x00000000feefffff ",           /* type empty */
                "0x00000000fee00000 msi",                           /* end missing */
                "0x00000000fee00000 0x00000000feefffff msi extra", /* trailing junk */
                "0x00000000fee00000 0x00000000feefffff msi ",       /* trailing blank */
                "0x00000000fee00000 0x00000000feefffff msi\n\n",    /* two newlines */
                "0x00000000fee00000 0x00000000feefffff msi\r\n",    /* CRLF */
                "0x00000000fee00000  0x00000000feefffff msi",       /* two blanks */
                "0x00000000fee00000\t0x00000000feefffff\tmsi",     /* tabs */
                " 0x00000000fee00000 0x00000000feefffff msi",       /* leading blank */
                "00000000fee00000 00000000feefffff msi",            /* no 0x */
                "0X00000000FEE00000 0X00000000FEEFFFFF msi",        /* 0X is not what %016llx prints */
                "0x 0x00000000feefffff msi",                        /* no digits */
                "0x00000000feefffff 0x00000000fee00000 msi",        /* start > end */
                "0x1ffffffffffffffff 0x1ffffffffffffffff reserved", /* 65 bits */
                "0x00000000fee00000 0x00000000feefffff sw-msi",
                "0x00000000fee00000 0x00000000feefffff Msi",
                "0x00000000fee0000g 0x00000000feefffff msi",
                "-0x0000000000000001 0x00000000feefffff msi",
                "0x00000000fee00000 0x00000000feefffff msi\nmsi",
        };
        ResvRegion r;

        /* Intel VT-d and AMD-Vi interrupt range, AMD HyperTransport hole, ARM SMMU software MSI window,
         * Intel ISA bridge floppy workaround: lines as drivers/iommu/iommu.c prints them. */
        test_resv_one("0x00000000fee00000 0x00000000feefffff msi\n", 0xfee00000, 0xfeefffff, RESV_MSI,
                      "Intel MSI window");
        test_resv_one("0x000000fd00000000 0x000000ffffffffff reserved\n", 0xfd00000000, 0xffffffffff,
                      RESV_RESERVED, "AMD HyperTransport hole");
        test_resv_one("0x0000000008000000 0x00000000080fffff msi\n", 0x8000000, 0x80fffff, RESV_MSI,
                      "ARM software MSI window");
        test_resv_one("0x0000000000000000 0x0000000000ffffff direct-relaxable\n", 0, 0xffffff,
                      RESV_DIRECT_RELAXABLE, "ISA bridge direct-relaxable");
        test_resv_one("0x000000007b800000 0x000000007fffffff direct\n", 0x7b800000, 0x7fffffff, RESV_DIRECT,
                      "RMRR direct");
        test_resv_one("0x00000000fee00000 0x00000000feefffff msi", 0xfee00000, 0xfeefffff, RESV_MSI,
                      "without newline");
        test_resv_one("0x0000000000000000 0xffffffffffffffff reserved\n", 0, UINT64_MAX, RESV_RESERVED,
                      "whole 64-bit space");
        test_resv_one("0xffffffffffffffff 0xffffffffffffffff reserved\n", UINT64_MAX, UINT64_MAX,
                      RESV_RESERVED, "last byte");
        test_resv_one("0x1000 0x1fff reserved", 0x1000, 0x1fff, RESV_RESERVED, "short hand-written digits");

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                is_int(resv_region_parse_line(bad[i], &r), -EINVAL, escaped(bad[i]));
        is_int(resv_region_parse_line(NULL, &r), -EINVAL, "NULL line");
}

/* ---- resource ---- */

#define ZERO "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"

/* An NVMe drive: one 64-bit BAR (MEM | MEM_64 | SIZEALIGN and the BAR's type bits), ROM unused. */
#define NVME_BAR0 "0x00000000fb600000 0x00000000fb603fff 0x0000000000140204\n"
static const char resource_endpoint_iov[] =
        NVME_BAR0 ZERO ZERO ZERO ZERO ZERO ZERO ZERO ZERO ZERO ZERO ZERO ZERO;
static const char resource_endpoint[] = NVME_BAR0 ZERO ZERO ZERO ZERO ZERO ZERO;

/* A root port with a subordinate bus, kernel with CONFIG_PCI_IOV: 17 lines, windows at 13/14/15. */
#define WIN_IO "0x000000000000e000 0x000000000000efff 0x0000000000000101\n"
#define WIN_MEM "0x00000000fb000000 0x00000000fc0fffff 0x0000000000000200\n"
#define WIN_PREF "0x0000006000000000 0x00000060201fffff 0x0000000000102201\n"
static const char resource_bridge_iov[] =
        ZERO ZERO ZERO ZERO ZERO ZERO ZERO ZERO ZERO ZERO ZERO ZERO ZERO WIN_IO WIN_MEM WIN_PREF ZERO;
/* The same with IORESOURCE_WINDOW set, as fixtures written after DOMAIN.md's flag table look. */
static const char resource_bridge_iov_window_flag[] =
        ZERO ZERO ZERO ZERO ZERO ZERO ZERO ZERO ZERO ZERO ZERO ZERO ZERO
        "0x000000000000e000 0x000000000000efff 0x0000000000200101\n"
        "0x00000000fb000000 0x00000000fc0fffff 0x0000000000200200\n"
        "0x0000006000000000 0x00000060201fffff 0x0000000000302201\n" ZERO;
/* Without CONFIG_PCI_IOV: 11 lines, windows at 7/8/9. */
static const char resource_bridge[] = ZERO ZERO ZERO ZERO ZERO ZERO ZERO WIN_IO WIN_MEM WIN_PREF ZERO;

static void test_resource_file(const char *text, size_t want_n, int want_base, const char *name) {
        _cleanup_free_ char *buf = unterminated(text, strlen(text));
        ResourceLine lines[PCI_RESOURCE_LINES_MAX];
        size_t n = 99;

        is_int(resource_parse(buf, strlen(text), lines, ELEMENTSOF(lines), &n), 0, name);
        is_int(n, want_n, "  line count");
        is_int(resource_bridge_window_base(lines, n), want_base, "  window base");
}

static void test_resource(void) {
        ResourceLine lines[PCI_RESOURCE_LINES_MAX];
        _cleanup_free_ char *buf = NULL;
        size_t n;
        int k;

        test_resource_file(resource_endpoint_iov, 13, -ENOENT, "endpoint, CONFIG_PCI_IOV");
        test_resource_file(resource_endpoint, 7, -ENOENT, "endpoint without CONFIG_PCI_IOV");
        test_resource_file(resource_bridge_iov, 17, 13, "bridge, CONFIG_PCI_IOV");
        test_resource_file(resource_bridge_iov_window_flag, 17, 13, "bridge with WINDOW flags");
        test_resource_file(resource_bridge, 11, 7, "bridge without CONFIG_PCI_IOV");
        test_resource_file(resource_bridge + strlen(ZERO), 10, 7, "bridge, 10 lines");

        (void) resource_parse(resource_endpoint_iov, strlen(resource_endpoint_iov), lines, 17, &n);
        is_u64(lines[0].start, 0xfb600000, "BAR 0 start");
        is_u64(lines[0].end, 0xfb603fff, "BAR 0 end");
        is_u64(lines[0].flags & (PCI_RESOURCE_MEM | PCI_RESOURCE_MEM_64),
               PCI_RESOURCE_MEM | PCI_RESOURCE_MEM_64,
               "BAR 0 flags");
        (void) resource_parse(resource_bridge_iov, strlen(resource_bridge_iov), lines, 17, &n);
        is_u64(lines[13].flags & PCI_RESOURCE_IO, PCI_RESOURCE_IO, "I/O window flags");
        is_u64(lines[15].start, 0x6000000000, "prefetchable window start");
        is_u64(lines[15].end, 0x60201fffff, "prefetchable window end");

        /* What a non-root reader gets on kernels that hide addresses: flags, zero ranges. */
        k = resource_parse("0x0000000000000000 0x0000000000000000 0x0000000000140204\n", 57, lines, 17, &n);
        ok(k == 0 && n == 1 && lines[0].flags == 0x140204 && lines[0].end == 0, "zeroed range with flags");
        k = resource_parse("0x0000000000001000 0x0000000000000fff 0x0000000000000200\n", 57, lines, 17, &n);
        ok(k == 0 && n == 1 && lines[0].start == 0x1000 && lines[0].end == 0xfff,
           "start > end is an empty resource, kept as read");
        k = resource_parse("0x0000000000000000 0xffffffffffffffff 0x0000000000000200\n", 57, lines, 17, &n);
        ok(k == 0 && lines[0].end == UINT64_MAX, "range up to 2^64-1");

        /* Unused lines (all zeros) take a shortcut; anything that only looks like one takes the long way. */
        lines[0] = (ResourceLine) { 1, 2, 3 };
        k = resource_parse(ZERO, strlen(ZERO), lines, 17, &n);
        ok(k == 0 && n == 1 && lines[0].start == 0 && lines[0].end == 0 && lines[0].flags == 0, "unused line");
        k = resource_parse("0x00000000000000000 0x0000000000000000 0x0000000000000000\n", 58, lines, 17, &n);
        ok(k == 0 && n == 1 && lines[0].flags == 0, "unused line with a 17th digit: parsed, same value");
        k = resource_parse("0x0000000000000000 0x0000000000000000 0x000000000000000g\n", 57, lines, 17, &n);
        is_int(k, -EBADMSG, "a non-digit in the last field is refused");
        k = resource_parse("0x00000000FB600000 0x00000000fb603FFF 0x0000000000140204\n", 57, lines, 17, &n);
        ok(k == 0 && lines[0].start == 0xfb600000 && lines[0].end == 0xfb603fff, "upper-case hex digits");
        k = resource_parse("0x0000000000000000 0x0000000000000000 0x1ffffffffffffffff\n", 58, lines, 17, &n);
        is_int(k, -EBADMSG, "a value beyond 64 bits is refused");

        /* Only len bytes count: the first line of a longer buffer. */
        ok(resource_parse(resource_bridge_iov, strlen(ZERO), lines, 17, &n) == 0 && n == 1,
           "len stops parsing");

        /* Truncated reads keep the lines before the damage. */
        buf = unterminated(resource_bridge_iov, strlen(ZERO) * 14 + 20);
        is_int(resource_parse(buf, strlen(ZERO) * 14 + 20, lines, 17, &n), -EBADMSG, "cut in line 15");
        is_int(n, 14, "  14 lines kept");
        is_int(resource_parse(resource_bridge_iov, strlen(resource_bridge_iov) - 1, lines, 17, &n), -EBADMSG,
               "last newline missing");
        is_int(n, 16, "  16 lines kept");
        is_int(resource_parse(resource_bridge_iov, strlen(resource_bridge_iov), lines, 5, &n), -E2BIG,
               "more lines than room");
        is_int(n, 5, "  room filled");
        is_int(resource_parse("", 0, lines, 17, &n), -ENODATA, "empty file");
        is_int(n, 0, "  nothing kept");

        static const char *const bad[] = {
                "\n",
                "0x0000000000000000 0x0000000000000000\n",
                "0x0000000000000000 0x0000000000000000 0x0000000000000000 0x0\n",
                "0x0000000000000000 0x0000000000000000 0x0000000000000000 \n",
                "0x0000000000000000 0x0000000000000000 0x000000000000000g\n",
                "0x0000000000000000 0x0000000000000000 0x\n",
                "0000000000000000 0000000000000000 0000000000000000\n",
                "0x0000000000000000 0x0000000000000000 0x10000000000000000\n",
                "0x0000000000000000,0x0000000000000000,0x0000000000000000\n",
                "garbage\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *text = NULL;

                ok(asprintf_safe(&text, "%s%s%s", ZERO, bad[i], ZERO) >= 0, "asprintf");
                is_int(resource_parse(text, strlen(text), lines, 17, &n), -EBADMSG, escaped(bad[i]));
                is_int(n, 1, "  the good line before it is kept");
        }
        is_int(resource_parse(NULL, 1, lines, 17, &n), -EINVAL, "NULL buffer");
        is_int(resource_bridge_window_base(lines, 0), -ENOENT, "no lines, no windows");
        is_int(resource_bridge_window_base(lines, 12), -ENOENT, "12 lines, no known layout");
}

/* ---- config space ---- */

static void put16(uint8_t *b, size_t off, uint16_t v) {
        b[off] = v & 0xff;
        b[off + 1] = v >> 8;
}

static void put32(uint8_t *b, size_t off, uint32_t v) {
        put16(b, off, v & 0xffff);
        put16(b, off + 2, v >> 16);
}

static uint8_t *cfg_new(size_t size, uint8_t header_type, uint32_t class) {
        uint8_t *b = calloc(1, size);

        if (!b)
                abort();
        put16(b, 0x00, 0x8086);
        put16(b, 0x02, 0x1234);
        b[0x09] = class & 0xff;
        b[0x0a] = (class >> 8) & 0xff;
        b[0x0b] = class >> 16;
        b[0x0e] = header_type;
        return b;
}

/* Standard capabilities PM at 0x40 -> MSI at 0x50 -> PCI Express at 0x60 of the given port type. */
static void cfg_add_caps(uint8_t *b, PcieType type) {
        put16(b, 0x06, 0x0010);
        b[0x34] = 0x40;
        b[0x40] = 0x01;
        b[0x41] = 0x50;
        b[0x50] = 0x05;
        b[0x51] = 0x60;
        b[0x60] = 0x10;
        b[0x61] = 0x00;
        put16(b, 0x62, (uint16_t) (0x0002 | (unsigned) type << 4));
}

/* Extended capabilities: AER at 0x100 -> ACS at 0x148, id | version << 16 | next << 20 */
static void cfg_add_aer_acs(uint8_t *b, uint16_t acs_cap, uint16_t acs_ctrl) {
        put32(b, 0x100, 0x0001 | 2u << 16 | 0x148u << 20);
        put32(b, 0x148, 0x000d | 1u << 16 | 0u << 20);
        put16(b, 0x14c, acs_cap);
        put16(b, 0x14e, acs_ctrl);
}

/* A GPU with the Resizable BAR capability after AER: BAR 0 at 256 MiB of 256 MiB..32 GiB, BAR 2 at 32 MiB
 * of 32 MiB only, and (broken) an entry naming BAR 7 and one repeating BAR 0. */
static void test_config_rebar(void) {
        _cleanup_free_ uint8_t *b = cfg_new(4096, 0x00, 0x030000);
        PciConfig c;

        cfg_add_caps(b, PCIE_TYPE_LEGACY_ENDPOINT);
        put32(b, 0x100, 0x0001 | 2u << 16 | 0x200u << 20);
        put32(b, 0x200, 0x0015 | 1u << 16 | 0u << 20);
        /* entry 0: sizes bits 4+8 .. 4+15 (256 MiB .. 32 GiB), ctrl: BAR 0, 4 entries, size 8 (256 MiB) */
        put32(b, 0x204, 0xff00u << 4);
        put32(b, 0x208, 0u | 4u << 5 | 8u << 8);
        /* entry 1: BAR 2, 32 MiB only */
        put32(b, 0x20c, 1u << (4 + 5));
        put32(b, 0x210, 2u | 5u << 8);
        /* entry 2: BAR 7 does not exist; entry 3: BAR 0 again */
        put32(b, 0x214, 1u << 4);
        put32(b, 0x218, 7u);
        put32(b, 0x21c, 1u << 4);
        put32(b, 0x220, 0u);

        is_int(pci_config_parse(b, 4096, &c), 0, "ReBAR GPU parses");
        is_int(c.rebar, ACS_PRESENT, "  ReBAR present");
        is_int(c.n_rebar, 2, "  two usable entries (BAR 7 and the repeated BAR 0 dropped)");
        is_int(c.rebar_bars[0].bar, 0, "  entry 0 is BAR 0");
        is_int(c.rebar_bars[0].current, 28, "  BAR 0 is 256 MiB now");
        ok(c.rebar_bars[0].sizes == (UINT64_C(0xff) << 28), "  BAR 0 supports 256 MiB .. 32 GiB");
        is_int(c.rebar_bars[1].bar, 2, "  entry 1 is BAR 2");
        is_int(c.rebar_bars[1].current, 25, "  BAR 2 is 32 MiB");
        ok(c.rebar_bars[1].sizes == (UINT64_C(1) << 25), "  BAR 2 supports 32 MiB only");

        is_int(pci_config_parse(b, 0x208, &c), 0, "cut inside the capability");
        is_int(c.rebar, ACS_UNREADABLE, "  ReBAR unreadable");
        is_int(pci_config_parse(b, 256, &c), 0, "256 bytes");
        is_int(c.rebar, ACS_UNREADABLE, "  ReBAR unreadable");

        put32(b, 0x208, 0u | 1u << 5 | 44u << 8); /* a reserved size encoding */
        is_int(pci_config_parse(b, 4096, &c), 0, "reserved size encoding");
        is_int(c.n_rebar, 0, "  the entry is dropped");

        put32(b, 0x100, 0x0001 | 2u << 16 | 0u << 20);
        is_int(pci_config_parse(b, 4096, &c), 0, "no ReBAR in the list");
        is_int(c.rebar, ACS_ABSENT, "  ReBAR absent");
}

static void test_config(void) {
        _cleanup_free_ uint8_t *b = NULL;
        PciConfig c;

        b = cfg_new(4096, 0x81, 0x060400);
        cfg_add_caps(b, PCIE_TYPE_ROOT_PORT);
        cfg_add_aer_acs(b, 0x005f, 0x001d);
        b[0x19] = 0x01;
        b[0x1a] = 0x03;

        is_int(pci_config_parse(b, 63, &c), -EBADMSG, "63 bytes: no header");
        is_int(pci_config_parse(NULL, 0, &c), -EBADMSG, "nothing at all");

        /* What a non-root reader gets: 64 bytes. */
        is_int(pci_config_parse(b, 64, &c), 0, "root port, 64 bytes");
        is_int(c.vendor, 0x8086, "  vendor");
        is_int(c.device, 0x1234, "  device");
        is_int(c.class, 0x060400, "  class");
        is_int(c.header_type, 1, "  header type without multifunction bit");
        ok(c.multifunction, "  multifunction");
        is_int(c.secondary_bus, 1, "  secondary bus");
        is_int(c.subordinate_bus, 3, "  subordinate bus");
        is_int(c.pcie_type, PCIE_TYPE_UNKNOWN, "  port type unknown: capabilities not read");
        is_int(c.acs, ACS_UNREADABLE, "  ACS unreadable");

        is_int(pci_config_parse(b, 256, &c), 0, "root port, 256 bytes");
        is_int(c.pcie_type, PCIE_TYPE_ROOT_PORT, "  root port");
        is_int(c.acs, ACS_UNREADABLE, "  ACS unreadable: no extended space");

        is_int(pci_config_parse(b, 4096, &c), 0, "root port, 4096 bytes");
        is_int(c.pcie_type, PCIE_TYPE_ROOT_PORT, "  root port");
        is_int(c.acs, ACS_PRESENT, "  ACS present");
        is_int(c.acs_capability, 0x005f, "  ACS capability");
        is_int(c.acs_control, 0x001d, "  ACS control");
        ok((c.acs_control & PCI_ACS_ISOLATION) == PCI_ACS_ISOLATION, "  ACS isolates");

        is_int(pci_config_parse(b, 0x14e, &c), 0, "ACS header read, control cut off");
        is_int(c.acs, ACS_UNREADABLE, "  ACS unreadable");
        is_int(pci_config_parse(b, 0x150, &c), 0, "read just far enough");
        is_int(c.acs, ACS_PRESENT, "  ACS present");
        is_int(pci_config_parse(b, 0x120, &c), 0, "read up to between the capabilities");
        is_int(c.acs, ACS_UNREADABLE, "  ACS unreadable");

        /* Without ACS: AER is the last extended capability. */
        put32(b, 0x100, 0x0001 | 2u << 16);
        is_int(pci_config_parse(b, 4096, &c), 0, "no ACS");
        is_int(c.acs, ACS_ABSENT, "  ACS absent");
        put32(b, 0x100, 0);
        is_int(pci_config_parse(b, 4096, &c), 0, "no extended capabilities");
        is_int(c.acs, ACS_ABSENT, "  ACS absent");

        /* Loops and pointers into nowhere end the walk, as in the kernel. */
        put32(b, 0x100, 0x0001 | 2u << 16 | 0x100u << 20);
        is_int(pci_config_parse(b, 4096, &c), 0, "extended capability pointing to itself");
        is_int(c.acs, ACS_ABSENT, "  ACS absent");
        put32(b, 0x100, 0x0001 | 2u << 16 | 0x200u << 20);
        put32(b, 0x200, 0x000b | 1u << 16 | 0x100u << 20);
        is_int(pci_config_parse(b, 4096, &c), 0, "two extended capabilities in a loop");
        is_int(c.acs, ACS_ABSENT, "  ACS absent");
        put32(b, 0x100, 0x0001 | 2u << 16 | 0x0fcu << 20);
        is_int(pci_config_parse(b, 4096, &c), 0, "extended pointer below 0x100");
        is_int(c.acs, ACS_ABSENT, "  ACS absent");
        put32(b, 0x100, 0x0001 | 2u << 16 | 0xffcu << 20);
        put32(b, 0xffc, 0x000d | 1u << 16);
        is_int(pci_config_parse(b, 4096, &c), 0, "ACS header in the last dword");
        is_int(c.acs, ACS_ABSENT, "  registers beyond 4 KiB: no usable ACS");
        put32(b, 0x100, 0xffffffff);
        is_int(pci_config_parse(b, 4096, &c), 0, "extended space reading all ones");
        is_int(c.acs, ACS_ABSENT, "  ACS absent");

        /* A buffer larger than config space is read up to 4 KiB. */
        free(b);
        b = cfg_new(8192, 0x00, 0x010802);
        cfg_add_caps(b, PCIE_TYPE_ENDPOINT);
        cfg_add_aer_acs(b, 0x0001, 0x0001);
        is_int(pci_config_parse(b, 8192, &c), 0, "8 KiB buffer");
        is_int(c.pcie_type, PCIE_TYPE_ENDPOINT, "  endpoint");
        ok(!c.multifunction && c.header_type == 0, "  type 0, single function");
        is_int(c.secondary_bus, 0, "  no bus numbers on type 0");
        is_int(c.acs, ACS_PRESENT, "  ACS present");

        /* Standard capability list edge cases. */
        free(b);
        b = cfg_new(256, 0x01, 0x060400);
        cfg_add_caps(b, PCIE_TYPE_PCIE_TO_PCI);
        is_int(pci_config_parse(b, 256, &c), 0, "PCIe-to-PCI bridge");
        is_int(c.pcie_type, PCIE_TYPE_PCIE_TO_PCI, "  PCIe-to-PCI");
        is_int(pci_config_parse(b, 0x62, &c), 0, "PCI Express capability cut before its flags");
        is_int(c.pcie_type, PCIE_TYPE_UNKNOWN, "  unknown");
        is_int(pci_config_parse(b, 0x58, &c), 0, "list leads past the end of the dump");
        is_int(c.pcie_type, PCIE_TYPE_UNKNOWN, "  unknown");
        is_int(c.acs, ACS_UNREADABLE, "  ACS unreadable");
        b[0x51] = 0x40;
        is_int(pci_config_parse(b, 256, &c), 0, "looping capability list");
        is_int(c.pcie_type, PCIE_TYPE_NONE, "  no PCI Express capability, like the kernel");
        is_int(c.acs, ACS_ABSENT, "  ACS absent");
        b[0x51] = 0x50;
        is_int(pci_config_parse(b, 256, &c), 0, "capability pointing to itself");
        is_int(c.pcie_type, PCIE_TYPE_NONE, "  none");
        b[0x51] = 0x20;
        is_int(pci_config_parse(b, 256, &c), 0, "pointer into the header");
        is_int(c.pcie_type, PCIE_TYPE_NONE, "  none");
        b[0x51] = 0x63;
        is_int(pci_config_parse(b, 256, &c), 0, "unaligned pointer (low bits ignored)");
        is_int(c.pcie_type, PCIE_TYPE_PCIE_TO_PCI, "  found");
        b[0x51] = 0xff;
        b[0xfc] = 0x10;
        put16(b, 0xfe, 0x0092);
        is_int(pci_config_parse(b, 256, &c), 0, "PCI Express capability in the last dword");
        is_int(c.pcie_type, PCIE_TYPE_RC_INTEGRATED, "  RC integrated endpoint");
        b[0xfc] = 0xff;
        is_int(pci_config_parse(b, 256, &c), 0, "capability ID 0xff ends the list");
        is_int(c.pcie_type, PCIE_TYPE_NONE, "  none");
        b[0x34] = 0xf0;
        is_int(pci_config_parse(b, 128, &c), 0, "capability pointer beyond 128 bytes read");
        is_int(c.pcie_type, PCIE_TYPE_UNKNOWN, "  unknown");

        /* Conventional PCI: capabilities (PM) but no PCI Express, or no list at all. */
        free(b);
        b = cfg_new(256, 0x00, 0x020000);
        put16(b, 0x06, 0x0010);
        b[0x34] = 0xdc;
        b[0xdc] = 0x01;
        is_int(pci_config_parse(b, 256, &c), 0, "conventional PCI device");
        is_int(c.pcie_type, PCIE_TYPE_NONE, "  conventional");
        is_int(c.acs, ACS_ABSENT, "  ACS absent");
        is_int(pci_config_parse(b, 64, &c), 0, "conventional PCI device, 64 bytes");
        is_int(c.pcie_type, PCIE_TYPE_UNKNOWN, "  unknown");
        is_int(c.acs, ACS_UNREADABLE, "  ACS unreadable");
        put16(b, 0x06, 0x0000);
        is_int(pci_config_parse(b, 64, &c), 0, "no capability list, 64 bytes");
        is_int(c.pcie_type, PCIE_TYPE_NONE, "  conventional: the status bit says so");
        is_int(c.acs, ACS_ABSENT, "  ACS absent");

        /* CardBus bridges keep their capability pointer at 0x14. */
        b[0x0e] = 0x02;
        put16(b, 0x06, 0x0010);
        b[0x34] = 0;
        b[0x14] = 0x80;
        b[0x80] = 0x10;
        put16(b, 0x82, 0x0012);
        is_int(pci_config_parse(b, 256, &c), 0, "CardBus header");
        is_int(c.pcie_type, PCIE_TYPE_LEGACY_ENDPOINT, "  capability found through 0x14");
        b[0x0e] = 0x7f;
        is_int(pci_config_parse(b, 256, &c), 0, "unknown header type");
        is_int(c.pcie_type, PCIE_TYPE_NONE, "  no capability list");

        is_str(pcie_type_to_string(PCIE_TYPE_ROOT_PORT), "root-port", "root-port string");
        is_str(pcie_type_to_string(PCIE_TYPE_NONE), "conventional-pci", "conventional string");
        is_str(pcie_type_to_string(PCIE_TYPE_UNKNOWN), "unknown", "unknown string");
        is_str(pcie_type_to_string((PcieType) 0xb), "reserved", "reserved encoding string");
        is_str(acs_state_to_string(ACS_PRESENT), "present", "ACS state string");
}

/* ---- IOMMU units ---- */

static void test_hex(void) {
        uint64_t v = 0;

        ok(parse_hex_u64("d2008c40660462\n", &v) == 0 && v == 0xd2008c40660462, "cap value with newline");
        ok(parse_hex_u64("0x10", &v) == 0 && v == 0x10, "0x prefix");
        ok(parse_hex_u64("0X1f", &v) == 0 && v == 0x1f, "0X prefix");
        ok(parse_hex_u64("ffffffffffffffff", &v) == 0 && v == UINT64_MAX, "64 bits");
        ok(parse_hex_u64("00000000000000000001", &v) == 0 && v == 1, "leading zeros");
        is_int(parse_hex_u64("10000000000000000", &v), -ERANGE, "65 bits");
        is_int(parse_hex_u64("", &v), -EINVAL, "empty");
        is_int(parse_hex_u64("\n", &v), -EINVAL, "newline only");
        is_int(parse_hex_u64("0x", &v), -EINVAL, "prefix only");
        is_int(parse_hex_u64(" 12", &v), -EINVAL, "leading blank");
        is_int(parse_hex_u64("12 ", &v), -EINVAL, "trailing blank");
        is_int(parse_hex_u64("-1", &v), -EINVAL, "sign");
        is_int(parse_hex_u64("12\n\n", &v), -EINVAL, "two newlines");
        is_int(parse_hex_u64("1g", &v), -EINVAL, "not hex");
}

static void test_intel(void) {
        IntelIommuCaps c = {};

        /* A server unit (DOMAIN.md) and a client unit with caching mode, as QEMU's vIOMMU also reports. */
        is_int(intel_iommu_parse_caps("d2008c40660462\n", "f050da\n", &c), 0, "cap d2008c40660462");
        is_int(c.mgaw, 39, "  MGAW 39");
        is_int(c.sagaw, 0x4, "  SAGAW 48-bit");
        ok(!c.caching_mode, "  no caching mode");
        ok(c.interrupt_remapping, "  interrupt remapping");

        is_int(intel_iommu_parse_caps("d2008c22260286", "f00f4a", &c), 0, "cap d2008c22260286");
        is_int(c.mgaw, 39, "  MGAW 39");
        is_int(c.sagaw, 0x2, "  SAGAW 39-bit");
        ok(c.caching_mode, "  caching mode");
        ok(c.interrupt_remapping, "  interrupt remapping");

        is_int(intel_iommu_parse_caps("d2f8c06f0462", "f00f52", &c), 0, "48-bit unit, no IR");
        is_int(c.mgaw, 48, "  MGAW 48");
        ok(!c.interrupt_remapping, "  ecap bit 3 clear");

        is_int(intel_iommu_parse_caps("xyz", "f00f4a", &c), -EINVAL, "bad cap");
        is_int(intel_iommu_parse_caps("d2008c22260286", "", &c), -EINVAL, "empty ecap");
        is_int(intel_iommu_parse_caps("d2008c22260286", NULL, &c), -EINVAL, "missing ecap");
}

static void test_amd(void) {
        AmdIommuCaps c = {};

        /* A Zen 2 EFR: HATS = 2. */
        is_int(amd_iommu_parse_features("58f77ef22294a5a\n", &c), 0, "EFR only");
        is_u64(c.efr, 0x58f77ef22294a5a, "  EFR");
        ok(!c.has_efr2, "  no EFR2");
        is_int(c.hats, 2, "  HATS 2");
        is_int(c.address_width, 64, "  64 bits");

        is_int(amd_iommu_parse_features("0:58f77ef22294a5a", &c), 0, "EFR2:EFR with EFR2 zero");
        is_u64(c.efr, 0x58f77ef22294a5a, "  EFR");
        ok(c.has_efr2 && c.efr2 == 0, "  EFR2 zero");
        is_int(amd_iommu_parse_features("58f77ef22294a5a:0\n", &c), 0, "EFR:EFR2 with EFR2 zero");
        is_u64(c.efr, 0x58f77ef22294a5a, "  EFR");

        is_int(amd_iommu_parse_features("246577efa2254afa:2", &c), -ENOTUNIQ, "two non-zero halves");
        ok(amd_iommu_parse_features("400:400", &c) == 0 && c.efr == 0x400 && c.hats == 1,
           "two equal halves: the order does not matter");
        is_int(amd_iommu_parse_features_order("2:246577efa2254afa", AMD_FEATURES_EFR2_FIRST, &c), 0,
               "EFR2:EFR, explicit order");
        is_u64(c.efr, 0x246577efa2254afa, "  EFR");
        is_u64(c.efr2, 2, "  EFR2");
        is_int(c.hats, 2, "  HATS 2");
        is_int(amd_iommu_parse_features_order("246577efa2254afa:2", AMD_FEATURES_EFR_FIRST, &c), 0,
               "EFR:EFR2, explicit order");
        is_u64(c.efr, 0x246577efa2254afa, "  EFR");
        is_u64(c.efr2, 2, "  EFR2");

        ok(amd_iommu_parse_features("0", &c) == 0 && c.hats == 0 && c.address_width == 48,
           "HATS 0: 48 bits");
        ok(amd_iommu_parse_features("400", &c) == 0 && c.hats == 1 && c.address_width == 57,
           "HATS 1: 57 bits");
        ok(amd_iommu_parse_features("c00", &c) == 0 && c.hats == 3 && c.address_width == -1,
           "HATS 3: reserved");

        static const char *const bad[] = {
                "", "\n", ":", "1:", ":1", "1:2:3", "xyz", "1 :2", "1: 2", "1:2 ", "1;2",
                "10000000000000000",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ok(amd_iommu_parse_features(bad[i], &c) < 0, "bad features \"%s\"", escaped(bad[i]));
        is_int(amd_iommu_parse_features_order("1:2", (AmdFeaturesOrder) 7, &c), -EINVAL, "bad order");
}

/* ---- /proc/iomem ---- */

static const char iomem_root[] =
        "00000000-00000fff : Reserved\n"
        "00001000-0009ffff : System RAM\n"
        "000a0000-000fffff : Reserved\n"
        "  000a0000-000bffff : PCI Bus 0000:00\n"
        "  000f0000-000fffff : System ROM\n"
        "00100000-5a2fefff : System RAM\n"
        "e0000000-efffffff : PCI MMCONFIG 0000 [bus 00-ff]\n"
        "  e0000000-efffffff : Reserved\n"
        "fb000000-fc0fffff : PCI Bus 0000:00\n"
        "  fb600000-fb6fffff : PCI Bus 0000:02\n"
        "    fb600000-fb603fff : 0000:02:00.0\n"
        "      fb600000-fb603fff : nvme\n"
        "fec00000-fec003ff : IOAPIC 0\n"
        "fee00000-fee00fff : Local APIC\n"
        "100000000-87fffffff : System RAM\n"
        "  5a0000000-5a1002fff : Kernel code\n"
        "6000000000-60201fffff : PCI Bus 0000:00\n"
        "fffffffffff00000-ffffffffffffffff : Reserved\n";

static const char iomem_user[] =
        "00000000-00000000 : Reserved\n"
        "00000000-00000000 : System RAM\n"
        "00000000-00000000 : PCI Bus 0000:00\n"
        "  00000000-00000000 : 0000:02:00.0\n";

static void test_iomem(void) {
        _cleanup_free_ char *buf = unterminated(iomem_root, strlen(iomem_root));
        IomemEntry *e = NULL;
        size_t n = 0, bad = 99;
        bool zeroed = true;

        is_int(iomem_parse(buf, strlen(iomem_root), &e, &n, &bad, &zeroed), 0, "iomem as root");
        is_int(n, 18, "  18 entries");
        is_int(bad, 0, "  no bad lines");
        ok(!zeroed, "  not zeroed");
        if (n == 18) {
                is_str(e[3].name, "PCI Bus 0000:00", "  window name with blanks and colon");
                is_int(e[3].depth, 1, "  depth 1");
                is_str(e[6].name, "PCI MMCONFIG 0000 [bus 00-ff]", "  name with brackets");
                is_str(e[10].name, "0000:02:00.0", "  BAR name");
                is_int(e[10].depth, 2, "  depth 2");
                is_int(e[11].depth, 3, "  depth 3");
                is_u64(e[14].start, 0x100000000, "  nine digits");
                is_u64(e[14].end, 0x87fffffff, "  nine digits end");
                is_u64(e[17].end, UINT64_MAX, "  sixteen digits");
        }
        iomem_free(e, n);

        is_int(iomem_parse(iomem_user, strlen(iomem_user), &e, &n, &bad, &zeroed), 0, "iomem as a user");
        is_int(n, 4, "  4 entries");
        ok(zeroed, "  zeroed");
        iomem_free(e, n);

        static const char mixed[] =
                "00000000-00000fff : Reserved\n"
                " 00001000-0009ffff : odd indentation\n"
                "00001000-0009ffff: no blank before the colon\n"
                "00001000-0009ffff :\n"
                "0009ffff-00001000 : start after end\n"
                "    000a0000-000bffff : two levels down\n"
                "10000000000000000-10000000000000000 : 65 bits\n"
                "\n"
                "garbage\n"
                "00100000-5a2fefff : System RAM\n"
                "  00100000-00ffffff : Kernel\0code\n"
                "  00100000-00ffffff : Kernel data\n"
                "00000000-00000000 : cut off";
        is_int(iomem_parse(mixed, sizeof(mixed) - 1, &e, &n, &bad, &zeroed), 0, "bad lines are skipped");
        is_int(n, 3, "  3 good entries");
        is_int(bad, 10, "  10 bad lines");
        ok(!zeroed, "  not zeroed");
        if (n == 3)
                is_str(e[2].name, "Kernel data", "  child of a good line kept");
        iomem_free(e, n);

        is_int(iomem_parse("00000000-00000fff : \n", 21, &e, &n, NULL, NULL), 0, "empty name");
        ok(n == 1 && streq(e[0].name, ""), "  kept, empty");
        iomem_free(e, n);

        is_int(iomem_parse("", 0, &e, &n, &bad, &zeroed), 0, "empty file");
        ok(n == 0 && bad == 0 && !zeroed, "  nothing, not zeroed");
        iomem_free(e, n);

        /* Only len bytes count. */
        is_int(iomem_parse(iomem_root, 29, &e, &n, &bad, &zeroed), 0, "first line of a longer buffer");
        ok(n == 1 && bad == 0 && streq(e[0].name, "Reserved"), "  one entry");
        iomem_free(e, n);
}

/* ---- /proc/cpuinfo ---- */

static void test_cpuinfo(void) {
        static const char intel[] =
                "processor\t: 0\n"
                "vendor_id\t: GenuineIntel\n"
                "cpu family\t: 6\n"
                "model\t\t: 85\n"
                "model name\t: Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz\n"
                "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr\n"
                "address sizes\t: 46 bits physical, 48 bits virtual\n"
                "\n"
                "processor\t: 1\n"
                "vendor_id\t: GenuineIntel\n";
        static const char amd[] =
                "processor\t: 0\n"
                "vendor_id\t: AuthenticAMD\n"
                "cpu family\t: 25\n";
        static const char arm64[] =
                "processor\t: 0\n"
                "BogoMIPS\t: 50.00\n"
                "Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics cpuid\n"
                "CPU implementer\t: 0x41\n"
                "CPU architecture: 8\n"
                "CPU variant\t: 0x3\n"
                "CPU part\t: 0xd0c\n"
                "CPU revision\t: 1\n";
        static const char power[] =
                "processor\t: 0\n"
                "cpu\t\t: POWER9 (raw), altivec supported\n";
        _cleanup_free_ char *buf = unterminated(intel, strlen(intel));
        char *v = NULL;

        is_int(cpuinfo_parse_vendor(buf, strlen(intel), &v), 0, "x86 Intel");
        is_str(v, "GenuineIntel", "  GenuineIntel");
        free(v);
        v = NULL;
        is_int(cpuinfo_parse_vendor(amd, strlen(amd), &v), 0, "x86 AMD");
        is_str(v, "AuthenticAMD", "  AuthenticAMD");
        free(v);
        v = NULL;
        is_int(cpuinfo_parse_vendor(arm64, strlen(arm64), &v), 0, "arm64");
        is_str(v, "ARM", "  ARM");
        free(v);
        v = NULL;
        is_int(cpuinfo_parse_vendor(power, strlen(power), &v), -ENOENT, "POWER: no vendor");
        is_int(cpuinfo_parse_vendor("", 0, &v), -ENOENT, "empty");
        is_int(cpuinfo_parse_vendor("vendor_id\t:\n", 12, &v), -EBADMSG, "empty vendor");
        is_int(cpuinfo_parse_vendor("vendor_id\t: Genu\x01ne\n", 20, &v), -EBADMSG, "control character");
        is_int(cpuinfo_parse_vendor("vendor_id_x\t: GenuineIntel\n", 27, &v), -ENOENT, "other key");
        is_int(cpuinfo_parse_vendor("vendor_id\t: GenuineIntel", 19, &v), 0, "len cuts the value");
        is_str(v, "Genuine", "  only len bytes");
        free(v);
        v = NULL;
        is_int(cpuinfo_parse_vendor("vendor_id : GenuineIntel \r\n", 27, &v), 0, "blanks and CR");
        is_str(v, "GenuineIntel", "  trimmed");
        free(v);
}

/* ---- PCI addresses ---- */

static void test_pci_address(void) {
        static const char *const bad[] = {
                "", "0000:00:20.0", "0000:00:1f.8", "000:00:00.0", "000000:00:00.0", "0000:0:00.0",
                "0000:000:00.0", "0000:00:00.00", "0000:00:00.0\n", "0000:00:00", "0000:00:00.",
                "0000:00:00.0 ",
                " 0000:00:00.0", "0000-00-00.0", "g000:00:00.0", "0000:00.00.0", "00:1f.0", "+000:00:00.0",
        };
        char buf[PCI_ADDRESS_MAX];
        PciAddress a, b;

        is_int(pci_address_parse("0000:00:1f.7", &a), 0, "0000:00:1f.7");
        ok(a.domain == 0 && a.bus == 0 && a.slot == 0x1f && a.function == 7, "  fields");
        is_int(pci_address_parse("0000:0A:1F.3", &a), 0, "uppercase");
        pci_address_format(&a, buf);
        is_str(buf, "0000:0a:1f.3", "  formatted lowercase");
        is_int(pci_address_parse("10000:e1:00.0", &a), 0, "VMD domain");
        is_int(a.domain, 0x10000, "  domain 0x10000");
        pci_address_format(&a, buf);
        is_str(buf, "10000:e1:00.0", "  formatted");
        a = (PciAddress) { .domain = 0xffffffff, .bus = 0xff, .slot = 0xff, .function = 0xff };
        pci_address_format(&a, buf);
        ok(strlen(buf) < PCI_ADDRESS_MAX, "impossible address stays in the buffer");

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                is_int(pci_address_parse(bad[i], &a), -EINVAL, escaped(bad[i]));
                ok(!pci_address_is_valid(bad[i]), "  not valid");
        }
        is_int(pci_address_parse(NULL, &a), -EINVAL, "NULL");
        ok(pci_address_is_valid("0000:65:00.1"), "valid");

        is_int(pci_address_parse_user("01:00.1", &a), 0, "user form: lspci's short bb:ss.f");
        ok(a.domain == 0 && a.bus == 1 && a.slot == 0 && a.function == 1, "  domain 0000");
        is_int(pci_address_parse_user("0001:01:00.1", &a), 0, "user form: full address");
        is_int(a.domain, 1, "  domain kept");
        is_int(pci_address_parse_user("00:01:00.0", &a), -EINVAL, "user form: two colons is not short");
        is_int(pci_address_parse_user("01:00.0000000000000000", &a), -EINVAL, "user form: too long");
        is_int(pci_address_parse_user("1f.0", &a), -EINVAL, "user form: no bus");
        is_int(pci_address_parse_user(NULL, &a), -EINVAL, "user form: NULL");

        (void) pci_address_parse("0000:00:1f.0", &a);
        (void) pci_address_parse("0000:00:1f.3", &b);
        ok(pci_address_compare(&a, &b) < 0 && pci_address_compare(&b, &a) > 0, "function order");
        (void) pci_address_parse("0000:01:00.0", &b);
        ok(pci_address_compare(&a, &b) < 0, "bus before slot");
        (void) pci_address_parse("10000:00:00.0", &b);
        ok(pci_address_compare(&a, &b) < 0, "domain first");
        ok(pci_address_compare(&a, &a) == 0, "equal");
}

/* ---- /proc/PID/comm ---- */

static void test_proc_comm(void) {
        static const char max[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n";
        _cleanup_free_ char *buf = unterminated("qemu-system-x86\n", 16);
        char c[PROC_COMM_MAX];

        is_int(proc_comm_parse(buf, 16, c), 0, "comm: QEMU's, unterminated");
        is_str(c, "qemu-system-x86", "  without its newline");
        is_int(proc_comm_parse("vfiomapd", 8, c), 0, "comm: no newline");
        is_str(c, "vfiomapd", "  as it is");
        is_int(proc_comm_parse(max, strlen(max), c), 0, "comm: 64 bytes, a kernel thread's longest");
        is_int(strlen(c), 64, "  all of them");
        is_int(proc_comm_parse("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdefX\n", 66, c),
               -EBADMSG, "comm: 65 bytes is no comm");
        is_int(proc_comm_parse("", 0, c), -EBADMSG, "comm: empty");
        is_int(proc_comm_parse("\n", 1, c), -EBADMSG, "comm: only a newline");
        is_int(proc_comm_parse(NULL, 0, c), -EBADMSG, "comm: NULL, no bytes");
        is_int(proc_comm_parse(NULL, 3, c), -EINVAL, "comm: NULL with a length");
        /* prctl(PR_SET_NAME) takes any byte but NUL: an escape sequence, a newline, invalid UTF-8. */
        is_int(proc_comm_parse("\x1b[2Jx\ny\xff\xc3\n", 10, c), 0, "comm: hostile bytes");
        is_str(c, "?[2Jx?y??", "  replaced by '?', the last newline dropped");
        is_int(proc_comm_parse("a\n\n", 3, c), 0, "comm: one newline is dropped, not two");
        is_str(c, "a?", "  the other is shown");
}

int main(void) {
        test_resv_type();
        test_resv_lines();
        test_resource();
        test_config();
        test_config_rebar();
        test_hex();
        test_intel();
        test_amd();
        test_iomem();
        test_cpuinfo();
        test_proc_comm();
        test_pci_address();
        return tap_done();
}
