/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdarg.h>

#include "hostdev-checks.h"
#include "layout-internal.h"
#include "util.h"

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)
#define TiB (UINT64_C(1) << 40)

/* hw/i386/pc.c: the HyperTransport range AMD IOMMUs reserve, and where QEMU moves RAM to avoid it. */
#define AMD_HT_START UINT64_C(0xfd00000000)
#define AMD_HT_END UINT64_C(0xffffffffff)
#define AMD_ABOVE_1TB_START (AMD_HT_END + 1)

/* hw/pci-host/q35.c Q35_PCI_HOST_HOLE64_SIZE_DEFAULT, hw/pci-host/i440fx.c I440FX_PCI_HOST_HOLE64_SIZE_DEFAULT */
#define Q35_HOLE64_SIZE_DEFAULT (UINT64_C(1) << 35)
#define I440FX_HOLE64_SIZE_DEFAULT (UINT64_C(1) << 31)
/* hw/i386/pc.h IO_APIC_DEFAULT_ADDRESS 0xfec00000: i440fx's 32-bit PCI hole ends below it */
#define I440FX_PCI_HOLE_END UINT64_C(0xfebfffff)

/* target/i386/cpu.h TCG_PHYS_ADDR_BITS: the guest phys-bits of every named model without host-phys-bits */
#define DEFAULT_PHYS_BITS 40

/* hw/arm/virt.c base_memmap[] and extended_memmap[] */
#define VIRT_MEM_BASE GiB
#define VIRT_LEGACY_RAMLIMIT (255 * GiB)
#define VIRT_PCIE_MMIO_BASE UINT64_C(0x10000000)
#define VIRT_PCIE_MMIO_SIZE UINT64_C(0x2eff0000)
#define VIRT_HIGH_GIC_REDIST2_SIZE (64 * MiB)
#define VIRT_HIGH_PCIE_ECAM_SIZE (256 * MiB)
#define VIRT_HIGH_PCIE_MMIO_SIZE (512 * GiB)

/* Beyond this many overlaps of one kind the report summarises: 100,000 peer BARs must not become 100,000
 * problems. */
#define OVERLAPS_LISTED_MAX 16

static uint64_t round_up(uint64_t v, uint64_t align) {
        return (v + align - 1) / align * align;
}

static uint64_t round_down(uint64_t v, uint64_t align) {
        return v / align * align;
}

/* The number of address bits needed to reach addr. */
static int bits_for(uint64_t addr) {
        return addr == 0 ? 1 : 64 - __builtin_clzll(addr);
}

static uint64_t width_limit(int bits) {
        return bits >= 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
}

static const char *const severity_table[_SEVERITY_MAX] = {
        [SEVERITY_INFO] = "info",
        [SEVERITY_WARNING] = "warning",
        [SEVERITY_ERROR] = "error",
};

const char *severity_to_string(Severity s) {
        return s < _SEVERITY_MAX ? severity_table[s] : NULL;
}

static const char *const verdict_table[_VERDICT_MAX] = {
        [VERDICT_OK] = "ok",
        [VERDICT_WARNING] = "warning",
        [VERDICT_ERROR] = "error",
};

const char *verdict_to_string(Verdict v) {
        return v < _VERDICT_MAX ? verdict_table[v] : NULL;
}

static const char *const exclusion_kind_table[_EXCLUSION_KIND_MAX] = {
        [EXCLUSION_DIRECT] = "direct",
        [EXCLUSION_RESERVED] = "reserved",
        [EXCLUSION_MSI] = "msi",
        [EXCLUSION_PEER_MMIO] = "peer-mmio",
        [EXCLUSION_IOMMU_WIDTH] = "iommu-width",
};

const char *exclusion_kind_to_string(ExclusionKind k) {
        return k < _EXCLUSION_KIND_MAX ? exclusion_kind_table[k] : NULL;
}

Layout *layout_free(Layout *l) {
        if (!l)
                return NULL;
        free(l->vm_name);
        free(l->machine);
        for (size_t i = 0; i < l->n_problems; i++) {
                free(l->problems[i].message);
                free(l->problems[i].device);
        }
        free(l->problems);
        range_set_done(&l->ram);
        free(l->guest_cpu_vendor);
        free(l->excluded);
        for (size_t i = 0; i < l->strings_size; i++)
                free(l->strings[i]);
        free(l->strings);
        range_set_done(&l->excluded_set);
        for (size_t i = 0; i < l->n_recommendations; i++) {
                free(l->recommendations[i].action);
                free(l->recommendations[i].summary);
                free(l->recommendations[i].libvirt);
                free(l->recommendations[i].qemu);
        }
        free(l->recommendations);
        free(l);
        return NULL;
}

bool layout_has_problem(const Layout *l, const char *code) {
        for (size_t i = 0; i < l->n_problems; i++)
                if (streq(l->problems[i].code, code))
                        return true;
        return false;
}

/* ---- building the Layout ---- */

typedef struct InternCache {
        const char *source, *interned;
} InternCache;

typedef struct Builder {
        const Host *host;
        const VmSpec *spec;
        Layout *l;
        size_t allocated_problems, allocated_excluded, allocated_recommendations;
        /* The last string interned per field: BARs of one device, and everything one assigned device
         * reaches, come in runs, so this skips almost every hash lookup. */
        InternCache cache_device, cache_via, cache_what;
} Builder;

static int problem_addv(Builder *b, const char *code, Severity severity, const char *device, int group,
                        const Range *range, const char *format, va_list ap) _printf_(7, 0);
static int problem_addv(Builder *b, const char *code, Severity severity, const char *device, int group,
                        const Range *range, const char *format, va_list ap) {
        Layout *l = b->l;
        Problem *p;
        int r;

        if (!GREEDY_REALLOC(l->problems, b->allocated_problems, l->n_problems + 1))
                return -ENOMEM;
        p = &l->problems[l->n_problems];
        *p = (Problem) { .code = code, .severity = severity, .group = group };
        r = vasprintf(&p->message, format, ap);
        if (r < 0)
                return -ENOMEM;
        if (device) {
                p->device = strdup(device);
                if (!p->device) {
                        free(p->message);
                        return -ENOMEM;
                }
        }
        if (range) {
                p->has_range = true;
                p->start = range->start;
                p->end = range->end;
        }
        l->n_problems++;
        return 0;
}

static int problem_add(Builder *b, const char *code, Severity severity, const char *device, int group,
                       const Range *range, const char *format, ...) _printf_(7, 8);
static int problem_add(Builder *b, const char *code, Severity severity, const char *device, int group,
                       const Range *range, const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = problem_addv(b, code, severity, device, group, range, format, ap);
        va_end(ap);
        return r;
}

int layout_builder_problem(Builder *b, const char *code, Severity severity, const char *device, int group,
                           const Range *range, const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = problem_addv(b, code, severity, device, group, range, format, ap);
        va_end(ap);
        return r;
}

static int recommendv(Builder *b, const char *action, const char *libvirt, const char *qemu,
                      const char *format, va_list ap) _printf_(5, 0);
static int recommendv(Builder *b, const char *action, const char *libvirt, const char *qemu,
                      const char *format, va_list ap) {
        Layout *l = b->l;
        _cleanup_free_ char *summary = NULL;
        Recommendation *rec;
        int r;

        r = vasprintf(&summary, format, ap);
        if (r < 0) {
                summary = NULL;
                return -ENOMEM;
        }
        /* The same advice reached from two problems is given once. */
        for (size_t i = 0; i < l->n_recommendations; i++)
                if (streq(l->recommendations[i].action, action) && streq(l->recommendations[i].summary, summary) &&
                    streq_ptr(l->recommendations[i].libvirt, libvirt) && streq_ptr(l->recommendations[i].qemu, qemu))
                        return 0;

        if (!GREEDY_REALLOC(l->recommendations, b->allocated_recommendations, l->n_recommendations + 1))
                return -ENOMEM;
        rec = &l->recommendations[l->n_recommendations++]; /* counted at once: layout_free() releases it */
        *rec = (Recommendation) {
                .summary = TAKE_PTR(summary),
                .action = strdup(action),
                .libvirt = strdup_or_null(libvirt),
                .qemu = strdup_or_null(qemu),
        };
        if (!rec->action || (libvirt && !rec->libvirt) || (qemu && !rec->qemu))
                return -ENOMEM;
        return 0;
}

static int recommend(Builder *b, const char *action, const char *libvirt, const char *qemu, const char *format,
                     ...) _printf_(5, 6);
static int recommend(Builder *b, const char *action, const char *libvirt, const char *qemu, const char *format,
                     ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = recommendv(b, action, libvirt, qemu, format, ap);
        va_end(ap);
        return r;
}

int layout_builder_recommend(Builder *b, const char *action, const char *libvirt, const char *qemu,
                             const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = recommendv(b, action, libvirt, qemu, format, ap);
        va_end(ap);
        return r;
}

const Host *layout_builder_host(const Builder *b) {
        return b->host;
}

const VmSpec *layout_builder_spec(const Builder *b) {
        return b->spec;
}

const Layout *layout_builder_layout(const Builder *b) {
        return b->l;
}

static uint64_t string_hash(const char *s) {
        uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV-1a */
        for (; *s; s++)
                h = (h ^ (uint8_t) *s) * UINT64_C(0x100000001b3);
        return h;
}

