/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vfio_cdev_name_parse() and iommufd_attr_parse() on any bytes: the names of sysfs vfio-dev/ and the yes/no
 * of libvirt's iommufd attributes. */

#include <stdio.h>

#include "fuzz.h"
#include "iommufd.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = fuzz_strndup(data, size), *error = NULL, back[32];
        int v = -1, k;

        k = vfio_cdev_name_parse(s, &v);
        FUZZ_CHECK(k == 0 || k == -EINVAL);
        if (k == 0) {
                /* a name accepted is exactly "vfio%d" of its number */
                FUZZ_CHECK(v >= 0);
                (void) snprintf(back, sizeof(back), "vfio%d", v);
                FUZZ_CHECK(streq(back, s));
        }
        k = iommufd_attr_parse(s, "<iommufd enabled=>", &v, &error);
        FUZZ_CHECK(k == 0 || k == -EINVAL);
        FUZZ_CHECK(k < 0 ? error != NULL : (v == 0 || v == 1) && !error);
        if (k == 0)
                FUZZ_CHECK(streq(s, v ? "yes" : "no"));
        free(error);
        free(s);
        return 0;
}
