/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* pci_address_parse(), _format(), _is_valid() and _compare() on two addresses, one per line. */

#include "fuzz.h"
#include "sysfs-parse.h"

static bool check_one(const char *s, PciAddress *ret) {
        char buf[PCI_ADDRESS_MAX];
        PciAddress again;
        int k;

        k = pci_address_parse(s, ret);
        FUZZ_CHECK(pci_address_is_valid(s) == (k == 0));
        if (k < 0) {
                FUZZ_CHECK(k == -EINVAL);
                return false;
        }
        FUZZ_CHECK(ret->slot <= 0x1f && ret->function <= 7 && ret->domain <= 0xfffff);

        /* Formatting and parsing again gives the same address. */
        pci_address_format(ret, buf);
        FUZZ_CHECK(strlen(buf) < PCI_ADDRESS_MAX);
        FUZZ_CHECK(pci_address_parse(buf, &again) == 0);
        FUZZ_CHECK(pci_address_compare(ret, &again) == 0);
        return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = fuzz_strndup(data, size), *second = strchr(s, '\n');
        PciAddress a, b;
        bool ok_a, ok_b;

        if (second)
                *second++ = 0;
        ok_a = check_one(s, &a);
        ok_b = second && check_one(second, &b);
        if (ok_a && ok_b) {
                int c = pci_address_compare(&a, &b);

                FUZZ_CHECK(c >= -1 && c <= 1);
                FUZZ_CHECK(pci_address_compare(&b, &a) == -c);
                FUZZ_CHECK((c == 0) == (a.domain == b.domain && a.bus == b.bus && a.slot == b.slot &&
                                        a.function == b.function));
        }
        free(s);
        return 0;
}