/* Returns the Layout's copy of s, adding it on first use; NULL only for s == NULL or on ENOMEM (*ret_r). */
static const char *string_intern(Layout *l, const char *s, int *ret_r) {
        size_t mask, i;

        if (!s)
                return NULL;
        if (2 * (l->n_strings + 1) > l->strings_size) {
                size_t size = MAX(l->strings_size * 2, (size_t) 64);
                char **t = calloc(size, sizeof(char *));
                if (!t) {
                        *ret_r = -ENOMEM;
                        return NULL;
                }
                for (size_t k = 0; k < l->strings_size; k++) {
                        char *o = l->strings[k];
                        if (!o)
                                continue;
                        for (i = string_hash(o) & (size - 1); t[i]; i = (i + 1) & (size - 1))
                                ;
                        t[i] = o;
                }
                free(l->strings);
                l->strings = t;
                l->strings_size = size;
        }
        mask = l->strings_size - 1;
        for (i = string_hash(s) & mask; l->strings[i]; i = (i + 1) & mask)
                if (streq(l->strings[i], s))
                        return l->strings[i];
        l->strings[i] = strdup(s);
        if (!l->strings[i]) {
                *ret_r = -ENOMEM;
                return NULL;
        }
        l->n_strings++;
        return l->strings[i];
}

/* Only for sources that stay unchanged while the Builder lives: the Host's strings and string literals. */
static const char *string_intern_cached(Layout *l, InternCache *c, const char *s, int *ret_r) {
        if (s && s == c->source)
                return c->interned;
        c->source = s;
        c->interned = string_intern(l, s, ret_r);
        if (!c->interned)
                c->source = NULL;
        return c->interned;
}

static int exclusion_add(Builder *b, uint64_t start, uint64_t end, ExclusionKind kind, int group,
                         const char *device, const char *via, const char *what) {
        Layout *l = b->l;
        Exclusion *e;
        int r = 0;

        if (start > end)
                return 0;
        if (!GREEDY_REALLOC(l->excluded, b->allocated_excluded, l->n_excluded + 1))
                return -ENOMEM;
        e = &l->excluded[l->n_excluded];
        *e = (Exclusion) {
                .start = start,
                .end = end,
                .kind = kind,
                .group = group,
                .device = string_intern_cached(l, &b->cache_device, device, &r),
                .via = string_intern_cached(l, &b->cache_via, via, &r),
                .what = string_intern_cached(l, &b->cache_what, what, &r),
        };
        if (r < 0)
                return r;
        l->n_excluded++;
        return 0;
}

static int exclusion_compare(const void *x, const void *y) {
        const Exclusion *a = x, *b = y;
        int c;

        if (a->start != b->start)
                return a->start < b->start ? -1 : 1;
        if (a->end != b->end)
                return a->end < b->end ? -1 : 1;
        if (a->kind != b->kind)
                return a->kind < b->kind ? -1 : 1;
        if (a->device != b->device) { /* interned: equal strings are the same pointer */
                c = strcmp(a->device ?: "", b->device ?: "");
                if (c != 0)
                        return c;
        }
        if (a->group != b->group)
                return a->group < b->group ? -1 : 1;
        return a->what == b->what ? 0 : strcmp(a->what ?: "", b->what ?: "");
}

/* Sorts the exclusions into exclusion_compare() order: an LSD radix sort on the start address (8 passes of
 * 8 bits, skipping the passes where every key has the same byte), then a comparison sort of each run of
 * equal starts, which is almost always one element long. O(n) for the bulk instead of qsort()'s
 * O(n log n) comparisons of 48-byte records, which dominated the 100,000-range case. */
static int exclusions_sort(Layout *l) {
        size_t n = l->n_excluded, count[256];
        _cleanup_free_ uint32_t *idx = NULL, *tmp = NULL;
        _cleanup_free_ Exclusion *out = NULL;

        if (n < 64 || n > UINT32_MAX) {
                qsort(l->excluded, n, sizeof(Exclusion), exclusion_compare);
                return 0;
        }
        idx = malloc(n * sizeof(uint32_t));
        tmp = malloc(n * sizeof(uint32_t));
        out = malloc(n * sizeof(Exclusion));
        if (!idx || !tmp || !out)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                idx[i] = (uint32_t) i;
        for (unsigned shift = 0; shift < 64; shift += 8) {
                size_t sum = 0;
                bool trivial = false;
                uint32_t *t;

                memset(count, 0, sizeof count);
                for (size_t i = 0; i < n; i++)
                        count[(l->excluded[idx[i]].start >> shift) & 0xff]++;
                for (size_t k = 0; k < 256; k++) {
                        size_t c = count[k];
                        trivial = trivial || c == n;
                        count[k] = sum;
                        sum += c;
                }
                if (trivial)
                        continue;
                for (size_t i = 0; i < n; i++)
                        tmp[count[(l->excluded[idx[i]].start >> shift) & 0xff]++] = idx[i];
                t = idx, idx = tmp, tmp = t;
        }
        for (size_t i = 0; i < n; i++)
                out[i] = l->excluded[idx[i]];
        for (size_t i = 0, j; i < n; i = j) {
                for (j = i + 1; j < n && out[j].start == out[i].start; j++)
                        ;
                if (j - i > 1)
                        qsort(out + i, j - i, sizeof(Exclusion), exclusion_compare);
        }
        memcpy(l->excluded, out, n * sizeof(Exclusion));
        return 0;
}

/* Sorts the exclusions, drops exact duplicates (two assigned devices reaching the same peer BAR) and builds
 * their union. */
