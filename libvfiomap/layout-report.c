/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The layout as text for a person: the verdict first (what they asked), then the problems and what to do
 * about them, then the guest address map with the host exclusions drawn into it. */

#include <inttypes.h>

#include "layout.h"
#include "util.h"

/* Exclusions listed under one map segment before the rest are counted: a host with thousands of peer BARs
 * must still give a readable map. */
#define EXCLUSIONS_PER_SEGMENT_MAX 12

static int segment_compare(const void *x, const void *y) {
        const LayoutSegment *a = x, *b = y;
        return a->start < b->start ? -1 : a->start > b->start;
}

static void segment_emit(LayoutSegment *out, size_t *w, size_t max, uint64_t limit, LayoutSegment s) {
        /* Split at the IOMMU width, so the width line falls between two segments. */
        if (limit && s.start < limit && s.end >= limit && *w < max) {
                out[*w] = s;
                out[(*w)++].end = limit - 1;
                s.start = limit;
        }
        if (*w < max)
                out[(*w)++] = s;
}

size_t layout_segments(const Layout *l, LayoutSegment *out, size_t max) {
        LayoutSegment base[8];
        size_t n = 0, w = 0;
        uint64_t next = 0, limit;

        for (size_t i = 0; i < l->ram.n && n < 4; i++)
                base[n++] = (LayoutSegment) { l->ram.ranges[i].start, l->ram.ranges[i].end, "RAM", true };
        if (l->has_mmio32)
                base[n++] = (LayoutSegment) { l->mmio32_start, l->mmio32_end,
                                              l->family == MACHINE_VIRT ? "32-bit PCI MMIO window"
                                                                        : "32-bit hole (PCI MMIO, MMCONFIG, APICs, firmware)",
                                              false };
        if (l->has_hotplug)
                base[n++] = (LayoutSegment) { l->hotplug_start, l->hotplug_end, "memory hotplug area", false };
        if (l->has_mmio64)
                base[n++] = (LayoutSegment) { l->mmio64_start, l->mmio64_end, "64-bit PCI hole", false };
        qsort(base, n, sizeof(LayoutSegment), segment_compare);

        limit = l->iommu_address_width > 0 && l->iommu_address_width < 64 ? UINT64_C(1) << l->iommu_address_width
                                                                          : 0;
        for (size_t i = 0; i < n; i++) {
                if (base[i].start < next)
                        continue; /* guest regions never overlap; stay safe if they did */
                if (base[i].start > next)
                        segment_emit(out, &w, max, limit,
                                     (LayoutSegment) { next, base[i].start - 1, "unused", false });
                segment_emit(out, &w, max, limit, base[i]);
                if (base[i].end == UINT64_MAX)
                        return w;
                next = base[i].end + 1;
        }
        segment_emit(out, &w, max, limit, (LayoutSegment) { next, UINT64_MAX, "unused", false });
        return w;
}

static void print_wrapped(FILE *f, const char *text, size_t indent, size_t width) {
        size_t col = indent;
        const char *p = text;

        while (*p) {
                const char *sp = strchr(p, ' ');
                size_t wl = sp ? (size_t) (sp - p) : strlen(p);
                if (col > indent && col + 1 + wl > width) {
                        fprintf(f, "\n%*s", (int) indent, "");
                        col = indent;
                } else if (col > indent) {
                        fputc(' ', f);
                        col++;
                }
                fwrite(p, 1, wl, f);
                col += wl;
                p += wl;
                while (*p == ' ')
                        p++;
        }
        fputc('\n', f);
}

static void print_block(FILE *f, const char *text, const char *prefix) {
        const char *p = text;

        while (p && *p) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t) (nl - p) : strlen(p);
                fprintf(f, "%s%.*s\n", prefix, (int) len, p);
                p = nl ? nl + 1 : NULL;
        }
}

static const char *exclusion_label(const Exclusion *e, char *buf, size_t size) {
        switch (e->kind) {
        case EXCLUSION_PEER_MMIO:
                if (streq_ptr(e->device, e->via))
                        snprintf(buf, size, "peer MMIO: %s's own %s", strna(e->device), strna(e->what));
                else
                        snprintf(buf, size, "peer MMIO: %s %s (reachable from %s)", strna(e->device), strna(e->what),
                                 strna(e->via));
                break;
        case EXCLUSION_IOMMU_WIDTH:
                snprintf(buf, size, "beyond the IOMMU width");
                break;
        default:
                snprintf(buf, size, "%s region, group %d (%s)", exclusion_kind_to_string(e->kind), e->group,
                         strna(e->via));
        }
        return buf;
}

