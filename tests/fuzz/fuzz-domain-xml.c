/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vmspec_parse_domain_xml() on arbitrary bytes: the input of the libvirt hook and of the bus method, so
 * anyone able to define a domain reaches it. */

#include "fuzz-vmspec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        VmSpec *s = NULL;
        char *error = NULL;
        int r;

        r = vmspec_parse_domain_xml((const char *) data, size, &s, &error);
        fuzz_check_spec(r, s, error);
        return 0;
}
