/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* pci_ids_lookup() on any text, asked for a few fixed ids and for ids taken from the input itself (so the
 * fuzzer reaches the lines that match): names are printable UTF-8 no longer than PCI_IDS_NAME_MAX, a
 * device name never comes without its vendor's line having been seen, and a second run agrees. */

#include <errno.h>
#include <stdbool.h>

#include "fuzz.h"
#include "pci-ids.h"

static bool printable_utf8(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        PciIdsName names[6] = {
                { 0x8086, 0x4680 }, { 0x10de, 0x2206 }, { 0x10de, 0x2206 }, { 0xffff, 0xffff }, {}, {},
        }, again[6];
        int k, k2;

        /* Ids from the first bytes, as a line might spell them. */
        if (size >= 4) {
                names[4].vendor = (uint16_t) (data[0] << 8 | data[1]);
                names[4].device = (uint16_t) (data[2] << 8 | data[3]);
        }
        names[5] = (PciIdsName) { names[4].vendor, 0 };
        memcpy(again, names, sizeof(names));

        k = pci_ids_lookup((const char *) data, size, names, 6);
        FUZZ_CHECK(k >= 0 || k == -ENOMEM);
        for (size_t i = 0; i < 6; i++) {
                if (names[i].vendor_name) {
                        FUZZ_CHECK(strlen(names[i].vendor_name) <= PCI_IDS_NAME_MAX);
                        FUZZ_CHECK(printable_utf8(names[i].vendor_name));
                }
                if (names[i].device_name) {
                        FUZZ_CHECK(strlen(names[i].device_name) <= PCI_IDS_NAME_MAX);
                        FUZZ_CHECK(printable_utf8(names[i].device_name));
                        /* A device line counts only below its vendor's line. */
                        FUZZ_CHECK(names[i].vendor_name);
                }
        }
        /* Asked twice, the same id gets the same names. */
        FUZZ_CHECK(!names[1].vendor_name == !names[2].vendor_name);
        FUZZ_CHECK(!names[1].vendor_name || strcmp(names[1].vendor_name, names[2].vendor_name) == 0);
        FUZZ_CHECK(!names[1].device_name == !names[2].device_name);

        k2 = pci_ids_lookup((const char *) data, size, again, 6);
        FUZZ_CHECK(k2 == k);
        for (size_t i = 0; i < 6; i++) {
                FUZZ_CHECK(!names[i].vendor_name == !again[i].vendor_name);
                FUZZ_CHECK(!names[i].vendor_name || strcmp(names[i].vendor_name, again[i].vendor_name) == 0);
                FUZZ_CHECK(!names[i].device_name == !again[i].device_name);
        }
        pci_ids_names_done(names, 6);
        pci_ids_names_done(again, 6);
        return 0;
}
