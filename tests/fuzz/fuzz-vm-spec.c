/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vmspec_parse() on arbitrary bytes: format detection, then the JSON spec of proto/vm-spec.md (or the domain
 * XML when the input starts with '<'). */

#include "fuzz-vmspec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        VmSpec *s = NULL;
        char *error = NULL;
        int r;

        r = vmspec_parse((const char *) data, size, &s, &error);
        fuzz_check_spec(r, s, error);
        return 0;
}
