/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The layout engine on the real cases of DOMAIN.md §5 and a few more.
 *
 * Each case is a VM description in tests/layout/cases/NAME.{xml,json} and its expected outcome in
 * NAME.expected.json: the host it runs on (built in memory below), the verdict, the exact set of problem
 * codes, the RAM ranges, and optionally the 64-bit hole, the IOMMU width, exclusions and recommendation
 * actions that must be present. On top of the cases, every non-error layout of a sweep over memory sizes,
 * machine types and CPU modes must keep its RAM out of every exclusion and add up to <memory>.
 *
 *   test-layout                  run everything (TAP)
 *   test-layout --print NAME     print the layout JSON of one case (to write or review its fixture) */

#include <dirent.h>
#include <inttypes.h>
#include <json-c/json.h>

#include "host-builder.h"
#include "json-util.h"
#include "layout.h"
#include "tap.h"
#include "util.h"
#include "vmspec.h"

#ifndef LAYOUT_CASES_DIR
#error "LAYOUT_CASES_DIR must point at tests/layout/cases"
#endif

#define GiB (UINT64_C(1) << 30)

/* ---- hosts ---- */

/* An AMD EPYC server: two GPUs (with their audio functions) behind a PCIe switch whose downstream ports
 * have no ACS, so all of it is one group, with the HyperTransport reserved region. */
static Host *host_amd_server(void) {
        Host *h = hb_host_new("AuthenticAMD");
        Device *d;

        d = hb_device(h, "0000:40:01.1", 0x060400, PCIE_TYPE_ROOT_PORT, NULL, "pcieport", 19);
        hb_acs(d, PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF);
        hb_window(d, WINDOW_MEM, 0xf0000000, 0xf3ffffff);
        hb_window(d, WINDOW_PREF, 0x28000000000, 0x287ffffffff);
        d = hb_device(h, "0000:41:00.0", 0x060400, PCIE_TYPE_UPSTREAM, "0000:40:01.1", "pcieport", 20);
        hb_window(d, WINDOW_MEM, 0xf0000000, 0xf3ffffff);
        hb_window(d, WINDOW_PREF, 0x28000000000, 0x287ffffffff);
        d = hb_device(h, "0000:42:00.0", 0x060400, PCIE_TYPE_DOWNSTREAM, "0000:41:00.0", "pcieport", 20);
        hb_window(d, WINDOW_MEM, 0xf0000000, 0xf1ffffff);
        hb_window(d, WINDOW_PREF, 0x28000000000, 0x283ffffffff);
        d = hb_device(h, "0000:42:01.0", 0x060400, PCIE_TYPE_DOWNSTREAM, "0000:41:00.0", "pcieport", 20);
        hb_window(d, WINDOW_MEM, 0xf2000000, 0xf3ffffff);
        hb_window(d, WINDOW_PREF, 0x28400000000, 0x287ffffffff);
        d = hb_device(h, "0000:43:00.0", 0x030000, PCIE_TYPE_LEGACY_ENDPOINT, "0000:42:00.0", "vfio-pci", 20);
        hb_bar(d, 0, 0xf0000000, 0xf0ffffff, false);
        hb_bar(d, 1, 0x28000000000, 0x283ffffffff, true);
        d = hb_device(h, "0000:43:00.1", 0x040300, PCIE_TYPE_ENDPOINT, "0000:42:00.0", "vfio-pci", 20);
        hb_bar(d, 0, 0xf1000000, 0xf1003fff, false);
        d = hb_device(h, "0000:44:00.0", 0x030000, PCIE_TYPE_LEGACY_ENDPOINT, "0000:42:01.0", "vfio-pci", 20);
        hb_bar(d, 0, 0xf2000000, 0xf2ffffff, false);
        hb_bar(d, 1, 0x28400000000, 0x287ffffffff, true);
        hb_resv(h, 20, 0xfee00000, 0xfeefffff, RESV_MSI);
        hb_resv(h, 20, 0xfd00000000, 0xffffffffff, RESV_RESERVED);
        hb_resv(h, 19, 0xfee00000, 0xfeefffff, RESV_MSI);
        hb_resv(h, 19, 0xfd00000000, 0xffffffffff, RESV_RESERVED);
        hb_unit(h, "ivhd0", IOMMU_AMD, 48, 1, "0000:40:01.1", "0000:41:00.0", "0000:42:00.0", "0000:42:01.0",
                "0000:43:00.0", "0000:43:00.1", "0000:44:00.0", NULL);
        return hb_finish(h);
}

