/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>
#include <string.h>

#include <json-c/json.h>

#include "fileio.h"
#include "host.h"
#include "hostdev-checks.h"
#include "reset.h"
#include "util.h"

/* include/uapi/linux/pci_regs.h */
#define PCI_STATUS 0x06
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_HEADER_TYPE 0x0e
#define PCI_CAPABILITY_LIST 0x34
#define PCI_CB_CAPABILITY_LIST 0x14
#define PCI_CFG_HEADER_SIZE 64
/* the last byte a capability walk can read: DevCap of a PCI Express capability at 0xfc */
#define PCI_CAP_READ_MAX (0xfc + 4 + 4)
#define PCI_CAP_ID_PM 0x01
#define PCI_CAP_ID_EXP 0x10
#define PCI_CAP_ID_AF 0x13
#define PCI_PM_CTRL 4
#define PCI_PM_CTRL_NO_SOFT_RESET 0x0008
#define PCI_EXP_DEVCAP 4
#define PCI_EXP_DEVCAP_FLR 0x10000000
#define PCI_AF_CAP 3
#define PCI_AF_CAP_TP 0x01
#define PCI_AF_CAP_FLR 0x02
/* drivers/pci/pci.c, __pci_find_next_cap_ttl() */
#define PCI_FIND_CAP_TTL 48

void device_reset_done(DeviceReset *r) {
        r->reset_method = strv_free(r->reset_method);
        free(r->power_state);
        r->power_state = NULL;
}

static bool strv_same(char *const *a, char *const *b) {
        if (!a || !b)
                return a == b;
        for (; *a && *b; a++, b++)
                if (!streq(*a, *b))
                        return false;
        return !*a && !*b;
}

bool reset_caps_equal(const ResetCaps *a, const ResetCaps *b) {
        return a->read == b->read && a->pcie == b->pcie && a->flr == b->flr && a->af == b->af &&
               a->af_flr == b->af_flr && a->pm == b->pm && a->pm_no_soft_reset == b->pm_no_soft_reset;
}

bool device_reset_equal(const DeviceReset *a, const DeviceReset *b) {
        return reset_caps_equal(&a->caps, &b->caps) && strv_same(a->reset_method, b->reset_method) &&
               a->d3cold_allowed == b->d3cold_allowed && streq_ptr(a->power_state, b->power_state);
}

static bool is_name_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

