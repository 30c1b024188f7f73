/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* resv_region_parse_line() on every line of a reserved_regions file, the way the host loader feeds it. */

#include <inttypes.h>

#include "fuzz.h"
#include "sysfs-parse.h"

static void check_line(const char *line) {
        char again[128];
        ResvRegion r, r2;
        int k;

        k = resv_region_parse_line(line, &r);
        if (k < 0) {
                FUZZ_CHECK(k == -EINVAL);
                return;
        }
        FUZZ_CHECK(r.start <= r.end);
        FUZZ_CHECK(resv_type_to_string(r.type));
        FUZZ_CHECK(resv_type_from_string(resv_type_to_string(r.type)) == r.type);

        /* What was accepted prints back, kernel style, to the same region. */
        (void) snprintf(again, sizeof(again), "0x%016" PRIx64 " 0x%016" PRIx64 " %s\n", r.start, r.end,
                        resv_type_to_string(r.type));
        FUZZ_CHECK(resv_region_parse_line(again, &r2) == 0);
        FUZZ_CHECK(r2.start == r.start && r2.end == r.end && r2.type == r.type);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *p = (const char *) data, *end = p + size;

        while (p < end) {
                const char *eol = memchr(p, '\n', end - p);
                size_t l = eol ? (size_t) (eol - p) + 1 : (size_t) (end - p);
                char *line = fuzz_strndup(p, l);

                check_line(line);
                /* The loader strips the newline; the kernel's own text has it. */
                if (l > 0 && line[l - 1] == '\n') {
                        line[l - 1] = 0;
                        check_line(line);
                }
                free(line);
                p += l;
        }
        return 0;
}
