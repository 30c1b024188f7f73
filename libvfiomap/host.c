/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "bar-ownership.h"
#include "fileio.h"
#include "host.h"
#include "iommufd.h"
#include "util.h"

/* Upper bounds for what we are willing to read from one file. sysfs attributes are at most a page;
 * /proc/iomem and /proc/cpuinfo grow with the machine, so they get room for very large hosts. */
#define SYSFS_ATTR_MAX (64 * 1024)
#define PROC_FILE_MAX (16 * 1024 * 1024)
#define CONFIG_SPACE_MAX 4096

static const char *const window_kind_table[_WINDOW_KIND_MAX] = {
        [WINDOW_IO] = "io",
        [WINDOW_MEM] = "mem",
        [WINDOW_PREF] = "pref",
};

const char *window_kind_to_string(WindowKind k) {
        return k >= 0 && k < _WINDOW_KIND_MAX ? window_kind_table[k] : NULL;
}

static const char *const iommu_kind_table[_IOMMU_KIND_MAX] = {
        [IOMMU_INTEL] = "intel",
        [IOMMU_AMD] = "amd",
        [IOMMU_ARM] = "arm",
        [IOMMU_UNKNOWN] = "unknown",
};

const char *iommu_kind_to_string(IommuKind k) {
        return k >= 0 && k < _IOMMU_KIND_MAX ? iommu_kind_table[k] : NULL;
}

static _printf_(2, 3) void warn(char ***warnings, const char *format, ...) {
        va_list ap;
        char *s;

        va_start(ap, format);
        if (vasprintf(&s, format, ap) >= 0)
                (void) strv_consume(warnings, s);
        va_end(ap);
}

/* ---- devices ---- */

static Device *device_free(Device *d) {
        if (!d)
                return NULL;
        free(d->syspath);
        free(d->driver);
        free(d->driver_override);
        free(d->parent);
        free(d->iommu);
        free(d->bars);
        free(d->iov_bars);
        free(d->windows);
        free(d->physfn);
        strv_free(d->virtfns);
        device_reset_done(&d->reset);
        free(d->vfio_cdev);
        strv_free(d->warnings);
        free(d);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Device *, device_free);

/* Attributes read by the thousand (vendor, class, numa_node...) are single short lines: read into the
 * stack, parsed there, never allocated. */
#define ATTR_LINE_MAX 128

/* A text attribute into buf when it fits, as nearly all do, else (up to SYSFS_ATTR_MAX: an attribute is one
 * page, and pages are 64 KiB on some arm64 kernels) into *heap, which the caller frees. */
static int read_text_attr(const Reader *r, const char *p, char *buf, size_t size, char **heap, const char **ret,
                          size_t *ret_size) {
        int k;

        k = reader_read_file_buf(r, p, buf, size, ret_size);
        if (k != -EFBIG) {
                *ret = buf;
                return k;
        }
        k = reader_read_file(r, p, SYSFS_ATTR_MAX, heap, ret_size);
        if (k >= 0)
                *ret = *heap;
        return k;
}

static int read_hex_attr(const Reader *r, const char *dir, const char *attr, uint64_t max, uint64_t *ret,
                         char ***warnings) {
        char p[PATH_MAX], line[ATTR_LINE_MAX];
        uint64_t v;
        int k;

        k = path_join(p, sizeof(p), dir, attr);
        if (k < 0)
                return k;
        k = reader_read_attr(r, p, line, sizeof(line));
        if (k < 0) {
                warn(warnings, "cannot read %s: %s", p, strerror(-k));
                return k;
        }
        k = parse_hex_u64(line, &v);
        if (k < 0 || v > max) {
                warn(warnings, "%s holds \"%s\", not a hexadecimal value up to 0x%" PRIx64, p, line, max);
                return -EBADMSG;
        }
        *ret = v;
        return 0;
}

/* Reads an optional symlink's last component; ENOENT means "absent" and is no warning. */
static int read_link_name(const Reader *r, const char *dir, const char *name, char **ret, char ***warnings) {
        char p[PATH_MAX];
        int k;

        *ret = NULL;
        k = path_join(p, sizeof(p), dir, name);
        if (k < 0)
                return k;
        k = reader_readlink_basename(r, p, ret);
        /* EINVAL: a directory, not a link. The AMD IOMMU's own PCI function has an "iommu/" directory
         * holding its class device (drivers/iommu/amd/init.c registers ivhdN below it). */
        if (IN_SET(k, -ENOENT, -EINVAL))
                return 0;
        if (k < 0) {
                warn(warnings, "cannot read link %s: %s", p, strerror(-k));
                return k;
        }
        return 1;
}

static void device_load_resource(const Reader *r, Device *d) {
        _cleanup_free_ char *heap = NULL;
        char p[PATH_MAX], sbuf[4096];
        const char *buf;
        ResourceLine lines[PCI_RESOURCE_LINES_MAX];
        Bar bars[DEVICE_BARS_MAX], iov_bars[DEVICE_IOV_BARS_MAX];
        Window windows[DEVICE_WINDOWS_MAX];
        size_t n = 0, size = 0, zeroed = 0, used = 0, n_bars = 0, n_iov_bars = 0, n_windows = 0;
        int k, wbase;

        if (path_join(p, sizeof(p), d->syspath, "resource") < 0)
                return;
        k = read_text_attr(r, p, sbuf, sizeof(sbuf), &heap, &buf, &size);
        if (k < 0) {
                warn(&d->warnings, "cannot read %s: %s", p, strerror(-k));
                return;
        }
        k = resource_parse(buf, size, lines, ELEMENTSOF(lines), &n);
        if (k < 0)
                warn(&d->warnings, "%s is malformed after line %zu; BARs and windows beyond it are unknown", p,
                     n);

        for (size_t i = 0; i < n; i++) {
                if (lines[i].flags == 0)
                        continue;
                used++;
                if (lines[i].start == 0 && lines[i].end == 0)
                        zeroed++;
        }
        /* The kernel prints flags but zero ranges to readers it does not trust (non-root): say so rather
         * than report a device without BARs. */
        if (used > 0 && zeroed == used) {
                d->resource_zeroed = true;
                warn(&d->warnings, "%s shows flags but zero ranges " HOST_WARNING_HIDDEN_RANGES ": BARs unknown",
                     p);
                return;
        }

        wbase = resource_bridge_window_base(lines, n);
        for (size_t i = 0; i < n; i++) {
                const ResourceLine *l = lines + i;
                bool empty = l->flags == 0 || (l->start == 0 && l->end == 0) || l->end < l->start;

                if (empty)
                        continue;
                if (wbase >= 0 && i >= (size_t) wbase && i < (size_t) wbase + DEVICE_WINDOWS_MAX)
                        windows[n_windows++] = (Window) { .kind = (WindowKind) (i - wbase), .start = l->start,
                                                          .end = l->end, .flags = l->flags };
                else if (i < DEVICE_BARS_MAX)
                        bars[n_bars++] = (Bar) { .index = i, .start = l->start, .end = l->end, .flags = l->flags };
                else if (i < DEVICE_BARS_MAX + DEVICE_IOV_BARS_MAX && (wbase < 0 || wbase == 13))
                        iov_bars[n_iov_bars++] = (Bar) { .index = i, .start = l->start, .end = l->end,
                                                         .flags = l->flags };
        }
        /* An allocation failure leaves the device without these ranges, like an unreadable file. */
        d->bars = memdup_or_null(bars, n_bars * sizeof(Bar));
        d->n_bars = d->bars ? n_bars : 0;
        d->iov_bars = memdup_or_null(iov_bars, n_iov_bars * sizeof(Bar));
        d->n_iov_bars = d->iov_bars ? n_iov_bars : 0;
        d->windows = memdup_or_null(windows, n_windows * sizeof(Window));
        d->n_windows = d->windows ? n_windows : 0;
}