/* An Intel desktop: a dGPU on the CPU's root port, the PCH functions in one group with the ISA bridge
 * (direct 0x0-0xffffff, as on 5.3/5.4 kernels), a USB controller the IOMMU does not cover, and a NIC on
 * a unit without interrupt remapping. Every unit is 39 bits wide. */
static Host *host_intel_client(void) {
        Host *h = hb_host_new("GenuineIntel");
        Device *d;

        d = hb_device(h, "0000:00:02.0", 0x030000, PCIE_TYPE_RC_INTEGRATED, NULL, "i915", 0);
        hb_bar(d, 0, 0x6000000000, 0x6000ffffff, true);
        hb_bar(d, 2, 0x4000000000, 0x400fffffff, true);
        d = hb_device(h, "0000:00:01.0", 0x060400, PCIE_TYPE_ROOT_PORT, NULL, "pcieport", 1);
        hb_window(d, WINDOW_MEM, 0xa0000000, 0xa10fffff);
        hb_window(d, WINDOW_PREF, 0x4010000000, 0x401fffffff);
        d = hb_device(h, "0000:01:00.0", 0x030000, PCIE_TYPE_LEGACY_ENDPOINT, "0000:00:01.0", "vfio-pci", 1);
        hb_bar(d, 0, 0xa0000000, 0xa0ffffff, false);
        hb_bar(d, 1, 0x4010000000, 0x401fffffff, true);
        d = hb_device(h, "0000:01:00.1", 0x040300, PCIE_TYPE_ENDPOINT, "0000:00:01.0", "vfio-pci", 1);
        hb_bar(d, 0, 0xa1000000, 0xa1003fff, false);
        d = hb_device(h, "0000:00:14.0", 0x0c0330, PCIE_TYPE_RC_INTEGRATED, NULL, "xhci_hcd", -1);
        hb_bar(d, 0, 0x6001100000, 0x600110ffff, true);
        d = hb_device(h, "0000:00:1c.0", 0x060400, PCIE_TYPE_ROOT_PORT, NULL, "pcieport", 11);
        hb_acs(d, PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF);
        hb_window(d, WINDOW_MEM, 0xa2000000, 0xa20fffff);
        d = hb_device(h, "0000:05:00.0", 0x020000, PCIE_TYPE_ENDPOINT, "0000:00:1c.0", "vfio-pci", 12);
        hb_bar(d, 0, 0xa2000000, 0xa201ffff, false);
        d = hb_device(h, "0000:00:1f.0", 0x060100, PCIE_TYPE_NONE, NULL, "lpc_ich", 10);
        d = hb_device(h, "0000:00:1f.3", 0x040300, PCIE_TYPE_NONE, NULL, "vfio-pci", 10);
        hb_bar(d, 0, 0x6001120000, 0x6001123fff, true);
        d = hb_device(h, "0000:00:1f.4", 0x0c0500, PCIE_TYPE_NONE, NULL, "i801_smbus", 10);
        hb_bar(d, 0, 0x6001124000, 0x60011240ff, true);
        d = hb_device(h, "0000:00:1f.5", 0x0c8000, PCIE_TYPE_NONE, NULL, "intel-spi", 10);
        hb_bar(d, 0, 0xfe010000, 0xfe010fff, false);
        for (unsigned g = 0; g <= 12; g++)
                hb_resv(h, g, 0xfee00000, 0xfeefffff, RESV_MSI);
        hb_resv(h, 0, 0x7b800000, 0x7fffffff, RESV_DIRECT_RELAXABLE); /* the iGPU's stolen memory RMRR */
        hb_resv(h, 10, 0x0, 0xffffff, RESV_DIRECT);
        hb_unit(h, "dmar0", IOMMU_INTEL, 39, 1, "0000:00:02.0", NULL);
        hb_unit(h, "dmar1", IOMMU_INTEL, 39, 1, "0000:00:01.0", "0000:01:00.0", "0000:01:00.1", "0000:00:1f.0",
                "0000:00:1f.3", "0000:00:1f.4", "0000:00:1f.5", NULL);
        hb_unit(h, "dmar2", IOMMU_INTEL, 39, 0, "0000:00:1c.0", "0000:05:00.0", NULL);
        return hb_finish(h);
}

