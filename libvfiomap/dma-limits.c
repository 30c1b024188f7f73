/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* DMA mapping limits: how many mappings the VM's VFIO containers take, and how much memory they pin.
 *
 * Mappings. vfio_iommu_type1 keeps one struct vfio_dma per VFIO_IOMMU_MAP_DMA call and refuses a new one
 * with -ENOSPC once a container holds dma_entry_limit of them (vfio_dma_do_map(): "if (!iommu->dma_avail)",
 * drivers/vfio/vfio_iommu_type1.c; 65535 by default). The page size does not matter: QEMU's listener maps
 * each RAM section in one call (vfio_listener_region_add(), hw/vfio), so hugepage backing changes nothing,
 * and boot RAM is a handful of sections. What multiplies the count:
 * - virtio-mem: QEMU maps every plugged block on its own (vfio_ram_discard_notify_populate()), and warns
 *   at start when the blocks and KVM's memslots could exceed the container's limit
 *   (vfio_register_ram_discard_listener(): "possibly running out of DMA mappings. E.g., try increasing the
 *   'block-size' of virtio-mem devies.", QEMU's spelling);
 * - a vIOMMU: QEMU maps each guest IOMMU mapping (vfio_iommu_map_notify()), so the guest's driver decides.
 *
 * Locked memory. Without a vIOMMU, QEMU maps and so pins all guest RAM into each container at start
 * (vfio_pin_pages_remote(), which fails with "RLIMIT_MEMLOCK (N) exceeded" in the host log and makes QEMU's
 * map fail with -12). libvirt raises RLIMIT_MEMLOCK for VFIO guests to the guest's memory plus 1 GiB, times
 * the number of VFIO devices with a vIOMMU (each may pin it all in its own address space), unless
 * <memtune><hard_limit> is set: then the hard limit is the memlock limit (qemuDomainGetMemLockLimitBytes()
 * in src/qemu/qemu_domain.c). */

#include "guest-topology.h"
#include "layout-internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)
#define DMA_ENTRY_LIMIT_DEFAULT 65535 /* U16_MAX, vfio_iommu_type1.c */
/* Firmware, option ROM and VGA RAM sections QEMU maps besides guest RAM: a generous bound. */
#define FIXED_SECTIONS 16U
/* KVM's user memslots (KVM_USER_MEM_SLOTS): 32764 on x86 since Linux 5.15, 512 on arm64 — from memory of
 * arch/x86/include/asm/kvm_host.h and include/linux/kvm_host.h, not checked against a source here. */
#define KVM_MEMSLOTS_X86 32764U
#define KVM_MEMSLOTS_ARM64 512U

static uint64_t pow2_ceil(uint64_t v) {
        uint64_t p = 1;
        while (p < v && p < (UINT64_C(1) << 62))
                p <<= 1;
        return p;
}

/* Mappings at start besides virtio-mem: RAM sections, DIMMs, firmware, and each assigned device's memory
 * BARs (mapped for peer-to-peer DMA; one with an MSI-X table splits in two). */
static uint64_t base_mappings(const Host *h, const VmSpec *s, const Layout *l) {
        uint64_t n = l->ram.n + s->n_dimms + FIXED_SECTIONS;

        for (size_t i = 0; i < s->n_hostdevs; i++) {
                const Device *d = host_find_device(h, s->hostdevs[i].address);
                for (size_t k = 0; d && k < d->n_bars; k++)
                        if (d->bars[k].index <= 5 && (d->bars[k].flags & PCI_RESOURCE_MEM))
                                n += 2;
        }
        return n;
}

static int check_mappings(Builder *b, int64_t limit, bool limit_known) {
        const VmSpec *s = layout_builder_spec(b);
        const Host *h = layout_builder_host(b);
        const Layout *l = layout_builder_layout(b);
        uint64_t base = base_mappings(h, s, l), memslots;
        char knob[160];
        int r;

        snprintf(
                knob,
                sizeof knob,
                "options vfio_iommu_type1 dma_entry_limit=N in /etc/modprobe.d (now %" PRId64 "%s)",
                limit,
                limit_known ? "" : ", the default: vfio_iommu_type1 is not loaded");

        if (s->virtio_mem_blocks > 0) {
                uint64_t at_start = base + s->virtio_mem_requested_blocks,
                         at_max = base + s->virtio_mem_blocks;
                bool start_fails = at_start > (uint64_t) limit, max_fails = at_max > (uint64_t) limit;

                memslots = s->machine.family == MACHINE_VIRT ? KVM_MEMSLOTS_ARM64 : KVM_MEMSLOTS_X86;
                if (start_fails || max_fails || s->virtio_mem_blocks + memslots > (uint64_t) limit) {
                        uint64_t room = (uint64_t) limit > base ? (uint64_t) limit - base : 1;
                        uint64_t block = pow2_ceil((s->virtio_mem_size + room - 1) / room);

                        r = layout_builder_problem(
                                b,
                                PROBLEM_DMA_ENTRY_LIMIT,
                                start_fails         ? SEVERITY_ERROR
                                        : max_fails ? SEVERITY_WARNING
                                                    : SEVERITY_INFO,
                                NULL,
                                -1,
                                NULL,
                                "virtio-mem: QEMU maps each plugged block separately, %" PRIu64
                                " blocks at most (%" PRIu64 " at start) besides about %" PRIu64
                                " other mappings, against vfio_iommu_type1's "
                                "dma_entry_limit of %" PRId64
                                " per container: %s QEMU warns at start \"possibly running "
                                "out of DMA mappings. E.g., try increasing the 'block-size' of virtio-mem "
                                "devies.\"",
                                s->virtio_mem_blocks,
                                s->virtio_mem_requested_blocks,
                                base,
                                limit,
                                start_fails
                                        ? "mapping fails already at start (vfio_container_dma_map(...) = "
                                          "-28 (No space left on device))."
                                        : max_fails
                                        ? "plugging the last blocks will fail with -28 (No space "
                                          "left on device)."
                                        : "the mappings fit, but counting KVM's memslots as QEMU "
                                          "does,");
                        if (r < 0)
                                return r;
                        if (!start_fails && !max_fails)
                                return 0;
                        /* No snippet: vfiomapctl apply merges by element name, and a <memory> at the
                         * top would be the guest's memory size. */
                        r = layout_builder_recommend(
                                b,
                                "raise-virtio-mem-block",
                                NULL,
                                NULL,
                                "Use virtio-mem blocks of at least %" PRIu64 " MiB "
                                "(<memory model='virtio-mem'><target><block unit='KiB'>%" PRIu64
                                "</block>), or raise the limit: %s.",
                                MAX(block, 2 * MiB) / MiB,
                                MAX(block, 2 * MiB) >> 10,
                                knob);
                        if (r < 0)
                                return r;
                }
        }

        if (s->viommu != VIOMMU_NONE) {
                r = layout_builder_problem(
                        b,
                        PROBLEM_VIOMMU_DMA_MAPPINGS,
                        SEVERITY_INFO,
                        NULL,
                        -1,
                        NULL,
                        "With the %s vIOMMU QEMU maps each of the guest's IOMMU mappings separately: a "
                        "guest "
                        "driver that keeps more than about %" PRId64 " of them at once (at 4 KiB, %" PRId64
                        " MiB) makes mappings fail with -28 (No space left on device).",
                        viommu_model_to_string(s->viommu),
                        limit - (int64_t) MIN(base, (uint64_t) limit),
                        (limit - (int64_t) MIN(base, (uint64_t) limit)) * 4 / 1024);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int check_memlock(Builder *b) {
        const VmSpec *s = layout_builder_spec(b);
        _cleanup_free_ GuestDmaSpace *spaces = NULL;
        uint64_t pinned, hotplug, factor = 1, wanted;
        char libvirt[160];
        int r;

        if (!s->has_hard_limit)
                return 0; /* libvirt sizes RLIMIT_MEMLOCK itself */

        /* With a vIOMMU each guest address space is a container of its own that may pin all RAM. */
        if (s->viommu != VIOMMU_NONE) {
                spaces = calloc(s->n_hostdevs, sizeof(GuestDmaSpace));
                if (!spaces)
                        return -ENOMEM;
                r = guest_dma_spaces(s, spaces);
                if (r < 0)
                        return r;
                factor = 0;
                for (size_t i = 0; i < s->n_hostdevs; i++) {
                        bool first = true;
                        for (size_t j = 0; j < i && first; j++)
                                first = spaces[j].key != spaces[i].key;
                        factor += first;
                }
        }
        pinned = s->memory +
                s->virtio_mem_requested_blocks *
                        (s->virtio_mem_blocks ? s->virtio_mem_size / s->virtio_mem_blocks : 0);
        hotplug = MAX(s->max_memory, s->memory + s->virtio_mem_size);
        wanted = factor * hotplug + GiB;

        snprintf(
                libvirt,
                sizeof libvirt,
                "<memtune>\n  <hard_limit unit='KiB'>%" PRIu64 "</hard_limit>\n</memtune>",
                wanted >> 10);
        if (s->viommu == VIOMMU_NONE && s->hard_limit < pinned) {
                r = layout_builder_problem(
                        b,
                        PROBLEM_MEMLOCK_TOO_LOW,
                        SEVERITY_ERROR,
                        NULL,
                        -1,
                        NULL,
                        "<memtune><hard_limit> of %" PRIu64
                        " MiB is libvirt's RLIMIT_MEMLOCK for this VFIO guest, "
                        "below the %" PRIu64
                        " MiB of RAM QEMU pins at start: the host logs \"vfio_pin_pages_remote: "
                        "RLIMIT_MEMLOCK (%" PRIu64
                        ") exceeded\" and QEMU fails with vfio_dma_map(...) = -12 (Cannot "
                        "allocate memory).",
                        s->hard_limit / MiB,
                        pinned / MiB,
                        s->hard_limit);
        } else if (s->hard_limit < wanted) {
                r = layout_builder_problem(
                        b,
                        PROBLEM_MEMLOCK_TOO_LOW,
                        SEVERITY_WARNING,
                        NULL,
                        -1,
                        NULL,
                        "<memtune><hard_limit> of %" PRIu64
                        " MiB is libvirt's RLIMIT_MEMLOCK for this VFIO guest, "
                        "below the %" PRIu64 " MiB libvirt would set without it (%" PRIu64 " MiB of RAM and "
                        "hotpluggable memory, times %" PRIu64
                        " %s, plus 1 GiB for firmware, ROMs and MMIO): %s "
                        "beyond it fail with -12 (Cannot allocate memory).",
                        s->hard_limit / MiB,
                        wanted / MiB,
                        hotplug / MiB,
                        factor,
                        factor > 1 ? "vIOMMU address spaces" : "container",
                        s->viommu != VIOMMU_NONE ? "the guest's DMA mappings"
                                                 : "pins of plugged memory and ROMs");
        } else
                return 0;
        if (r < 0)
                return r;
        return layout_builder_recommend(
                b,
                "raise-hard-limit",
                libvirt,
                NULL,
                "Remove <memtune><hard_limit>, so that libvirt sizes the locked-memory "
                "limit, or raise it to %" PRIu64 " MiB.",
                wanted / MiB);
}

int layout_check_dma_limits(Builder *b) {
        const Host *h = layout_builder_host(b);
        const VmSpec *s = layout_builder_spec(b);
        int r;

        if (s->n_hostdevs == 0)
                return 0;
        r = check_mappings(
                b,
                h->dma_entry_limit >= 0 ? h->dma_entry_limit : DMA_ENTRY_LIMIT_DEFAULT,
                h->dma_entry_limit >= 0);
        if (r < 0)
                return r;
        return check_memlock(b);
}