static void device_load_config(const Reader *r, Device *d) {
        _cleanup_free_ uint8_t *buf = NULL;
        char p[PATH_MAX];
        size_t size = 0;
        int k;

        if (path_join(p, sizeof(p), d->syspath, "config") < 0)
                return;
        k = reader_read_binary(r, p, CONFIG_SPACE_MAX, &buf, &size);
        if (k < 0) {
                warn(&d->warnings, "cannot read %s: %s; port type and ACS unknown", p, strerror(-k));
                return;
        }
        k = pci_config_parse(buf, size, &d->config);
        if (k < 0) {
                warn(&d->warnings, "%s holds only %zu bytes, not a configuration header", p, size);
                return;
        }
        d->config_read = true;
        d->config_size = size;
        (void) pci_config_reset_parse(buf, size, &d->reset.caps);
        if (d->config.acs == ACS_UNREADABLE)
                warn(&d->warnings,
                     "%s is readable only up to %zu bytes " HOST_WARNING_PARTIAL_CONFIG ": ACS unknown",
                     p, size);
}

static void device_load_sriov(const Reader *r, Device *d) {
        _cleanup_strv_free_ char **entries = NULL;
        char p[PATH_MAX], line[ATTR_LINE_MAX];
        int k, n;

        (void) read_link_name(r, d->syspath, "physfn", &d->physfn, &d->warnings);

        d->sriov_numvfs = -1;
        if (path_join(p, sizeof(p), d->syspath, "sriov_numvfs") < 0)
                return;
        k = reader_read_attr(r, p, line, sizeof(line));
        if (k >= 0) {
                if (safe_atoi(line, &n) < 0 || n < 0) {
                        warn(&d->warnings, "%s holds \"%s\", not a VF count", p, line);
                } else
                        d->sriov_numvfs = n;
        }
        /* Only a PF has sriov_numvfs and virtfnN links (drivers/pci/iov.c): listing the directory of every
         * other device to find none was a tenth of a host load's system calls. */
        if (k == -ENOENT)
                return;

        if (reader_list_dir(r, d->syspath, &entries) < 0)
                return;
        STRV_FOREACH(e, entries) {
                _cleanup_free_ char *vf = NULL;

                if (!startswith(*e, "virtfn"))
                        continue;
                if (read_link_name(r, d->syspath, *e, &vf, &d->warnings) <= 0)
                        continue;
                if (strv_consume(&d->virtfns, TAKE_PTR(vf)) < 0)
                        return;
        }
        strv_sort(d->virtfns);
}

static void device_load_group(const Reader *r, Device *d) {
        _cleanup_free_ char *name = NULL;
        int n, k;

        d->group = -1;
        k = read_link_name(r, d->syspath, "iommu_group", &name, &d->warnings);
        d->group_known = k >= 0;
        if (k <= 0)
                return;
        if (safe_atoi(name, &n) < 0 || n < 0)
                warn(&d->warnings, "%s/iommu_group points to \"%s\", not a group number", d->syspath, name);
        else
                d->group = n;
}

static int device_load(const Reader *r, const char *address, Device **ret, char ***host_warnings) {
        _cleanup_(device_freep) Device *d = NULL;
        char link[PATH_MAX], p[PATH_MAX], line[ATTR_LINE_MAX];
        uint64_t v;
        const char *slash;
        int k;

        d = calloc(1, sizeof(Device));
        if (!d)
                return -ENOMEM;
        d->group = -1;
        d->numa_node = -1;
        d->sriov_numvfs = -1;
        d->revision = -1;
        if (pci_address_parse(address, &d->addr) < 0) {
                warn(host_warnings, "sys/bus/pci/devices/%s: not a PCI address, ignored", address);
                return -EINVAL;
        }
        pci_address_format(&d->addr, d->address);

        k = path_join(link, sizeof(link), "sys/bus/pci/devices", address);
        if (k >= 0)
                k = reader_resolve(r, link, &d->syspath);
        if (k == -ENOMEM)
                return k;
        if (k < 0) {
                /* Vanished between readdir and here (hot-unplug), or a broken tree: nothing to model. */
                warn(host_warnings, "device %s: cannot resolve %s: %s; device ignored", address, link,
                     strerror(-k));
                return k;
        }

        /* The parent bridge is the directory above, when that is a PCI function and not the host bridge
         * ("pci0000:00"). */
        slash = strrchr(d->syspath, '/');
        if (slash && (size_t) (slash - d->syspath) < sizeof(p)) {
                const char *pb;

                memcpy(p, d->syspath, slash - d->syspath);
                p[slash - d->syspath] = 0;
                pb = strrchr(p, '/');
                pb = pb ? pb + 1 : p;
                if (pci_address_is_valid(pb)) {
                        PciAddress pa;
                        char buf[PCI_ADDRESS_MAX];

                        (void) pci_address_parse(pb, &pa);
                        pci_address_format(&pa, buf);
                        d->parent = strdup(buf);
                        if (!d->parent)
                                return -ENOMEM;
                }
        }

        k = read_hex_attr(r, d->syspath, "vendor", UINT16_MAX, &v, &d->warnings);
        if (k == -ENOTDIR) {
                /* The device "directory" is something else (a damaged tree or snapshot): every attribute and
                 * link below would fail alike, so say it once. Everything stays unknown, nothing is taken
                 * for absent. */
                strv_free(d->warnings);
                d->warnings = NULL;
                warn(&d->warnings, "%s is not a directory: ids, class, driver, IOMMU group, BARs and config "
                     "space unknown", d->syspath);
                *ret = TAKE_PTR(d);
                return 0;
        }
        d->vendor_known = k >= 0;
        if (d->vendor_known)
                d->vendor = v;
        d->device_known = read_hex_attr(r, d->syspath, "device", UINT16_MAX, &v, &d->warnings) >= 0;
        if (d->device_known)
                d->device = v;
        d->class_known = read_hex_attr(r, d->syspath, "class", 0xffffff, &v, &d->warnings) >= 0;
        if (d->class_known)
                d->class = v;
        /* "revision" exists since Linux 2.6.23 (drivers/pci/pci-sysfs.c); it is shown, never relied on. */
        if (path_join(p, sizeof(p), d->syspath, "revision") >= 0 &&
            reader_read_attr(r, p, line, sizeof(line)) >= 0 && parse_hex_u64(line, &v) >= 0 && v <= UINT8_MAX)
                d->revision = v;
        /* Subsystem ids are absent on some bridges; no warning for those. */
        if (path_join(p, sizeof(p), d->syspath, "subsystem_vendor") >= 0 &&
            reader_read_attr(r, p, line, sizeof(line)) >= 0 && parse_hex_u64(line, &v) >= 0 && v <= UINT16_MAX)
                d->subsystem_vendor = v;
        if (path_join(p, sizeof(p), d->syspath, "subsystem_device") >= 0 &&
            reader_read_attr(r, p, line, sizeof(line)) >= 0 && parse_hex_u64(line, &v) >= 0 && v <= UINT16_MAX)
                d->subsystem_device = v;

        /* Absent means unbound; a link we cannot read means we do not know, which VFIO must not take for
         * unbound. */
        d->driver_known = read_link_name(r, d->syspath, "driver", &d->driver, &d->warnings) >= 0;

        /* A driver name (at most a page, as any attribute): read whole, kept only when set. */
        if (path_join(p, sizeof(p), d->syspath, "driver_override") >= 0) {
                _cleanup_free_ char *o = NULL;

                k = reader_read_line(r, p, &o);
                if (k >= 0 && !streq(o, "(null)") && !isempty(o))
                        d->driver_override = TAKE_PTR(o);
        }

        device_load_group(r, d);
        (void) read_link_name(r, d->syspath, "iommu", &d->iommu, &d->warnings);

        if (path_join(p, sizeof(p), d->syspath, "numa_node") >= 0 &&
            reader_read_attr(r, p, line, sizeof(line)) >= 0 && safe_atoi(line, &k) >= 0 && k >= 0)
                d->numa_node = k;

        device_load_resource(r, d);
        device_load_config(r, d);
        device_load_sriov(r, d);
        device_reset_load(r, d);
        device_boot_vga_load(r, d);
        device_rom_load(r, d);
        device_vfio_cdev_load(r, d);

        *ret = TAKE_PTR(d);
        return 0;
}