/* An arm64 server with SMMUv3 (no width in sysfs) and a 4.14-era kernel that lists the host bridge's
 * windows as reserved regions, next to the software MSI window. */
static Host *host_arm64_smmu(void) {
        Host *h = hb_host_new("ARM");
        Device *d;

        d = hb_device(h, "0000:00:01.0", 0x060400, PCIE_TYPE_ROOT_PORT, NULL, "pcieport", 4);
        hb_acs(d, PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF);
        hb_window(d, WINDOW_PREF, 0x8000000000, 0x80001fffff);
        d = hb_device(h, "0000:01:00.0", 0x020000, PCIE_TYPE_ENDPOINT, "0000:00:01.0", "vfio-pci", 5);
        hb_bar(d, 0, 0x8000000000, 0x80000fffff, true);
        hb_resv(h, 5, 0x8000000, 0x80fffff, RESV_MSI);
        hb_resv(h, 5, 0x60000000, 0x7fffffff, RESV_RESERVED);
        hb_resv(h, 5, 0x8000000000, 0xffffffffff, RESV_RESERVED);
        hb_unit(h, "smmu3.0x0000000009050000", IOMMU_ARM, -1, -1, "0000:00:01.0", "0000:01:00.0", NULL);
        return hb_finish(h);
}

/* The same arm64 server with a two-function NIC without ACS in one group (6) behind an isolating root
 * port: the host side of the vIOMMU address space cases. */
static Host *host_arm64_smmu_multifunction(void) {
        Host *h = hb_host_new("ARM");
        Device *d;

        d = hb_device(h, "0000:00:02.0", 0x060400, PCIE_TYPE_ROOT_PORT, NULL, "pcieport", 7);
        hb_acs(d, PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF);
        hb_window(d, WINDOW_PREF, 0x8000000000, 0x80003fffff);
        d = hb_device(h, "0000:02:00.0", 0x020000, PCIE_TYPE_ENDPOINT, "0000:00:02.0", "vfio-pci", 6);
        hb_bar(d, 0, 0x8000000000, 0x80001fffff, true);
        d = hb_device(h, "0000:02:00.1", 0x020000, PCIE_TYPE_ENDPOINT, "0000:00:02.0", "vfio-pci", 6);
        hb_bar(d, 0, 0x8000200000, 0x80003fffff, true);
        hb_resv(h, 6, 0x8000000, 0x80fffff, RESV_MSI);
        hb_unit(h, "smmu3.0x0000000009050000", IOMMU_ARM, -1, -1, "0000:00:02.0", "0000:02:00.0", "0000:02:00.1",
                NULL);
        return hb_finish(h);
}

/* An Intel workstation (39-bit IOMMU) with two GPUs behind isolating root ports: 01:00.0 with its BAR 1
 * already resized to 32 GiB, 02:00.0 at 256 MiB whose Resizable BAR offers up to 16 GiB. */
