/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* resource_parse() and resource_bridge_window_base() on a whole sysfs resource file. */

#include <inttypes.h>

#include "fuzz.h"
#include "sysfs-parse.h"

static void check(const uint8_t *data, size_t size, size_t max) {
        ResourceLine lines[PCI_RESOURCE_LINES_MAX], again[PCI_RESOURCE_LINES_MAX];
        char text[PCI_RESOURCE_LINES_MAX * 64];
        size_t n = SIZE_MAX, n2 = SIZE_MAX, len = 0;
        int k, base;

        k = resource_parse((const char *) data, size, lines, max, &n);
        FUZZ_CHECK(k == 0 || k == -EBADMSG || k == -E2BIG || k == -ENODATA);
        FUZZ_CHECK(n <= max);
        FUZZ_CHECK(k != -ENODATA || size == 0);

        base = resource_bridge_window_base(lines, n);
        FUZZ_CHECK(base == -ENOENT || base == 7 || base == 13);
        if (base >= 0)
                FUZZ_CHECK((size_t) base + 2 < n);

        /* The lines kept print back, kernel style, to the same values. */
        for (size_t i = 0; i < n; i++) {
                const ResourceLine *l = lines + i;

                len += (size_t) snprintf(text + len, sizeof(text) - len,
                                         "0x%016" PRIx64 " 0x%016" PRIx64 " 0x%016" PRIx64 "\n", l->start,
                                         l->end, l->flags);
        }
        k = resource_parse(text, len, again, PCI_RESOURCE_LINES_MAX, &n2);
        FUZZ_CHECK(n == 0 ? k == -ENODATA : k == 0);
        FUZZ_CHECK(n2 == n);
        FUZZ_CHECK(memcmp(lines, again, n * sizeof(ResourceLine)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        check(data, size, PCI_RESOURCE_LINES_MAX);
        check(data, size, 3);
        return 0;
}
