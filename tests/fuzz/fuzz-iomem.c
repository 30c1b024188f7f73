/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* iomem_parse() on a whole /proc/iomem. */

#include "fuzz.h"
#include "sysfs-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        IomemEntry *e = NULL;
        size_t n = 0, n_bad = 0, lines = 0;
        bool zeroed = false, all_zero = true;
        int k;

        k = iomem_parse((const char *) data, size, &e, &n, &n_bad, &zeroed);
        if (k == -ENOMEM)
                return 0;
        FUZZ_CHECK(k == 0);

        for (size_t i = 0; i < size; i++)
                if (data[i] == '\n')
                        lines++;
        if (size > 0 && data[size - 1] != '\n')
                lines++;
        FUZZ_CHECK(n + n_bad == lines);

        for (size_t i = 0; i < n; i++) {
                FUZZ_CHECK(e[i].start <= e[i].end);
                FUZZ_CHECK(e[i].name);
                FUZZ_CHECK(!strchr(e[i].name, '\n'));
                FUZZ_CHECK(e[i].depth <= (i == 0 ? 0 : e[i - 1].depth + 1));
                if (e[i].start != 0 || e[i].end != 0)
                        all_zero = false;
        }
        FUZZ_CHECK(zeroed == (n > 0 && all_zero));

        iomem_free(e, n);
        return 0;
}