static Host *host_intel_rebar(void) {
        Host *h = hb_host_new("GenuineIntel");
        Device *d;

        d = hb_device(h, "0000:00:01.0", 0x060400, PCIE_TYPE_ROOT_PORT, NULL, "pcieport", 1);
        hb_acs(d, PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF);
        hb_window(d, WINDOW_MEM, 0xa0000000, 0xa0ffffff);
        hb_window(d, WINDOW_PREF, 0x4000000000, 0x47ffffffff);
        d = hb_device(h, "0000:01:00.0", 0x030000, PCIE_TYPE_LEGACY_ENDPOINT, "0000:00:01.0", "vfio-pci", 2);
        hb_bar(d, 0, 0xa0000000, 0xa0ffffff, false);
        hb_bar(d, 1, 0x4000000000, 0x47ffffffff, true);
        hb_rebar(d, 1, 35, UINT64_C(0x1ff) << 27); /* 128 MiB .. 32 GiB, at 32 GiB */
        d = hb_device(h, "0000:00:01.1", 0x060400, PCIE_TYPE_ROOT_PORT, NULL, "pcieport", 3);
        hb_acs(d, PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF);
        hb_window(d, WINDOW_MEM, 0xa1000000, 0xa1ffffff);
        hb_window(d, WINDOW_PREF, 0x4800000000, 0x480fffffff);
        d = hb_device(h, "0000:02:00.0", 0x030000, PCIE_TYPE_LEGACY_ENDPOINT, "0000:00:01.1", "vfio-pci", 4);
        hb_bar(d, 0, 0xa1000000, 0xa1ffffff, false);
        hb_bar(d, 1, 0x4800000000, 0x480fffffff, true);
        hb_rebar(d, 1, 28, UINT64_C(0x7f) << 28); /* 256 MiB .. 16 GiB, at 256 MiB */
        for (unsigned g = 1; g <= 4; g++)
                hb_resv(h, g, 0xfee00000, 0xfeefffff, RESV_MSI);
        hb_unit(h, "dmar0", IOMMU_INTEL, 39, 1, "0000:00:01.0", "0000:01:00.0", "0000:00:01.1", "0000:02:00.0",
                NULL);
        return hb_finish(h);
}

static const struct {
        const char *name;
        Host *(*build)(void);
} hosts[] = {
        { "amd-server", host_amd_server },
        { "intel-client", host_intel_client },
        { "arm64-smmu", host_arm64_smmu },
        { "arm64-smmu-multifunction", host_arm64_smmu_multifunction },
        { "intel-rebar", host_intel_rebar },
};

static Host *host_by_name(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(hosts); i++)
                if (streq_ptr(name, hosts[i].name))
                        return hosts[i].build();
        return NULL;
}

/* ---- helpers ---- */

static char *read_whole(const char *path, size_t *ret_size) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t size = 0;

        if (!f)
                return NULL;
        if (getdelim(&buf, &size, '\0', f) < 0) {
                free(buf);
                return NULL;
        }
        *ret_size = strlen(buf);
        return buf;
}

static bool ram_avoids_exclusions(const Layout *l) {
        RangeSet hit = RANGE_SET_INIT;
        bool good;

        if (range_set_intersect(&hit, &l->ram, &l->excluded_set) < 0)
                return false;
        good = hit.n == 0;
        range_set_done(&hit);
        return good;
}

static int compute_case(const char *name, json_object **ret_expected, Layout **ret) {
        _cleanup_free_ char *path = NULL, *buf = NULL, *error = NULL, *vm = NULL;
        _cleanup_(json_object_putp) json_object *expected = NULL;
        _cleanup_(vmspec_freep) VmSpec *spec = NULL;
        _cleanup_(host_freep) Host *h = NULL;
        const char *vmfile;
        size_t size;
        int r;

        if (asprintf_safe(&path, "%s/%s.expected.json", LAYOUT_CASES_DIR, name) < 0)
                return -ENOMEM;
        expected = json_object_from_file(path);
        if (!expected) {
                printf("# cannot read %s\n", path);
                return -EINVAL;
        }
        vmfile = jstr(expected, "vm");
        h = host_by_name(jstr(expected, "host"));
        if (!vmfile || !h) {
                printf("# %s: \"vm\" or \"host\" missing or unknown\n", path);
                return -EINVAL;
        }
        if (asprintf_safe(&vm, "%s/%s", LAYOUT_CASES_DIR, vmfile) < 0)
                return -ENOMEM;
        buf = read_whole(vm, &size);
        if (!buf) {
                printf("# cannot read %s\n", vm);
                return -EIO;
        }
        r = vmspec_parse(buf, size, &spec, &error);
        if (r < 0) {
                printf("# %s: %s\n", vm, strna(error));
                return r;
        }
        r = layout_compute(h, spec, ret);
        if (r < 0)
                return r;
        *ret_expected = TAKE_PTR(expected);
        return 0;
}

