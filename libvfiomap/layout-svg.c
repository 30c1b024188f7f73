/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The address map as a picture. The guest's regions are bands on the left, stacked from address 0 down to
 * the top of the address space; the host's exclusions are drawn beside them in the colour of their kind,
 * and wherever one falls on guest RAM the RAM is hatched red. A linear scale would make the 1 MiB MSI
 * window or a 16 KiB BAR invisible next to a terabyte of RAM, so each band gets a height that grows with
 * the logarithm of its size, and every range is at least a couple of pixels tall; the labels give the
 * exact addresses. */

#include <inttypes.h>
#include <stdarg.h>

#include "layout.h"
#include "util.h"

#define WIDTH 1120
#define GUEST_X 170.0
#define GUEST_W 290.0
#define HOST_X 490.0
#define HOST_W 110.0
#define LABEL_X 612.0
#define TOP 118.0
#define MIN_RANGE_PX 2.5
#define LABELS_PER_BAND_MAX 6
#define LABEL_DRIFT_MAX 40.0
#define LABEL_STEP 12.0
#define HATCH_MAX 64 /* conflicts on one band beyond which no red label is placed */

static const char *kind_colour(ExclusionKind k) {
        switch (k) {
        case EXCLUSION_DIRECT: return "#6d4c41";
        case EXCLUSION_RESERVED: return "#e53935";
        case EXCLUSION_MSI: return "#fb8c00";
        case EXCLUSION_PEER_MMIO: return "#8e24aa";
        default: return "url(#beyond)";
        }
}

static const char *segment_colour(const LayoutSegment *s) {
        if (s->ram)
                return "#66bb6a";
        if (startswith(s->label, "64-bit"))
                return "#90caf9";
        if (startswith(s->label, "32-bit"))
                return "#cfd8dc";
        if (startswith(s->label, "memory hotplug"))
                return "#c5e1a5";
        return "#fafafa";
}

static void put_escaped(FILE *f, const char *s) {
        for (; s && *s; s++)
                switch (*s) {
                case '&': fputs("&amp;", f); break;
                case '<': fputs("&lt;", f); break;
                case '>': fputs("&gt;", f); break;
                case '"': fputs("&quot;", f); break;
                case '\'': fputs("&apos;", f); break;
                default: fputc(*s, f);
                }
}

static void text(FILE *f, double x, double y, const char *attrs, const char *format, ...) _printf_(5, 6);
static void text(FILE *f, double x, double y, const char *attrs, const char *format, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        if (r < 0)
                return;
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" %s>", x, y, attrs);
        put_escaped(f, s);
        fputs("</text>\n", f);
}

static double band_height(const LayoutSegment *s) {
        uint64_t mib = ((s->end - s->start) >> 20) + 1;
        double h = 26.0 + 7.0 * (64 - __builtin_clzll(mib)); /* 7 px per doubling */

        return MIN(MAX(h, 30.0), 150.0);
}

static double y_of(uint64_t a, const LayoutSegment *s, double y, double h) {
        long double frac = (long double) (a - s->start) / ((long double) (s->end - s->start) + 1.0L);
        return y + (double) (frac * h);
}

static double distance(double a, double b) {
        return a > b ? a - b : b - a;
}

/* True when [top, bottom] meets none of the n ranges [t[i], b[i]]. */
static bool span_is_free(double top, double bottom, const double *t, const double *b, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (top < b[i] && t[i] < bottom)
                        return false;
        return true;
}

/* Draws the exclusions on one band and their labels. *label_y is the baseline of the last label of the
 * right-hand column, carried from band to band so that no label lands on another: labels only move down,
 * 12 px apart, and a band's labels stop (counted as "... and N more") rather than drift more than
 * LABEL_DRIFT_MAX below the band. */
