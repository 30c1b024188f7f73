/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>

#include "bar-ownership.h"
#include "fileio.h"
#include "host-json.h"
#include "host.h"
#include "hostdev-checks.h"
#include "util.h"

bool iomem_name_is_framebuffer(const char *name) {
        static const char *const prefixes[] = {
                "efifb", "vesafb", "BOOTFB", "simpledrm", "simple-framebuffer", "vesa-framebuffer",
        };

        for (size_t i = 0; i < ELEMENTSOF(prefixes); i++)
                if (startswith(name, prefixes[i]))
                        return true;
        return false;
}

/* "xhci-hcd" and "xhci_hcd" are one driver: drivers request regions under names of their own choosing. */
static bool same_driver_name(const char *a, const char *b) {
        for (; *a && *b; a++, b++)
                if (*a != *b && !((*a == '-' || *a == '_') && (*b == '-' || *b == '_')))
                        return false;
        return !*a && !*b;
}

int bar_claims_find(const IomemEntry *iomem, size_t n_iomem, const Device *d, BarClaim **ret) {
        _cleanup_free_ BarClaim *l = NULL;
        size_t n = 0, allocated = 0;
        bool host_driver = d->driver && !driver_is_vfio(d->driver);

        for (size_t i = 0; i < d->n_bars; i++) {
                const Bar *b = d->bars + i;

                if (b->index > 5 || !(b->flags & PCI_RESOURCE_MEM) || b->end <= b->start)
                        continue;
                for (size_t j = 0; j < n_iomem; j++) {
                        const IomemEntry *e = iomem + j;
                        bool fb, inside, seen = false;

                        /* first the range: a host of 4,000 functions asks this of 7,000 entries per BAR */
                        if (e->end < b->start || e->start > b->end)
                                continue;
                        fb = iomem_name_is_framebuffer(e->name);
                        inside = e->start >= b->start && e->end <= b->end;
                        if (!fb && (!inside || streq(e->name, d->address) || streq(e->name, "vfio") ||
                                    streq(e->name, "vfio-pci") || startswith(e->name, "PCI Bus")))
                                continue;
                        if (!fb && (host_driver || (d->driver && same_driver_name(e->name, d->driver))))
                                continue;
                        for (size_t k = 0; k < n; k++)
                                if (l[k].bar == b->index && streq(l[k].name, e->name))
                                        seen = true;
                        if (seen)
                                continue;
                        if (!GREEDY_REALLOC(l, allocated, n + 1))
                                return -ENOMEM;
                        l[n++] = (BarClaim) {
                                .bar = b->index,
                                .start = MAX(e->start, b->start),
                                .end = MIN(e->end, b->end),
                                .name = e->name,
                                .framebuffer = fb,
                        };
                }
        }
        *ret = n > 0 ? TAKE_PTR(l) : NULL;
        return (int) MIN(n, (size_t) INT_MAX);
}

int device_bar_claims(const Host *h, const Device *d, BarClaim **ret) {
        if (h->iomem_zeroed || d->resource_zeroed) {
                *ret = NULL;
                return 0;
        }
        return bar_claims_find(h->iomem, h->n_iomem, d, ret);
}

void device_boot_vga_load(const Reader *r, Device *d) {
        char p[PATH_MAX], line[64];

        d->boot_vga = -1;
        if (path_join(p, sizeof(p), d->syspath, "boot_vga") < 0 || reader_read_attr(r, p, line, sizeof(line)) < 0)
                return;
        if (streq(line, "0") || streq(line, "1"))
                d->boot_vga = line[0] == '1';
        else
                (void) strv_extendf(&d->warnings, "%s holds \"%s\", not 0 or 1", p, line);
}

json_object *device_bar_claims_to_json(const Host *h, const Device *d) {
        _cleanup_free_ BarClaim *claims = NULL;
        json_object *a = json_object_new_array();
        int n = device_bar_claims(h, d, &claims);

        for (int i = 0; i < n; i++) {
                json_object *o = json_object_new_object();
                (void) json_object_object_add(o, "bar", json_object_new_int((int) claims[i].bar));
                (void) json_object_object_add(o, "name", json_object_new_string(claims[i].name));
                (void) json_object_object_add(o, "start", json_addr(claims[i].start));
                (void) json_object_object_add(o, "end", json_addr(claims[i].end));
                (void) json_object_object_add(o, "framebuffer", json_object_new_boolean(claims[i].framebuffer));
                (void) json_object_array_add(a, o);
        }
        return a;
}

