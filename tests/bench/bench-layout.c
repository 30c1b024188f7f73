/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How long layout_compute() takes: for a typical VM, and as the number of host exclusion ranges grows from
 * 10 to 100,000. A benchmark that prints, not a timed test: machines differ, the growth rate does not.
 *
 * The exclusions come from one IOMMU group with N reserved regions in random order (the engine sorts,
 * deduplicates and unions them) plus N/4 peer BARs behind a switch without ACS, so both the region path
 * and the peer-to-peer walk are exercised. The time per range divided by log2(N) staying flat is what
 * O(n log n) looks like. */

#include <inttypes.h>
#include <time.h>

#include "host-builder.h"
#include "layout.h"
#include "util.h"
#include "vmspec.h"

static double now_ns(void) {
        struct timespec ts;
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static uint64_t rnd_state = 0x2545f4914f6cdd1d;
static uint64_t rnd(void) {
        rnd_state ^= rnd_state >> 12;
        rnd_state ^= rnd_state << 25;
        rnd_state ^= rnd_state >> 27;
        return rnd_state * UINT64_C(2685821657736338717);
}

static Host *host_with_ranges(size_t n) {
        Host *h = hb_host_new("GenuineIntel");
        Device *d;
        char addr[32];
        size_t peers = n / 4;

        d = hb_device(h, "0000:00:01.0", 0x060400, PCIE_TYPE_ROOT_PORT, NULL, "pcieport", 1);
        d = hb_device(h, "0000:01:00.0", 0x060400, PCIE_TYPE_UPSTREAM, "0000:00:01.0", "pcieport", 1);
        d = hb_device(h, "0000:02:00.0", 0x060400, PCIE_TYPE_DOWNSTREAM, "0000:01:00.0", "pcieport", 1);
        d = hb_device(h, "0000:03:00.0", 0x030000, PCIE_TYPE_ENDPOINT, "0000:02:00.0", "vfio-pci", 1);
        hb_bar(d, 0, 0xc0000000, 0xc0ffffff, false);
        /* peers: one BAR each, on the switch's other downstream ports (domain 1 keeps the addresses apart) */
        for (size_t i = 0; i < peers; i++) {
                uint64_t start = (UINT64_C(1) << 40) + (rnd() % (UINT64_C(1) << 38)) * 4096;
                snprintf(addr, sizeof addr, "%04zx:%02zx:%02zx.%zu", 1 + i / 8192, (i / 256) % 32 + 2, i % 32,
                         (i / 32) % 8);
                d = hb_device(h, addr, 0x020000, PCIE_TYPE_DOWNSTREAM, "0000:01:00.0", "pcieport", 1);
                hb_bar(d, 0, start, start + 0xffff, false);
        }
        for (size_t i = 0; i < n - peers; i++) {
                uint64_t start = (rnd() % (UINT64_C(1) << 36)) * 4096;
                hb_resv(h, 1, start, start + (rnd() % 64 + 1) * 4096 - 1, RESV_RESERVED);
        }
        hb_unit(h, "dmar0", IOMMU_INTEL, 48, 1, "0000:03:00.0", NULL);
        return hb_finish(h);
}

static Host *host_typical(void) {
        Host *h = hb_host_new("GenuineIntel");
        Device *d;

        d = hb_device(h, "0000:00:01.0", 0x060400, PCIE_TYPE_ROOT_PORT, NULL, "pcieport", 2);
        hb_window(d, WINDOW_MEM, 0x82000000, 0x830fffff);
        hb_window(d, WINDOW_PREF, 0x4400000000, 0x4411ffffff);
        d = hb_device(h, "0000:01:00.0", 0x030000, PCIE_TYPE_LEGACY_ENDPOINT, "0000:00:01.0", "vfio-pci", 2);
        hb_bar(d, 0, 0x82000000, 0x82ffffff, false);
        hb_bar(d, 1, 0x4400000000, 0x440fffffff, true);
        hb_bar(d, 3, 0x4410000000, 0x4411ffffff, true);
        d = hb_device(h, "0000:01:00.1", 0x040300, PCIE_TYPE_ENDPOINT, "0000:00:01.0", "vfio-pci", 2);
        hb_bar(d, 0, 0x83080000, 0x83083fff, false);
        hb_resv(h, 2, 0xfee00000, 0xfeefffff, RESV_MSI);
        hb_unit(h, "dmar1", IOMMU_INTEL, 39, 1, "0000:00:01.0", "0000:01:00.0", "0000:01:00.1", NULL);
        return hb_finish(h);
}

static VmSpec *spec(const char *json) {
        VmSpec *s = NULL;
        char *error = NULL;

        if (vmspec_parse_json(json, strlen(json), &s, &error) < 0) {
                fprintf(stderr, "bench spec: %s\n", strna(error));
                exit(EXIT_FAILURE);
        }
        return s;
}

/* The best of several runs: the least disturbed by the rest of the machine. */
static double time_layout(const Host *h, const VmSpec *s, unsigned runs) {
        double best = 1e18;

        for (unsigned i = 0; i < runs; i++) {
                Layout *l = NULL;
                double t0 = now_ns();
                if (layout_compute(h, s, &l) < 0)
                        abort();
                best = MIN(best, now_ns() - t0);
                layout_free(l);
        }
        return best;
}

int main(void) {
        static const size_t sizes[] = { 10, 100, 1000, 10000, 100000 };
        _cleanup_(host_freep) Host *typical = host_typical();
        _cleanup_(vmspec_freep) VmSpec *gaming = spec(
                "{\"name\":\"gaming\",\"machine\":\"pc-q35-8.2\",\"memory\":\"16GiB\","
                "\"cpu\":{\"mode\":\"host-passthrough\",\"phys_bits_limit\":39},"
                "\"hostdevs\":[\"0000:01:00.0\",\"0000:01:00.1\"]}");
        _cleanup_(vmspec_freep) VmSpec *big = spec(
                "{\"name\":\"big\",\"machine\":\"pc-q35-8.2\",\"memory\":\"64GiB\","
                "\"cpu\":{\"mode\":\"host-passthrough\",\"phys_bits_limit\":48},\"hostdevs\":[\"0000:03:00.0\"]}");
        double typical_ns, prev = 0;

        typical_ns = time_layout(typical, gaming, 2000);
        printf("Typical VM (16 GiB, GPU + audio function, 39-bit IOMMU): %.1f us per layout (budget: 1000 us)\n\n",
               typical_ns / 1e3);

        printf("%10s %12s %14s %18s %10s\n", "ranges", "time (ms)", "ns per range", "ns/(range*log2 n)",
               "x previous");
        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                _cleanup_(host_freep) Host *h = host_with_ranges(sizes[i]);
                double t = time_layout(h, big, sizes[i] >= 100000 ? 5 : 20);
                double lg = 0;
                for (size_t n = sizes[i]; n > 1; n /= 2)
                        lg++;
                char ratio[16] = "-";
                if (prev > 0)
                        snprintf(ratio, sizeof ratio, "%.1f", t / prev);
                printf("%10zu %12.3f %14.1f %18.2f %10s\n", sizes[i], t / 1e6, t / sizes[i], t / sizes[i] / lg, ratio);
                prev = t;
                if (sizes[i] == 100000)
                        printf("\n100,000 ranges: %.1f ms (budget: 50 ms)\n", t / 1e6);
        }
        return EXIT_SUCCESS;
}