static bool codes_match(const Layout *l, json_object *want) {
        _cleanup_strv_free_ char **got = NULL, **expected = NULL;
        bool same;

        for (size_t i = 0; i < l->n_problems; i++)
                if (!strv_contains(got, l->problems[i].code) && strv_extend(&got, l->problems[i].code) < 0)
                        return false;
        for (size_t i = 0; i < jlen(want); i++)
                if (strv_extend(&expected, json_object_get_string(jidx(want, i))) < 0)
                        return false;
        strv_sort(got);
        strv_sort(expected);
        same = strv_length(got) == strv_length(expected);
        for (size_t i = 0; same && got && got[i]; i++)
                same = streq(got[i], expected[i]);
        if (!same) {
                printf("#   codes got:");
                STRV_FOREACH(c, got)
                        printf(" %s", *c);
                printf("\n#   codes expected:");
                STRV_FOREACH(c, expected)
                        printf(" %s", *c);
                printf("\n");
        }
        return same;
}

static bool parse_range(json_object *o, uint64_t *start, uint64_t *end) {
        return jstr(o, "start") && jstr(o, "end") && safe_atou64_base(jstr(o, "start"), 16, start) >= 0 &&
               safe_atou64_base(jstr(o, "end"), 16, end) >= 0;
}

static bool ram_matches(const Layout *l, json_object *want) {
        bool same = jlen(want) == l->ram.n;

        for (size_t i = 0; same && i < l->ram.n; i++) {
                uint64_t s, e;
                same = parse_range(jidx(want, i), &s, &e) && s == l->ram.ranges[i].start && e == l->ram.ranges[i].end;
        }
        if (!same) {
                printf("#   ram got:");
                for (size_t i = 0; i < l->ram.n; i++)
                        printf(" 0x%" PRIx64 "-0x%" PRIx64, l->ram.ranges[i].start, l->ram.ranges[i].end);
                printf("\n");
        }
        return same;
}

static bool excluded_contains(const Layout *l, json_object *want) {
        for (size_t k = 0; k < jlen(want); k++) {
                json_object *w = jidx(want, k);
                uint64_t s, e;
                bool found = false;

                if (!parse_range(w, &s, &e))
                        return false;
                for (size_t i = 0; i < l->n_excluded && !found; i++) {
                        const Exclusion *x = &l->excluded[i];
                        found = x->start == s && x->end == e && streq_ptr(jstr(w, "kind"), exclusion_kind_to_string(x->kind)) &&
                                (!jstr(w, "device") || streq_ptr(jstr(w, "device"), x->device));
                }
                if (!found) {
                        printf("#   exclusion %s-%s %s %s missing\n", jstr(w, "start"), jstr(w, "end"),
                               strna(jstr(w, "kind")), strna(jstr(w, "device")));
                        return false;
                }
        }
        return true;
}

static bool recommendations_contain(const Layout *l, json_object *want) {
        for (size_t k = 0; k < jlen(want); k++) {
                json_object *w = jidx(want, k);
                const char *action = json_object_is_type(w, json_type_string) ? json_object_get_string(w)
                                                                               : jstr(w, "action");
                const char *needle = jstr(w, "contains");
                bool found = false;

                for (size_t i = 0; i < l->n_recommendations && !found; i++) {
                        const Recommendation *r = &l->recommendations[i];
                        found = streq_ptr(r->action, action) &&
                                (!needle || strstr(r->summary, needle) || (r->libvirt && strstr(r->libvirt, needle)) ||
                                 (r->qemu && strstr(r->qemu, needle)));
                }
                if (!found) {
                        printf("#   recommendation %s%s%s missing\n", strna(action), needle ? " containing " : "",
                               needle ?: "");
                        return false;
                }
        }
        return true;
}

