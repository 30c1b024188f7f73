/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The host model on small trees built here, one per situation, including the bad inputs the model must
 * survive: each case states the tree and what the model must make of it. */

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sys/stat.h>

#include "host-json.h"
#include "host.h"
#include "json-util.h"
#include "tap.h"
#include "util.h"

static char root[PATH_MAX];

static void mkdir_parents(const char *path) {
        char buf[PATH_MAX * 2];

        (void) snprintf(buf, sizeof(buf), "%s", path);
        for (char *p = buf + 1; *p; p++)
                if (*p == '/') {
                        *p = 0;
                        (void) mkdir(buf, 0755);
                        *p = '/';
                }
}

static void put(const char *rel, const void *data, size_t len) {
        char p[PATH_MAX * 2];
        int fd;

        (void) snprintf(p, sizeof(p), "%s/%s", root, rel);
        mkdir_parents(p);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || write(fd, data, len) != (ssize_t) len) {
                perror(p);
                exit(EXIT_FAILURE);
        }
        close(fd);
}

static void put_str(const char *rel, const char *s) {
        put(rel, s, strlen(s));
}

static void link_to(const char *rel, const char *target) {
        char p[PATH_MAX * 2];

        (void) snprintf(p, sizeof(p), "%s/%s", root, rel);
        mkdir_parents(p);
        (void) unlink(p);
        if (symlink(target, p) < 0) {
                perror(p);
                exit(EXIT_FAILURE);
        }
}

static void mkdir_rel(const char *rel) {
        char p[PATH_MAX * 2];

        (void) snprintf(p, sizeof(p), "%s/%s/", root, rel);
        mkdir_parents(p);
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(p);
}

static void fresh_root(void) {
        if (root[0])
                (void) nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        (void) snprintf(root, sizeof(root), "/tmp/vfiomap-test-host.XXXXXX");
        if (!mkdtemp(root)) {
                perror("mkdtemp");
                exit(EXIT_FAILURE);
        }
}

/* A 4 KiB config space with a PCI Express capability of the given port type (or none, type < 0) and,
 * when acs_ctrl >= 0, an ACS extended capability. */
static void put_config(const char *dir, uint16_t vendor, uint16_t device, uint32_t class, bool bridge,
                       int pcie_type, int acs_ctrl, size_t len) {
        uint8_t c[4096] = {};
        char p[PATH_MAX * 2];

        c[0] = vendor & 0xff, c[1] = vendor >> 8;
        c[2] = device & 0xff, c[3] = device >> 8;
        c[9] = class & 0xff, c[10] = (class >> 8) & 0xff, c[11] = class >> 16;
        c[0x0e] = bridge ? 1 : 0;
        if (pcie_type >= 0) {
                c[0x06] = 0x10; /* capability list */
                c[0x34] = 0x40;
                c[0x40] = 0x10; /* PCI Express */
                c[0x41] = 0x00;
                c[0x42] = 0x02 | (uint8_t) (pcie_type << 4);
        }
        if (acs_ctrl >= 0) {
                c[0x100] = 0x0d, c[0x101] = 0x00, c[0x102] = 0x01, c[0x103] = 0x00;
                c[0x104] = 0x1f, c[0x105] = 0x00; /* capability: SV TB RR CR UF */
                c[0x106] = acs_ctrl & 0xff, c[0x107] = acs_ctrl >> 8;
        }
        (void) snprintf(p, sizeof(p), "%s/config", dir);
        put(p, c, len);
}

static const char *const zero_line = "0x0000000000000000 0x0000000000000000 0x0000000000000000\n";