static void draw_band_exclusions(FILE *f, const Layout *l, const LayoutSegment *s, double y, double h,
                                 double *label_y) {
        unsigned labels = 0, unlabeled = 0;
        double hatch_top[HATCH_MAX], hatch_bottom[HATCH_MAX];
        size_t n_hatch = 0;

        for (ExclusionKind kind = 0; kind < _EXCLUSION_KIND_MAX; kind++) {
                double cur0 = -1, cur1 = -1;
                /* Coalesce ranges that land on the same pixels: 100,000 BARs become at most a few hundred
                 * rectangles. */
                for (size_t k = 0; k <= l->n_excluded; k++) {
                        const Exclusion *e = k < l->n_excluded ? &l->excluded[k] : NULL;
                        double y0 = 0, y1 = 0;

                        if (e && e->start > s->end)
                                e = NULL, k = l->n_excluded;
                        if (e && (e->kind != kind || !range_overlaps(e->start, e->end, s->start, s->end)))
                                continue;
                        if (e) {
                                y0 = y_of(MAX(e->start, s->start), s, y, h);
                                y1 = y_of(MIN(e->end, s->end), s, y, h);
                                if (y1 - y0 < MIN_RANGE_PX)
                                        y1 = MIN(y0 + MIN_RANGE_PX, y + h);
                                if (y1 - y0 < MIN_RANGE_PX)
                                        y0 = y1 - MIN_RANGE_PX;
                                if (cur1 >= 0 && y0 <= cur1 + 0.5) {
                                        cur1 = MAX(cur1, y1);
                                        continue;
                                }
                        }
                        if (cur1 >= 0) {
                                double off = kind == EXCLUSION_IOMMU_WIDTH ? 0 : 6.0 * (kind % 3);
                                fprintf(f, "<rect x=\"%.1f\" y=\"%.2f\" width=\"%.1f\" height=\"%.2f\" fill=\"%s\" "
                                        "stroke=\"#00000040\" stroke-width=\"0.5\"/>\n",
                                        HOST_X + off, cur0, HOST_W - off, cur1 - cur0, kind_colour(kind));
                                if (s->ram) { /* conflicts at least 5 px tall: they are the point of the picture */
                                        double hy = MIN(cur0, y + h - 5), hh = MAX(cur1 - cur0, 5.0);
                                        fprintf(f, "<rect x=\"%.1f\" y=\"%.2f\" width=\"%.1f\" height=\"%.2f\" "
                                                "fill=\"url(#conflict)\" stroke=\"#c62828\" stroke-width=\"1.5\"/>\n",
                                                GUEST_X, hy, GUEST_W, hh);
                                        if (n_hatch < HATCH_MAX) {
                                                hatch_top[n_hatch] = hy;
                                                hatch_bottom[n_hatch] = hy + hh;
                                        }
                                        n_hatch++;
                                }
                        }
                        if (!e)
                                break;
                        cur0 = y0;
                        cur1 = y1;
                }
        }

        /* On RAM, name the first conflict in red beside its hatching, so the picture says what the hatching
         * means: below the band's name and size (which end at y + 36), inside the band, on no hatching. */
        if (s->ram && n_hatch > 0 && n_hatch <= HATCH_MAX) {
                const Exclusion *first = NULL;
                unsigned conflicts = 0;
                double best = -1, want = 0;

                for (size_t k = 0; k < l->n_excluded; k++) {
                        const Exclusion *e = &l->excluded[k];
                        if (e->start > s->end)
                                break;
                        if (!range_overlaps(e->start, e->end, s->start, s->end))
                                continue;
                        if (!first)
                                first = e;
                        conflicts++;
                }
                if (first)
                        want = y_of(MAX(first->start, s->start), s, y, h);
                /* Candidates: just above or just below each hatched range; the one nearest the first. */
                for (size_t i = 0; first && i < 2 * n_hatch; i++) {
                        double ey = i % 2 == 0 ? hatch_top[i / 2] - 3 : hatch_bottom[i / 2] + 10;
                        if (ey - 8 < y + 38 || ey + 3 > y + h || !span_is_free(ey - 8, ey + 3, hatch_top, hatch_bottom,
                                                                              n_hatch))
                                continue;
                        if (best < 0 || distance(ey, want) < distance(best, want))
                                best = ey;
                }
                if (best >= 0) {
                        char more[32] = "";
                        if (conflicts > 1)
                                snprintf(more, sizeof more, " (+%u more)", conflicts - 1);
                        text(f, GUEST_X + GUEST_W - 6, best,
                             "text-anchor=\"end\" style=\"fill:#b71c1c;font-weight:bold;font-size:10px\"",
                             "conflict: %s 0x%" PRIx64 "%s", exclusion_kind_to_string(first->kind),
                             MAX(first->start, s->start), more);
                }
        }

        /* Labels, in address order, pushed down so they never overlap. */
        for (size_t k = 0; k < l->n_excluded; k++) {
                const Exclusion *e = &l->excluded[k];
                double ey;
                char who[160];

                if (e->start > s->end)
                        break;
                if (e->kind == EXCLUSION_IOMMU_WIDTH || !range_overlaps(e->start, e->end, s->start, s->end))
                        continue;
                ey = MAX(y_of(MAX(e->start, s->start), s, y, h) + 9, *label_y + LABEL_STEP);
                if (labels >= LABELS_PER_BAND_MAX || ey > y + h + LABEL_DRIFT_MAX) {
                        unlabeled++;
                        continue;
                }
                *label_y = ey;
                labels++;
                if (e->kind == EXCLUSION_PEER_MMIO)
                        snprintf(who, sizeof who, "%s %s", strna(e->device), strna(e->what));
                else
                        snprintf(who, sizeof who, "%s, group %d", exclusion_kind_to_string(e->kind), e->group);
                text(f, LABEL_X, ey, "class=\"mono small\"", "0x%" PRIx64 "-0x%" PRIx64 "  %s", e->start, e->end,
                     who);
        }
        if (unlabeled > 0) {
                *label_y = MAX(*label_y + LABEL_STEP, y + 12);
                text(f, LABEL_X, *label_y, "class=\"small\"", "... and %u more", unlabeled);
        }
}