static void run_case(const char *name) {
        _cleanup_(json_object_putp) json_object *expected = NULL;
        _cleanup_(layout_freep) Layout *l = NULL;
        json_object *v;

        if (compute_case(name, &expected, &l) < 0) {
                ok(false, "%s: computed", name);
                return;
        }
        is_str(verdict_to_string(l->verdict), jstr(expected, "verdict"), name);
        ok(codes_match(l, jget(expected, "codes")), "%s: problem codes", name);
        ok(ram_matches(l, jget(expected, "ram")), "%s: RAM ranges", name);
        is_u64(l->ram_size, range_set_size(&l->ram), "RAM size is the sum of the ranges");
        if ((v = jget(expected, "memory_bytes")))
                is_u64(l->ram_size, json_object_get_uint64(v), "RAM adds up to <memory>");
        if (json_object_object_get_ex(expected, "mmio64", &v)) {
                uint64_t s = 0, e = 0;
                ok(v ? parse_range(v, &s, &e) && l->has_mmio64 && l->mmio64_start == s && l->mmio64_end == e
                     : !l->has_mmio64,
                   "%s: 64-bit hole", name);
        }
        if (json_object_object_get_ex(expected, "iommu_address_width", &v))
                is_int(l->iommu_address_width, v ? json_object_get_int(v) : -1, "IOMMU address width");
        if ((v = jget(expected, "excluded")))
                ok(excluded_contains(l, v), "%s: exclusions", name);
        if ((v = jget(expected, "recommendations")))
                ok(recommendations_contain(l, v), "%s: recommendations", name);
        if (l->verdict != VERDICT_ERROR)
                ok(ram_avoids_exclusions(l), "%s: no RAM byte lies in an exclusion", name);
}

static void test_cases(void) {
        _cleanup_strv_free_ char **names = NULL;
        DIR *d = opendir(LAYOUT_CASES_DIR);

        if (!d) {
                ok(false, "open %s", LAYOUT_CASES_DIR);
                return;
        }
        for (struct dirent *de; (de = readdir(d));) {
                size_t l = strlen(de->d_name);
                if (endswith(de->d_name, ".expected.json") &&
                    strv_extendf(&names, "%.*s", (int) (l - strlen(".expected.json")), de->d_name) < 0)
                        abort();
        }
        closedir(d);
        strv_sort(names);
        ok(strv_length(names) >= 10, "at least ten layout cases (%zu)", strv_length(names));
        STRV_FOREACH(n, names)
                run_case(*n);
}

/* The invariant of every non-error layout, over a sweep of sizes, machine types, CPUs and devices. */
static void test_invariant(void) {
        static const char *const machines[] = { "pc-q35-6.2", "pc-q35-7.1", "pc-q35-9.2", "pc-i440fx-7.2", "pc",
                                                "q35" };
        static const char *const cpus[] = {
                "{}", "{\"mode\":\"host-passthrough\"}", "{\"mode\":\"custom\",\"model\":\"Skylake-Server\"}",
                "{\"mode\":\"host-passthrough\",\"phys_bits_limit\":48}", "{\"phys_bits\":42}",
        };
        static const char *const devices[] = { "\"0000:43:00.0\",\"0000:43:00.1\"", "\"0000:01:00.0\"", "" };
        static const uint64_t mib[] = { 512, 2048, 2816, 3072, 3584, 4096, 65536, 1034240, 1048576, 3145728,
                                        600 * 1024 };
        unsigned checked = 0, bad_fit = 0, bad_size = 0, failed = 0;

        for (size_t hi = 0; hi < 2; hi++) {
                _cleanup_(host_freep) Host *h = hosts[hi].build();
                for (size_t m = 0; m < ELEMENTSOF(machines); m++)
                        for (size_t c = 0; c < ELEMENTSOF(cpus); c++)
                                for (size_t dv = 0; dv < ELEMENTSOF(devices); dv++)
                                        for (size_t s = 0; s < ELEMENTSOF(mib); s++) {
                                                _cleanup_free_ char *json = NULL, *error = NULL;
                                                _cleanup_(vmspec_freep) VmSpec *spec = NULL;
                                                _cleanup_(layout_freep) Layout *l = NULL;

                                                /* every other size also gets a hotplug area */
                                                _cleanup_free_ char *hotplug = NULL;
                                                if (s % 2 ? asprintf_safe(&hotplug, "\"max_memory\":\"%" PRIu64 "MiB\","
                                                                          "\"memory_slots\":4,", mib[s] * 2) < 0
                                                          : !(hotplug = strdup("")))
                                                        abort();
                                                if (asprintf_safe(&json,
                                                                  "{\"machine\":\"%s\",\"memory\":\"%" PRIu64 "MiB\",%s"
                                                                  "\"cpu\":%s,\"hostdevs\":[%s]}",
                                                                  machines[m], mib[s], hotplug, cpus[c], devices[dv]) < 0)
                                                        abort();
                                                if (vmspec_parse_json(json, strlen(json), &spec, &error) < 0 ||
                                                    layout_compute(h, spec, &l) < 0) {
                                                        if (failed++ < 3)
                                                                printf("# %s: %s\n", json, strna(error));
                                                        continue;
                                                }
                                                if (l->ram_size != spec->memory)
                                                        bad_size++;
                                                if (l->verdict == VERDICT_ERROR)
                                                        continue;
                                                checked++;
                                                if (!ram_avoids_exclusions(l)) {
                                                        if (bad_fit++ < 3)
                                                                printf("# RAM in an exclusion: %s\n", json);
                                                }
                                        }
        }
        is_int(failed, 0, "every sweep spec parses and computes");
        is_int(bad_size, 0, "RAM always adds up to <memory>");
        ok(checked > 100, "the sweep has non-error layouts (%u)", checked);
        is_int(bad_fit, 0, "no non-error layout puts RAM in an exclusion");
}

