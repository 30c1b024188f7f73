/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* pci_config_parse() on a config space dump of any length. */

#include "fuzz.h"
#include "sysfs-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        PciConfig c, c2;
        int k;

        k = pci_config_parse(data, size, &c);
        if (size < 64) {
                FUZZ_CHECK(k == -EBADMSG);
                return 0;
        }
        FUZZ_CHECK(k == 0);
        FUZZ_CHECK(c.header_type < 0x80);
        FUZZ_CHECK(pcie_type_to_string(c.pcie_type));
        FUZZ_CHECK(acs_state_to_string(c.acs));
        FUZZ_CHECK(c.pcie_type >= PCIE_TYPE_UNKNOWN && c.pcie_type <= 0xf);

        /* The standard capabilities live below 256 bytes, the extended ones below 4 KiB: once those are
         * read, nothing can be unknown any more. */
        if (size >= 256)
                FUZZ_CHECK(c.pcie_type != PCIE_TYPE_UNKNOWN);
        if (size >= 4096)
                FUZZ_CHECK(c.acs != ACS_UNREADABLE);
        if (c.acs == ACS_PRESENT)
                FUZZ_CHECK(size > 256 && c.pcie_type != PCIE_TYPE_NONE && c.pcie_type != PCIE_TYPE_UNKNOWN);
        if (c.pcie_type == PCIE_TYPE_NONE)
                FUZZ_CHECK(c.acs == ACS_ABSENT);

        /* Resizable BAR: at most six distinct BARs 0-5, sizes 1 MiB .. 8 EiB, supported sizes from 1 MiB. */
        FUZZ_CHECK(acs_state_to_string(c.rebar));
        if (size >= 4096)
                FUZZ_CHECK(c.rebar != ACS_UNREADABLE);
        FUZZ_CHECK(c.n_rebar <= PCI_REBAR_MAX && (c.rebar == ACS_PRESENT || c.n_rebar == 0));
        for (unsigned i = 0; i < c.n_rebar; i++) {
                FUZZ_CHECK(c.rebar_bars[i].bar <= 5);
                FUZZ_CHECK(c.rebar_bars[i].current >= 20 && c.rebar_bars[i].current <= 63);
                FUZZ_CHECK((c.rebar_bars[i].sizes & ((UINT64_C(1) << 20) - 1)) == 0);
                for (unsigned j = 0; j < i; j++)
                        FUZZ_CHECK(c.rebar_bars[j].bar != c.rebar_bars[i].bar);
        }

        /* Bytes beyond config space do not matter. */
        if (size > 4096) {
                FUZZ_CHECK(pci_config_parse(data, 4096, &c2) == 0);
                FUZZ_CHECK(memcmp(&c, &c2, sizeof(c)) == 0);
        }
        return 0;
}
