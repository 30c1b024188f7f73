/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What vfiomapd takes from a uevent (libvfiomap/uevent.c): the function's address, normalised, and whether
 * it is going away; everything that is not a PCI function's event, or not shaped like the kernel's, is
 * refused. */
#include "tap.h"
#include "uevent.h"
#include "util.h"

#define GPU "/devices/pci0000:00/0000:00:01.0/0000:01:00.0"

static void test_properties(void) {
        UeventPci u;

        ok(uevent_pci_from_properties("add", GPU, "pci", NULL, &u) == 0 && u.action == UEVENT_ADD &&
                   streq(u.address, "0000:01:00.0") && u.old_address[0] == 0,
           "add of a GPU");
        ok(uevent_pci_from_properties("remove", GPU, "pci", NULL, &u) == 0 && u.action == UEVENT_REMOVE,
           "remove");
        ok(uevent_pci_from_properties(
                   "bind",
                   "/devices/pci0000:00/0000:00:0e.0/pci10000:e0/10000:e0:06.0/10000:E1:00.0",
                   "pci",
                   NULL,
                   &u) == 0 &&
                   streq(u.address, "10000:e1:00.0"),
           "a VMD domain, upper case normalised");
        ok(uevent_pci_from_properties(
                   "move", GPU, "pci", "/devices/pci0000:00/0000:00:01.0/0000:02:00.0", &u) == 0 &&
                   streq(u.old_address, "0000:02:00.0"),
           "move: the old address too");
        ok(uevent_pci_from_properties("add", GPU, "pci_bus", NULL, &u) == -EINVAL, "another subsystem");
        ok(uevent_pci_from_properties(
                   "add", "/devices/pci0000:00/0000:00:1c.0/pci_bus/0000:02", "pci", NULL, &u) == -EINVAL,
           "a bus object");
        ok(uevent_pci_from_properties("explode", GPU, "pci", NULL, &u) == -EINVAL, "an unknown action");
        ok(uevent_pci_from_properties("add", "/devices/../../../0000:01:00.0", "pci", NULL, &u) == -EINVAL,
           "\"..\" in the devpath");
        ok(uevent_pci_from_properties("add", "/devices//0000:01:00.0", "pci", NULL, &u) == -EINVAL,
           "an empty component");
        ok(uevent_pci_from_properties("add", "/sys/devices/pci0000:00/0000:00:1f.6", "pci", NULL, &u) ==
                   -EINVAL,
           "not below /devices");
        ok(uevent_pci_from_properties("add", NULL, "pci", NULL, &u) == -EINVAL, "no devpath");
        ok(uevent_pci_from_properties(NULL, GPU, "pci", NULL, &u) == -EINVAL, "no action");
}

static void test_message(void) {
        static const char add[] = "add@" GPU "\0ACTION=add\0DEVPATH=" GPU "\0SUBSYSTEM=pci\0SEQNUM=7";
        static const char twice[] = "ACTION=add\0DEVPATH=" GPU "\0DEVPATH=/devices/pci0000:00/0000:00:1f.6\0"
                                    "SUBSYSTEM=pci";
        static const char junk[] = "ACTION=add\0DEVPATH=" GPU "\0SUBSYSTEM=pci\0junk";
        UeventPci u;

        ok(uevent_pci_parse_message(add, sizeof(add), &u) == 0 && streq(u.address, "0000:01:00.0"),
           "the kernel's message");
        ok(uevent_pci_parse_message(add, sizeof(add) - 1, &u) == -EINVAL, "cut short: no final NUL");
        ok(uevent_pci_parse_message(twice, sizeof(twice), &u) == -EINVAL, "DEVPATH given twice");
        ok(uevent_pci_parse_message(junk, sizeof(junk), &u) == -EINVAL, "a string that is not KEY=VALUE");
}

int main(void) {
        test_properties();
        test_message();
        return tap_done();
}