/* ---- groups ---- */

static Group *group_free(Group *g) {
        if (!g)
                return NULL;
        free(g->type);
        strv_free(g->devices);
        free(g->regions);
        strv_free(g->warnings);
        free(g);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Group *, group_free);

static void group_load_regions(const Reader *r, Group *g, const char *dir) {
        _cleanup_free_ char *heap = NULL;
        char p[PATH_MAX], sbuf[4096], *buf;
        const char *data;
        size_t allocated = 0, size = 0;
        unsigned lineno = 0;
        char *line, *next;
        int k;

        if (path_join(p, sizeof(p), dir, "reserved_regions") < 0)
                return;
        k = read_text_attr(r, p, sbuf, sizeof(sbuf), &heap, &data, &size);
        buf = (char *) data; /* sbuf or heap, both ours: split into lines in place */
        if (k == -ENOENT) {
                g->regions_known = true; /* kernels before 4.11: none we could be told of */
                return;
        }
        if (k < 0) {
                warn(&g->warnings, "cannot read %s: %s; reserved regions unknown", p, strerror(-k));
                return;
        }
        if (strlen(buf) != size) {
                warn(&g->warnings, "%s contains a NUL byte; reserved regions unknown", p);
                return;
        }
        g->regions_known = true;
        for (line = buf; line && *line; line = next) {
                ResvRegion region;

                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                lineno++;
                if (resv_region_parse_line(line, &region) < 0) {
                        warn(&g->warnings, "%s:%u: cannot parse \"%.80s\"; region ignored", p, lineno, line);
                        continue;
                }
                if (!GREEDY_REALLOC(g->regions, allocated, g->n_regions + 1))
                        return;
                g->regions[g->n_regions++] = region;
        }
        /* Kept as long as the group: no growth slack (most groups have one or two regions). */
        if (g->n_regions > 0 && g->n_regions < allocated) {
                ResvRegion *shrunk = realloc(g->regions, g->n_regions * sizeof(ResvRegion));
                if (shrunk)
                        g->regions = shrunk;
        }
}

static int group_load(const Reader *r, unsigned number, Group **ret) {
        _cleanup_(group_freep) Group *g = NULL;
        _cleanup_strv_free_ char **members = NULL;
        char dir[64], p[PATH_MAX];
        unsigned n_leaving = 0, n_other = 0;
        int k;

        g = calloc(1, sizeof(Group));
        if (!g)
                return -ENOMEM;
        g->number = number;
        (void) snprintf(dir, sizeof(dir), "sys/kernel/iommu_groups/%u", number);

        (void) path_join(p, sizeof(p), dir, "devices");
        k = reader_list_dir(r, p, &members);
        if (k == -ENOENT)
                return k; /* the group went away while we read it */
        if (k < 0)
                warn(&g->warnings, "cannot list %s: %s; members unknown", p, strerror(-k));
        reader_trace_entries(r, p, members);
        STRV_FOREACH(m, members) {
                char bus_link[PATH_MAX], buf[PCI_ADDRESS_MAX];
                PciAddress a;

                if (pci_address_parse(*m, &a) < 0) {
                        /* Non-PCI members (platform devices on ARM) are real but not ours to model. */
                        warn(&g->warnings, "member %s is not a PCI device; not modelled", *m);
                        n_other++;
                        continue;
                }
                pci_address_format(&a, buf);
                /* A removed device leaves the bus (bus_remove_device()) before the IOMMU core takes it out of
                 * its group (BUS_NOTIFY_REMOVED_DEVICE, iommu_release_device(); drivers/base/core.c,
                 * device_del()), and the group directory goes with its last member: for a moment the group
                 * still lists a device that is gone. vfiomapd reading it then (seen in a QEMU guest at
                 * hot-unplug) would keep a group no event will ever refresh. Such a member is not one. */
                (void) path_join(bus_link, sizeof(bus_link), "sys/bus/pci/devices", *m);
                k = reader_link_exists(r, bus_link);
                if (k == -ENOENT) {
                        n_leaving++;
                        continue;
                }
                if (strv_extend(&g->devices, buf) < 0)
                        return -ENOMEM;
        }
        if (!g->devices && n_leaving > 0 && n_other == 0)
                return -ENOENT; /* its last device left: the group is going away */
        if (!g->devices) {
                g->devices = calloc(1, sizeof(char *));
                if (!g->devices)
                        return -ENOMEM;
        }
        /* Sorted like the devices table, by numeric address. */
        for (size_t i = 1; g->devices[i - 1] && g->devices[i]; i++)
                for (size_t j = i; j > 0; j--) {
                        PciAddress a, b;
                        char *t;

                        (void) pci_address_parse(g->devices[j - 1], &a);
                        (void) pci_address_parse(g->devices[j], &b);
                        if (pci_address_compare(&a, &b) <= 0)
                                break;
                        t = g->devices[j - 1], g->devices[j - 1] = g->devices[j], g->devices[j] = t;
                }

        (void) path_join(p, sizeof(p), dir, "type");
        k = reader_read_line(r, p, &g->type);
        if (k < 0 && k != -ENOENT)
                warn(&g->warnings, "cannot read %s: %s", p, strerror(-k));

        group_load_regions(r, g, dir);

        *ret = TAKE_PTR(g);
        return 0;
}

