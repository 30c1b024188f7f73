/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "hostdev-checks.h"
#include "util.h"

#include <stdarg.h>

char *hostdev_strdupf(const char *format, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        return r < 0 ? NULL : s;
}

bool spec_owns_group(const Host *h, const VmSpec *spec, int group) {
        if (group < 0)
                return false;
        for (size_t i = 0; i < spec->n_hostdevs; i++) {
                const Device *d = host_find_device(h, spec->hostdevs[i].address);
                if (d && d->group == group)
                        return true;
        }
        return false;
}

void hostdev_findings_done(HostdevFindings *f) {
        for (size_t i = 0; i < f->n; i++) {
                free(f->items[i].device);
                free(f->items[i].message);
                free(f->items[i].summary);
                free(f->items[i].libvirt);
        }
        free(f->items);
        *f = (HostdevFindings) {};
}

int hostdev_finding_add(
                HostdevFindings *f,
                const char *code,
                Severity severity,
                const char *device,
                int group,
                char *message,
                const char *action,
                char *summary,
                char *libvirt) {
        _cleanup_free_ char *m = message, *s = summary, *x = libvirt, *dev = NULL;

        if (!m || (action && !s))
                return -ENOMEM;
        if (device && !(dev = strdup(device)))
                return -ENOMEM;
        if (!GREEDY_REALLOC(f->items, f->allocated, f->n + 1))
                return -ENOMEM;
        f->items[f->n++] = (HostdevFinding) {
                .code = code,
                .severity = severity,
                .device = TAKE_PTR(dev),
                .group = group,
                .message = TAKE_PTR(m),
                .action = action,
                .summary = TAKE_PTR(s),
                .libvirt = TAKE_PTR(x),
        };
        return 0;
}

int hostdev_checks(const Host *h, const VmSpec *spec, HostdevFindings *f) {
        int r;

        r = reset_check(h, spec, f);
        if (r < 0)
                return r;
        r = bar_ownership_check(h, spec, f);
        if (r < 0)
                return r;
        r = rom_check(h, spec, f);
        if (r < 0)
                return r;
        r = iommufd_check(h, spec, f);
        if (r < 0)
                return r;
        return 0;
}