int reset_method_parse(const char *buf, size_t len, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        const char *p = buf, *end = buf + len;
        size_t n = 0;

        if (!ret || (!buf && len > 0))
                return -EINVAL;
        /* The kernel ends a non-empty list with exactly one newline. */
        if (len > 0) {
                if (buf[len - 1] != '\n')
                        return -EBADMSG;
                end--;
                if (p == end)
                        return -EBADMSG;
        }
        while (p < end) {
                const char *q = p;
                char name[RESET_METHOD_NAME_MAX];

                while (q < end && is_name_char(*q))
                        q++;
                if (q == p || (size_t) (q - p) >= sizeof(name))
                        return -EBADMSG;
                if (q < end) {
                        if (*q != ' ' || q + 1 == end)
                                return -EBADMSG;
                }
                memcpy(name, p, q - p);
                name[q - p] = 0;
                if (strv_contains(l, name) || ++n > RESET_METHODS_MAX)
                        return -EBADMSG;
                if (strv_extend(&l, name) < 0)
                        return -ENOMEM;
                p = q < end ? q + 1 : q;
        }
        if (!l) {
                l = calloc(1, sizeof(char *));
                if (!l)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static uint16_t cfg_u16(const uint8_t *b, size_t off) {
        return (uint16_t) (b[off] | b[off + 1] << 8);
}

static uint32_t cfg_u32(const uint8_t *b, size_t off) {
        return (uint32_t) b[off] | (uint32_t) b[off + 1] << 8 | (uint32_t) b[off + 2] << 16 |
               (uint32_t) b[off + 3] << 24;
}

int pci_config_reset_parse(const uint8_t *buf, size_t len, ResetCaps *ret) {
        ResetCaps c = {};
        unsigned ttl = PCI_FIND_CAP_TTL;
        uint8_t pos;

        if (!ret || (!buf && len > 0))
                return -EINVAL;
        if (len < PCI_CFG_HEADER_SIZE)
                return -EBADMSG;
        /* Capability pointers stay below 256, but a capability at 0xfc has its registers beyond: every
         * byte read counts (PCI_CAP_READ_MAX). */
        len = MIN(len, (size_t) PCI_CAP_READ_MAX);

        /* __pci_bus_find_cap_start(): no list without the status bit; CardBus keeps its pointer at 0x14. */
        if (!(cfg_u16(buf, PCI_STATUS) & PCI_STATUS_CAP_LIST)) {
                c.read = true;
                *ret = c;
                return 0;
        }
        switch (buf[PCI_HEADER_TYPE] & 0x7f) {
        case 0:
        case 1:
                pos = buf[PCI_CAPABILITY_LIST];
                break;
        case 2:
                pos = buf[PCI_CB_CAPABILITY_LIST];
                break;
        default:
                c.read = true;
                *ret = c;
                return 0;
        }

        /* __pci_find_next_cap_ttl(): the first capability of each id counts, as pci_find_capability()
         * returns it. */
        c.read = true;
        while (ttl-- > 0) {
                uint8_t id;

                if (pos < PCI_CFG_HEADER_SIZE)
                        break;
                pos &= ~3;
                if ((size_t) pos + 2 > len) {
                        c.read = false;
                        break;
                }
                id = buf[pos];
                if (id == 0xff)
                        break;
                if (id == PCI_CAP_ID_EXP && !c.pcie) {
                        if ((size_t) pos + PCI_EXP_DEVCAP + 4 > len) {
                                c.read = false;
                                break;
                        }
                        c.pcie = true;
                        c.flr = cfg_u32(buf, pos + PCI_EXP_DEVCAP) & PCI_EXP_DEVCAP_FLR;
                } else if (id == PCI_CAP_ID_AF && !c.af) {
                        if ((size_t) pos + PCI_AF_CAP + 1 > len) {
                                c.read = false;
                                break;
                        }
                        c.af = true;
                        c.af_flr = (buf[pos + PCI_AF_CAP] & (PCI_AF_CAP_TP | PCI_AF_CAP_FLR)) ==
                                   (PCI_AF_CAP_TP | PCI_AF_CAP_FLR);
                } else if (id == PCI_CAP_ID_PM && !c.pm) {
                        if ((size_t) pos + PCI_PM_CTRL + 2 > len) {
                                c.read = false;
                                break;
                        }
                        c.pm = true;
                        c.pm_no_soft_reset = cfg_u16(buf, pos + PCI_PM_CTRL) & PCI_PM_CTRL_NO_SOFT_RESET;
                }
                pos = buf[pos + 1];
        }
        *ret = c;
        return 0;
}

void device_reset_load(const Reader *r, Device *d) {
        char p[PATH_MAX], line[128];
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        int k;

        d->reset.d3cold_allowed = -1;
        if (path_join(p, sizeof(p), d->syspath, "reset_method") >= 0) {
                k = reader_read_file(r, p, 4096, &buf, &size);
                if (k >= 0) {
                        k = reset_method_parse(buf, size, &d->reset.reset_method);
                        if (k == -EBADMSG)
                                (void) strv_extendf(&d->warnings, "%s is not a list of reset methods", p);
                } else if (k != -ENOENT)
                        (void) strv_extendf(&d->warnings, "cannot read %s: %s", p, strerror(-k));
        }
        if (path_join(p, sizeof(p), d->syspath, "d3cold_allowed") >= 0 &&
            reader_read_attr(r, p, line, sizeof(line)) >= 0) {
                if (streq(line, "1") || streq(line, "0"))
                        d->reset.d3cold_allowed = line[0] == '1';
                else
                        (void) strv_extendf(&d->warnings, "%s holds \"%s\", not 0 or 1", p, line);
        }
        /* pci_power_name(): "error", "D0".."D3hot", "D3cold", "unknown" */
        if (path_join(p, sizeof(p), d->syspath, "power_state") >= 0 &&
            reader_read_attr(r, p, line, sizeof(line)) >= 0) {
                static const char *const names[] = { "error", "D0", "D1", "D2", "D3hot", "D3cold", "unknown" };
                bool known = false;

                for (size_t i = 0; i < ELEMENTSOF(names); i++)
                        if (streq(line, names[i]))
                                known = true;
                if (known)
                        d->reset.power_state = strdup(line);
                else
                        (void) strv_extendf(&d->warnings, "%s holds \"%s\", not a power state", p, line);
        }
}

static const char *const reset_source_table[_RESET_SOURCE_MAX] = {
        [RESET_SOURCE_SYSFS] = "sysfs",
        [RESET_SOURCE_CONFIG] = "config",
        [RESET_SOURCE_UNKNOWN] = "unknown",
};

const char *reset_source_to_string(ResetSource s) {
        return s < _RESET_SOURCE_MAX ? reset_source_table[s] : NULL;
}

static bool is_below(const Host *h, const Device *d, const char *bridge) {
        /* Parents are keys, not pointers; a tree deeper than the device count is a loop. */
        for (size_t depth = 0; d && d->parent && depth <= h->n_devices; depth++) {
                if (streq(d->parent, bridge))
                        return true;
                d = host_find_device(h, d->parent);
        }
        return false;
}

int device_bus_reset_scope(const Host *h, const Device *d, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        const Device *bridge;
        size_t lo = 0, hi = h->n_devices;

        if (!d->parent)
                return -ENOTTY;
        bridge = host_find_device(h, d->parent);
        if (bridge && bridge->config_read && bridge->config.header_type == 1 &&
            bridge->config.secondary_bus <= bridge->config.subordinate_bus) {
                /* What a secondary bus reset reaches is the bridge's bus range; devices are sorted by
                 * address, so that is one run of them (a host of 4,000 functions asks this per device). */
                PciAddress first = { .domain = bridge->addr.domain, .bus = bridge->config.secondary_bus };

                while (lo < hi) {
                        size_t mid = lo + (hi - lo) / 2;
                        if (pci_address_compare(&h->devices[mid]->addr, &first) < 0)
                                lo = mid + 1;
                        else
                                hi = mid;
                }
                for (size_t i = lo; i < h->n_devices; i++) {
                        const Device *e = h->devices[i];
                        if (e->addr.domain != first.domain || e->addr.bus > bridge->config.subordinate_bus)
                                break;
                        if (is_below(h, e, d->parent) && strv_extend(&l, e->address) < 0)
                                return -ENOMEM;
                }
        } else
                for (size_t i = 0; i < h->n_devices; i++)
                        if (is_below(h, h->devices[i], d->parent) && strv_extend(&l, h->devices[i]->address) < 0)
                                return -ENOMEM;
        if (!strv_contains(l, d->address) && strv_extend(&l, d->address) < 0)
                return -ENOMEM;
        strv_sort(l);
        *ret = TAKE_PTR(l);
        return 0;
}

int device_reset_methods(const Host *h, const Device *d, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;

        if (d->reset.reset_method) {
                for (char *const *m = d->reset.reset_method; *m; m++)
                        if (strv_extend(&l, *m) < 0)
                                return -ENOMEM;
                if (!l && !(l = calloc(1, sizeof(char *))))
                        return -ENOMEM;
                *ret = TAKE_PTR(l);
                return RESET_SOURCE_SYSFS;
        }
        if (!d->reset.caps.read) {
                *ret = NULL;
                return RESET_SOURCE_UNKNOWN;
        }
        /* pcie_reset_flr(), pci_af_flr(), pci_pm_reset(), pci_reset_bus_function() in drivers/pci/pci.c */
        if (d->reset.caps.flr && strv_extend(&l, "flr") < 0)
                return -ENOMEM;
        if (d->reset.caps.af_flr && strv_extend(&l, "af_flr") < 0)
                return -ENOMEM;
        if (d->reset.caps.pm && !d->reset.caps.pm_no_soft_reset && strv_extend(&l, "pm") < 0)
                return -ENOMEM;
        /* pci_parent_bus_reset(): not on a root bus, not a bridge with a bus below, alone on its bus. */
        if (d->parent && !device_is_bridge(d)) {
                _cleanup_strv_free_ char **scope = NULL;
                int k = device_bus_reset_scope(h, d, &scope);
                if (k == -ENOMEM)
                        return k;
                /* alone on the bus: the bus reset reaches this device only */
                if (k >= 0 && strv_length(scope) == 1 && strv_extend(&l, "bus") < 0)
                        return -ENOMEM;
        }
        if (!l && !(l = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return RESET_SOURCE_CONFIG;
}

static json_object *json_strv_or_null(char **l) {
        json_object *a;

        if (!l)
                return NULL;
        a = json_object_new_array();
        STRV_FOREACH(s, l)
                (void) json_object_array_add(a, json_object_new_string(*s));
        return a;
}

static json_object *json_bool_if(bool known, bool v) {
        return known ? json_object_new_boolean(v) : NULL;
}

json_object *device_reset_to_json(const Host *h, const Device *d) {
        _cleanup_strv_free_ char **methods = NULL, **scope = NULL;
        const ResetCaps *c = &d->reset.caps;
        json_object *o = json_object_new_object();
        int source;

        source = device_reset_methods(h, d, &methods);
        if (source < 0)
                source = RESET_SOURCE_UNKNOWN;
        (void) json_object_object_add(o, "methods", json_strv_or_null(methods));
        (void) json_object_object_add(o, "source", json_object_new_string(reset_source_to_string(source)));
        (void) json_object_object_add(o, "flr", json_bool_if(c->read, c->flr));
        (void) json_object_object_add(o, "af_flr", json_bool_if(c->read, c->af_flr));
        (void) json_object_object_add(o, "pm_no_soft_reset", json_bool_if(c->read && c->pm, c->pm_no_soft_reset));
        (void) device_bus_reset_scope(h, d, &scope);
        (void) json_object_object_add(o, "bus_reset_scope", json_strv_or_null(scope));
        (void) json_object_object_add(o, "d3cold_allowed",
                                      json_bool_if(d->reset.d3cold_allowed >= 0, d->reset.d3cold_allowed > 0));
        (void) json_object_object_add(o, "power_state",
                                      d->reset.power_state ? json_object_new_string(d->reset.power_state) : NULL);
        return o;
}

/* ---- the check of an assigned device ---- */

static const char *str_or_empty(const char *s) {
        return s ?: "";
}

static const char *why_no_method(const Device *d) {
        if (d->reset.reset_method)
                return "its reset_method in sysfs lists none";
        if (!d->reset.caps.pm)
                return "config space shows no FLR, no AF FLR and no Power Management capability";
        return "config space shows no FLR and no AF FLR, and its PM capability sets No_Soft_Reset";
}

static char *describe_holder(const Device *e) {
        if (!e)
                return strdup("not readable");
        if (e->group < 0)
                return hostdev_strdupf("in no IOMMU group, %s%s", e->driver ? "bound to " : "unbound",
                                       str_or_empty(e->driver));
        if (!e->driver)
                return hostdev_strdupf("group %d, unbound", e->group);
        if (driver_is_vfio(e->driver))
                return hostdev_strdupf("group %d, on %s: free, or another VM's", e->group, e->driver);
        return hostdev_strdupf("group %d, bound to the host driver %s", e->group, e->driver);
}

int reset_check(const Host *h, const VmSpec *spec, HostdevFindings *f) {
        int r;

        for (size_t i = 0; i < spec->n_hostdevs; i++) {
                _cleanup_strv_free_ char **methods = NULL, **scope = NULL, **foreign = NULL;
                const Device *d = host_find_device(h, spec->hostdevs[i].address), *first = NULL;
                int source;

                if (!d || d->group < 0)
                        continue;
                source = device_reset_methods(h, d, &methods);
                if (source < 0)
                        return source;
                /* VFIO_DEVICE_RESET works whenever the kernel has a method (vfio_pci_core_enable() sets
                 * reset_works from pci_try_reset_function()), whatever QEMU then prefers. */
                if (source == RESET_SOURCE_UNKNOWN || strv_length(methods) > 0)
                        continue;

                r = device_bus_reset_scope(h, d, &scope);
                if (r == -ENOMEM)
                        return r;
                if (r == -ENOTTY) {
                        /* hw/vfio/pci.c, vfio_pci_hot_reset(): VFIO_DEVICE_GET_PCI_HOT_RESET_INFO fails on a
                         * root bus (pci_probe_reset_bus() needs a bridge above). */
                        r = hostdev_finding_add(
                                f, PROBLEM_NO_RESET, SEVERITY_WARNING, d->address, d->group,
                                hostdev_strdupf("Device %s has no reset: %s; it sits on a root bus, where no bus "
                                                "reset exists. QEMU logs \"vfio: Cannot reset device %s, no "
                                                "available reset mechanism.\" and the device keeps its state "
                                                "across guest reboots and from one VM to the next.",
                                                d->address, why_no_method(d), d->address),
                                "device-without-reset",
                                hostdev_strdupf("%s cannot be reset: if the guest leaves it hung, only a host "
                                                "reboot recovers it. Prefer a device with FLR for passthrough, or "
                                                "one behind a PCIe port, which QEMU can reset with a bus reset.",
                                                d->address),
                                NULL);
                        if (r < 0)
                                return r;
                        continue;
                }

                /* The hot reset needs every group the bus reset reaches to be the VM's (hw/vfio/pci.c,
                 * vfio_pci_hot_reset(); vfio_pci_dev_set_hot_reset() in drivers/vfio/pci/vfio_pci_core.c). */
                STRV_FOREACH(a, scope) {
                        const Device *e = host_find_device(h, *a);
                        _cleanup_free_ char *what = NULL;

                        if (streq(*a, d->address) || (e && spec_owns_group(h, spec, e->group)))
                                continue;
                        if (!first)
                                first = e;
                        what = describe_holder(e);
                        if (!what || strv_extendf(&foreign, "%s (%s)", *a, what) < 0)
                                return -ENOMEM;
                }
                if (!foreign)
                        continue;

                _cleanup_free_ char *list = NULL, *missing = NULL;
                STRV_FOREACH(x, foreign) {
                        char *n = hostdev_strdupf("%s%s%s", str_or_empty(list), list ? ", " : "", *x);
                        if (!n)
                                return -ENOMEM;
                        free(list);
                        list = n;
                }
                STRV_FOREACH(a, scope) {
                        const Device *e = host_find_device(h, *a);
                        char *n;
                        if (streq(*a, d->address) || (e && spec_owns_group(h, spec, e->group)))
                                continue;
                        n = hostdev_strdupf("%s%s%s", str_or_empty(missing), missing ? ", " : "", *a);
                        if (!n)
                                return -ENOMEM;
                        free(missing);
                        missing = n;
                }
                r = hostdev_finding_add(
                        f, PROBLEM_BUS_RESET_NOT_OWNED, SEVERITY_WARNING, d->address, d->group,
                        hostdev_strdupf("Device %s has no function-level reset (%s), so QEMU can reset it only by "
                                        "resetting the bus below %s, which also reaches %s: devices this VM "
                                        "does not own. QEMU logs \"vfio: Cannot reset device %s, depends on "
                                        "group %d which is not owned.\" and the device is not reset.",
                                        d->address, why_no_method(d), d->parent, list, d->address,
                                        first ? first->group : -1),
                        "assign-bus-devices",
                        hostdev_strdupf("Assign %s to this VM as well (a <hostdev> for each), or move %s to a "
                                        "slot of its own, so that QEMU may reset the bus below %s.",
                                        missing, d->address, d->parent),
                        NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}