/* ---- IOMMU units ---- */

static IommuUnit *unit_free(IommuUnit *u) {
        if (!u)
                return NULL;
        free(u->name);
        strv_free(u->devices);
        strv_free(u->warnings);
        free(u);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(IommuUnit *, unit_free);

/* amd-iommu/features printed "features2:features" from Linux 6.0 (the patch adding EFR2, 2022) and
 * "amd_iommu_efr:amd_iommu_efr2" after the 2023 consolidation of feature detection (drivers/iommu/amd/
 * init.c, amd_iommu_show_features). Both halves are hex without a marker, so only the kernel version can
 * tell them apart once both are non-zero. The release that switched, 6.7, is taken from the date of that
 * series; the parser itself still decides alone whenever one half is zero. */
static AmdFeaturesOrder amd_features_order(const Host *h) {
        if (h->kernel_major < 0)
                return AMD_FEATURES_AUTO;
        if (h->kernel_major > 6 || (h->kernel_major == 6 && h->kernel_minor >= 7))
                return AMD_FEATURES_EFR_FIRST;
        return AMD_FEATURES_EFR2_FIRST;
}

/* The devices a unit serves, from sys/class/iommu/NAME/devices/: read with the unit, and again whenever a
 * device comes or goes (host_reload_device()), so the list never goes stale. */
static int unit_load_devices(const Reader *r, IommuUnit *u) {
        _cleanup_free_ char *p = NULL;
        _cleanup_strv_free_ char **devices = NULL, **list = NULL;
        int k;

        if (asprintf_safe(&p, "sys/class/iommu/%s/devices", u->name) < 0)
                return -ENOMEM;
        k = reader_list_dir(r, p, &devices);
        if (k < 0 && k != -ENOENT)
                warn(&u->warnings, "cannot list %s: %s", p, strerror(-k));
        reader_trace_entries(r, p, devices);
        /* Sized once: a unit may serve every device of a large host, and strv_extend() per entry would be
         * quadratic. */
        if (devices && devices[0]) {
                size_t n = 0;

                list = calloc(strv_length(devices) + 1, sizeof(char *));
                if (!list)
                        return -ENOMEM;
                STRV_FOREACH(dev, devices) {
                        PciAddress a;
                        char buf[PCI_ADDRESS_MAX];

                        if (pci_address_parse(*dev, &a) < 0)
                                continue;
                        pci_address_format(&a, buf);
                        list[n] = strdup(buf);
                        if (!list[n])
                                return -ENOMEM;
                        n++;
                }
                if (n == 0) {
                        free(list);
                        list = NULL;
                }
        }
        strv_free(u->devices);
        u->devices = TAKE_PTR(list);
        return 0;
}

static int unit_load(const Reader *r, const Host *h, const char *name, IommuUnit **ret) {
        _cleanup_(unit_freep) IommuUnit *u = NULL;
        _cleanup_free_ char *dir = NULL, *cap = NULL, *ecap = NULL, *features = NULL, *p = NULL, *p2 = NULL;
        int k, k2;

        u = calloc(1, sizeof(IommuUnit));
        if (!u)
                return -ENOMEM;
        u->name = strdup(name);
        if (!u->name)
                return -ENOMEM;
        u->address_width = -1;
        u->interrupt_remapping = -1;
        u->kind = IOMMU_UNKNOWN;
        if (asprintf_safe(&dir, "sys/class/iommu/%s", name) < 0)
                return -ENOMEM;

        if (asprintf_safe(&p, "%s/intel-iommu/cap", dir) < 0 || asprintf_safe(&p2, "%s/intel-iommu/ecap", dir) < 0)
                return -ENOMEM;
        k = reader_read_line(r, p, &cap);
        k2 = reader_read_line(r, p2, &ecap);
        if (k >= 0 || k2 >= 0) {
                u->kind = IOMMU_INTEL;
                if (k < 0 || k2 < 0)
                        warn(&u->warnings, "cannot read %s: %s; address width unknown", k < 0 ? p : p2,
                             strerror(-(k < 0 ? k : k2)));
                else if (intel_iommu_parse_caps(cap, ecap, &u->intel) < 0)
                        warn(&u->warnings, "cannot parse %s \"%s\" / ecap \"%s\"; address width unknown", p, cap,
                             ecap);
                else {
                        u->address_width = u->intel.mgaw;
                        u->interrupt_remapping = u->intel.interrupt_remapping;
                }
        } else {
                free(p);
                if (asprintf_safe(&p, "%s/amd-iommu/features", dir) < 0)
                        return -ENOMEM;
                k = reader_read_line(r, p, &features);
                if (k != -ENOENT) {
                        u->kind = IOMMU_AMD;
                        if (k >= 0)
                                k = amd_iommu_parse_features_order(features, amd_features_order(h), &u->amd);
                        if (k == -ENOTUNIQ)
                                warn(&u->warnings,
                                     "%s \"%s\" holds EFR and EFR2 in an order only the kernel version tells, "
                                     "and proc/sys/kernel/osrelease is unreadable; address width unknown",
                                     p, features);
                        else if (k < 0 && !features)
                                warn(&u->warnings, "cannot read %s: %s; address width unknown", p, strerror(-k));
                        else if (k < 0)
                                warn(&u->warnings, "cannot parse %s \"%s\"; address width unknown", p, features);
                        else {
                                u->address_width = u->amd.address_width;
                                if (u->amd.address_width < 0)
                                        warn(&u->warnings, "%s: HATS uses the reserved encoding 3", p);
                        }
                        /* Interrupt remapping is not visible in AMD's sysfs attributes. */
                } else if (startswith(name, "smmu") || startswith(name, "arm-smmu"))
                        /* SMMUv3 exposes no attributes: the width is known only to VFIO/iommufd. */
                        u->kind = IOMMU_ARM;
        }

        k = unit_load_devices(r, u);
        if (k < 0)
                return k;

        *ret = TAKE_PTR(u);
        return 0;
}

/* ---- host-wide files ---- */

/* x86 prints "address sizes\t: 46 bits physical, 48 bits virtual" per CPU (arch/x86/kernel/cpu/proc.c);
 * the first one stands for all. -1 when absent (arm64) or malformed. */
static int cpuinfo_phys_bits(const char *buf) {
        const char *p = strstr(buf, "\naddress sizes");
        unsigned bits;

        if (!p)
                return -1;
        p = strchr(p, ':');
        if (!p || sscanf(p + 1, "%u bits physical", &bits) != 1 || bits < 32 || bits > 64)
                return -1;
        return bits;
}

/* drivers/vfio/vfio_iommu_type1.c: "dma_entry_limit", an unsigned int, 65535 by default (U16_MAX), since
 * 5.1. Absent when the module is not loaded or predates it. */
static int64_t read_dma_entry_limit(const Reader *r) {
        _cleanup_free_ char *line = NULL;
        uint64_t v;

        if (reader_read_line(r, "sys/module/vfio_iommu_type1/parameters/dma_entry_limit", &line) < 0 ||
            safe_atou64_base(line, 10, &v) < 0 || v > UINT32_MAX)
                return -1;
        return (int64_t) v;
}

static void host_load_misc(const Reader *r, Host *h) {
        static const char *const unsafe_params[] = {
                "sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts",
                "sys/module/iommufd/parameters/allow_unsafe_interrupts",
        };
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, n_bad = 0;
        int k;

        for (size_t i = 0; i < ELEMENTSOF(unsafe_params); i++) {
                _cleanup_free_ char *line = NULL;

                if (reader_read_line(r, unsafe_params[i], &line) < 0)
                        continue;
                if (streq(line, "Y") || streq(line, "1"))
                        h->allow_unsafe_interrupts = true;
        }
        h->dma_entry_limit = read_dma_entry_limit(r);

        k = reader_read_file(r, "proc/cpuinfo", PROC_FILE_MAX, &buf, &size);
        if (k >= 0) {
                k = cpuinfo_parse_vendor(buf, size, &h->cpu_vendor);
                if (k == -ENOMEM)
                        return;
                if (k < 0)
                        warn(&h->warnings, "proc/cpuinfo names no CPU vendor");
                h->cpu_phys_bits = cpuinfo_phys_bits(buf);
        } else
                warn(&h->warnings, "cannot read proc/cpuinfo: %s; CPU vendor unknown", strerror(-k));
        free(buf);
        buf = NULL;

        k = reader_read_file(r, "proc/iomem", PROC_FILE_MAX, &buf, &size);
        if (k >= 0) {
                k = iomem_parse(buf, size, &h->iomem, &h->n_iomem, &n_bad, &h->iomem_zeroed);
                if (k >= 0 && n_bad > 0)
                        warn(&h->warnings, "proc/iomem: %zu lines could not be parsed and were skipped", n_bad);
                if (k >= 0 && h->iomem_zeroed)
                        warn(&h->warnings, "proc/iomem shows only zero ranges " HOST_WARNING_HIDDEN_RANGES);
        } else if (k != -ENOENT)
                warn(&h->warnings, "cannot read proc/iomem: %s", strerror(-k));
}

static int vfio_node_compare(const void *a, const void *b) {
        return strcmp(((const VfioNode *) a)->name, ((const VfioNode *) b)->name);
}

static int pid_compare(const void *a, const void *b) {
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;
        return x < y ? -1 : x > y;
}

static int host_add_vfio_node(Host *h, const char *name, size_t *allocated) {
        int n;

        if (!GREEDY_REALLOC(h->vfio_nodes, *allocated, h->n_vfio_nodes + 1))
                return -ENOMEM;
        h->vfio_nodes[h->n_vfio_nodes] = (VfioNode) { .name = strdup(name), .group = -1 };
        if (!h->vfio_nodes[h->n_vfio_nodes].name)
                return -ENOMEM;
        if (safe_atoi(name, &n) >= 0 && n >= 0)
                h->vfio_nodes[h->n_vfio_nodes].group = n;
        h->n_vfio_nodes++;
        return 0;
}

static void vfio_nodes_free(VfioNode *v, size_t n) {
        for (size_t i = 0; i < n; i++) {
                for (size_t j = 0; v[i].comms && j < v[i].n_pids; j++)
                        free(v[i].comms[j]);
                free(v[i].comms);
                free(v[i].name);
                free(v[i].pids);
        }
        free(v);
}

/* The name beside each user's PID, so "open by PID 4242" says what 4242 is. A process gone since, or one
 * whose name does not parse, keeps a NULL name. */
static int vfio_node_load_comms(const Reader *r, VfioNode *v) {
        v->comms = calloc(v->n_pids, sizeof(char *));
        if (!v->comms)
                return -ENOMEM;
        for (size_t i = 0; i < v->n_pids; i++) {
                char path[64], buf[PROC_COMM_MAX + 1], comm[PROC_COMM_MAX];
                size_t size = 0;

                (void) snprintf(path, sizeof(path), "proc/%d/comm", (int) v->pids[i]);
                if (reader_read_file_buf(r, path, buf, sizeof(buf), &size) < 0 ||
                    proc_comm_parse(buf, size, comm) < 0)
                        continue;
                v->comms[i] = strdup(comm);
                if (!v->comms[i])
                        return -ENOMEM;
        }
        return 0;
}

/* /dev/vfio nodes and, through /proc/PID/fd, the processes holding them: the real users of a group. */
static int host_load_vfio(const Reader *r, Host *h) {
        _cleanup_strv_free_ char **nodes = NULL, **cdevs = NULL, **pids = NULL;
        size_t allocated = 0;
        int k;

        k = reader_list_dir(r, "dev/vfio", &nodes);
        if (k == -ENOENT)
                return 0;
        if (k < 0) {
                warn(&h->warnings, "cannot list dev/vfio: %s", strerror(-k));
                return 0;
        }
        reader_trace_entries(r, "dev/vfio", nodes);
        STRV_FOREACH(n, nodes) {
                if (streq(*n, "devices")) {
                        if (reader_list_dir(r, "dev/vfio/devices", &cdevs) >= 0)
                                reader_trace_entries(r, "dev/vfio/devices", cdevs);
                        STRV_FOREACH(c, cdevs) {
                                _cleanup_free_ char *name = NULL;
                                if (asprintf_safe(&name, "devices/%s", *c) < 0)
                                        return -ENOMEM;
                                if (host_add_vfio_node(h, name, &allocated) < 0)
                                        return -ENOMEM;
                        }
                        continue;
                }
                if (host_add_vfio_node(h, *n, &allocated) < 0)
                        return -ENOMEM;
        }
        if (h->n_vfio_nodes == 0)
                return 0;
        qsort(h->vfio_nodes, h->n_vfio_nodes, sizeof(VfioNode), vfio_node_compare);

        k = reader_list_dir(r, "proc", &pids);
        if (k < 0)
                return 0;
        STRV_FOREACH(pid, pids) {
                _cleanup_strv_free_ char **fds = NULL;
                _cleanup_free_ char *fddir = NULL;
                int p;

                if (safe_atoi(*pid, &p) < 0 || p <= 0)
                        continue;
                if (asprintf_safe(&fddir, "proc/%s/fd", *pid) < 0)
                        return -ENOMEM;
                /* Processes come and go, and other users' fds are unreadable without privileges. */
                if (reader_list_dir(r, fddir, &fds) < 0)
                        continue;
                STRV_FOREACH(fd, fds) {
                        _cleanup_free_ char *link = NULL, *target = NULL;
                        const char *node;
                        VfioNode key, *v;

                        if (asprintf_safe(&link, "%s/%s", fddir, *fd) < 0)
                                return -ENOMEM;
                        if (reader_readlink_untraced(r, link, &target) < 0)
                                continue;
                        node = startswith(target, "/dev/vfio/");
                        if (!node)
                                continue;
                        reader_trace(r, link);
                        key.name = (char *) node;
                        v = bsearch(&key, h->vfio_nodes, h->n_vfio_nodes, sizeof(VfioNode), vfio_node_compare);
                        if (!v)
                                continue;
                        if (v->n_pids > 0 && v->pids[v->n_pids - 1] == p)
                                continue;
                        pid_t *np = realloc(v->pids, sizeof(pid_t) * (v->n_pids + 1));
                        if (!np)
                                return -ENOMEM;
                        v->pids = np;
                        v->pids[v->n_pids++] = p;
                }
        }
        for (size_t i = 0; i < h->n_vfio_nodes; i++) {
                if (h->vfio_nodes[i].n_pids > 1)
                        qsort(h->vfio_nodes[i].pids, h->vfio_nodes[i].n_pids, sizeof(pid_t), pid_compare);
                if (h->vfio_nodes[i].n_pids > 0 && vfio_node_load_comms(r, h->vfio_nodes + i) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* ---- the host ---- */

static int device_compare(const void *a, const void *b) {
        return pci_address_compare(&(*(Device *const *) a)->addr, &(*(Device *const *) b)->addr);
}

static int group_compare(const void *a, const void *b) {
        unsigned x = (*(Group *const *) a)->number, y = (*(Group *const *) b)->number;
        return x < y ? -1 : x > y;
}

static int unit_compare(const void *a, const void *b) {
        return strcmp((*(IommuUnit *const *) a)->name, (*(IommuUnit *const *) b)->name);
}

Host *host_free(Host *h) {
        if (!h)
                return NULL;
        for (size_t i = 0; i < h->n_devices; i++)
                device_free(h->devices[i]);
        free(h->devices);
        for (size_t i = 0; i < h->n_groups; i++)
                group_free(h->groups[i]);
        free(h->groups);
        for (size_t i = 0; i < h->n_units; i++)
                unit_free(h->units[i]);
        free(h->units);
        vfio_nodes_free(h->vfio_nodes, h->n_vfio_nodes);
        iomem_free(h->iomem, h->n_iomem);
        free(h->cpu_vendor);
        free(h->root);
        strv_free(h->warnings);
        free(h);
        return NULL;
}

static Device **host_find_device_slot(const Host *h, const PciAddress *a) {
        size_t lo = 0, hi = h->n_devices;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = pci_address_compare(&h->devices[mid]->addr, a);
                if (c == 0)
                        return h->devices + mid;
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

const Device *host_find_device(const Host *h, const char *address) {
        PciAddress a;
        Device **d;

        if (!address || pci_address_parse(address, &a) < 0)
                return NULL;
        d = host_find_device_slot(h, &a);
        return d ? *d : NULL;
}

static Group **host_find_group_slot(const Host *h, unsigned number) {
        size_t lo = 0, hi = h->n_groups;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (h->groups[mid]->number == number)
                        return h->groups + mid;
                if (h->groups[mid]->number < number)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

const Group *host_find_group(const Host *h, unsigned number) {
        Group **g = host_find_group_slot(h, number);
        return g ? *g : NULL;
}

const IommuUnit *host_find_unit(const Host *h, const char *name) {
        for (size_t i = 0; name && i < h->n_units; i++)
                if (streq(h->units[i]->name, name))
                        return h->units[i];
        return NULL;
}

const VfioNode *host_find_vfio_group_node(const Host *h, unsigned number) {
        char name[16];
        VfioNode key = { .name = name };

        /* The node of group N is /dev/vfio/N (vfio_group_alloc()); nodes are sorted by name. Called once
         * per group shown, so a linear search was quadratic on hosts with thousands of groups. */
        if (h->n_vfio_nodes == 0)
                return NULL;
        (void) snprintf(name, sizeof(name), "%u", number);
        return bsearch(&key, h->vfio_nodes, h->n_vfio_nodes, sizeof(VfioNode), vfio_node_compare);
}

/* A device without an `iommu` link (older kernels) is served by the unit that lists it. */
static int device_link_unit(const Host *h, Device *d) {
        if (d->iommu)
                return 0;
        for (size_t i = 0; i < h->n_units; i++)
                if (strv_contains(h->units[i]->devices, d->address)) {
                        d->iommu = strdup(h->units[i]->name);
                        return d->iommu ? 0 : -ENOMEM;
                }
        return 0;
}

/* The two views of membership (the device's iommu_group link, the group's devices/ directory) must
 * agree; the group directory is what VFIO uses, so a disagreement is reported, never silently fixed. */
static void device_check_group(const Host *h, Device *d) {
        const Group *g;

        /* An unreadable link: the group that lists the device is its group, as VFIO sees it. */
        if (!d->group_known)
                for (size_t i = 0; d->group < 0 && i < h->n_groups; i++)
                        if (strv_contains(h->groups[i]->devices, d->address)) {
                                d->group = h->groups[i]->number;
                                d->group_known = true;
                        }
        if (d->group < 0)
                return;
        g = host_find_group(h, d->group);
        if (!g)
                warn(&d->warnings, "%s/iommu_group points to group %d, which does not exist", d->syspath,
                     d->group);
        else if (!strv_contains(g->devices, d->address))
                warn(&d->warnings, "%s/iommu_group points to group %d, which does not list it", d->syspath,
                     d->group);
}

static int host_load_devices(const Reader *r, Host *h) {
        _cleanup_strv_free_ char **names = NULL;
        size_t allocated = 0;
        int k;

        k = reader_list_dir(r, "sys/bus/pci/devices", &names);
        if (k == -ENOENT) {
                warn(&h->warnings, "sys/bus/pci/devices does not exist: no PCI bus");
                return 0;
        }
        if (k < 0)
                return k;
        STRV_FOREACH(n, names) {
                Device *d = NULL;

                k = device_load(r, *n, &d, &h->warnings);
                if (k == -ENOMEM)
                        return k;
                if (k < 0)
                        continue;
                if (!GREEDY_REALLOC(h->devices, allocated, h->n_devices + 1)) {
                        device_free(d);
                        return -ENOMEM;
                }
                h->devices[h->n_devices++] = d;
        }
        if (h->n_devices > 1)
                qsort(h->devices, h->n_devices, sizeof(Device *), device_compare);
        return 0;
}

static int host_load_groups(const Reader *r, Host *h) {
        _cleanup_strv_free_ char **names = NULL;
        size_t allocated = 0;
        int k, n;

        k = reader_list_dir(r, "sys/kernel/iommu_groups", &names);
        if (k == -ENOENT)
                return 0; /* no IOMMU */
        if (k < 0)
                return k;
        STRV_FOREACH(name, names) {
                Group *g = NULL;

                if (safe_atoi(*name, &n) < 0 || n < 0) {
                        warn(&h->warnings, "sys/kernel/iommu_groups/%s is not a group number; ignored", *name);
                        continue;
                }
                k = group_load(r, n, &g);
                if (k == -ENOMEM)
                        return k;
                if (k < 0)
                        continue;
                if (!GREEDY_REALLOC(h->groups, allocated, h->n_groups + 1)) {
                        group_free(g);
                        return -ENOMEM;
                }
                h->groups[h->n_groups++] = g;
        }
        if (h->n_groups > 1)
                qsort(h->groups, h->n_groups, sizeof(Group *), group_compare);
        return 0;
}

/* "6.1.0-26-amd64" -> 6, 1. Needed before the units are read (see amd_features_order()). */
static void host_load_kernel_version(const Reader *r, Host *h) {
        _cleanup_free_ char *release = NULL;
        unsigned major, minor;

        h->kernel_major = h->kernel_minor = -1;
        if (reader_read_line(r, "proc/sys/kernel/osrelease", &release) < 0)
                return;
        if (sscanf(release, "%u.%u", &major, &minor) == 2 && major < 1000 && minor < 1000) {
                h->kernel_major = major;
                h->kernel_minor = minor;
        } else
                warn(&h->warnings, "proc/sys/kernel/osrelease holds \"%s\", not a kernel version", release);
}

static int host_load_units(const Reader *r, Host *h) {
        _cleanup_strv_free_ char **names = NULL;
        size_t allocated = 0;
        int k;

        k = reader_list_dir(r, "sys/class/iommu", &names);
        if (k == -ENOENT)
                return 0;
        if (k < 0)
                return k;
        STRV_FOREACH(name, names) {
                IommuUnit *u = NULL;

                k = unit_load(r, h, *name, &u);
                if (k == -ENOMEM)
                        return k;
                if (k < 0)
                        continue;
                if (!GREEDY_REALLOC(h->units, allocated, h->n_units + 1)) {
                        unit_free(u);
                        return -ENOMEM;
                }
                h->units[h->n_units++] = u;
        }
        if (h->n_units > 1)
                qsort(h->units, h->n_units, sizeof(IommuUnit *), unit_compare);
        return 0;
}

static char *root_prefix(const char *root) {
        char *p = strdup(root ?: "/");
        size_t l;

        if (!p)
                return NULL;
        l = strlen(p);
        while (l > 0 && p[l - 1] == '/')
                p[--l] = 0;
        return p;
}

int host_load_traced(const char *root, HostTrace *trace, Host **ret) {
        _cleanup_(host_freep) Host *h = NULL;
        _cleanup_free_ char *prefix = NULL;
        _cleanup_(resolve_cache_done) ResolveCache cache = RESOLVE_CACHE_INIT;
        Reader r;
        struct stat st;
        int k;

        if (isempty(root))
                root = "/";
        prefix = root_prefix(root);
        if (!prefix)
                return -ENOMEM;
        {
                _cleanup_free_ char *check = NULL;
                if (asprintf_safe(&check, "%s/", prefix) < 0)
                        return -ENOMEM;
                if (stat(check, &st) < 0)
                        return -errno;
                if (!S_ISDIR(st.st_mode))
                        return -ENOTDIR;
        }
        r = (Reader) { .root = prefix, .trace = trace, .cache = &cache };

        h = calloc(1, sizeof(Host));
        if (!h)
                return -ENOMEM;
        h->cpu_phys_bits = -1;
        h->dma_entry_limit = -1;
        h->root = strdup(root);
        if (!h->root)
                return -ENOMEM;

        host_load_kernel_version(&r, h);
        k = host_load_units(&r, h);
        if (k < 0)
                return k;
        k = host_load_groups(&r, h);
        if (k < 0)
                return k;
        k = host_load_devices(&r, h);
        if (k < 0)
                return k;
        for (size_t i = 0; i < h->n_devices; i++) {
                k = device_link_unit(h, h->devices[i]);
                if (k < 0)
                        return k;
                device_check_group(h, h->devices[i]);
        }
        /* The other direction: a member the kernel lists whose device we could not model (its bus link
         * was unusable) still counts for VFIO; say that its driver and BARs are unknown. */
        for (size_t i = 0; i < h->n_groups; i++)
                STRV_FOREACH(m, h->groups[i]->devices)
                        if (!host_find_device(h, *m))
                                warn(&h->groups[i]->warnings,
                                     "member %s has no usable sys/bus/pci/devices entry: its driver, BARs and "
                                     "viability are unknown", *m);
        host_load_misc(&r, h);
        host_iommufd_load(&r, h);
        k = host_load_vfio(&r, h);
        if (k < 0)
                return k;

        *ret = TAKE_PTR(h);
        return 0;
}

int host_load(const char *root, Host **ret) {
        return host_load_traced(root, NULL, ret);
}

/* ---- in-place updates for the daemon ---- */

/* Field by field: the structs have padding, which memcmp() would read uninitialised. */
static bool bars_equal(const Bar *a, const Bar *b, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (a[i].index != b[i].index || a[i].start != b[i].start || a[i].end != b[i].end ||
                    a[i].flags != b[i].flags)
                        return false;
        return true;
}

static bool windows_equal(const Window *a, const Window *b, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (a[i].kind != b[i].kind || a[i].start != b[i].start || a[i].end != b[i].end ||
                    a[i].flags != b[i].flags)
                        return false;
        return true;
}

static bool config_equal(const PciConfig *a, const PciConfig *b) {
        return a->vendor == b->vendor && a->device == b->device && a->class == b->class &&
               a->header_type == b->header_type && a->multifunction == b->multifunction &&
               a->secondary_bus == b->secondary_bus && a->subordinate_bus == b->subordinate_bus &&
               a->pcie_type == b->pcie_type && a->acs == b->acs && a->acs_capability == b->acs_capability &&
               a->acs_control == b->acs_control;
}

static bool strv_equal(char *const *a, char *const *b) {
        size_t n = strv_length(a);

        if (n != strv_length(b))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!streq(a[i], b[i]))
                        return false;
        return true;
}

static bool device_equal(const Device *a, const Device *b) {
        return streq(a->address, b->address) && streq_ptr(a->syspath, b->syspath) && a->vendor == b->vendor &&
               a->device == b->device && a->subsystem_vendor == b->subsystem_vendor &&
               a->subsystem_device == b->subsystem_device && a->class == b->class &&
               a->revision == b->revision && a->vendor_known == b->vendor_known &&
               a->device_known == b->device_known && a->class_known == b->class_known &&
               a->driver_known == b->driver_known && a->group_known == b->group_known &&
               streq_ptr(a->driver, b->driver) && streq_ptr(a->driver_override, b->driver_override) &&
               a->group == b->group && streq_ptr(a->parent, b->parent) && streq_ptr(a->iommu, b->iommu) &&
               a->n_bars == b->n_bars && bars_equal(a->bars, b->bars, a->n_bars) &&
               a->n_iov_bars == b->n_iov_bars && bars_equal(a->iov_bars, b->iov_bars, a->n_iov_bars) &&
               a->n_windows == b->n_windows && windows_equal(a->windows, b->windows, a->n_windows) &&
               a->resource_zeroed == b->resource_zeroed && streq_ptr(a->physfn, b->physfn) &&
               strv_equal(a->virtfns, b->virtfns) && a->sriov_numvfs == b->sriov_numvfs &&
               a->numa_node == b->numa_node && a->config_read == b->config_read &&
               (!a->config_read || config_equal(&a->config, &b->config)) && strv_equal(a->warnings, b->warnings) &&
               device_reset_equal(&a->reset, &b->reset) && a->boot_vga == b->boot_vga &&
               a->rom_sysfs == b->rom_sysfs && streq_ptr(a->vfio_cdev, b->vfio_cdev);
}

static bool group_equal(const Group *a, const Group *b) {
        if (a->number != b->number || !streq_ptr(a->type, b->type) || !strv_equal(a->devices, b->devices) ||
            a->regions_known != b->regions_known ||
            !strv_equal(a->warnings, b->warnings) || a->n_regions != b->n_regions)
                return false;
        for (size_t i = 0; i < a->n_regions; i++)
                if (a->regions[i].start != b->regions[i].start || a->regions[i].end != b->regions[i].end ||
                    a->regions[i].type != b->regions[i].type)
                        return false;
        return true;
}

int host_reload_group(Host *h, unsigned number) {
        _cleanup_free_ char *prefix = root_prefix(h->root);
        Reader r = { .root = prefix };
        Group *g = NULL, **slot;
        int k;

        if (!prefix)
                return -ENOMEM;
        slot = host_find_group_slot(h, number);
        k = group_load(&r, number, &g);
        if (k == -ENOENT) {
                /* Gone: drop it. */
                size_t i;
                if (!slot)
                        return 0;
                i = slot - h->groups;
                group_free(*slot);
                memmove(h->groups + i, h->groups + i + 1, sizeof(Group *) * (h->n_groups - i - 1));
                h->n_groups--;
                return 1;
        }
        if (k < 0)
                return k;
        if (slot) {
                bool same = group_equal(*slot, g);
                group_free(*slot);
                *slot = g;
                return !same;
        }
        {
                Group **ng = realloc(h->groups, sizeof(Group *) * (h->n_groups + 1));
                if (!ng) {
                        group_free(g);
                        return -ENOMEM;
                }
                h->groups = ng;
                h->groups[h->n_groups++] = g;
                qsort(h->groups, h->n_groups, sizeof(Group *), group_compare);
        }
        return 1;
}

int host_reload_iomem(Host *h) {
        _cleanup_free_ char *prefix = root_prefix(h->root), *buf = NULL;
        Reader r = { .root = prefix };
        IomemEntry *iomem = NULL;
        size_t size = 0, n = 0, n_bad = 0;
        bool zeroed = false;
        int k;

        if (!prefix)
                return -ENOMEM;
        k = reader_read_file(&r, "proc/iomem", PROC_FILE_MAX, &buf, &size);
        if (k < 0)
                return k == -ENOENT ? 0 : k; /* keep what was read; the load warned about it */
        k = iomem_parse(buf, size, &iomem, &n, &n_bad, &zeroed);
        if (k < 0)
                return k;
        iomem_free(h->iomem, h->n_iomem);
        h->iomem = iomem;
        h->n_iomem = n;
        h->iomem_zeroed = zeroed;
        return 0;
}

int host_reload_vfio(Host *h) {
        _cleanup_free_ char *prefix = root_prefix(h->root);
        Reader r = { .root = prefix };

        if (!prefix)
                return -ENOMEM;
        vfio_nodes_free(h->vfio_nodes, h->n_vfio_nodes);
        h->vfio_nodes = NULL;
        h->n_vfio_nodes = 0;
        host_iommufd_load(&r, h); /* loading the iommufd module creates /dev/iommu, silently too */
        return host_load_vfio(&r, h);
}

static int host_reload_groups_of(Host *h, int old_group, int new_group) {
        int k, changed = 0;

        if (new_group >= 0 && new_group != old_group) {
                k = host_reload_group(h, new_group);
                if (k < 0)
                        return k;
                changed |= k;
        }
        if (old_group >= 0) {
                k = host_reload_group(h, old_group);
                if (k < 0)
                        return k;
                changed |= k;
        }
        return changed;
}

/* A device that came or went changes the device list of the unit serving it: which one, its directory
 * says; the few units are all listed again. Returns 1 when a list changed. */
static int host_reload_unit_devices(Host *h, const Reader *r) {
        int changed = 0;

        for (size_t i = 0; i < h->n_units; i++) {
                _cleanup_strv_free_ char **old = TAKE_PTR(h->units[i]->devices);
                int k;

                k = unit_load_devices(r, h->units[i]);
                if (k < 0)
                        return k;
                changed |= !strv_equal(old, h->units[i]->devices);
        }
        return changed;
}

int host_reload_device(Host *h, const char *address) {
        _cleanup_free_ char *prefix = root_prefix(h->root);
        _cleanup_strv_free_ char **ignored = NULL;
        _cleanup_(device_freep) Device *d = NULL;
        Reader r = { .root = prefix };
        Device **slot;
        PciAddress a;
        int old_group = -1, k, changed, unit_changed;

        if (!prefix)
                return -ENOMEM;
        if (pci_address_parse(address, &a) < 0)
                return -EINVAL;
        slot = host_find_device_slot(h, &a);
        if (slot)
                old_group = (*slot)->group;

        k = device_load(&r, address, &d, &ignored);
        if (k == -ENOMEM)
                return k;
        if (k < 0) {
                /* Gone (or unreadable): drop it, and its old group lost a member. */
                changed = 0;
                if (slot) {
                        size_t i = slot - h->devices;
                        device_free(*slot);
                        memmove(h->devices + i, h->devices + i + 1, sizeof(Device *) * (h->n_devices - i - 1));
                        h->n_devices--;
                        changed = 1;
                }
                k = host_reload_groups_of(h, old_group, -1);
                if (k < 0)
                        return k;
                changed |= k;
                k = host_reload_unit_devices(h, &r);
                return k < 0 ? k : changed | k;
        }

        k = host_reload_unit_devices(h, &r);
        if (k < 0)
                return k;
        unit_changed = k;

        k = device_link_unit(h, d);
        if (k < 0)
                return k;
        /* Groups first, so that the membership check below sees them as they are now. */
        changed = host_reload_groups_of(h, old_group, d->group);
        if (changed < 0)
                return changed;
        changed |= unit_changed;
        device_check_group(h, d);

        if (slot) {
                changed |= !device_equal(*slot, d);
                device_free(*slot);
                *slot = TAKE_PTR(d);
                return changed;
        }
        {
                Device **nd = realloc(h->devices, sizeof(Device *) * (h->n_devices + 1));
                if (!nd)
                        return -ENOMEM;
                h->devices = nd;
                h->devices[h->n_devices++] = TAKE_PTR(d);
                qsort(h->devices, h->n_devices, sizeof(Device *), device_compare);
        }
        return 1;
}
