/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What vfiomapd takes from a uevent of the "pci" subsystem: which function it concerns and whether the
 * function is going away. The properties come from the uevent socket (the kernel's message, or udevd's
 * copy of it), i.e. from outside the daemon: they are checked here, in a pure function that can be fuzzed,
 * before an address is ever turned into a sysfs path. */

#include "sysfs-parse.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum UeventAction {
        UEVENT_ADD,
        UEVENT_REMOVE,
        UEVENT_CHANGE,
        UEVENT_MOVE,
        UEVENT_ONLINE,
        UEVENT_OFFLINE,
        UEVENT_BIND,
        UEVENT_UNBIND,
        _UEVENT_ACTION_MAX,
        _UEVENT_ACTION_INVALID = -EINVAL,
} UeventAction;

const char *uevent_action_to_string(UeventAction a);
UeventAction uevent_action_from_string(const char *s);

/* The kernel's devpaths are far shorter; anything longer is not from the kernel. */
#define UEVENT_DEVPATH_MAX 4096U
/* The kernel's uevent buffer (include/linux/kobject.h, UEVENT_BUFFER_SIZE). */
#define UEVENT_MESSAGE_MAX 2048U

typedef struct UeventPci {
        UeventAction action;
        char address[PCI_ADDRESS_MAX];     /* normalised, from the last component of DEVPATH */
        char old_address[PCI_ADDRESS_MAX]; /* "move": the function's former address (DEVPATH_OLD); else "" */
} UeventPci;

/* From the properties of one uevent (ACTION, DEVPATH, SUBSYSTEM and, for "move", DEVPATH_OLD; NULL when
 * absent). 0 with *ret filled for an event about a PCI function; -EINVAL for anything else (another
 * subsystem, a bus or slot object, an unknown action, a devpath that is not the kernel's shape), which the
 * daemon ignores. */
int uevent_pci_from_properties(
        const char *action,
        const char *devpath,
        const char *subsystem,
        const char *devpath_old,
        UeventPci *ret);

/* The same from a uevent message as the kernel sends it on NETLINK_KOBJECT_UEVENT: "ACTION@DEVPATH", then
 * KEY=VALUE strings, each NUL-terminated (lib/kobject_uevent.c, kobject_uevent_env()); the header line is
 * optional. A property given twice is -EINVAL (the kernel never does it; a forged message might, hoping
 * that two readers pick different ones). vfiomapd receives sd_device objects that sd-device parsed from
 * this message; the tests and the fuzzer start from the message itself. */
int uevent_pci_parse_message(const char *buf, size_t len, UeventPci *ret);
