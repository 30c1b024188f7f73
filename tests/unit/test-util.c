/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tap.h"
#include "siphash.h"
#include "util.h"

static void test_format(void) {
        char b[ADDR_STRLEN], s[SIZE_STRLEN];

        is_str(format_addr(b, 0), "0x0", "format_addr 0");
        is_str(format_addr(b, UINT64_MAX), "0xffffffffffffffff", "format_addr max");
        is_str(format_size(s, 17), "17 B", "format_size bytes");
        is_str(format_size(s, 1024), "1 KiB", "format_size KiB");
        is_str(format_size(s, UINT64_C(3) << 29), "1.5 GiB", "format_size 1.5 GiB");
        is_str(format_size(s, UINT64_MAX), "15.9 EiB", "format_size max");
}

static void test_parse(void) {
        uint64_t v = 0;
        int i = 0;

        ok(safe_atou64_base("0x10", 0, &v) == 0 && v == 16, "safe_atou64_base hex");
        ok(safe_atou64_base("", 0, &v) == -EINVAL, "safe_atou64_base empty");
        ok(safe_atou64_base("-1", 0, &v) == -EINVAL, "safe_atou64_base negative");
        ok(safe_atou64_base("12x", 10, &v) == -EINVAL, "safe_atou64_base trailing garbage");
        ok(safe_atou64_base("0x1ffffffffffffffff", 0, &v) == -ERANGE, "safe_atou64_base overflow");
        ok(safe_atoi("-3", &i) == 0 && i == -3, "safe_atoi negative");
        ok(safe_atoi("3 ", &i) == -EINVAL, "safe_atoi trailing space");
        ok(safe_atoi("99999999999", &i) == -ERANGE, "safe_atoi range");
}

static void test_path_join(void) {
        char b[8];

        ok(path_join(b, sizeof(b), "sys", "bus") == 0, "path_join");
        is_str(b, "sys/bus", "path_join: joined with one slash");
        ok(path_join(b, sizeof(b), "", "sys") == 0, "path_join: empty root");
        is_str(b, "/sys", "path_join: empty root gives an absolute path");
        is_int(path_join(b, sizeof(b), "sys", "buss"), -ENAMETOOLONG, "path_join: one byte too long");
}

/* The reference vectors of the SipHash paper (key 00..0f, message 00..len-1). */
static void test_siphash(void) {
        static const uint64_t want[] = {
                [0] = UINT64_C(0x726fdb47dd0e0e31),
                [1] = UINT64_C(0x74f839c593dc67fd),
                [7] = UINT64_C(0xab0200f58b01d137),
                [8] = UINT64_C(0x93f5f5799a932462),
                [15] = UINT64_C(0xa129ca6149be45e5),
        };
        uint8_t key[SIPHASH_KEY_SIZE], msg[16];

        for (unsigned i = 0; i < sizeof(key); i++)
                key[i] = (uint8_t) i;
        for (unsigned i = 0; i < sizeof(msg); i++)
                msg[i] = (uint8_t) i;
        for (size_t len = 0; len < ELEMENTSOF(want); len++)
                if (want[len])
                        ok(siphash24(msg, len, key) == want[len], "siphash24: reference vector, %zu bytes", len);
        ok(siphash24("a", 1, key) != siphash24("b", 1, key), "siphash24: different input, different hash");
}

static void test_strv(void) {
        _cleanup_strv_free_ char **l = NULL;

        ok(strv_extend(&l, "b") == 0 && strv_extend(&l, "a") == 0, "strv_extend");
        ok(strv_extendf(&l, "%s%d", "c", 1) == 0, "strv_extendf");
        strv_sort(l);
        is_str(l[0], "a", "strv_sort first");
        is_str(l[2], "c1", "strv_sort last");
        is_int(strv_length(l), 3, "strv_length");
        ok(strv_contains(l, "b") && !strv_contains(l, "z"), "strv_contains");
        ok(startswith("pcieport", "pcie") && !startswith("pci", "pcie"), "startswith");
        ok(endswith("vfio-pci", "-pci") && !endswith("pci", "vfio-pci"), "endswith");
}

int main(void) {
        test_format();
        test_parse();
        test_path_join();
        test_siphash();
        test_strv();
        return tap_done();
}
