/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* uevent_pci_parse_message() on arbitrary bytes: a uevent as the kernel sends it ("ACTION@DEVPATH", then
 * NUL-terminated KEY=VALUE strings). What it accepts names one PCI function, in the model's spelling, and
 * can be made into a sysfs path safely. */

#include "fuzz.h"
#include "uevent.h"
#include "util.h"

static void check_address(const char *s) {
        char again[PCI_ADDRESS_MAX];
        PciAddress a;

        FUZZ_CHECK(strlen(s) < PCI_ADDRESS_MAX);
        FUZZ_CHECK(pci_address_parse(s, &a) == 0);
        pci_address_format(&a, again);
        FUZZ_CHECK(streq(s, again)); /* normalised */
        FUZZ_CHECK(!strchr(s, '/'));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        UeventPci u;
        int k;

        k = uevent_pci_parse_message((const char *) data, size, &u);
        if (k < 0) {
                FUZZ_CHECK(k == -EINVAL);
                return 0;
        }
        FUZZ_CHECK(uevent_action_to_string(u.action));
        FUZZ_CHECK(uevent_action_from_string(uevent_action_to_string(u.action)) == u.action);
        check_address(u.address);
        if (u.old_address[0]) {
                FUZZ_CHECK(u.action == UEVENT_MOVE);
                check_address(u.old_address);
        }
        return 0;
}
