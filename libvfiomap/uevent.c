/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "uevent.h"

#include "util.h"

/* lib/kobject_uevent.c, kobject_actions[], and the two actions of the driver core (drivers/base/dd.c). */
static const char *const uevent_action_table[_UEVENT_ACTION_MAX] = {
        [UEVENT_ADD] = "add",   [UEVENT_REMOVE] = "remove", [UEVENT_CHANGE] = "change",
        [UEVENT_MOVE] = "move", [UEVENT_ONLINE] = "online", [UEVENT_OFFLINE] = "offline",
        [UEVENT_BIND] = "bind", [UEVENT_UNBIND] = "unbind",
};

const char *uevent_action_to_string(UeventAction a) {
        return a >= 0 && a < _UEVENT_ACTION_MAX ? uevent_action_table[a] : NULL;
}

UeventAction uevent_action_from_string(const char *s) {
        if (!s)
                return _UEVENT_ACTION_INVALID;
        for (size_t i = 0; i < _UEVENT_ACTION_MAX; i++)
                if (streq(uevent_action_table[i], s))
                        return (UeventAction) i;
        return _UEVENT_ACTION_INVALID;
}

/* A PCI function's devpath: /devices/pci0000:00/0000:00:01.0/0000:01:00.0 (or below a VMD or Hyper-V
 * root). Only its last component names the function (sd-device's sysname); the components before it must
 * still be plain names, so that nothing like ".." or an empty component can stand in a path built from it.
 */
static int devpath_to_address(const char *devpath, char ret[static PCI_ADDRESS_MAX]) {
        const char *last, *p;
        size_t l;
        PciAddress a;

        if (!devpath)
                return -EINVAL;
        l = strnlen(devpath, UEVENT_DEVPATH_MAX + 1);
        if (l > UEVENT_DEVPATH_MAX || !startswith(devpath, "/devices/"))
                return -EINVAL;
        for (p = devpath + 1; p < devpath + l; p += strcspn(p, "/") + 1) {
                size_t n = strcspn(p, "/");

                if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
                        return -EINVAL;
        }
        last = strrchr(devpath, '/') + 1;
        if (pci_address_parse(last, &a) < 0)
                return -EINVAL;
        /* The kernel prints lower case ("%04x:%02x:%02x.%d"); the model's keys are its spelling. */
        pci_address_format(&a, ret);
        return 0;
}

int uevent_pci_from_properties(
        const char *action,
        const char *devpath,
        const char *subsystem,
        const char *devpath_old,
        UeventPci *ret) {
        UeventPci u = {};

        if (!ret || !streq_ptr(subsystem, "pci"))
                return -EINVAL;
        u.action = uevent_action_from_string(action);
        if (u.action < 0)
                return -EINVAL;
        if (devpath_to_address(devpath, u.address) < 0)
                return -EINVAL;
        /* A "move" without a usable old path is still a change of the new address. */
        if (u.action == UEVENT_MOVE && devpath_old && devpath_to_address(devpath_old, u.old_address) < 0)
                u.old_address[0] = 0;
        *ret = u;
        return 0;
}

typedef struct UeventFields {
        const char *action, *devpath, *subsystem, *devpath_old;
} UeventFields;

static int take_field(const char **field, const char *value) {
        if (*field)
                return -EINVAL; /* given twice */
        *field = value;
        return 0;
}

int uevent_pci_parse_message(const char *buf, size_t len, UeventPci *ret) {
        UeventFields f = {};
        const char *p = buf, *end = buf + len;

        if (!buf || !ret || len == 0 || len > UEVENT_MESSAGE_MAX)
                return -EINVAL;
        /* Every string is NUL-terminated, the last one too. */
        if (buf[len - 1] != 0)
                return -EINVAL;

        /* "add@/devices/...": the summary line, repeated by ACTION= and DEVPATH=, which are what count. */
        if (!strchr(p, '=') && strchr(p, '@'))
                p += strlen(p) + 1;

        for (; p < end; p += strlen(p) + 1) {
                const char *v;
                int k = 0;

                if (!*p)
                        continue;
                if ((v = startswith(p, "ACTION=")))
                        k = take_field(&f.action, v);
                else if ((v = startswith(p, "DEVPATH=")))
                        k = take_field(&f.devpath, v);
                else if ((v = startswith(p, "SUBSYSTEM=")))
                        k = take_field(&f.subsystem, v);
                else if ((v = startswith(p, "DEVPATH_OLD=")))
                        k = take_field(&f.devpath_old, v);
                else if (!strchr(p, '='))
                        return -EINVAL; /* not KEY=VALUE */
                if (k < 0)
                        return k;
        }
        return uevent_pci_from_properties(f.action, f.devpath, f.subsystem, f.devpath_old, ret);
}
