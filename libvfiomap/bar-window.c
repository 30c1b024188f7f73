/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Large (and resizable) BARs against the guest's 64-bit MMIO window.
 *
 * QEMU's vfio-pci shows the guest each BAR at the size the host gave it (vfio_populate_device() reads the
 * region sizes) and drops the Resizable BAR capability from the guest's config space (vfio_add_ext_cap()
 * in hw/vfio/pci.c: "Can't expose read-only"), so the guest cannot resize: what has to fit is the current
 * size of every 64-bit prefetchable BAR, each naturally aligned. Behind a root port only the prefetchable
 * window is 64-bit (PCI-to-PCI bridge spec 3.2.5.9: the memory window is 32-bit), so 64-bit
 * non-prefetchable BARs go below 4 GiB and do not count here.
 *
 * Who places them decides the window:
 * - OVMF (x86 with UEFI) uses a window of its own, whatever QEMU's pci-hole64-size says. Modelled on
 *   OvmfPkg/Library/PlatformInitLib/MemDetect.c as of edk2-stable202405 (PlatformAddressWidthFromCpuid()
 *   with GuestPhysBits, PlatformDynamicMmioWindow()): when OVMF trusts the vCPU's phys-bits (41 or more;
 *   36 or 39 on Intel, 40 on AMD) it caps them at 46 (4-level paging) or 40 (no 1 GiB pages: QEMU's
 *   default qemu64 model) and, if 2^(bits-3) is larger than its classic window, uses [2^bits - 2^(bits-3),
 *   2^bits); otherwise the classic window, PcdPciMmio64Size = 32 GiB (opt/ovmf/X-PciMmio64Mb overrides it)
 *   above RAM, 1 GiB aligned and aligned to the largest power of two not above its size. Other phys-bits
 *   OVMF trusts only when CPUID reports GuestPhysBits (QEMU 9.1+ under KVM, if the kernel reports it): when
 *   only the dynamic window would hold the BARs, that is a warning, not an error. 5-level paging
 *   (la57 guests of 1 TiB and more) is not modelled. Older OVMF (before edk2-stable202302) always uses the
 *   classic window. A BAR that does not fit stays unassigned: the guest's Linux says "BAR 1 [mem size
 *   0x800000000 64bit pref]: can't assign; no space" and Windows shows Code 12.
 * - ArmVirtQemu (virt) takes the 64-bit window from the device tree: QEMU's high PCIe MMIO region.
 * - SeaBIOS places 64-bit BARs above RAM itself, beyond QEMU's 64-bit hole if need be, and QEMU's ACPI
 *   window grows to what the firmware programmed (q35_host_get_pci_hole64_end() with pci-hole64-fix):
 *   the guest works. But the hole (the layout's mmio64) is where the layout engine checks peer mappings
 *   and widths, so BARs beyond it are not covered: info, with the hole size that covers them. */

#include "layout-internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)
#define OVMF_CLASSIC_MMIO64_SIZE (UINT64_C(32) << 30) /* OvmfPkg.dec, PcdPciMmio64Size 0x800000000 */
#define BARS_MAX (VMSPEC_HOSTDEVS_MAX * 6U)

typedef struct BigBar {
        const char *device;
        unsigned index;
        uint64_t size;
} BigBar;

typedef struct GuestWindow {
        uint64_t start, end;
        const char *what;
        bool firmware; /* the firmware's own window: a BAR outside it stays unassigned */
} GuestWindow;

static uint64_t align_up(uint64_t v, uint64_t a) {
        return a ? (v + a - 1) / a * a : v;
}

static uint64_t pow2_floor(uint64_t v) {
        return v ? UINT64_C(1) << (63 - __builtin_clzll(v)) : 0;
}

static int bar_compare(const void *x, const void *y) {
        const BigBar *a = x, *b = y;
        return a->size < b->size ? 1 : a->size > b->size ? -1 : 0;
}

/* Places the BARs (sorted, largest first) from start upwards, each naturally aligned: with power-of-two
 * sizes in descending order only the first one can leave a gap. Returns the first byte after the last BAR,
 * or 0 when that passes 2^64. */
static uint64_t place_bars(const BigBar *bars, size_t n, uint64_t start) {
        uint64_t cur = start;

        for (size_t i = 0; i < n; i++) {
                uint64_t a = align_up(cur, bars[i].size);
                if (a < cur || a + bars[i].size < a)
                        return 0;
                cur = a + bars[i].size;
        }
        return cur;
}

/* The phys-bits OVMF works with once it trusts the vCPU's, -1 when they are unknown. *ret_trusted: OVMF
 * trusts them from the value alone. Otherwise it does only when CPUID reports GuestPhysBits, which QEMU 9.1
 * and newer fills in under KVM when the host kernel reports it (kvm_set_guest_phys_bits(),
 * target/i386/kvm/kvm-cpu.c): something the domain XML cannot tell. Untrusted, OVMF guesses from RAM and
 * keeps its classic window. */
static int ovmf_phys_bits(const VmSpec *s, const Layout *l, bool *ret_trusted) {
        int bits = l->guest_phys_bits;
        const char *vendor = l->guest_cpu_vendor;

        *ret_trusted = false;
        if (bits < 0)
                return -1;
        *ret_trusted = bits >= 41 || (streq_ptr(vendor, "GenuineIntel") && (bits == 36 || bits == 39)) ||
                       (streq_ptr(vendor, "AuthenticAMD") && bits == 40);
        if (bits > 46)
                bits = 46;
        /* qemu64 has no pdpe1gb; the other modes give the host's or a modern model's, which have it. */
        if (s->cpu_mode == CPU_MODE_DEFAULT && bits > 40)
                bits = 40;
        return bits;
}

/* The window the firmware uses; *ret_maybe gets OVMF's dynamic window when OVMF uses it only if QEMU and
 * the kernel report GuestPhysBits (ret_maybe->start > ret_maybe->end when there is no such case). */
static bool guest_window(const VmSpec *s, const Layout *l, GuestWindow *ret, GuestWindow *ret_maybe) {
        *ret_maybe = (GuestWindow){ 1, 0, NULL, true };
        if (s->machine.family == MACHINE_VIRT || !s->efi) {
                if (!l->has_mmio64)
                        return false;
                *ret = (GuestWindow){ l->mmio64_start,
                                      l->mmio64_end,
                                      s->machine.family == MACHINE_VIRT
                                              ? "the virt board's high PCIe MMIO window"
                                              : "QEMU's 64-bit PCI hole",
                                      s->machine.family == MACHINE_VIRT };
                return true;
        }

        uint64_t classic = s->ovmf_mmio64_size ?: OVMF_CLASSIC_MMIO64_SIZE, base = UINT64_C(4) << 30;
        bool trusted;
        int bits = ovmf_phys_bits(s, l, &trusted);

        if (bits > 0 && classic < UINT64_C(1) << (bits - 3)) {
                GuestWindow dynamic = { (UINT64_C(1) << bits) - (UINT64_C(1) << (bits - 3)),
                                        (UINT64_C(1) << bits) - 1,
                                        "OVMF's dynamic 64-bit MMIO window",
                                        true };
                if (trusted) {
                        *ret = dynamic;
                        return true;
                }
                if (s->accel == VM_ACCEL_KVM)
                        *ret_maybe = dynamic;
        }
        for (size_t i = 0; i < l->ram.n; i++)
                if (l->ram.ranges[i].end + 1 > base)
                        base = l->ram.ranges[i].end + 1;
        if (l->has_hotplug && l->hotplug_end + 1 > base)
                base = l->hotplug_end + 1;
        base = align_up(align_up(base, GiB), pow2_floor(classic));
        *ret = (GuestWindow){ base, base + classic - 1, "OVMF's classic 64-bit MMIO window", true };
        return true;
}

static int collect_bars(
        const Host *h,
        const VmSpec *s,
        BigBar *bars,
        size_t *ret_n,
        uint64_t *ret_rebar_max) {
        size_t n = 0;
        uint64_t rebar_extra = 0;

        for (size_t i = 0; i < s->n_hostdevs; i++) {
                const Device *d = host_find_device(h, s->hostdevs[i].address);
                bool seen = false;

                for (size_t j = 0; d && j < i; j++)
                        seen = seen || streq(s->hostdevs[j].address, s->hostdevs[i].address);
                if (!d || seen || d->resource_zeroed)
                        continue;
                for (size_t k = 0; k < d->n_bars; k++) {
                        const Bar *b = d->bars + k;
                        uint64_t want = PCI_RESOURCE_MEM | PCI_RESOURCE_MEM_64 | PCI_RESOURCE_PREFETCH;

                        if (b->index > 5 || (b->flags & want) != want ||
                            (b->flags & PCI_RESOURCE_DISABLED) || b->end < b->start || n >= BARS_MAX)
                                continue;
                        bars[n++] = (BigBar){ d->address, b->index, pow2_floor(b->end - b->start + 1) };
                        /* The largest size the Resizable BAR capability offers beyond the current one. */
                        for (unsigned r = 0; d->config_read && r < d->config.n_rebar; r++)
                                if (d->config.rebar_bars[r].bar == b->index &&
                                    pow2_floor(d->config.rebar_bars[r].sizes) > bars[n - 1].size)
                                        rebar_extra +=
                                                pow2_floor(d->config.rebar_bars[r].sizes) - bars[n - 1].size;
                }
        }
        *ret_n = n;
        *ret_rebar_max = rebar_extra;
        return 0;
}

/* need: the BARs' span from an aligned start; hole_need: from where QEMU's 64-bit hole starts (after RAM,
 * 1 GiB aligned), which may first have to skip up to the largest BAR's alignment. */
static int recommend_window(
        Builder *b,
        const VmSpec *s,
        uint64_t need,
        uint64_t hole_need,
        const GuestWindow *w) {
        char libvirt[512], qemu[160], size[SIZE_STRLEN];
        uint64_t hole = align_up(hole_need, GiB);
        int r;

        if (s->machine.family == MACHINE_VIRT)
                return layout_builder_recommend(
                        b,
                        "assign-fewer-bars",
                        NULL,
                        NULL,
                        "The virt board's 64-bit PCIe window is fixed: assign fewer or "
                        "smaller devices, or resize their BARs on the host "
                        "(/sys/bus/pci/devices/BDF/resourceN_resize) before start.");
        (void) format_size(size, hole);
        snprintf(
                libvirt,
                sizeof libvirt,
                "<controller type='pci' index='0' model='%s'>\n"
                "  <pcihole64 unit='KiB'>%" PRIu64 "</pcihole64>\n"
                "</controller>",
                s->machine.family == MACHINE_Q35 ? "pcie-root" : "pci-root",
                hole >> 10);
        snprintf(
                qemu,
                sizeof qemu,
                "-global %s.pci-hole64-size=%" PRIu64 "G",
                s->machine.family == MACHINE_Q35 ? "q35-pcihost" : "i440FX-pcihost",
                hole / GiB);
        r = layout_builder_recommend(
                b,
                "set-pcihole64",
                libvirt,
                qemu,
                "Make the 64-bit PCI hole %s: from where it starts, after RAM, that holds "
                "the assigned devices' 64-bit BARs, each naturally aligned.",
                size);
        if (r < 0 || !s->efi)
                return r;

        /* OVMF aligns its classic window to the largest power of two not above its size: a power of two
         * keeps the largest BAR aligned. */
        uint64_t ovmf = align_up(need, GiB), mb = pow2_floor(ovmf) == ovmf ? ovmf : pow2_floor(ovmf) << 1;
        snprintf(
                libvirt,
                sizeof libvirt,
                "<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n"
                "  <qemu:commandline>\n"
                "    <qemu:arg value='-fw_cfg'/>\n"
                "    <qemu:arg value='name=opt/ovmf/X-PciMmio64Mb,string=%" PRIu64 "'/>\n"
                "  </qemu:commandline>\n"
                "</domain>",
                mb / MiB);
        snprintf(qemu, sizeof qemu, "-fw_cfg name=opt/ovmf/X-PciMmio64Mb,string=%" PRIu64, mb / MiB);
        return layout_builder_recommend(
                b,
                "set-ovmf-mmio64",
                libvirt,
                qemu,
                "Give OVMF a 64-bit MMIO window of %" PRIu64 " GiB: OVMF places the BARs "
                "in its own window (here %s), not in QEMU's PCI hole. OVMF of "
                "edk2-stable202302 or newer also sizes it as 2^(phys-bits - 3) when it "
                "trusts the vCPU's phys-bits.",
                mb / GiB,
                w->what);
}

int layout_check_bar_window(Builder *b) {
        const VmSpec *s = layout_builder_spec(b);
        const Host *h = layout_builder_host(b);
        const Layout *l = layout_builder_layout(b);
        _cleanup_free_ BigBar *bars = NULL;
        uint64_t rebar_extra = 0, end, need, hole_need, largest;
        char need_s[SIZE_STRLEN], window_s[SIZE_STRLEN], largest_s[SIZE_STRLEN];
        GuestWindow w, maybe;
        bool maybe_fits;
        size_t n = 0;
        int r;

        if (s->n_hostdevs == 0 || !guest_window(s, l, &w, &maybe))
                return 0;
        bars = calloc(MIN((size_t) BARS_MAX, s->n_hostdevs * 6), sizeof(BigBar));
        if (!bars)
                return -ENOMEM;
        r = collect_bars(h, s, bars, &n, &rebar_extra);
        if (r < 0 || n == 0)
                return r;
        qsort(bars, n, sizeof(BigBar), bar_compare);
        largest = bars[0].size;
        end = place_bars(bars, n, w.start);
        need = place_bars(bars, n, 0);
        hole_need = l->has_mmio64 ? place_bars(bars, n, l->mmio64_start) : 0;
        hole_need = hole_need > l->mmio64_start ? hole_need - l->mmio64_start : need;
        (void) format_size(need_s, need);
        (void) format_size(window_s, w.end - w.start + 1);
        (void) format_size(largest_s, largest);

        maybe_fits = maybe.start <= maybe.end && (end = place_bars(bars, n, maybe.start)) != 0 &&
                     end - 1 <= maybe.end;
        end = place_bars(bars, n, w.start);
        if (end == 0 || end - 1 > w.end) {
                r = layout_builder_problem(
                        b,
                        PROBLEM_BAR_WINDOW_TOO_SMALL,
                        !w.firmware ? SEVERITY_INFO : maybe_fits ? SEVERITY_WARNING : SEVERITY_ERROR,
                        bars[0].device,
                        -1,
                        &(Range){ w.start, w.end },
                        "The assigned devices' 64-bit prefetchable BARs need %s naturally aligned (the "
                        "largest, BAR %u of %s, %s), more than %s 0x%" PRIx64 "-0x%" PRIx64 " (%s) holds: "
                        "%s%s",
                        need_s,
                        bars[0].index,
                        bars[0].device,
                        largest_s,
                        w.what,
                        w.start,
                        w.end,
                        window_s,
                        w.firmware
                                ? "the firmware leaves the rest unassigned and the guest's driver fails "
                                  "(Linux: \"BAR N [mem size 0x... 64bit pref]: can't assign; no space\", "
                                  "Windows: Code 12)."
                                : "SeaBIOS places them beyond it, which the guest copes with, but the "
                                  "layout's peer-mapping and width checks do not cover BARs there.",
                        maybe_fits ? " Unless QEMU (9.1 or newer, under KVM) and the host kernel report "
                                     "GuestPhysBits: then OVMF trusts the vCPU's phys-bits and uses its "
                                     "dynamic window at the top, which holds them."
                                   : "");
                if (r >= 0)
                        r = recommend_window(b, s, need, hole_need, &w);
                if (r < 0)
                        return r;
        }

        if (rebar_extra > 0) {
                uint64_t grown = need + rebar_extra;
                char grown_s[SIZE_STRLEN];

                (void) format_size(grown_s, grown);
                r = layout_builder_problem(
                        b,
                        PROBLEM_REBAR_LARGER_SIZES,
                        SEVERITY_INFO,
                        NULL,
                        -1,
                        NULL,
                        "Resizable BAR: assigned devices offer larger BARs than their current ones; QEMU "
                        "shows the "
                        "guest the current size and hides the capability, so resizing happens on the host "
                        "(/sys/bus/pci/devices/BDF/resourceN_resize) before start. At their largest the "
                        "64-bit "
                        "BARs need about %s; %s 0x%" PRIx64 "-0x%" PRIx64 " %s.",
                        grown_s,
                        w.what,
                        w.start,
                        w.end,
                        grown <= w.end - w.start + 1 ? "would still be large enough" : "would be too small");
                if (r < 0)
                        return r;
        }
        return 0;
}
