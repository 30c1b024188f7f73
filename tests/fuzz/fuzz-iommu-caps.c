/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The IOMMU unit attributes: the first two lines as Intel cap and ecap, the whole input as AMD features
 * (in every order) and as a plain hex value. */

#include "fuzz.h"
#include "sysfs-parse.h"

static void check_amd(const char *s) {
        static const int widths[4] = { 48, 57, 64, -1 };
        AmdIommuCaps a, e2f, ef;
        int k, k2, k3;

        k = amd_iommu_parse_features(s, &a);
        k2 = amd_iommu_parse_features_order(s, AMD_FEATURES_EFR2_FIRST, &e2f);
        k3 = amd_iommu_parse_features_order(s, AMD_FEATURES_EFR_FIRST, &ef);
        /* The order decides which half is which, never whether the text parses. */
        FUZZ_CHECK((k2 < 0) == (k3 < 0));
        if (k2 < 0) {
                FUZZ_CHECK(k < 0);
                return;
        }
        FUZZ_CHECK(e2f.hats <= 3 && ef.hats <= 3);
        FUZZ_CHECK(e2f.address_width == widths[e2f.hats] && ef.address_width == widths[ef.hats]);
        if (k == -ENOTUNIQ)
                FUZZ_CHECK(e2f.efr != 0 && ef.efr != 0 && e2f.efr != ef.efr);
        else {
                FUZZ_CHECK(k == 0);
                /* What AUTO decided agrees with one of the orders. */
                FUZZ_CHECK(a.efr == e2f.efr || a.efr == ef.efr);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = fuzz_strndup(data, size), *nl, *cap, *ecap;
        IntelIommuCaps ic;
        uint64_t v;

        check_amd(s);
        if (parse_hex_u64(s, &v) == 0)
                FUZZ_CHECK(size > 0);

        /* cap and ecap as the loader reads them: one line each, without the newline. */
        cap = s;
        nl = strchr(cap, '\n');
        ecap = nl ? nl + 1 : cap + strlen(cap);
        if (nl)
                *nl = 0;
        nl = strchr(ecap, '\n');
        if (nl)
                *nl = 0;
        if (intel_iommu_parse_caps(cap, ecap, &ic) == 0) {
                FUZZ_CHECK(ic.mgaw >= 1 && ic.mgaw <= 64);
                FUZZ_CHECK(ic.sagaw <= 0x1f);
        }

        free(s);
        return 0;
}
