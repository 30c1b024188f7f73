/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The reset parsers of libvfiomap/reset.c: the same bytes as a sysfs reset_method file and as a config
 * space dump. */

#include "fuzz.h"
#include "reset.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char **l = NULL;
        ResetCaps c, c2;
        int k;

        k = reset_method_parse((const char *) data, size, &l);
        FUZZ_CHECK(k == 0 || k == -EBADMSG);
        if (k == 0) {
                FUZZ_CHECK(l);
                FUZZ_CHECK(strv_length(l) <= RESET_METHODS_MAX);
                STRV_FOREACH(m, l) {
                        FUZZ_CHECK(**m && strlen(*m) < RESET_METHOD_NAME_MAX);
                        FUZZ_CHECK(strspn(*m, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(*m));
                }
                strv_free(l);
        }

        k = pci_config_reset_parse(data, size, &c);
        if (size < 64) {
                FUZZ_CHECK(k == -EBADMSG);
                return 0;
        }
        FUZZ_CHECK(k == 0);
        FUZZ_CHECK(!c.flr || c.pcie);
        FUZZ_CHECK(!c.af_flr || c.af);
        FUZZ_CHECK(!c.pm_no_soft_reset || c.pm);
        /* capabilities start below 256 bytes, their registers end by 0xfc + 8: once those are read nothing
         * is unknown, and nothing beyond matters */
        if (size >= 0xfc + 8)
                FUZZ_CHECK(c.read);
        if (size > 0xfc + 8) {
                FUZZ_CHECK(pci_config_reset_parse(data, 0xfc + 8, &c2) == 0);
                FUZZ_CHECK(reset_caps_equal(&c, &c2));
        }
        return 0;
}