int layout_report(const Layout *l, FILE *f) {
        LayoutSegment segs[32];
        size_t n_segs, counts[_SEVERITY_MAX] = {};
        char size[SIZE_STRLEN];

        for (size_t i = 0; i < l->n_problems; i++)
                counts[l->problems[i].severity]++;

        fprintf(f, "Verdict: %s", verdict_to_string(l->verdict));
        if (counts[SEVERITY_ERROR] + counts[SEVERITY_WARNING] > 0)
                fprintf(f, " (%zu error%s, %zu warning%s)", counts[SEVERITY_ERROR],
                        counts[SEVERITY_ERROR] == 1 ? "" : "s", counts[SEVERITY_WARNING],
                        counts[SEVERITY_WARNING] == 1 ? "" : "s");
        fputc('\n', f);
        fprintf(f, "VM %s: machine %s, %s RAM", strna(l->vm_name), l->machine, format_size(size, l->ram_size));
        if (l->guest_cpu_vendor)
                fprintf(f, ", %s vCPU", l->guest_cpu_vendor);
        if (l->guest_phys_bits > 0)
                fprintf(f, ", phys-bits %d", l->guest_phys_bits);
        else if (l->family != MACHINE_VIRT)
                fprintf(f, ", phys-bits of the host CPU");
        if (l->iommu_address_width > 0)
                fprintf(f, "; host IOMMU width %d bits", l->iommu_address_width);
        fputs(".\n", f);

        if (l->n_problems > 0) {
                fputs("\nProblems:\n", f);
                for (Severity s = SEVERITY_ERROR + 1; s-- > 0;)
                        for (size_t i = 0; i < l->n_problems; i++) {
                                const Problem *p = &l->problems[i];
                                if (p->severity != s)
                                        continue;
                                fprintf(f, "  %-7s %s\n          ", severity_to_string(p->severity), p->code);
                                print_wrapped(f, p->message, 10, 108);
                        }
        }

        if (l->n_recommendations > 0) {
                fputs("\nRecommendations:\n", f);
                for (size_t i = 0; i < l->n_recommendations; i++) {
                        const Recommendation *r = &l->recommendations[i];
                        fprintf(f, "  %zu. ", i + 1);
                        print_wrapped(f, r->summary, 5, 108);
                        if (r->libvirt) {
                                fputs("     libvirt XML:\n", f);
                                print_block(f, r->libvirt, "       ");
                        }
                        if (r->qemu)
                                fprintf(f, "     QEMU: %s\n", r->qemu);
                }
        }

        fputs("\nAddress map (guest physical addresses = IOVAs, inclusive ends; !! marks a conflict):\n", f);
        n_segs = layout_segments(l, segs, ELEMENTSOF(segs));
        for (size_t i = 0; i < n_segs; i++) {
                const LayoutSegment *s = &segs[i];
                size_t listed = 0, more = 0;

                if (l->iommu_address_width > 0 && l->iommu_address_width < 64 &&
                    s->start == UINT64_C(1) << l->iommu_address_width)
                        fprintf(f, "  ---- 0x%016" PRIx64 "  IOMMU width %d bits: nothing above can be mapped ----\n",
                                s->start, l->iommu_address_width);
                fprintf(f, "  0x%016" PRIx64 "-0x%016" PRIx64 " %10s  %s\n", s->start, s->end,
                        format_size(size, range_size(s->start, s->end)), s->label);

                for (size_t k = 0; k < l->n_excluded; k++) {
                        const Exclusion *e = &l->excluded[k];
                        char label[256];

                        if (e->start > s->end)
                                break;
                        if (e->kind == EXCLUSION_IOMMU_WIDTH || !range_overlaps(e->start, e->end, s->start, s->end))
                                continue;
                        if (listed++ >= EXCLUSIONS_PER_SEGMENT_MAX) {
                                more++;
                                continue;
                        }
                        fprintf(f, "   %s 0x%016" PRIx64 "-0x%016" PRIx64 " %9s  %s\n", s->ram ? "!!" : "  ",
                                e->start, e->end, format_size(size, range_size(e->start, e->end)),
                                exclusion_label(e, label, sizeof label));
                }
                if (more > 0)
                        fprintf(f, "      ... %zu more exclusions in this segment (see --json)\n", more);
        }
        return ferror(f) ? -EIO : 0;
}