/* ---- the check of an assigned device ---- */

/* %pR of the BAR as the kernel's message prints it (lib/vsprintf.c, resource_string()) */
static void format_resource(const Bar *b, char buf[static 96]) {
        (void) snprintf(buf, 96, "[mem %#010" PRIx64 "-%#010" PRIx64 "%s%s]", b->start, b->end,
                        b->flags & PCI_RESOURCE_MEM_64 ? " 64bit" : "", b->flags & PCI_RESOURCE_PREFETCH ? " pref" : "");
}

static const char *framebuffer_cmdline(const char *name) {
        if (startswith(name, "efifb"))
                return "video=efifb:off";
        if (startswith(name, "vesafb") || startswith(name, "vesa-framebuffer"))
                return "video=vesafb:off";
        /* drivers/firmware/sysfb.c registers BOOTFB and the simple-framebuffer device simpledrm binds to */
        return "initcall_blacklist=sysfb_init";
}

int bar_ownership_check(const Host *h, const VmSpec *spec, HostdevFindings *f) {
        int r;

        for (size_t i = 0; i < spec->n_hostdevs; i++) {
                _cleanup_free_ BarClaim *claims = NULL;
                const Device *d = host_find_device(h, spec->hostdevs[i].address);
                int n;

                if (!d || d->group < 0)
                        continue;
                n = device_bar_claims(h, d, &claims);
                if (n < 0)
                        return n;
                for (int k = 0; k < n; k++) {
                        const BarClaim *c = claims + k;
                        const Bar *b = NULL;
                        char res[96];

                        for (size_t j = 0; j < d->n_bars; j++)
                                if (d->bars[j].index == c->bar)
                                        b = d->bars + j;
                        if (!b)
                                continue;
                        format_resource(b, res);
                        r = hostdev_finding_add(
                                f, PROBLEM_BAR_CLAIMED_BY_HOST, SEVERITY_ERROR, d->address, d->group,
                                hostdev_strdupf("BAR %u of %s (0x%" PRIx64 "-0x%" PRIx64 ") is still claimed by "
                                                "%s%s at 0x%" PRIx64 "-0x%" PRIx64 " in /proc/iomem: VFIO cannot "
                                                "reserve it (\"vfio-pci %s: BAR %u: can't reserve %s\"), QEMU "
                                                "cannot map it and the guest's driver fails.",
                                                c->bar, d->address, b->start, b->end, c->name,
                                                c->framebuffer ? " (a firmware framebuffer)" : "", c->start, c->end,
                                                d->address, c->bar, res),
                                "release-bar",
                                c->framebuffer
                                        ? hostdev_strdupf("Keep the host's firmware framebuffer off %s: boot with %s on "
                                                          "the kernel command line (or make another GPU the boot "
                                                          "device in the firmware settings).",
                                                          d->address, framebuffer_cmdline(c->name))
                                        : hostdev_strdupf("Find the host driver that registered \"%s\" inside BAR %u "
                                                          "of %s and keep it off the device.",
                                                          c->name, c->bar, d->address),
                                NULL);
                        if (r < 0)
                                return r;
                }
                if (d->boot_vga == 1 && n == 0) {
                        r = hostdev_finding_add(
                                f, PROBLEM_BOOT_VGA, SEVERITY_WARNING, d->address, d->group,
                                hostdev_strdupf("%s is the boot VGA device (boot_vga 1): the firmware and the host "
                                                "console drew on it, a framebuffer driver may still claim its "
                                                "BARs (\"BAR N: can't reserve\") and its ROM as the host reads it "
                                                "is the firmware's shadow copy.%s",
                                                d->address,
                                                h->iomem_zeroed ? " /proc/iomem is unreadable, so claims on its "
                                                                  "BARs could not be checked."
                                                                : ""),
                                "boot-gpu",
                                hostdev_strdupf("Prefer another GPU (or the integrated one) as the boot device in "
                                                "the firmware settings; otherwise boot with video=efifb:off "
                                                "initcall_blacklist=sysfb_init and give %s a ROM file "
                                                "(<rom file='...'/>).",
                                                d->address),
                                NULL);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}