static int print_case(const char *name) {
        _cleanup_(json_object_putp) json_object *expected = NULL, *j = NULL;
        _cleanup_(layout_freep) Layout *l = NULL;

        if (compute_case(name, &expected, &l) < 0 || layout_to_json(l, &j) < 0)
                return EXIT_FAILURE;
        puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                       JSON_C_TO_STRING_NOSLASHESCAPE));
        (void) layout_report(l, stdout);
        return EXIT_SUCCESS;
}

/* Guest phys-bits follow the host CPU for host-passthrough: a 46-bit CPU on a 39-bit IOMMU must warn and
 * recommend the limit; the same CPU with unknown address size only says so. */
static void test_host_phys_bits(void) {
        static const char spec_json[] = "{ \"name\": \"gpu\", \"machine\": \"pc-q35-8.2\", \"memory\": \"16GiB\", "
                                        "\"cpu\": { \"mode\": \"host-passthrough\" }, "
                                        "\"hostdevs\": [ \"0000:01:00.0\", \"0000:01:00.1\" ] }";
        static const struct {
                int host_bits;
                const char *code;
                int guest_bits;
        } cases[] = {
                { 46, PROBLEM_PHYS_BITS_BEYOND_IOMMU_WIDTH, 46 },
                { 39, NULL, 39 },
                { -1, PROBLEM_PHYS_BITS_UNKNOWN, -1 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *error = NULL;
                VmSpec *spec = NULL;
                Layout *l = NULL;
                Host *h = host_intel_client();

                h->cpu_phys_bits = cases[i].host_bits;
                if (vmspec_parse(spec_json, strlen(spec_json), &spec, &error) < 0 || layout_compute(h, spec, &l) < 0) {
                        ok(false, "host phys-bits %d: computes (%s)", cases[i].host_bits, strna(error));
                } else {
                        is_int(l->guest_phys_bits, cases[i].guest_bits, "host-passthrough takes the host's phys-bits");
                        ok(cases[i].code ? layout_has_problem(l, cases[i].code)
                                         : !layout_has_problem(l, PROBLEM_PHYS_BITS_BEYOND_IOMMU_WIDTH) &&
                                                   !layout_has_problem(l, PROBLEM_PHYS_BITS_UNKNOWN),
                           "host phys-bits %d on a 39-bit IOMMU: %s", cases[i].host_bits, cases[i].code ?: "no problem");
                }
                layout_free(l);
                vmspec_free(spec);
                host_free(h);
        }
}

int main(int argc, char *argv[]) {
        if (argc == 3 && streq(argv[1], "--print"))
                return print_case(argv[2]);
        test_cases();
        test_host_phys_bits();
        test_invariant();
        return tap_done();
}