int layout_to_svg(const Layout *l, char **ret) {
        LayoutSegment segs[32];
        size_t n_segs, len = 0;
        double heights[32], y, total = 0, height = 0, label_y = TOP - LABEL_STEP;
        int r;
        char *buf = NULL, size[SIZE_STRLEN];
        FILE *f;
        const char *verdict_colour = l->verdict == VERDICT_OK        ? "#2e7d32"
                                     : l->verdict == VERDICT_WARNING ? "#ef6c00"
                                                                     : "#c62828";
        unsigned problems_shown = 0, problems_hidden = 0;

        n_segs = layout_segments(l, segs, ELEMENTSOF(segs));
        for (size_t i = 0; i < n_segs; i++) {
                /* the last band reaches 2^64: it only needs to say so */
                heights[i] = segs[i].end == UINT64_MAX && !segs[i].ram ? 36.0 : band_height(&segs[i]);
                total += heights[i];
        }

        f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;

        fputs("<defs>\n"
              "<pattern id=\"conflict\" width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\" "
              "patternTransform=\"rotate(45)\"><rect width=\"8\" height=\"8\" fill=\"#ffcdd2\"/>"
              "<rect width=\"4\" height=\"8\" fill=\"#e53935\"/></pattern>\n"
              "<pattern id=\"beyond\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
              "patternTransform=\"rotate(-45)\"><rect width=\"6\" height=\"6\" fill=\"#eeeeee\"/>"
              "<rect width=\"2\" height=\"6\" fill=\"#9e9e9e\"/></pattern>\n"
              "</defs>\n"
              "<style>text{font-family:'DejaVu Sans',Verdana,sans-serif;font-size:12px;fill:#212121}"
              ".mono{font-family:'DejaVu Sans Mono',monospace}.small{font-size:10px}"
              ".title{font-size:17px;font-weight:bold}.head{font-size:12px;font-weight:bold;fill:#455a64}"
              ".band{font-size:12px;font-weight:bold}</style>\n"
              "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n", f);

        text(f, 16, 28, "class=\"title\"", "%s — %s", strna(l->vm_name), l->machine);
        fprintf(f, "<rect x=\"16\" y=\"40\" width=\"120\" height=\"24\" rx=\"5\" fill=\"%s\"/>\n", verdict_colour);
        text(f, 76, 57, "text-anchor=\"middle\" style=\"fill:#fff;font-weight:bold;font-size:13px\"", "%s",
             verdict_to_string(l->verdict));
        for (size_t i = 0; i < l->n_problems; i++) {
                if (l->problems[i].severity == SEVERITY_INFO)
                        continue;
                if (problems_shown >= 3) {
                        problems_hidden++;
                        continue;
                }
                text(f, 150 + 270.0 * problems_shown, 57, "class=\"small\"", "%s: %s",
                     severity_to_string(l->problems[i].severity), l->problems[i].code);
                problems_shown++;
        }
        if (problems_hidden > 0)
                text(f, 150 + 270.0 * 3, 57, "class=\"small\" style=\"font-weight:bold\"", "+%u more", problems_hidden);
        {
                char width[32] = "unknown";
                if (l->iommu_address_width > 0)
                        snprintf(width, sizeof width, "%d bits", l->iommu_address_width);
                text(f, 16, 84, "class=\"small\"", "%s RAM%s%s; host IOMMU width %s", format_size(size, l->ram_size),
                     l->guest_cpu_vendor ? ", vCPU " : "", l->guest_cpu_vendor ?: "", width);
        }
        text(f, GUEST_X, TOP - 10, "class=\"head\"", "guest physical address space");
        text(f, HOST_X, TOP - 10, "class=\"head\"", "host exclusions");

        y = TOP;
        for (size_t i = 0; i < n_segs; i++) {
                const LayoutSegment *s = &segs[i];
                double h = heights[i];

                if (l->iommu_address_width > 0 && l->iommu_address_width < 64 &&
                    s->start == UINT64_C(1) << l->iommu_address_width) {
                        fprintf(f, "<line x1=\"10\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#c62828\" "
                                "stroke-width=\"2\" stroke-dasharray=\"8,4\"/>\n", y, WIDTH - 10, y);
                        /* On the left, above the line: the right-hand column belongs to the labels. */
                        text(f, 16, y - 4, "style=\"fill:#c62828;font-weight:bold;font-size:11px\"",
                             "IOMMU width %d bits", l->iommu_address_width);
                }
                fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" stroke=\"#607d8b\" "
                        "stroke-width=\"0.8\"/>\n", GUEST_X, y, GUEST_W, h, segment_colour(s));
                text(f, GUEST_X - 8, y + 11, "class=\"mono small\" text-anchor=\"end\"", "0x%" PRIx64, s->start);
                text(f, GUEST_X + 10, y + MIN(h / 2 + 4, 20), "class=\"band\"", "%.*s",
                     (int) strcspn(s->label, "("), s->label);
                text(f, GUEST_X + 10, y + MIN(h / 2 + 18, 34), "class=\"small\"", "%s",
                     s->end == UINT64_MAX && !s->ram ? "to the top of the address space"
                                                     : format_size(size, range_size(s->start, s->end)));
                draw_band_exclusions(f, l, s, y, h, &label_y);
                y += h;
        }
        text(f, GUEST_X - 8, y, "class=\"mono small\" text-anchor=\"end\"", "0xffffffffffffffff");
        y = MAX(y, label_y);

        /* legend */
        {
                static const struct {
                        const char *fill, *label;
                } legend[] = {
                        { "#66bb6a", "guest RAM" },
                        { "#cfd8dc", "32-bit hole" },
                        { "#90caf9", "64-bit PCI hole" },
                        { "#c5e1a5", "hotplug area" },
                        { "url(#conflict)", "conflict: RAM on an exclusion" },
                        { "#e53935", "reserved" },
                        { "#fb8c00", "msi" },
                        { "#6d4c41", "direct" },
                        { "#8e24aa", "peer MMIO" },
                        { "url(#beyond)", "beyond IOMMU width" },
                };
                double lx = 16, ly = y + 40;
                for (size_t i = 0; i < ELEMENTSOF(legend); i++) {
                        if (i == 5) {
                                lx = 16;
                                ly += 24;
                        }
                        fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"16\" height=\"12\" fill=\"%s\" "
                                "stroke=\"#607d8b\" stroke-width=\"0.5\"/>\n", lx, ly - 10, legend[i].fill);
                        text(f, lx + 22, ly, "", "%s", legend[i].label);
                        lx += 190;
                }
                text(f, 16, ly + 30, "class=\"small\"",
                     "Band heights grow with the logarithm of their size; every range is drawn at least %.1f px tall.",
                     MIN_RANGE_PX);
                height = ly + 50;
        }
        fputs("</svg>\n", f);

        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        /* The height is known only now that every label has been placed. */
        r = asprintf_safe(ret, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%.0f\" "
                               "viewBox=\"0 0 %d %.0f\">\n%s",
                          WIDTH, height, WIDTH, height, buf);
        free(buf);
        return r;
}