/* A device directory with ids, class, driver, group and a resource file of 13 lines (CONFIG_PCI_IOV). */
static void add_device(const char *path, const char *addr, uint16_t vendor, uint16_t device, uint32_t class,
                       const char *driver, int group, const char *bar0) {
        char p[PATH_MAX * 2], v[32], t[PATH_MAX], res[2048] = "";
        unsigned depth = 0;

        for (const char *s = path; *s; s++)
                depth += *s == '/';
        (void) snprintf(p, sizeof(p), "%s/vendor", path);
        (void) snprintf(v, sizeof(v), "0x%04x\n", vendor);
        put_str(p, v);
        (void) snprintf(p, sizeof(p), "%s/device", path);
        (void) snprintf(v, sizeof(v), "0x%04x\n", device);
        put_str(p, v);
        (void) snprintf(p, sizeof(p), "%s/class", path);
        (void) snprintf(v, sizeof(v), "0x%06x\n", class);
        put_str(p, v);
        (void) snprintf(p, sizeof(p), "%s/driver_override", path);
        put_str(p, "(null)\n");
        strcat(res, bar0 ?: zero_line);
        for (int i = 1; i < 13; i++)
                strcat(res, zero_line);
        (void) snprintf(p, sizeof(p), "%s/resource", path);
        put_str(p, res);

        /* sys/bus/pci/devices/ADDR -> ../../../devices/... */
        (void) snprintf(p, sizeof(p), "sys/bus/pci/devices/%s", addr);
        (void) snprintf(t, sizeof(t), "../../../%s", path + strlen("sys/"));
        link_to(p, t);
        if (driver) {
                (void) snprintf(p, sizeof(p), "%s/driver", path);
                t[0] = 0;
                for (unsigned i = 0; i < depth; i++)
                        strcat(t, "../");
                strcat(t, "bus/pci/drivers/");
                strcat(t, driver);
                link_to(p, t);
                (void) snprintf(p, sizeof(p), "sys/bus/pci/drivers/%s", driver);
                mkdir_rel(p);
        }
        if (group >= 0) {
                (void) snprintf(p, sizeof(p), "%s/iommu_group", path);
                t[0] = 0;
                for (unsigned i = 0; i < depth; i++)
                        strcat(t, "../");
                (void) snprintf(t + strlen(t), sizeof(t) - strlen(t), "kernel/iommu_groups/%d", group);
                link_to(p, t);
                (void) snprintf(p, sizeof(p), "sys/kernel/iommu_groups/%d/devices/%s", group, addr);
                (void) snprintf(t, sizeof(t), "../../../../%s", path + strlen("sys/"));
                link_to(p, t);
        }
}

#define RP "sys/devices/pci0000:00/0000:00:01.0"
#define GPU RP "/0000:01:00.0"
#define AUDIO RP "/0000:01:00.1"
#define MSI "0x00000000fee00000 0x00000000feefffff msi\n"