static int exclusions_finish(Builder *b) {
        Layout *l = b->l;
        size_t w = 0;
        int r;

        if (l->n_excluded == 0)
                return 0;
        r = exclusions_sort(l);
        if (r < 0)
                return r;
        for (size_t i = 0; i < l->n_excluded; i++) {
                Exclusion *e = &l->excluded[i];
                if (w > 0) {
                        Exclusion *p = &l->excluded[w - 1];
                        if (p->start == e->start && p->end == e->end && p->kind == e->kind &&
                            p->device == e->device && p->what == e->what)
                                continue;
                }
                l->excluded[w++] = *e;
        }
        l->n_excluded = w;

        /* Sorted by start, so every add takes range_set_add()'s append path: the union costs O(n). */
        for (size_t i = 0; i < l->n_excluded; i++) {
                r = range_set_add(&l->excluded_set, l->excluded[i].start, l->excluded[i].end);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- the guest side: what QEMU builds ---- */

typedef struct GuestParams {
        MachineFamily family;
        const MachineType *machine;
        uint64_t memory, max_memory;
        unsigned slots;
        bool has_max_ram_below_4g;
        uint64_t max_ram_below_4g;
        uint64_t hole64_size;
        bool long_mode;        /* the vCPU has LM: pc_max_used_gpa() counts the 64-bit hole */
        bool amd_vcpu;
        bool enforce_amd_1tb_hole; /* machine type >= 7.1 */
        int phys_bits;         /* -1 when unknown */
} GuestParams;

typedef struct Guest {
        uint64_t below_4g, above_4g, above_4g_start;
        bool relocated;          /* above-4G RAM moved to 1 TiB */
        bool relocation_refused; /* relocation needed, but phys-bits cannot reach it: QEMU exits */
        bool has_hotplug;
        uint64_t hotplug_start, hotplug_end;
        bool has_mmio32;
        uint64_t mmio32_start, mmio32_end;
        bool has_mmio64;
        uint64_t mmio64_start, mmio64_end;
        uint64_t max_used_gpa;
        Range ram[2];
        size_t n_ram;
} Guest;

/* hw/i386/pc.c: pc_above_4g_end(), pc_get_device_memory_range(), pc_pci_hole64_start(), pc_max_used_gpa(),
 * for a given start of the above-4G RAM. */
static void guest_place_x86(const GuestParams *p, uint64_t above_start, Guest *g) {
        uint64_t above_end = above_start + g->above_4g, hole64_start;

        g->above_4g_start = above_start;
        g->has_hotplug = false;
        if (p->max_memory > p->memory) {
                /* pc_get_device_memory_range(): 1 GiB aligned, plus 1 GiB of alignment room per slot */
                uint64_t base = round_up(above_end, GiB), size = p->max_memory - p->memory + GiB * p->slots;
                g->has_hotplug = true;
                g->hotplug_start = base;
                g->hotplug_end = base + size - 1;
                hole64_start = round_up(base + size, GiB);
        } else
                hole64_start = round_up(above_end, GiB);

        g->has_mmio64 = p->hole64_size > 0;
        if (g->has_mmio64) {
                g->mmio64_start = hole64_start;
                g->mmio64_end = hole64_start + p->hole64_size - 1;
        }
        if (p->long_mode)
                g->max_used_gpa = hole64_start + p->hole64_size - 1;
        else if (g->has_hotplug)
                g->max_used_gpa = g->hotplug_end;
        else
                g->max_used_gpa = above_end - 1;
}

static void guest_build_x86(const GuestParams *p, Guest *g) {
        uint64_t lowmem;

        *g = (Guest) {};
        if (p->family == MACHINE_Q35) {
                /* hw/i386/pc_q35.c, pc_q35_init(): 2.75 GiB when it all fits, else a 2 GiB split, then
                 * min(that, max-ram-below-4g) (0 means unset) */
                uint64_t max_below = p->has_max_ram_below_4g && p->max_ram_below_4g > 0 ? p->max_ram_below_4g
                                                                                       : 4 * GiB;
                lowmem = p->memory >= UINT64_C(0xb0000000) ? UINT64_C(0x80000000) : UINT64_C(0xb0000000);
                lowmem = MIN(lowmem, max_below);
        } else {
                /* hw/i386/pc_piix.c, pc_init1(): max-ram-below-4g (default 3.5 GiB), lowered to 3 GiB when
                 * RAM must be split, on machine types >= 1.8 (gigabyte_align) */
                uint64_t max_below = p->has_max_ram_below_4g && p->max_ram_below_4g > 0 ? p->max_ram_below_4g
                                                                                       : UINT64_C(0xe0000000);
                bool gigabyte_align = machine_type_at_least(p->machine, 1, 8);
                lowmem = max_below;
                if (p->memory >= max_below && gigabyte_align)
                        lowmem = MIN(lowmem, UINT64_C(0xc0000000));
        }
        g->below_4g = MIN(p->memory, lowmem);
        g->above_4g = p->memory - g->below_4g;

        guest_place_x86(p, 4 * GiB, g);

        /* hw/i386/pc.c, pc_memory_init(): for an AMD vCPU on machine types >= 7.1, when the highest used
         * address reaches the HT range, the above-4G RAM (and what follows it) starts at 1 TiB. QEMU then
         * exits when phys-bits cannot reach the new top ("phys-bits too low"); such a guest never runs, so
         * the layout keeps the unrelocated RAM and says why. */
        if (p->amd_vcpu && p->enforce_amd_1tb_hole && g->max_used_gpa >= AMD_HT_START) {
                Guest moved = *g;
                guest_place_x86(p, AMD_ABOVE_1TB_START, &moved);
                if (p->phys_bits >= 0 && moved.max_used_gpa > width_limit(p->phys_bits))
                        g->relocation_refused = true;
                else {
                        *g = moved;
                        g->relocated = true;
                }
        }

        g->ram[g->n_ram++] = (Range) { 0, g->below_4g - 1 };
        if (g->above_4g > 0)
                g->ram[g->n_ram++] = (Range) { g->above_4g_start, g->above_4g_start + g->above_4g - 1 };
        if (g->below_4g < 4 * GiB) {
                g->has_mmio32 = true;
                g->mmio32_start = g->below_4g;
                g->mmio32_end = 4 * GiB - 1;
        }
}

static void guest_build_virt(const GuestParams *p, Guest *g) {
        uint64_t device_base, device_size, base;

        /* hw/arm/virt.c: RAM is one block from 1 GiB; virt_set_memmap() puts the device memory after it
         * and the high IO regions (GIC redistributors, ECAM, 512 GiB of 64-bit MMIO) after that, never
         * below 256 GiB, each aligned to its size. */
        *g = (Guest) {};
        g->ram[g->n_ram++] = (Range) { VIRT_MEM_BASE, VIRT_MEM_BASE + p->memory - 1 };
        g->has_mmio32 = true;
        g->mmio32_start = VIRT_PCIE_MMIO_BASE;
        g->mmio32_end = VIRT_PCIE_MMIO_BASE + VIRT_PCIE_MMIO_SIZE - 1;

        device_base = round_up(VIRT_MEM_BASE + p->memory, GiB);
        device_size = (p->max_memory > p->memory ? p->max_memory - p->memory : 0) + GiB * p->slots;
        if (device_size > 0) {
                g->has_hotplug = true;
                g->hotplug_start = device_base;
                g->hotplug_end = device_base + device_size - 1;
        }
        base = device_base + round_up(device_size, GiB);
        if (base < VIRT_MEM_BASE + VIRT_LEGACY_RAMLIMIT)
                base = VIRT_MEM_BASE + VIRT_LEGACY_RAMLIMIT;
        base = round_up(base, VIRT_HIGH_GIC_REDIST2_SIZE) + VIRT_HIGH_GIC_REDIST2_SIZE;
        base = round_up(base, VIRT_HIGH_PCIE_ECAM_SIZE) + VIRT_HIGH_PCIE_ECAM_SIZE;
        base = round_up(base, VIRT_HIGH_PCIE_MMIO_SIZE);
        g->has_mmio64 = true;
        g->mmio64_start = base;
        g->mmio64_end = base + VIRT_HIGH_PCIE_MMIO_SIZE - 1;
        g->max_used_gpa = g->mmio64_end;
        g->above_4g_start = VIRT_MEM_BASE;
}

static void guest_build(const GuestParams *p, Guest *g) {
        if (p->family == MACHINE_VIRT)
                guest_build_virt(p, g);
        else
                guest_build_x86(p, g);
}

static bool guest_ram_fits(const Guest *g, const RangeSet *excluded) {
        for (size_t i = 0; i < g->n_ram; i++)
                if (range_set_overlaps(excluded, g->ram[i].start, g->ram[i].end))
                        return false;
        return true;
}

/* The guest vCPU's CPUID vendor, as QEMU sets it (target/i386/cpu.c): -cpu host and max take the host's;
 * a named model, and without <cpu> QEMU's default qemu64 (x86_64) or qemu32 (i686), has its own under TCG,
 * but the host's under KVM and HVF: x86_cpu_load_model() sets the model's vendor, "then overloaded with the
 * host cpu vendor for KVM and HVF" by host_cpu_instance_init() (target/i386/host-cpu.c). Only an explicit
 * vendor= property (the JSON spec's cpu.vendor) is applied after that. */
static const char *guest_cpu_vendor(const Host *h, const VmSpec *s) {
        const char *model;

        if (s->machine.family == MACHINE_VIRT)
                return NULL;
        if (s->cpu_vendor)
                return s->cpu_vendor;
        switch (s->cpu_mode) {
        case CPU_MODE_HOST_PASSTHROUGH:
        case CPU_MODE_HOST_MODEL:
        case CPU_MODE_MAXIMUM:
                return h->cpu_vendor;
        case CPU_MODE_CUSTOM:
                if (streq_ptr(s->cpu_model, "host") || streq_ptr(s->cpu_model, "max"))
                        return h->cpu_vendor;
                model = s->cpu_model;
                break;
        case CPU_MODE_DEFAULT:
        default:
                model = streq_ptr(s->arch, "i686") ? "qemu32" : "qemu64";
                break;
        }
        switch (s->accel) {
        case VM_ACCEL_KVM:
        case VM_ACCEL_HVF:
                return h->cpu_vendor;
        case VM_ACCEL_TCG:
                return cpu_model_vendor(model);
        default:
                return NULL;
        }
}

/* Whether the vCPU's vendor follows the host's whatever the model (KVM, HVF): then choosing another model
 * cannot make it AMD. */
static bool guest_vendor_is_host(const VmSpec *s) {
        return !s->cpu_vendor && (s->accel == VM_ACCEL_KVM || s->accel == VM_ACCEL_HVF ||
                                  s->cpu_mode == CPU_MODE_HOST_PASSTHROUGH || s->cpu_mode == CPU_MODE_MAXIMUM ||
                                  s->cpu_mode == CPU_MODE_HOST_MODEL);
}

/* Guest phys-bits: libvirt's <maxphysaddr mode='emulate' bits=N> is phys-bits=N; mode='passthrough' and
 * -cpu host/max (host_cpu_max_instance_init() in target/i386/host-cpu.c) use the host's ("address sizes"
 * in /proc/cpuinfo), capped by limit=; every other model gets TCG_PHYS_ADDR_BITS. When the host's size is
 * unknown (-1), a limit is taken as the value, as hosts have at least the 39 bits any sensible limit
 * asks for. */
static int guest_phys_bits(const VmSpec *s, int host_phys_bits) {
        if (s->machine.family == MACHINE_VIRT)
                return -1;
        if (s->phys_bits >= 0)
                return s->phys_bits;
        if (s->host_phys_bits || s->cpu_mode == CPU_MODE_HOST_PASSTHROUGH || s->cpu_mode == CPU_MODE_MAXIMUM) {
                if (host_phys_bits < 0)
                        return s->phys_bits_limit >= 0 ? s->phys_bits_limit : -1;
                return s->phys_bits_limit >= 0 ? MIN(s->phys_bits_limit, host_phys_bits) : host_phys_bits;
        }
        return DEFAULT_PHYS_BITS;
}

static void guest_params_from_spec(const VmSpec *s, const char *vendor, int host_phys_bits, GuestParams *p) {
        *p = (GuestParams) {
                .family = s->machine.family,
                .machine = &s->machine,
                .memory = s->memory,
                .max_memory = s->max_memory,
                .slots = s->memory_slots,
                .has_max_ram_below_4g = s->has_max_ram_below_4g,
                .max_ram_below_4g = s->max_ram_below_4g,
                .long_mode = !streq_ptr(s->arch, "i686"),
                .amd_vcpu = streq_ptr(vendor, "AuthenticAMD"),
                /* hw/i386/pc_q35.c and pc_piix.c: enforce_amd_1tb_hole = false for machine types <= 7.0 */
                .enforce_amd_1tb_hole = machine_type_at_least(&s->machine, 7, 1),
                .phys_bits = guest_phys_bits(s, host_phys_bits),
        };
        if (s->has_pci_hole64_size)
                p->hole64_size = s->pci_hole64_size;
        else
                p->hole64_size = s->machine.family == MACHINE_I440FX ? I440FX_HOLE64_SIZE_DEFAULT
                                                                      : Q35_HOLE64_SIZE_DEFAULT;
}

/* ---- the host side: what the VM must avoid ---- */

/* Adds what a device decodes: its memory BARs (and VF BARs) and, when windows is set, its bridge memory
 * windows. I/O space is not DMA-addressable and is skipped, as are disabled BARs. */
static int add_decode(Builder *b, const Device *owner, const char *via, int group, bool bars, bool windows) {
        static const char *const bar_names[] = { "BAR 0", "BAR 1", "BAR 2", "BAR 3", "BAR 4", "BAR 5", "ROM BAR" };
        static const char *const vf_bar_names[] = { "VF BAR 0", "VF BAR 1", "VF BAR 2",
                                                    "VF BAR 3", "VF BAR 4", "VF BAR 5" };
        int r;

        if (owner->resource_zeroed) {
                /* A non-root reader sees zeroed resources: say so, never guess (DOMAIN.md §2). */
                for (size_t i = 0; i < b->l->n_problems; i++)
                        if (streq(b->l->problems[i].code, PROBLEM_PEER_MMIO_UNKNOWN) &&
                            streq_ptr(b->l->problems[i].device, owner->address))
                                return 0;
                return problem_add(b, PROBLEM_PEER_MMIO_UNKNOWN, SEVERITY_WARNING, owner->address, group, NULL,
                                   "The BARs and windows of %s read as zero (not read as root?), so the "
                                   "peer-to-peer addresses that %s's DMA can reach through it are unknown; run "
                                   "as root for a complete check.", owner->address, via);
        }
        if (bars) {
                for (size_t i = 0; i < owner->n_bars; i++) {
                        const Bar *bar = &owner->bars[i];
                        if (!(bar->flags & PCI_RESOURCE_MEM) || (bar->flags & PCI_RESOURCE_DISABLED))
                                continue;
                        r = exclusion_add(b, bar->start, bar->end, EXCLUSION_PEER_MMIO, group, owner->address, via,
                                          bar->index < ELEMENTSOF(bar_names) ? bar_names[bar->index] : "BAR");
                        if (r < 0)
                                return r;
                }
                for (size_t i = 0; i < owner->n_iov_bars; i++) {
                        const Bar *bar = &owner->iov_bars[i];
                        if (!(bar->flags & PCI_RESOURCE_MEM) || (bar->flags & PCI_RESOURCE_DISABLED))
                                continue;
                        unsigned k = bar->index >= 7 ? bar->index - 7 : bar->index;
                        r = exclusion_add(b, bar->start, bar->end, EXCLUSION_PEER_MMIO, group, owner->address, via,
                                          k < ELEMENTSOF(vf_bar_names) ? vf_bar_names[k] : "VF BAR");
                        if (r < 0)
                                return r;
                }
        }
        if (windows)
                for (size_t i = 0; i < owner->n_windows; i++) {
                        const Window *w = &owner->windows[i];
                        if (w->kind == WINDOW_IO || (w->flags & PCI_RESOURCE_DISABLED))
                                continue;
                        r = exclusion_add(b, w->start, w->end, EXCLUSION_PEER_MMIO, group, owner->address, via,
                                          w->kind == WINDOW_PREF ? "prefetchable window" : "memory window");
                        if (r < 0)
                                return r;
                }
        return 0;
}

static bool device_is_root_port(const Device *d) {
        return d->config_read && d->config.pcie_type == PCIE_TYPE_ROOT_PORT;
}

/* What a DMA from the assigned device d can hit before the IOMMU sees it (DOMAIN.md §1, and the pinned rule
 * of the layout issue): its own BARs; the windows of the port above it; and, walking upstream while the
 * port on the path lacks ACS source validation + request/completion redirect + upstream forwarding,
 * everything decoded on the bus the request is then forwarded onto (the switch's other downstream ports and
 * what sits below them). The walk ends at a root port, behind which the root complex and the IOMMU see the
 * request, or at the first isolating port. Plus every other member of d's group, which the kernel grouped
 * precisely because it cannot tell them apart or keep them apart. */
static int add_peer_reach(Builder *b, const Device *d) {
        const Host *h = b->host;
        const Device *port;
        int r;

        r = add_decode(b, d, d->address, d->group, true, false);
        if (r < 0)
                return r;

        /* The group's other members, found by scanning the device table once rather than looking up each
         * member's address (a group can hold thousands of VFs). */
        for (size_t i = 0; d->group >= 0 && i < h->n_devices; i++) {
                const Device *peer = h->devices[i];
                if (peer == d || peer->group != d->group)
                        continue;
                r = add_decode(b, peer, d->address, d->group, true, false);
                if (r < 0)
                        return r;
        }

        port = d->parent ? host_find_device(h, d->parent) : NULL;
        if (!port)
                return 0; /* on a root bus: the host bridge forwards to the root complex */
        r = add_decode(b, port, d->address, d->group, true, true);
        if (r < 0)
                return r;

        for (unsigned depth = 0; port && depth < 32; depth++) {
                const Device *up;

                if (device_is_root_port(port) || !port->parent || device_acs_isolates(port))
                        break;
                up = host_find_device(h, port->parent);
                if (!up)
                        break;
                /* The request leaves port upstream onto up's secondary bus: every other device there (a
                 * switch's other downstream ports, with their windows covering what is below them) claims
                 * addresses it decodes, and so does up itself for its own BARs. */
                for (size_t i = 0; i < h->n_devices; i++) {
                        const Device *s = h->devices[i];
                        if (s == port || !streq_ptr(s->parent, up->address))
                                continue;
                        r = add_decode(b, s, d->address, d->group, true, true);
                        if (r < 0)
                                return r;
                }
                r = add_decode(b, up, d->address, d->group, true, false);
                if (r < 0)
                        return r;
                port = up;
        }
        return 0;
}

/* ---- the checks ---- */

typedef struct Assigned {
        const char *address;
        const Device *device; /* NULL when not found */
        const Group *group;   /* NULL without a group */
} Assigned;

static int check_devices_and_groups(Builder *b, Assigned *a, size_t n, char **assigned_list) {
        const Host *h = b->host;
        const VmSpec *s = b->spec;
        int r;

        for (size_t i = 0; i < n; i++) {
                a[i].device = host_find_device(h, a[i].address);
                if (!a[i].device) {
                        r = problem_add(b, PROBLEM_DEVICE_NOT_FOUND, SEVERITY_ERROR, a[i].address, -1, NULL,
                                        "Device %s is not on this host (%s).", a[i].address, strna(h->root));
                        if (r < 0)
                                return r;
                        continue;
                }
                if (a[i].device->group >= 0 && !(a[i].group = host_find_group(h, (unsigned) a[i].device->group)))
                        /* The link names a group the tree does not hold: the IOMMU is on, the tree is
                         * inconsistent (damaged, or read while the group went away). */
                        r = problem_add(b, PROBLEM_NO_IOMMU_GROUP, SEVERITY_ERROR, a[i].address, -1, NULL,
                                        "Device %s names IOMMU group %d, which %s/sys/kernel/iommu_groups does "
                                        "not hold: its group, members and reserved regions are unknown.",
                                        a[i].address, a[i].device->group, strna(h->root));
                else if (a[i].device->group < 0 && !a[i].device->group_known)
                        r = problem_add(b, PROBLEM_NO_IOMMU_GROUP, SEVERITY_ERROR, a[i].address, -1, NULL,
                                        "The iommu_group link of device %s could not be read and no group lists "
                                        "it: its IOMMU group is unknown.", a[i].address);
                else if (a[i].device->group < 0)
                        r = problem_add(b, PROBLEM_NO_IOMMU_GROUP, SEVERITY_ERROR, a[i].address, -1, NULL,
                                        "Device %s has no IOMMU group: the IOMMU is off (intel_iommu=on / "
                                        "amd_iommu=on, VT-d/AMD-Vi in the firmware) or does not cover it, and "
                                        "VFIO cannot assign it.", a[i].address);
                else
                        r = 0;
                if (r < 0)
                        return r;
        }

        for (size_t i = 0; i < n; i++) {
                const Group *g = a[i].group;
                _cleanup_free_ Blocker *blockers = NULL;
                bool first = true;
                int nb;

                if (!g)
                        continue;
                for (size_t j = 0; j < i; j++)
                        if (a[j].group == g)
                                first = false;
                if (!first)
                        continue;

                /* Viability is per VM: a member assigned to this same VM counts as fine. */
                nb = group_blockers(h, g, assigned_list, &blockers);
                if (nb < 0)
                        return nb;
                for (int k = 0; k < nb; k++) {
                        _cleanup_free_ char *cmd = NULL;

                        /* Unread is not unbound: say what is unknown, and recommend no unbind of a device
                         * whose driver nobody knows. */
                        if (streq_ptr(blockers[k].driver, BLOCKER_DRIVER_UNKNOWN)) {
                                r = problem_add(b, PROBLEM_GROUP_VIABILITY_UNKNOWN, SEVERITY_WARNING,
                                                blockers[k].device, (int) g->number, NULL,
                                                "Group %u may not be viable for %s: member %s could not be read, "
                                                "so whether a host driver holds it is unknown.", g->number,
                                                a[i].address, blockers[k].device);
                                if (r < 0)
                                        return r;
                                continue;
                        }
                        r = problem_add(b, PROBLEM_GROUP_NOT_VIABLE, SEVERITY_ERROR, blockers[k].device, (int) g->number,
                                        NULL,
                                        "Group %u is not viable for %s: member %s is bound to %s. QEMU would fail "
                                        "with \"group %u is not viable\".", g->number, a[i].address,
                                        blockers[k].device, strna(blockers[k].driver), g->number);
                        if (r < 0)
                                return r;
                        if (asprintf_safe(&cmd, "echo %s > /sys/bus/pci/devices/%s/driver/unbind", blockers[k].device,
                                          blockers[k].device) < 0)
                                return -ENOMEM;
                        r = recommend(b, "unbind-device", NULL, NULL,
                                      "Unbind %s from %s (%s), bind it to vfio-pci, or assign it to this VM too: "
                                      "every member of group %u must be free of host drivers.",
                                      blockers[k].device, strna(blockers[k].driver), cmd, g->number);
                        if (r < 0)
                                return r;
                }

                if (!g->regions_known) {
                        r = problem_add(b, PROBLEM_RESERVED_REGIONS_UNKNOWN, SEVERITY_WARNING, a[i].address,
                                        (int) g->number, NULL,
                                        "The reserved regions of group %u (%s) could not be read: guest RAM may "
                                        "overlap one, and VFIO would then refuse the mapping.", g->number,
                                        a[i].address);
                        if (r < 0)
                                return r;
                }

                for (size_t k = 0; k < g->n_regions; k++) {
                        const ResvRegion *reg = &g->regions[k];
                        Range rr = { reg->start, reg->end };
                        if (reg->type != RESV_DIRECT)
                                continue;
                        r = problem_add(b, PROBLEM_DIRECT_REGION, SEVERITY_ERROR, a[i].address, (int) g->number, &rr,
                                        "Group %u has a direct (firmware 1:1) region 0x%" PRIx64 "-0x%" PRIx64
                                        ": the kernel refuses to give %s to VFIO (\"Firmware has requested this "
                                        "device have a 1:1 IOMMU mapping\").", g->number, reg->start, reg->end,
                                        a[i].address);
                        if (r < 0)
                                return r;
                        r = recommend(b, "move-device", NULL, NULL,
                                      "Group %u carries a firmware direct-mapping requirement (an RMRR or the ISA "
                                      "bridge's 0x0-0xffffff): assign a device from another group, or move the "
                                      "card to a slot whose group has no direct region.", g->number);
                        if (r < 0)
                                return r;
                }

                if (strv_length(g->devices) > 1 &&
                    (s->viommu == VIOMMU_VIRTIO || s->hostdevs[i].hotplug)) {
                        r = problem_add(b, PROBLEM_HOTPLUG_MULTI_DEVICE_GROUP, SEVERITY_WARNING, a[i].address,
                                        (int) g->number, NULL,
                                        "Group %u has %zu members: when %s is hot-plugged into a guest whose "
                                        "domain for the group already exists, the guest does not honour its "
                                        "reserved regions and DMA mappings can fail.", g->number,
                                        strv_length(g->devices), a[i].address);
                        if (r < 0)
                                return r;
                        r = recommend(b, "cold-plug", NULL, NULL,
                                      "Cold-plug %s (define it in the domain before start), or use a device in a "
                                      "singleton group for hotplug.", a[i].address);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* The host-side checks of hostdev-checks.h, as problems and recommendations. */
static int check_hostdevs(Builder *b) {
        _cleanup_(hostdev_findings_done) HostdevFindings f = {};
        int r;

        r = hostdev_checks(b->host, b->spec, &f);
        for (size_t i = 0; r >= 0 && i < f.n; i++) {
                const HostdevFinding *x = f.items + i;
                r = problem_add(b, x->code, x->severity, x->device, x->group, NULL, "%s", x->message);
                if (r >= 0 && x->action)
                        r = recommend(b, x->action, x->libvirt, NULL, "%s", x->summary);
        }
        return r;
}

static int collect_exclusions(Builder *b, const Assigned *a, size_t n) {
        _cleanup_strv_free_ char **units_reported = NULL;
        const Host *h = b->host;
        Layout *l = b->l;
        int width = -1;
        int r;

        for (size_t i = 0; i < n; i++) {
                const Group *g = a[i].group;
                bool first = true;

                if (!g)
                        continue;
                for (size_t j = 0; j < i; j++)
                        if (a[j].group == g)
                                first = false;
                if (!first)
                        continue;
                /* Every type but direct-relaxable is removed from the usable IOVA list
                 * (drivers/vfio/vfio_iommu_type1.c, vfio_iommu_resv_exclude()). */
                for (size_t k = 0; k < g->n_regions; k++) {
                        const ResvRegion *reg = &g->regions[k];
                        ExclusionKind kind;
                        switch (reg->type) {
                        case RESV_DIRECT: kind = EXCLUSION_DIRECT; break;
                        case RESV_RESERVED: kind = EXCLUSION_RESERVED; break;
                        case RESV_MSI: kind = EXCLUSION_MSI; break;
                        default: continue;
                        }
                        r = exclusion_add(b, reg->start, reg->end, kind, (int) g->number, NULL, a[i].address,
                                          "reserved region");
                        if (r < 0)
                                return r;
                }
        }

        for (size_t i = 0; i < n; i++) {
                const Device *d = a[i].device;
                const IommuUnit *u;

                if (!d || !a[i].group)
                        continue;
                r = add_peer_reach(b, d);
                if (r < 0)
                        return r;

                u = d->iommu ? host_find_unit(h, d->iommu) : NULL;
                if (!u || u->address_width <= 0) {
                        /* once per unit (or once for devices without a known unit) */
                        const char *key = u ? u->name : "";
                        if (!strv_contains(units_reported, key)) {
                                if (strv_extend(&units_reported, key) < 0)
                                        return -ENOMEM;
                                r = problem_add(b, PROBLEM_IOMMU_WIDTH_UNKNOWN, SEVERITY_INFO, d->address, d->group,
                                                NULL,
                                                "The address width of %s%s%s is not known from sysfs%s; addresses "
                                                "beyond it are not checked.", u ? "IOMMU " : "the IOMMU serving ",
                                                u ? u->name : d->address, u ? "" : " (no unit found)",
                                                u && u->kind == IOMMU_ARM ? " (SMMUv3 exposes none)" : "");
                                if (r < 0)
                                        return r;
                        }
                } else if (width < 0 || u->address_width < width)
                        width = u->address_width;

                if (u && u->interrupt_remapping == 0) {
                        bool unsafe = h->allow_unsafe_interrupts;
                        r = problem_add(b, PROBLEM_NO_INTERRUPT_REMAPPING, unsafe ? SEVERITY_WARNING : SEVERITY_ERROR,
                                        d->address, d->group, NULL,
                                        unsafe ? "IOMMU %s has no interrupt remapping; VFIO accepts %s only because "
                                                 "allow_unsafe_interrupts is set, so the device can inject "
                                                 "arbitrary interrupts into the host."
                                               : "IOMMU %s has no interrupt remapping: VFIO refuses to attach %s "
                                                 "(\"No interrupt remapping support\").",
                                        u->name, d->address);
                        if (r < 0)
                                return r;
                        r = recommend(b, "enable-interrupt-remapping", NULL, NULL,
                                      "Enable interrupt remapping (x2APIC/IR in the firmware, no intremap=off on "
                                      "the kernel command line); vfio_iommu_type1.allow_unsafe_interrupts=1 "
                                      "works around it at the cost of isolation.");
                        if (r < 0)
                                return r;
                }
        }

        l->iommu_address_width = width;
        if (width > 0 && width < 64) {
                char what[32];
                snprintf(what, sizeof what, "above %d bits", width);
                b->cache_what = (InternCache) {}; /* what is a stack buffer, not a stable source */
                r = exclusion_add(b, UINT64_C(1) << width, UINT64_MAX, EXCLUSION_IOMMU_WIDTH, -1, NULL, NULL, what);
                b->cache_what = (InternCache) {};
                if (r < 0)
                        return r;
        }
        return exclusions_finish(b);
}

static const char *problem_code_for(ExclusionKind k) {
        switch (k) {
        case EXCLUSION_PEER_MMIO: return PROBLEM_RAM_OVERLAPS_PEER_MMIO;
        case EXCLUSION_IOMMU_WIDTH: return PROBLEM_RAM_BEYOND_IOMMU_WIDTH;
        default: return PROBLEM_RAM_OVERLAPS_RESERVED;
        }
}

static int describe_exclusion(const Exclusion *e, char **ret) {
        switch (e->kind) {
        case EXCLUSION_PEER_MMIO:
                if (streq_ptr(e->device, e->via))
                        return asprintf_safe(ret, "%s's own %s (a DMA there never reaches the IOMMU)",
                                             strna(e->device), strna(e->what));
                return asprintf_safe(ret, "%s of %s (peer MMIO reachable from %s without passing the IOMMU)",
                                     strna(e->what), strna(e->device), strna(e->via));
        case EXCLUSION_IOMMU_WIDTH:
                return asprintf_safe(ret, "the range %s of the IOMMU", strna(e->what));
        default:
                return asprintf_safe(ret, "%s region of group %d (%s)", exclusion_kind_to_string(e->kind), e->group,
                                     strna(e->via));
        }
}

/* One problem per exclusion that guest RAM overlaps, up to OVERLAPS_LISTED_MAX per code, then a count. */
static int check_ram(Builder *b, const Guest *g) {
        Layout *l = b->l;
        unsigned counts[_EXCLUSION_KIND_MAX] = {};
        int r;

        for (size_t i = 0; i < g->n_ram; i++) {
                const Range *ram = &g->ram[i];

                if (!range_set_overlaps(&l->excluded_set, ram->start, ram->end))
                        continue;
                for (size_t k = 0; k < l->n_excluded; k++) {
                        const Exclusion *e = &l->excluded[k];
                        _cleanup_free_ char *desc = NULL;
                        Range hit;

                        if (e->start > ram->end)
                                break; /* sorted by start */
                        if (!range_overlaps(e->start, e->end, ram->start, ram->end))
                                continue;
                        if (counts[e->kind]++ >= OVERLAPS_LISTED_MAX)
                                continue;
                        hit = (Range) { MAX(e->start, ram->start), MIN(e->end, ram->end) };
                        if (describe_exclusion(e, &desc) < 0)
                                return -ENOMEM;
                        r = problem_add(b, problem_code_for(e->kind), SEVERITY_ERROR, e->device ?: e->via, e->group,
                                        &hit,
                                        "Guest RAM 0x%" PRIx64 "-0x%" PRIx64 " overlaps 0x%" PRIx64 "-0x%" PRIx64
                                        ", %s: %s.", ram->start, ram->end, e->start, e->end, desc,
                                        e->kind == EXCLUSION_PEER_MMIO && streq_ptr(e->device, e->via)
                                                ? "the device's DMA there never reaches the guest's RAM, silently"
                                        : e->kind == EXCLUSION_PEER_MMIO
                                                ? "a DMA there is routed to the other device, silently"
                                        /* The kernel's EINVAL is in QEMU's first line; the "= -N" of the
                                         * vfio_dma_map() line that follows can be another errno, clobbered
                                         * by that first error_report() (seen with QEMU 7.2 under libvirt:
                                         * "= -2 (No such file or directory)", docs/SYSTEM-TEST.md). */
                                        : e->kind == EXCLUSION_IOMMU_WIDTH
                                                ? "VFIO cannot map it (QEMU: \"VFIO_MAP_DMA failed: Invalid "
                                                  "argument\", then vfio_dma_map ... = -22)"
                                                : "VFIO refuses to map it (QEMU: \"VFIO_MAP_DMA failed: Invalid "
                                                  "argument\", then vfio_dma_map ... = -22)");
                        if (r < 0)
                                return r;
                }
        }
        for (ExclusionKind k = 0; k < _EXCLUSION_KIND_MAX; k++)
                if (counts[k] > OVERLAPS_LISTED_MAX) {
                        r = problem_add(b, problem_code_for(k), SEVERITY_ERROR, NULL, -1, NULL,
                                        "... and %u more overlaps of guest RAM with %s exclusions (see the JSON "
                                        "\"excluded\" list).", counts[k] - OVERLAPS_LISTED_MAX,
                                        exclusion_kind_to_string(k));
                        if (r < 0)
                                return r;
                }

        if (g->has_hotplug && range_set_overlaps(&l->excluded_set, g->hotplug_start, g->hotplug_end)) {
                const Range *first = range_set_find_overlap(&l->excluded_set, g->hotplug_start, g->hotplug_end);
                Range hit = { MAX(first->start, g->hotplug_start), MIN(first->end, g->hotplug_end) };
                r = problem_add(b, PROBLEM_HOTPLUG_AREA_OVERLAPS, SEVERITY_WARNING, NULL, -1, &hit,
                                "The memory-hotplug area 0x%" PRIx64 "-0x%" PRIx64 " overlaps host exclusions from "
                                "0x%" PRIx64 ": hot-plugging memory there will fail to map for VFIO.",
                                g->hotplug_start, g->hotplug_end, hit.start);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool excluded_overlaps_ht(const Layout *l) {
        return range_set_overlaps(&l->excluded_set, AMD_HT_START, AMD_HT_END);
}

/* Formats a size for libvirt XML and QEMU: whole GiB when possible, else MiB, else KiB. */
static void format_qemu_size(char buf[static 32], uint64_t v) {
        if (v % GiB == 0)
                snprintf(buf, 32, "%" PRIu64 "G", v / GiB);
        else if (v % MiB == 0)
                snprintf(buf, 32, "%" PRIu64 "M", v / MiB);
        else
                snprintf(buf, 32, "%" PRIu64 "K", v / KiB);
}

/* The largest size (a multiple of step) whose RAM avoids every exclusion with the other settings kept. RAM
 * grows monotonically with <memory> except at QEMU's low/high split, so a binary search finds a candidate
 * and a short downward scan confirms it. 0 when none does. */
static uint64_t largest_fitting_memory(const Layout *l, const GuestParams *base, uint64_t step) {
        GuestParams p = *base;
        Guest g;
        uint64_t lo = 0, hi = base->memory / step;

        while (lo < hi) {
                uint64_t mid = lo + (hi - lo + 1) / 2;
                p.memory = mid * step;
                guest_build(&p, &g);
                if (!g.relocation_refused && guest_ram_fits(&g, &l->excluded_set))
                        lo = mid;
                else
                        hi = mid - 1;
        }
        for (uint64_t m = lo; m > 0 && m + 64 > lo; m--) {
                p.memory = m * step;
                guest_build(&p, &g);
                if (!g.relocation_refused && guest_ram_fits(&g, &l->excluded_set))
                        return m * step;
        }
        return 0;
}

static int recommend_less_memory(Builder *b, const GuestParams *base, bool say_if_none, const char *why) {
        uint64_t best;
        char libvirt[256], qemu[64], size[32];

        best = largest_fitting_memory(b->l, base, GiB);
        if (best == 0)
                best = largest_fitting_memory(b->l, base, 128 * MiB);
        if (best == 0 && !say_if_none)
                return 0;
        if (best == 0)
                return recommend(b, "reduce-memory", NULL, NULL,
                                 "No amount of RAM avoids the exclusions with these settings (%s).", why);
        format_qemu_size(size, best);
        if (best % GiB == 0)
                snprintf(libvirt, sizeof libvirt,
                         "<memory unit='GiB'>%" PRIu64 "</memory>\n<currentMemory unit='GiB'>%" PRIu64
                         "</currentMemory>", best / GiB, best / GiB);
        else
                snprintf(libvirt, sizeof libvirt,
                         "<memory unit='MiB'>%" PRIu64 "</memory>\n<currentMemory unit='MiB'>%" PRIu64
                         "</currentMemory>", best / MiB, best / MiB);
        snprintf(qemu, sizeof qemu, "-m %s", size);
        return recommend(b, "reduce-memory", libvirt, qemu, "Give the guest at most %" PRIu64 " %s of RAM (%s).",
                         best % GiB == 0 ? best / GiB : best / MiB, best % GiB == 0 ? "GiB" : "MiB", why);
}

static int recommend_for_ram(Builder *b, const GuestParams *params, const Guest *g, const char *vendor) {
        const VmSpec *s = b->spec;
        Layout *l = b->l;
        bool low_hit = false, high_hit = false, ht_fixable = false;
        int r;

        for (size_t i = 0; i < g->n_ram; i++) {
                if (!range_set_overlaps(&l->excluded_set, g->ram[i].start, g->ram[i].end))
                        continue;
                if (g->ram[i].start < 4 * GiB && s->machine.family != MACHINE_VIRT)
                        low_hit = true;
                else
                        high_hit = true;
        }

        if (low_hit) {
                const Range *x = range_set_find_overlap(&l->excluded_set, g->ram[0].start, g->ram[0].end);
                uint64_t below = x->start >= GiB ? round_down(x->start, GiB) : round_down(x->start, 256 * MiB);
                GuestParams p = *params;
                Guest t;

                p.has_max_ram_below_4g = true;
                p.max_ram_below_4g = below;
                guest_build(&p, &t);
                if (below > 0 && range_set_find_overlap(&l->excluded_set, t.ram[0].start, t.ram[0].end) == NULL) {
                        char size[32], libvirt[512], qemu[96];
                        format_qemu_size(size, below);
                        snprintf(libvirt, sizeof libvirt,
                                 "<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n"
                                 "  <qemu:commandline>\n"
                                 "    <qemu:arg value='-machine'/>\n"
                                 "    <qemu:arg value='max-ram-below-4g=%s'/>\n"
                                 "  </qemu:commandline>\n"
                                 "</domain>",
                                 size);
                        snprintf(qemu, sizeof qemu, "-machine max-ram-below-4g=%s", size);
                        r = recommend(b, "set-max-ram-below-4g", libvirt, qemu,
                                      "End the RAM below 4 GiB at 0x%" PRIx64 ", under the excluded range at 0x%" PRIx64
                                      "; the rest moves above 4 GiB.%s", below, x->start,
                                      guest_ram_fits(&t, &l->excluded_set) ? "" : " (RAM above 4 GiB still needs "
                                                                                   "the other changes listed.)");
                        if (r < 0)
                                return r;
                } else {
                        r = recommend(b, "move-device", NULL, NULL,
                                      "Guest RAM always starts at %s, so the excluded range 0x%" PRIx64 "-0x%" PRIx64
                                      " cannot be avoided by moving RAM: assign a device whose group does not "
                                      "exclude it (another slot), or remove the device that causes it.",
                                      s->machine.family == MACHINE_VIRT ? "1 GiB" : "0", x->start, x->end);
                        if (r < 0)
                                return r;
                }
        }

        /* The AMD HT hole: a newer machine type with an AMD vCPU and enough phys-bits lets QEMU move the RAM. */
        if (s->machine.family != MACHINE_VIRT && excluded_overlaps_ht(l) &&
            (g->relocation_refused || (!g->relocated && (g->max_used_gpa >= AMD_HT_START)))) {
                GuestParams p = *params;
                Guest t;
                int limit = l->iommu_address_width > 0 ? MIN(l->iommu_address_width, 48) : 48;

                /* Another model makes the vCPU AMD only where the vendor is the model's (TCG). */
                p.amd_vcpu = params->amd_vcpu || !guest_vendor_is_host(s);
                p.enforce_amd_1tb_hole = true;
                p.phys_bits = limit;
                guest_build(&p, &t);
                ht_fixable = t.relocated && guest_ram_fits(&t, &l->excluded_set);
                if (ht_fixable) {
                        _cleanup_free_ char *libvirt = NULL, *qemu = NULL, *cpu_xml = NULL, *cpu_opt = NULL;
                        const char *mt = s->machine.family == MACHINE_Q35 ? "pc-q35" : "pc-i440fx";
                        bool old = !params->enforce_amd_1tb_hole, not_amd = !params->amd_vcpu;
                        bool few_bits = params->phys_bits >= 0 && params->phys_bits < 41;
                        char phys_text[32];
                        bool host_cpu = s->host_phys_bits || s->cpu_mode == CPU_MODE_HOST_PASSTHROUGH ||
                                        s->cpu_mode == CPU_MODE_MAXIMUM;

                        if (params->phys_bits < 0)
                                snprintf(phys_text, sizeof phys_text, "the host CPU's");
                        else
                                snprintf(phys_text, sizeof phys_text, "%d", params->phys_bits);
                        if (few_bits || not_amd) {
                                if (host_cpu) {
                                        if (asprintf_safe(&cpu_xml, "<cpu mode='host-passthrough'>\n"
                                                          "  <maxphysaddr mode='passthrough' limit='%d'/>\n</cpu>",
                                                          limit) < 0 ||
                                            asprintf_safe(&cpu_opt, "-cpu host,host-phys-bits=on,host-phys-bits-limit=%d",
                                                          limit) < 0)
                                                return -ENOMEM;
                                } else if (asprintf_safe(&cpu_xml, "<cpu mode='custom'>\n  <model>%s</model>\n"
                                                         "  <maxphysaddr mode='emulate' bits='%d'/>\n</cpu>",
                                                         not_amd ? "EPYC" : strna(s->cpu_model), limit) < 0 ||
                                           asprintf_safe(&cpu_opt, "-cpu %s,phys-bits=%d",
                                                         not_amd ? "EPYC" : strna(s->cpu_model), limit) < 0)
                                        return -ENOMEM;
                        }
                        /* Well-formed XML that belongs below <domain>: vfiomapctl apply merges it as it is
                         * (domain-xml.h); "-7.1" stands for 7.1 or any newer machine type. */
                        if (asprintf_safe(&libvirt, "%s%s%s%s", old ? "<os>\n  <type arch='x86_64' machine='" : "",
                                          old ? mt : "", old ? "-7.1'>hvm</type>\n</os>\n" : "",
                                          cpu_xml ?: "") < 0 ||
                            asprintf_safe(&qemu, "%s%s%s%s%s", old ? "-machine " : "", old ? mt : "",
                                          old ? "-7.1" : "", old && cpu_opt ? " " : "", cpu_opt ?: "") < 0)
                                return -ENOMEM;
                        r = recommend(b, "relocate-above-1tib", libvirt, qemu,
                                      "Let QEMU move the RAM above 4 GiB to 1 TiB, past the HyperTransport hole: it "
                                      "does so from machine type 7.1 on (this one: %s), for an AMD vCPU (this one: "
                                      "%s), when guest phys-bits reach 41 or more (this one: %s).",
                                      s->machine.name, strna(vendor), phys_text);
                        if (r < 0)
                                return r;
                }
        }

        if (high_hit || (low_hit && !ht_fixable)) {
                r = recommend_less_memory(b, params, high_hit, "keeps every RAM byte clear of the host's exclusions");
                if (r < 0)
                        return r;
        }

        /* Peer MMIO: one piece of advice per assigned device whose DMA can land on another device. */
        for (size_t v = 0; v < s->n_hostdevs; v++) {
                const char *via = s->hostdevs[v].address;
                _cleanup_strv_free_ char **peers = NULL;
                _cleanup_free_ char *list = NULL;
                uint64_t lowest = UINT64_MAX;

                for (size_t i = 0; i < g->n_ram; i++)
                        for (size_t k = 0; k < l->n_excluded; k++) {
                                const Exclusion *e = &l->excluded[k];
                                if (e->start > g->ram[i].end)
                                        break;
                                if (e->kind != EXCLUSION_PEER_MMIO || !streq_ptr(e->via, via) ||
                                    !range_overlaps(e->start, e->end, g->ram[i].start, g->ram[i].end))
                                        continue;
                                lowest = MIN(lowest, MAX(e->start, g->ram[i].start));
                                if (!strv_contains(peers, e->device) && strv_extend(&peers, e->device) < 0)
                                        return -ENOMEM;
                        }
                if (!peers)
                        continue;
                STRV_FOREACH(p, peers) {
                        char *n = NULL;
                        if (asprintf_safe(&n, "%s%s%s%s", list ?: "", list ? ", " : "", *p,
                                          streq(*p, via) ? " (its own BARs)" : "") < 0)
                                return -ENOMEM;
                        free(list);
                        list = n;
                }
                r = recommend(b, "isolate-peer", NULL, NULL,
                              "DMA from %s reaches host MMIO of %s before the IOMMU sees it: keep guest RAM below "
                              "0x%" PRIx64 ", or move %s to a slot behind ports with ACS (a device keeps decoding "
                              "its BARs even when unbound; only removing it from the host stops that).",
                              via, list, lowest, via);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int check_widths(Builder *b, const GuestParams *params, const Guest *g) {
        const VmSpec *s = b->spec;
        Layout *l = b->l;
        int w = l->iommu_address_width;
        int r;

        /* QEMU's own check (hw/i386/pc.c, pc_memory_init()): the highest used address must fit phys-bits. */
        if (params->phys_bits > 0 && s->machine.family != MACHINE_VIRT &&
            (g->relocation_refused || g->max_used_gpa > width_limit(params->phys_bits))) {
                uint64_t top = g->max_used_gpa;
                if (g->relocation_refused) {
                        Guest moved = *g;
                        guest_place_x86(params, AMD_ABOVE_1TB_START, &moved);
                        top = moved.max_used_gpa;
                }
                r = problem_add(b, PROBLEM_PHYS_BITS_TOO_LOW, SEVERITY_ERROR, NULL, -1, NULL,
                                "QEMU will refuse to start: \"Address space limit 0x%" PRIx64 " < 0x%" PRIx64
                                " phys-bits too low (%d)\".", width_limit(params->phys_bits), top, params->phys_bits);
                if (r < 0)
                        return r;
        }

        if (w <= 0)
                return 0;

        if (g->has_mmio64 && g->mmio64_end > width_limit(w)) {
                Range hole = { g->mmio64_start, g->mmio64_end };
                r = problem_add(b, PROBLEM_HOLE64_BEYOND_IOMMU_WIDTH, SEVERITY_WARNING, NULL, -1, &hole,
                                "The 64-bit PCI hole 0x%" PRIx64 "-0x%" PRIx64 " reaches beyond the %d-bit IOMMU "
                                "(0x%" PRIx64 "): BARs placed there cannot be mapped for peer-to-peer DMA "
                                "(vfio_container_dma_map ... = -22).", g->mmio64_start, g->mmio64_end, w,
                                width_limit(w));
                if (r < 0)
                        return r;
                if (g->mmio64_start <= width_limit(w) && s->machine.family != MACHINE_VIRT) {
                        uint64_t size = round_down(width_limit(w) - g->mmio64_start + 1, GiB);
                        if (size > 0) {
                                char libvirt[256], qemu[96];
                                snprintf(libvirt, sizeof libvirt,
                                         "<controller type='pci' index='0' model='%s'>\n"
                                         "  <pcihole64 unit='KiB'>%" PRIu64 "</pcihole64>\n"
                                         "</controller>",
                                         s->machine.family == MACHINE_Q35 ? "pcie-root" : "pci-root", size / KiB);
                                snprintf(qemu, sizeof qemu, "-global %s.pci-hole64-size=%" PRIu64 "G",
                                         s->machine.family == MACHINE_Q35 ? "q35-pcihost" : "i440FX-pcihost",
                                         size / GiB);
                                r = recommend(b, "set-pcihole64", libvirt, qemu,
                                              "Shrink the 64-bit PCI hole to %" PRIu64 " GiB so that it ends below "
                                              "the IOMMU's %d-bit limit.", size / GiB, w);
                                if (r < 0)
                                        return r;
                        }
                }
        }

        if (s->machine.family != MACHINE_VIRT) {
                if (params->phys_bits > w) {
                        r = problem_add(b, PROBLEM_PHYS_BITS_BEYOND_IOMMU_WIDTH, SEVERITY_WARNING, NULL, -1, NULL,
                                        "Guest phys-bits %d exceed the IOMMU's %d bits: OVMF places 64-bit BARs near "
                                        "the top of the guest address space (e.g. 0x380010000000), where VFIO "
                                        "cannot map them for peer-to-peer DMA.", params->phys_bits, w);
                        if (r < 0)
                                return r;
                } else if (params->phys_bits < 0) {
                        r = problem_add(b, PROBLEM_PHYS_BITS_UNKNOWN, SEVERITY_INFO, NULL, -1, NULL,
                                        "Guest phys-bits follow the host CPU, whose address size /proc/cpuinfo does "
                                        "not show; pin them to the IOMMU's %d bits to be sure.", w);
                        if (r < 0)
                                return r;
                }
                if (params->phys_bits > w && bits_for(g->max_used_gpa) <= w) {
                        char libvirt[256], qemu[128];
                        bool host = s->host_phys_bits || s->cpu_mode == CPU_MODE_HOST_PASSTHROUGH ||
                                    s->cpu_mode == CPU_MODE_MAXIMUM;
                        if (host) {
                                snprintf(libvirt, sizeof libvirt, "<cpu mode='%s'>\n  <maxphysaddr mode='passthrough' "
                                         "limit='%d'/>\n</cpu>", cpu_mode_to_string(s->cpu_mode), w);
                                snprintf(qemu, sizeof qemu, "-cpu host,host-phys-bits=on,host-phys-bits-limit=%d", w);
                        } else {
                                snprintf(libvirt, sizeof libvirt, "<cpu>\n  <maxphysaddr mode='emulate' bits='%d'/>\n"
                                         "</cpu>", w);
                                snprintf(qemu, sizeof qemu, "-cpu %s,phys-bits=%d", s->cpu_model ?: "qemu64", w);
                        }
                        r = recommend(b, "set-maxphysaddr", libvirt, qemu,
                                      "Limit guest phys-bits to the IOMMU's %d bits (libvirt 9.3 or newer for "
                                      "<maxphysaddr>).", w);
                        if (r < 0)
                                return r;
                }
        }

        if (s->viommu == VIOMMU_INTEL) {
                /* hw/i386/intel_iommu.c: aw-bits defaults to 48 since QEMU 9.2 (39 on older machine types,
                 * hw_compat_9_1); QEMU then refuses a value above the host's ("aw-bits 48 > host aw-bits 39"). */
                int aw = l->viommu_aw_bits;
                if (aw > w) {
                        r = problem_add(b, PROBLEM_VIOMMU_AW_BITS_TOO_LARGE, SEVERITY_ERROR, NULL, -1, NULL,
                                        "The intel-iommu vIOMMU has aw-bits %d%s, above the host IOMMU's %d: QEMU "
                                        "fails with \"Failed to set vIOMMU: aw-bits %d > host aw-bits %d\" (older "
                                        "QEMU lets the guest pick IOVAs the host cannot map).", aw,
                                        s->viommu_aw_bits < 0 ? " (QEMU's default for this machine type)" : "", w, aw,
                                        w);
                        if (r < 0)
                                return r;
                        if (w >= 39)
                                r = recommend(b, "set-viommu-aw-bits",
                                              "<iommu model='intel'>\n  <driver aw_bits='39'/>\n</iommu>",
                                              "-device intel-iommu,aw-bits=39",
                                              "Set the vIOMMU's address width to 39 bits (intel-iommu accepts 39 "
                                              "or 48).");
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int check_amd_ht(Builder *b, const GuestParams *params, const Guest *g, const char *vendor) {
        const VmSpec *s = b->spec;
        Layout *l = b->l;
        Range ht = { AMD_HT_START, AMD_HT_END };
        bool ram_in_ht = false;

        if (s->machine.family == MACHINE_VIRT)
                return 0;
        if (g->relocated)
                return problem_add(b, PROBLEM_AMD_HT_HOLE, SEVERITY_INFO, NULL, -1, &ht,
                                   "QEMU places the RAM above 4 GiB at 1 TiB (machine type %s, %s vCPU) to keep "
                                   "it out of the AMD HyperTransport range 0x%" PRIx64 "-0x%" PRIx64 ".",
                                   s->machine.name, strna(vendor), AMD_HT_START, AMD_HT_END);

        for (size_t i = 0; i < g->n_ram; i++)
                ram_in_ht = ram_in_ht || range_overlaps(g->ram[i].start, g->ram[i].end, AMD_HT_START, AMD_HT_END);
        if (!g->relocation_refused && !(ram_in_ht && excluded_overlaps_ht(l)))
                return 0;

        return problem_add(b, PROBLEM_AMD_HT_HOLE, SEVERITY_ERROR, NULL, -1, &ht,
                           "Guest RAM crosses the AMD HyperTransport range 0x%" PRIx64 "-0x%" PRIx64 " and QEMU "
                           "does not move it: %s.", AMD_HT_START, AMD_HT_END,
                           g->relocation_refused ? "the guest's phys-bits are below the 41 that RAM at 1 TiB needs"
                           : !params->enforce_amd_1tb_hole ? "the machine type predates QEMU 7.1's relocation"
                           : !params->amd_vcpu ? "QEMU relocates only for an AMD vCPU"
                                               : "the relocation does not apply");
}

/* hw/pci-host/i440fx.c, i440fx_init(): the 32-bit PCI hole runs from the end of low RAM to below the
 * IOAPIC, range_set_bounds(..., below_4g_mem_size, IO_APIC_DEFAULT_ADDRESS - 1), which asserts that the
 * range is not negative. A max-ram-below-4g above 0xfec00000 with RAM to fill it (possible on i440fx, where
 * the 3 GiB cap only applies when RAM must be split) makes QEMU abort (seen with QEMU 7.2, tests/system).
 * Low RAM never reaches the LAPIC/MSI window 0xfee00000 on a guest that starts. */
static int check_i440fx_low_ram(Builder *b, const Guest *g) {
        if (b->spec->machine.family != MACHINE_I440FX || g->below_4g <= I440FX_PCI_HOLE_END + 1)
                return 0;
        return problem_add(b, PROBLEM_LOW_RAM_OVER_IOAPIC, SEVERITY_ERROR, NULL, -1, NULL,
                           "RAM below 4 GiB ends at 0x%" PRIx64 ", above the IOAPIC at 0x%" PRIx64 ", where "
                           "i440fx's 32-bit PCI hole must end: QEMU aborts at start (\"range_invariant: Assertion "
                           "`range->lob <= range->upb || range->lob == range->upb + 1' failed\"). Keep "
                           "max-ram-below-4g at or below 0x%" PRIx64 " (the default is 3.5 GiB).",
                           g->below_4g, I440FX_PCI_HOLE_END + 1, I440FX_PCI_HOLE_END + 1);
}

int layout_compute(const Host *h, const VmSpec *spec, Layout **ret) {
        _cleanup_(layout_freep) Layout *l = NULL;
        _cleanup_free_ Assigned *assigned = NULL;
        _cleanup_strv_free_ char **assigned_list = NULL;
        Builder b = { .host = h, .spec = spec };
        GuestParams params;
        const char *vendor;
        Guest g;
        int r;

        l = calloc(1, sizeof(Layout));
        if (!l)
                return -ENOMEM;
        b.l = l;
        l->vm_name = strdup_or_null(spec->name);
        l->machine = strdup(spec->machine.name);
        if ((spec->name && !l->vm_name) || !l->machine)
                return -ENOMEM;
        l->family = spec->machine.family;
        l->iommu_address_width = -1;
        l->viommu_aw_bits = -1;

        assigned = calloc(MAX(spec->n_hostdevs, (size_t) 1), sizeof(Assigned));
        if (!assigned)
                return -ENOMEM;
        for (size_t i = 0; i < spec->n_hostdevs; i++) {
                assigned[i].address = spec->hostdevs[i].address;
                r = strv_extend(&assigned_list, spec->hostdevs[i].address);
                if (r < 0)
                        return r;
        }
        if (spec->n_hostdevs == 0) {
                r = problem_add(&b, PROBLEM_NO_HOSTDEVS, SEVERITY_INFO, NULL, -1, NULL,
                                "The VM has no PCI hostdev: nothing constrains its layout.");
                if (r < 0)
                        return r;
        }

        r = check_devices_and_groups(&b, assigned, spec->n_hostdevs, assigned_list);
        if (r >= 0)
                r = layout_check_viommu_spaces(&b);
        if (r < 0)
                return r;
        r = check_hostdevs(&b);
        if (r < 0)
                return r;
        r = collect_exclusions(&b, assigned, spec->n_hostdevs);
        if (r < 0)
                return r;

        vendor = guest_cpu_vendor(h, spec);
        if (!vendor && spec->machine.family != MACHINE_VIRT) {
                r = problem_add(&b, PROBLEM_CPU_VENDOR_UNKNOWN, SEVERITY_INFO, NULL, -1, NULL,
                                "The vCPU vendor is unknown (%s%s); assuming QEMU does not apply the AMD-only "
                                "relocation above 1 TiB.", cpu_mode_to_string(spec->cpu_mode),
                                spec->accel == VM_ACCEL_OTHER && !guest_vendor_is_host(spec)
                                        ? ", a domain type QEMU's vendor rules do not cover"
                                : guest_vendor_is_host(spec) ? ", host vendor unknown"
                                                             : ", unknown model");
                if (r < 0)
                        return r;
        }
        l->guest_cpu_vendor = strdup_or_null(vendor);
        if (vendor && !l->guest_cpu_vendor)
                return -ENOMEM;

        guest_params_from_spec(spec, vendor, h->cpu_phys_bits, &params);
        guest_build(&params, &g);
        l->guest_phys_bits = params.phys_bits;
        if (spec->viommu == VIOMMU_INTEL)
                l->viommu_aw_bits = spec->viommu_aw_bits >= 0 ? spec->viommu_aw_bits
                                    : machine_type_at_least(&spec->machine, 9, 2) ? 48 : 39;
        else
                l->viommu_aw_bits = spec->viommu_aw_bits;

        for (size_t i = 0; i < g.n_ram; i++) {
                r = range_set_add(&l->ram, g.ram[i].start, g.ram[i].end);
                if (r < 0)
                        return r;
        }
        l->ram_size = range_set_size(&l->ram);
        l->ram_relocated_above_1tib = g.relocated;
        l->has_mmio32 = g.has_mmio32;
        l->mmio32_start = g.mmio32_start;
        l->mmio32_end = g.mmio32_end;
        l->has_mmio64 = g.has_mmio64;
        l->mmio64_start = g.mmio64_start;
        l->mmio64_end = g.mmio64_end;
        l->has_hotplug = g.has_hotplug;
        l->hotplug_start = g.hotplug_start;
        l->hotplug_end = g.hotplug_end;

        r = check_ram(&b, &g);
        if (r >= 0)
                r = check_amd_ht(&b, &params, &g, vendor);
        if (r >= 0)
                r = check_i440fx_low_ram(&b, &g);
        if (r >= 0)
                r = check_widths(&b, &params, &g);
        if (r >= 0)
                r = layout_check_bar_window(&b);
        if (r >= 0)
                r = layout_check_dma_limits(&b);
        if (r >= 0 && !guest_ram_fits(&g, &l->excluded_set))
                r = recommend_for_ram(&b, &params, &g, vendor);
        if (r < 0)
                return r;

        l->verdict = VERDICT_OK;
        for (size_t i = 0; i < l->n_problems; i++)
                if (l->problems[i].severity == SEVERITY_ERROR)
                        l->verdict = VERDICT_ERROR;
                else if (l->problems[i].severity == SEVERITY_WARNING && l->verdict == VERDICT_OK)
                        l->verdict = VERDICT_WARNING;

        *ret = TAKE_PTR(l);
        return 0;
}
