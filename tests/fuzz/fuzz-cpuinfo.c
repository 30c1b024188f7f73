/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* cpuinfo_parse_vendor() on a whole /proc/cpuinfo. */

#include "fuzz.h"
#include "sysfs-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *vendor = NULL;
        int k;

        k = cpuinfo_parse_vendor((const char *) data, size, &vendor);
        if (k < 0) {
                FUZZ_CHECK(k == -ENOENT || k == -EBADMSG || k == -ENOMEM);
                FUZZ_CHECK(!vendor);
                return 0;
        }
        FUZZ_CHECK(vendor && vendor[0]);
        for (const char *c = vendor; *c; c++)
                FUZZ_CHECK(*c >= 0x20 && *c < 0x7f && *c != '\n');
        FUZZ_CHECK(strlen(vendor) <= size);
        free(vendor);
        return 0;
}