/* Root port without ACS isolation, a GPU on vfio-pci and its audio function on snd_hda_intel. */
static void build_gpu_host(void) {
        fresh_root();
        add_device(RP, "0000:00:01.0", 0x8086, 0x1901, 0x060400, "pcieport", 1, NULL);
        put_config(RP, 0x8086, 0x1901, 0x060400, true, 4, 0x0000, 4096);
        add_device(GPU, "0000:01:00.0", 0x10de, 0x1b81, 0x030000, "vfio-pci", 1,
                   "0x00000000de000000 0x00000000deffffff 0x0000000000040200\n");
        put_config(GPU, 0x10de, 0x1b81, 0x030000, false, 0, -1, 4096);
        add_device(AUDIO, "0000:01:00.1", 0x10de, 0x10f0, 0x040300, "snd_hda_intel", 1, NULL);
        put_config(AUDIO, 0x10de, 0x10f0, 0x040300, false, 0, -1, 4096);
        put_str("sys/kernel/iommu_groups/1/reserved_regions", MSI);
        put_str("sys/kernel/iommu_groups/1/type", "DMA\n");
        mkdir_rel("sys/devices/virtual/iommu/dmar0/intel-iommu");
        put_str("sys/devices/virtual/iommu/dmar0/intel-iommu/cap", "d2008c40660462\n");
        put_str("sys/devices/virtual/iommu/dmar0/intel-iommu/ecap", "f0050da\n");
        link_to("sys/class/iommu/dmar0", "../../devices/virtual/iommu/dmar0");
        link_to("sys/devices/virtual/iommu/dmar0/devices/0000:01:00.0", "../../../../pci0000:00/0000:00:01.0/0000:01:00.0");
        put_str("proc/cpuinfo", "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\n"
                                "address sizes\t: 39 bits physical, 48 bits virtual\n\n");
        put_str("sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "N\n");
}

static void test_gpu_host(void) {
        _cleanup_(host_freep) Host *h = NULL;
        _cleanup_free_ Blocker *b = NULL;
        _cleanup_free_ SharedBecause *sb = NULL;
        char *assigned[] = { (char *) "0000:01:00.0", (char *) "0000:01:00.1", NULL };
        const Device *gpu, *rp;
        const Group *g;
        int n;

        build_gpu_host();
        ok(host_load(root, &h) == 0, "gpu host: loads");
        if (!h)
                return;
        is_int(h->n_devices, 3, "gpu host: three devices");
        is_int(h->n_groups, 1, "gpu host: one group");
        gpu = host_find_device(h, "0000:01:00.0");
        rp = host_find_device(h, "0000:00:01.0");
        ok(gpu && rp, "gpu host: devices found by address");
        if (!gpu || !rp)
                return;
        is_str(gpu->driver, "vfio-pci", "gpu: driver from the driver link");
        is_str(gpu->parent, "0000:00:01.0", "gpu: parent from the device path");
        is_str(rp->parent, NULL, "root port: on the root bus");
        is_int(gpu->group, 1, "gpu: group from iommu_group");
        is_int(gpu->n_bars, 1, "gpu: one BAR");
        is_u64(gpu->bars[0].start, 0xde000000, "gpu: BAR0 start");
        is_u64(gpu->bars[0].end, 0xdeffffff, "gpu: BAR0 inclusive end");
        is_str(gpu->iommu, "dmar0", "gpu: unit from the unit's devices directory");
        is_str(gpu->driver_override, NULL, "gpu: driver_override (null) is unset");
        is_int(rp->config.pcie_type, PCIE_TYPE_ROOT_PORT, "root port: PCIe type");
        ok(rp->config.acs == ACS_PRESENT && !device_acs_isolates(rp), "root port: ACS present, not enabled");
        is_int(gpu->config.acs, ACS_ABSENT, "gpu: no ACS capability");
        is_int(strv_length(gpu->warnings), 0, "gpu: no warnings");

        g = host_find_group(h, 1);
        is_int(g->n_regions, 1, "group 1: one reserved region");
        is_int(g->regions[0].type, RESV_MSI, "group 1: msi region");
        is_str(g->type, "DMA", "group 1: type");
        ok(!group_is_viable(h, g), "group 1: not viable while the audio function has a host driver");
        n = group_blockers(h, g, NULL, &b);
        ok(n == 1 && streq(b[0].device, "0000:01:00.1") && streq(b[0].driver, "snd_hda_intel"),
           "group 1: the audio function blocks it, named with its driver");
        free(b);
        b = NULL;
        is_int(group_blockers(h, g, assigned, &b), 0, "group 1: viable for a VM that takes both functions");
        n = group_shared_because(h, g, &sb);
        ok(n == 1 && sb[0].reason == SHARED_NO_ACS && streq(sb[0].device, "0000:00:01.0"),
           "group 1: shared because root port 00:01.0 lacks ACS");
        is_str(group_iommu(h, g), "dmar0", "group 1: served by dmar0");

        is_int(h->n_units, 1, "one IOMMU unit");
        is_int(h->units[0]->kind, IOMMU_INTEL, "dmar0 is Intel");
        is_int(h->units[0]->address_width, 39, "dmar0: MGAW 39 from cap d2008c40660462");
        is_int(h->units[0]->interrupt_remapping, 1, "dmar0: interrupt remapping from ecap");
        is_str(h->cpu_vendor, "GenuineIntel", "cpu vendor");
        is_int(h->cpu_phys_bits, 39, "cpu physical address bits");
        is_int(h->kernel_major, -1, "kernel version unknown without proc/sys/kernel/osrelease");
        ok(!h->allow_unsafe_interrupts, "unsafe interrupts not allowed");
}

static void test_reload(void) {
        _cleanup_(host_freep) Host *h = NULL;
        const Group *g;

        build_gpu_host();
        if (host_load(root, &h) < 0) {
                ok(false, "reload: loads");
                return;
        }
        is_int(host_reload_device(h, "0000:01:00.1"), 0, "reload: nothing changed, nothing reported");
        link_to(AUDIO "/driver", "../../../../bus/pci/drivers/vfio-pci");
        is_int(host_reload_device(h, "0000:01:00.1"), 1, "reload: a rebind is a change");
        is_str(host_find_device(h, "0000:01:00.1")->driver, "vfio-pci", "reload: new driver seen");
        g = host_find_group(h, 1);
        ok(group_is_viable(h, g), "reload: the group became viable");

        /* Removal: the kernel removes the bus link and the group member together. */
        {
                char p[PATH_MAX * 2];
                (void) snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/0000:01:00.1", root);
                (void) unlink(p);
                (void) snprintf(p, sizeof(p), "%s/sys/kernel/iommu_groups/1/devices/0000:01:00.1", root);
                (void) unlink(p);
        }
        is_int(host_reload_device(h, "0000:01:00.1"), 1, "reload: a removal is a change");
        ok(!host_find_device(h, "0000:01:00.1"), "reload: removed device is gone");
        is_int(strv_length(host_find_group(h, 1)->devices), 2, "reload: group lost the member");
        ok(host_reload_device(h, "nonsense") == -EINVAL, "reload: bad address refused");
}

/* Hot-unplug as the kernel does it (drivers/base/core.c, device_del()): the device leaves the bus first, its
 * group membership goes a moment later (BUS_NOTIFY_REMOVED_DEVICE), the group directory with its last
 * member. A reload in between must not keep a group that no later event will refresh (seen in the VM
 * tests: tests/vm/check-daemon-hotplug.sh). */
static void test_reload_removal_window(void) {
        _cleanup_(host_freep) Host *h = NULL, *again = NULL;
        char p[PATH_MAX * 2];

        build_gpu_host();
        add_device("sys/devices/pci0000:00/0000:00:1f.6", "0000:00:1f.6", 0x8086, 0x15bc, 0x020000, "e1000e", 16,
                   NULL);
        put_config("sys/devices/pci0000:00/0000:00:1f.6", 0x8086, 0x15bc, 0x020000, false, 0, -1, 4096);
        put_str("sys/kernel/iommu_groups/16/reserved_regions", MSI);
        if (host_load(root, &h) < 0) {
                ok(false, "removal window: loads");
                return;
        }
        ok(host_find_group(h, 16) != NULL, "removal window: the NIC's group is there");

        (void) snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/0000:00:1f.6", root);
        (void) unlink(p);
        is_int(host_reload_device(h, "0000:00:1f.6"), 1, "removal window: the NIC left the bus: a change");
        ok(!host_find_device(h, "0000:00:1f.6"), "removal window: the NIC is gone");
        ok(!host_find_group(h, 16), "removal window: so is its group, which still lists it");

        /* One member of a group leaves: the group stays, without it. */
        (void) snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/0000:01:00.1", root);
        (void) unlink(p);
        (void) host_reload_device(h, "0000:01:00.1");
        is_int(strv_length(host_find_group(h, 1)->devices), 2, "removal window: group 1 without the audio function");

        ok(host_load(root, &again) == 0 && !host_find_group(again, 16) &&
                   strv_length(host_find_group(again, 1)->devices) == 2,
           "removal window: a full load in the same window agrees");
}

static void test_bad_inputs(void) {
        _cleanup_(host_freep) Host *h = NULL;
        const Device *d;
        const Group *g;
        /* A PCIe device as a non-root reader sees it: the capability list starts beyond the 64 bytes shown. */
        uint8_t short_config[64] = { 0x86, 0x80, [0x06] = 0x10, [0x34] = 0x40 };

        build_gpu_host();
        /* A malformed line among good ones. */
        put_str("sys/kernel/iommu_groups/1/reserved_regions",
                "0x00000000fee00000 0x00000000feefffff msi\ngarbage here\n0x00000000000a0000 0x00000000000bffff direct\n");
        /* A resource file cut in the middle of its second line. */
        put_str(GPU "/resource", "0x00000000de000000 0x00000000deffffff 0x0000000000040200\n0x00000000c000");
        /* What a non-root reader sees: 64 bytes of config, flags with zeroed ranges. */
        put(AUDIO "/config", short_config, sizeof(short_config));
        put_str(AUDIO "/resource", "0x0000000000000000 0x0000000000000000 0x0000000000040200\n");
        /* A device whose bus link dangles (unplugged while we read), and one that loops. */
        link_to("sys/bus/pci/devices/0000:05:00.0", "../../../devices/pci0000:00/0000:00:1c.0/0000:05:00.0");
        link_to("sys/bus/pci/devices/0000:06:00.0", "0000:06:00.0");
        /* A group link to a group that does not exist. */
        add_device("sys/devices/pci0000:00/0000:00:02.0", "0000:00:02.0", 0x8086, 0x3e92, 0x030000, "i915", 7, NULL);
        {
                char p[PATH_MAX * 2];
                (void) snprintf(p, sizeof(p), "%s/sys/kernel/iommu_groups/7", root);
                (void) nftw(p, rm_entry, 4, FTW_DEPTH | FTW_PHYS);
        }
        /* A missing class file. */
        {
                char p[PATH_MAX * 2];
                (void) snprintf(p, sizeof(p), "%s/sys/devices/pci0000:00/0000:00:02.0/class", root);
                (void) unlink(p);
        }

        ok(host_load(root, &h) == 0, "bad inputs: the load still succeeds");
        if (!h)
                return;
        is_int(h->n_devices, 4, "bad inputs: vanished and looping devices are left out, the rest kept");
        is_int(strv_length(h->warnings), 2, "bad inputs: one host warning per dropped device");
        ok(h->warnings && strstr(h->warnings[0], "0000:05:00.0") != NULL, "bad inputs: warning names the vanished device");

        g = host_find_group(h, 1);
        is_int(g->n_regions, 2, "bad inputs: the two good regions are kept");
        ok(strv_length(g->warnings) == 1 && strstr(g->warnings[0], "reserved_regions:2") != NULL,
           "bad inputs: the bad line is reported with file and line number");

        d = host_find_device(h, "0000:01:00.0");
        ok(d->n_bars == 1 && d->bars[0].start == 0xde000000, "bad inputs: lines before the truncation kept");
        ok(strv_length(d->warnings) == 1 && strstr(d->warnings[0], "resource") != NULL,
           "bad inputs: truncated resource reported");

        d = host_find_device(h, "0000:01:00.1");
        ok(d->resource_zeroed && d->n_bars == 0, "bad inputs: zeroed ranges are not taken for an empty device");
        is_int(d->config.acs, ACS_UNREADABLE, "bad inputs: 64-byte config leaves ACS unknown");
        is_int(strv_length(d->warnings), 2, "bad inputs: both reported on the device");

        d = host_find_device(h, "0000:00:02.0");
        ok(d && d->group == 7, "bad inputs: group number kept from the link");
        ok(d && strv_length(d->warnings) == 3, "bad inputs: missing class, config and group all reported");
        ok(d && d->warnings && strstr(d->warnings[0], "/class") && strstr(d->warnings[2], "group 7, which does not exist"),
           "bad inputs: each warning names the file or the group");
}

/* Attributes are read into stack buffers sized for what the kernel writes; anything longer must still be
 * read whole (reserved regions on a 64 KiB-page kernel) or refused with the file named, never cut. */
static void test_long_attributes(void) {
        _cleanup_(host_freep) Host *h = NULL;
        char regions[8192] = "", vendor[300];
        const Device *d;
        const Group *g;

        build_gpu_host();
        for (unsigned i = 0; i < 150; i++) {
                char line[64];
                (void) snprintf(line, sizeof(line), "0x%016x 0x%016x reserved\n", 0x100000u * i, 0x100000u * i + 0xfff);
                strcat(regions, line);
        }
        ok(strlen(regions) > 4096, "long attributes: the regions file is larger than a page");
        put_str("sys/kernel/iommu_groups/1/reserved_regions", regions);
        memset(vendor, '0', sizeof(vendor) - 2);
        vendor[sizeof(vendor) - 2] = '\n';
        vendor[sizeof(vendor) - 1] = 0;
        put_str(GPU "/vendor", vendor);

        ok(host_load(root, &h) == 0, "long attributes: the load succeeds");
        if (!h)
                return;
        g = host_find_group(h, 1);
        ok(g && g->n_regions == 150, "long attributes: every region of a file beyond 4 KiB is read");
        ok(g && g->n_regions == 150 && g->regions[149].start == 0x100000ull * 149, "long attributes: the last one intact");
        d = host_find_device(h, "0000:01:00.0");
        ok(d && d->vendor == 0, "long attributes: an over-long vendor is not taken");
        ok(d && d->warnings && strstr(d->warnings[0], GPU "/vendor") != NULL,
           "long attributes: the warning names the file");
}

static void test_units(void) {
        _cleanup_(host_freep) Host *h = NULL;
        const IommuUnit *u;

        fresh_root();
        mkdir_rel("sys/bus/pci/devices");
        put_str("sys/devices/virtual/iommu/ivhd0/amd-iommu/features", "0:25bf732fa22953fe\n");
        link_to("sys/class/iommu/ivhd0", "../../devices/virtual/iommu/ivhd0");
        put_str("sys/devices/virtual/iommu/ivhd1/amd-iommu/features", "25bf732fa22954fe\n");
        link_to("sys/class/iommu/ivhd1", "../../devices/virtual/iommu/ivhd1");
        mkdir_rel("sys/devices/virtual/iommu/smmu3.0x0000000009050000");
        link_to("sys/class/iommu/smmu3.0x0000000009050000", "../../devices/virtual/iommu/smmu3.0x0000000009050000");
        put_str("sys/devices/virtual/iommu/dmar9/intel-iommu/cap", "zz\n");
        put_str("sys/devices/virtual/iommu/dmar9/intel-iommu/ecap", "f0050da\n");
        link_to("sys/class/iommu/dmar9", "../../devices/virtual/iommu/dmar9");
        put_str("sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "Y\n");

        ok(host_load(root, &h) == 0, "units: loads");
        if (!h)
                return;
        u = host_find_unit(h, "ivhd0");
        ok(u && u->kind == IOMMU_AMD && u->address_width == 48 && u->interrupt_remapping < 0,
           "units: AMD EFR2:EFR format, HATS 0 -> 48-bit, remapping unknown");
        u = host_find_unit(h, "ivhd1");
        ok(u && u->kind == IOMMU_AMD && u->address_width == 57, "units: AMD EFR format, HATS 1 -> 57-bit");
        u = host_find_unit(h, "smmu3.0x0000000009050000");
        ok(u && u->kind == IOMMU_ARM && u->address_width < 0, "units: SMMUv3 with unknown width");
        u = host_find_unit(h, "dmar9");
        ok(u && u->kind == IOMMU_INTEL && u->address_width < 0 && strv_length(u->warnings) == 1,
           "units: unparsable Intel cap is a warning, not a width");
        ok(h->allow_unsafe_interrupts, "units: allow_unsafe_interrupts=Y");
        is_int(h->n_groups, 0, "units: no groups");
}

/* Both halves of amd-iommu/features non-zero: only the kernel version says which one is EFR. */
static void test_amd_features_order(void) {
        static const struct {
                const char *osrelease;
                int width;
        } cases[] = {
                { "6.1.0-26-amd64\n", 48 }, /* "features2:features": EFR 0x10, HATS 0 */
                { "6.8.12-amd64\n", 57 },   /* "efr:efr2": EFR 0x...46fa, HATS 1 */
                { NULL, -1 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(host_freep) Host *h = NULL;
                const IommuUnit *u;

                fresh_root();
                mkdir_rel("sys/bus/pci/devices");
                put_str("sys/devices/virtual/iommu/ivhd0/amd-iommu/features", "246577efa22546fa:10\n");
                link_to("sys/class/iommu/ivhd0", "../../devices/virtual/iommu/ivhd0");
                if (cases[i].osrelease)
                        put_str("proc/sys/kernel/osrelease", cases[i].osrelease);
                if (host_load(root, &h) < 0) {
                        ok(false, "amd order: loads");
                        continue;
                }
                u = host_find_unit(h, "ivhd0");
                ok(u && u->address_width == cases[i].width, "amd order: kernel %s -> width %d",
                   cases[i].osrelease ? cases[i].osrelease : "unknown", cases[i].width);
                if (!cases[i].osrelease)
                        ok(u && strv_length(u->warnings) == 1 && strstr(u->warnings[0], "osrelease"),
                           "amd order: unknown kernel is a warning naming what is missing");
        }
}

static void test_vfio_users(void) {
        _cleanup_(host_freep) Host *h = NULL;
        const VfioNode *n;

        build_gpu_host();
        put_str("dev/vfio/vfio", "");
        put_str("dev/vfio/1", "");
        link_to("proc/4242/fd/17", "/dev/vfio/1");
        link_to("proc/4242/fd/18", "/dev/vfio/vfio");
        link_to("proc/4242/fd/0", "/dev/null");
        link_to("proc/77/fd/3", "/dev/vfio/1");
        put_str("proc/4242/comm", "qemu-system-x86\n");
        put_str("proc/77/comm", "\n");
        mkdir_rel("proc/self/fd");

        ok(host_load(root, &h) == 0, "vfio users: loads");
        if (!h)
                return;
        n = host_find_vfio_group_node(h, 1);
        ok(n && n->n_pids == 2 && n->pids[0] == 77 && n->pids[1] == 4242,
           "vfio users: both processes holding /dev/vfio/1, sorted");
        ok(n && n->comms && !n->comms[0] && streq_ptr(n->comms[1], "qemu-system-x86"),
           "vfio users: each one's comm beside its PID, none for an empty comm file");
        if (n) {
                const Group *g = host_find_group(h, 1);
                json_object *j = g ? group_to_json(h, g) : NULL;

                is_str(json_object_to_json_string_ext(json_object_object_get(j, "vfio_processes"),
                                                      JSON_C_TO_STRING_PLAIN),
                       "[{\"pid\":77,\"comm\":null},{\"pid\":4242,\"comm\":\"qemu-system-x86\"}]",
                       "vfio users: vfio_processes in the group's JSON");
                is_str(json_object_to_json_string_ext(json_object_object_get(j, "vfio_users"),
                                                      JSON_C_TO_STRING_PLAIN),
                       "[77,4242]", "vfio users: vfio_users as before");
                json_object_put(j);
        }
        is_int(h->n_vfio_nodes, 2, "vfio users: container and group node");

        /* A bind creates a node, a QEMU opens it: no event says so, host_reload_vfio() sees it. */
        put_str("dev/vfio/2", "");
        link_to("proc/99/fd/5", "/dev/vfio/2");
        ok(host_reload_vfio(h) == 0, "vfio users: reloaded");
        n = host_find_vfio_group_node(h, 2);
        ok(n && n->n_pids == 1 && n->pids[0] == 99, "vfio users: the new node and its user");
        is_int(h->n_vfio_nodes, 3, "vfio users: nothing counted twice");
}

/* pci_acs_enabled() by port type, on devices built in memory. */
static void test_acs_rules(void) {
        static const struct {
                PcieType type;
                bool multifunction;
                AcsState acs;
                uint16_t cap, ctrl;
                int enabled, isolates;
                const char *what;
        } cases[] = {
                { PCIE_TYPE_ROOT_PORT, false, ACS_PRESENT, 0x001f, 0x001d, 1, 1, "root port, all implemented bits on" },
                { PCIE_TYPE_ROOT_PORT, false, ACS_PRESENT, 0x000f, 0x000d, 1, 1,
                  "root port without UF in its capability: UF counts as hard-wired" },
                { PCIE_TYPE_ROOT_PORT, false, ACS_PRESENT, 0x001f, 0x000d, 0, 0, "root port with UF implemented but off" },
                { PCIE_TYPE_DOWNSTREAM, false, ACS_ABSENT, 0, 0, 0, 0, "downstream port without ACS" },
                { PCIE_TYPE_DOWNSTREAM, false, ACS_UNREADABLE, 0, 0, -1, 0, "downstream port, ACS unreadable" },
                { PCIE_TYPE_UPSTREAM, false, ACS_ABSENT, 0, 0, 1, 0, "single-function upstream port needs no ACS" },
                { PCIE_TYPE_ENDPOINT, true, ACS_ABSENT, 0, 0, 0, 0, "multifunction endpoint without ACS" },
                { PCIE_TYPE_ENDPOINT, true, ACS_PRESENT, 0x000c, 0x000c, 1, 1, "multifunction endpoint with RR CR" },
                { PCIE_TYPE_ENDPOINT, false, ACS_UNREADABLE, 0, 0, 1, 0, "single-function endpoint needs no ACS" },
                { PCIE_TYPE_PCIE_TO_PCI, false, ACS_ABSENT, 0, 0, 0, 0, "PCIe-to-PCI bridge never isolates" },
                { PCIE_TYPE_NONE, false, ACS_ABSENT, 0, 0, 0, 0, "conventional PCI never isolates" },
                { PCIE_TYPE_UNKNOWN, false, ACS_UNREADABLE, 0, 0, -1, 0, "unknown type: unknown" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                Device d = {
                        .config_read = true,
                        .config = { .pcie_type = cases[i].type, .multifunction = cases[i].multifunction,
                                    .acs = cases[i].acs, .acs_capability = cases[i].cap,
                                    .acs_control = cases[i].ctrl },
                };
                ok(device_acs_enabled(&d) == cases[i].enabled && device_acs_isolates(&d) == cases[i].isolates,
                   "acs: %s", cases[i].what);
        }
        {
                Device d = {};
                ok(device_acs_enabled(&d) == -1, "acs: config never read is unknown");
        }
}

/* Unknown is not known: a device directory that cannot be read (here a regular file where the kernel has a
 * directory, which stops root too, as chmod would not) must not become a device 0000:0000 of class 0
 * without a driver, nor make its group viable; reserved_regions that cannot be read (a directory where the
 * file should be) are unknown, not none. */
static void test_unknown_facts(void) {
        _cleanup_(host_freep) Host *h = NULL;
        _cleanup_(json_object_putp) json_object *dj = NULL, *gj = NULL;
        _cleanup_free_ Blocker *b = NULL;
        char p[PATH_MAX * 2];
        const Device *d;
        const Group *g;
        int n;

        build_gpu_host();
        /* The audio function bound to vfio-pci, so that only its unreadable directory can block the group. */
        link_to(AUDIO "/driver", "../../../../bus/pci/drivers/vfio-pci");
        (void) snprintf(p, sizeof(p), "%s/%s", root, AUDIO);
        (void) nftw(p, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
        put_str(AUDIO, "not a directory\n");
        (void) snprintf(p, sizeof(p), "%s/sys/kernel/iommu_groups/1/reserved_regions", root);
        (void) unlink(p);
        mkdir_rel("sys/kernel/iommu_groups/1/reserved_regions");

        ok(host_load(root, &h) == 0, "unknown: loads");
        if (!h)
                return;
        d = host_find_device(h, "0000:01:00.1");
        ok(d, "unknown: the unreadable device is still modelled");
        if (!d)
                return;
        ok(!d->vendor_known && !d->device_known && !d->class_known, "unknown: ids and class unknown");
        ok(!d->driver_known, "unknown: driver unknown, not unbound");
        ok(strv_length(d->warnings) == 1 && strstr(d->warnings[0], "is not a directory"),
           "unknown: one warning for the whole directory, not one per file");
        is_int(d->group, 1, "unknown: group taken from the group that lists it");
        ok(d->revision < 0, "unknown: revision unknown");

        dj = device_to_json(h, d);
        ok(jnull(dj, "vendor") && jnull(dj, "device") && jnull(dj, "class"), "unknown: null ids in JSON");
        ok(jget(dj, "driver_known") && !jbool(dj, "driver_known"), "unknown: driver_known false in JSON");

        g = host_find_group(h, 1);
        ok(g && !g->regions_known && g->n_regions == 0, "unknown: reserved regions unknown");
        if (!g)
                return;
        ok(!group_is_viable(h, g), "unknown: the group is not called viable");
        is_int(group_viability(h, g), VIABILITY_UNKNOWN, "unknown: its viability is unknown");
        n = group_blockers(h, g, NULL, &b);
        ok(n == 1 && streq(b[0].device, "0000:01:00.1") && streq(b[0].driver, BLOCKER_DRIVER_UNKNOWN),
           "unknown: the unreadable member is the one blocker, driver unknown");
        gj = group_to_json(h, g);
        ok(jget(gj, "devices") && jnull(gj, "viable"), "unknown: viable is null in JSON");
        ok(jnull(gj, "reserved_regions"), "unknown: reserved_regions is null in JSON");

        /* A member known to be bound to a host driver makes the group not viable, unknown members or not. */
        d = host_find_device(h, "0000:01:00.0");
        free(((Device *) d)->driver);
        ((Device *) d)->driver = strdup("nouveau");
        is_int(group_viability(h, g), VIABILITY_NO, "unknown: a known blocker decides");
}

static void test_no_iommu_json(void) {
        _cleanup_(host_freep) Host *h = NULL;
        json_object *j;

        fresh_root();
        add_device("sys/devices/pci0000:00/0000:00:1f.0", "0000:00:1f.0", 0x8086, 0x7a04, 0x060100, "lpc_ich", -1,
                   NULL);
        ok(host_load(root, &h) == 0, "no iommu: loads");
        if (!h)
                return;
        j = host_groups_to_json(h);
        is_str(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN), "[]", "no iommu: groups are []");
        json_object_put(j);
        j = device_to_json(h, h->devices[0]);
        ok(json_object_get_type(json_object_object_get(j, "group")) == json_type_null, "no iommu: group is null");
        is_str(json_object_get_string(json_object_object_get(j, "acs")), "unreadable",
               "no iommu: no config file means ACS unreadable");
        json_object_put(j);
        ok(host_load("/nonexistent/vfiomap", &h) == -ENOENT, "missing root: -ENOENT");
}

/* What a group needs (viability) and what the device QEMU opens needs (a VFIO driver) differ. */
static void test_driver_kinds(void) {
        static const struct {
                const char *driver;
                bool safe, vfio;
        } cases[] = {
                { "vfio-pci", true, true },       { "mlx5_vfio_pci", true, true },
                { "nvgrace-gpu-vfio-pci", true, true }, { "pci-stub", true, false },
                { "pcieport", true, false },      { NULL, true, false },
                { "igc", false, false },          { "vfio-pci2", false, false },
                { "vfio", false, false },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                ok(driver_is_vfio_safe(cases[i].driver) == cases[i].safe, "%s: %s a group's viability",
                   strna(cases[i].driver), cases[i].safe ? "keeps" : "breaks");
                ok(driver_is_vfio(cases[i].driver) == cases[i].vfio, "%s: %sa VFIO driver",
                   strna(cases[i].driver), cases[i].vfio ? "" : "not ");
        }
}

int main(void) {
        test_driver_kinds();
        test_gpu_host();
        test_reload();
        test_reload_removal_window();
        test_bad_inputs();
        test_long_attributes();
        test_units();
        test_amd_features_order();
        test_acs_rules();
        test_vfio_users();
        test_no_iommu_json();
        test_unknown_facts();
        if (root[0])
                (void) nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        return tap_done();
}
