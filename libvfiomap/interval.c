/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "interval.h"
#include "util.h"

/* Every function below keeps the set invariant (sorted, disjoint, no two ranges touching), so the result of
 * any operation is the unique canonical representation of its address set. That is what lets the tests
 * compare sets with memcmp() and what lets the merge loops stay linear. */

/* True when a range ending at end and a range starting at start (start >= the first range's start) overlap
 * or touch, i.e. belong in one canonical range. end + 1 is computed only below UINT64_MAX. */
static bool joins(uint64_t end, uint64_t start) {
        return end == UINT64_MAX || end + 1 >= start;
}

void range_set_done(RangeSet *s) {
        if (!s)
                return;
        free(s->ranges);
        *s = RANGE_SET_INIT;
}

static int range_set_reserve(RangeSet *s, size_t n) {
        if (!GREEDY_REALLOC(s->ranges, s->allocated, n))
                return -ENOMEM;
        return 0;
}

/* Appends [start, end] to a set whose last range starts at or before start: the building block of every
 * linear merge. */
static int range_set_push(RangeSet *s, uint64_t start, uint64_t end) {
        if (s->n > 0 && joins(s->ranges[s->n - 1].end, start)) {
                Range *last = &s->ranges[s->n - 1];
                if (end > last->end)
                        last->end = end;
                return 0;
        }
        if (range_set_reserve(s, s->n + 1) < 0)
                return -ENOMEM;
        s->ranges[s->n++] = (Range) { start, end };
        return 0;
}

/* Index of the first range whose end is >= addr (n when none). */
static size_t range_set_lower_bound(const RangeSet *s, uint64_t addr) {
        size_t lo = 0, hi = s->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (s->ranges[mid].end < addr)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

int range_set_add(RangeSet *s, uint64_t start, uint64_t end) {
        size_t first, last;

        if (start > end)
                return -EINVAL;

        /* Fast path: appending in order, which is how the layout engine and the host loader add most ranges. */
        if (s->n == 0 || s->ranges[s->n - 1].start <= start)
                return range_set_push(s, start, end);

        /* The ranges that merge with the new one are those from the first whose end reaches start - 1 to the
         * last whose start is <= end + 1. */
        first = range_set_lower_bound(s, start == 0 ? 0 : start - 1);
        last = first;
        while (last < s->n && (end == UINT64_MAX || s->ranges[last].start <= end + 1))
                last++;

        if (first == last) {
                /* Nothing to merge with: insert at first. */
                if (range_set_reserve(s, s->n + 1) < 0)
                        return -ENOMEM;
                memmove(s->ranges + first + 1, s->ranges + first, (s->n - first) * sizeof(Range));
                s->ranges[first] = (Range) { start, end };
                s->n++;
                return 0;
        }

        /* Merge [first, last) and the new range into ranges[first]. */
        s->ranges[first].start = MIN(s->ranges[first].start, start);
        s->ranges[first].end = MAX(s->ranges[last - 1].end, end);
        memmove(s->ranges + first + 1, s->ranges + last, (s->n - last) * sizeof(Range));
        s->n -= last - first - 1;
        return 0;
}

static int range_compare(const void *a, const void *b) {
        const Range *x = a, *y = b;

        if (x->start != y->start)
                return x->start < y->start ? -1 : 1;
        if (x->end != y->end)
                return x->end < y->end ? -1 : 1;
        return 0;
}

int range_set_add_many(RangeSet *s, const Range *ranges, size_t n) {
        _cleanup_free_ Range *all = NULL;
        RangeSet out = RANGE_SET_INIT;
        size_t total;

        for (size_t i = 0; i < n; i++)
                if (ranges[i].start > ranges[i].end)
                        return -EINVAL;
        if (n == 0)
                return 0;

        if (n > SIZE_MAX / sizeof(Range) - s->n)
                return -ENOMEM;
        total = s->n + n;
        all = malloc(total * sizeof(Range));
        if (!all)
                return -ENOMEM;
        /* An empty set has no array, and memcpy() from NULL is undefined even for 0 bytes (C11 7.24.1). */
        if (s->n > 0)
                memcpy(all, s->ranges, s->n * sizeof(Range));
        memcpy(all + s->n, ranges, n * sizeof(Range));
        qsort(all, total, sizeof(Range), range_compare);

        if (range_set_reserve(&out, total) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < total; i++)
                (void) range_set_push(&out, all[i].start, all[i].end); /* capacity reserved: cannot fail */

        range_set_done(s);
        *s = out;
        return 0;
}

int range_set_copy(RangeSet *dst, const RangeSet *src) {
        RangeSet out = RANGE_SET_INIT;

        if (src->n > 0) {
                if (range_set_reserve(&out, src->n) < 0)
                        return -ENOMEM;
                memcpy(out.ranges, src->ranges, src->n * sizeof(Range));
                out.n = src->n;
        }
        range_set_done(dst);
        *dst = out;
        return 0;
}

int range_set_union(RangeSet *dst, const RangeSet *a, const RangeSet *b) {
        RangeSet out = RANGE_SET_INIT;
        size_t i = 0, j = 0;

        if (range_set_reserve(&out, a->n + b->n) < 0)
                return -ENOMEM;
        while (i < a->n || j < b->n) {
                const Range *r;
                if (j >= b->n || (i < a->n && a->ranges[i].start <= b->ranges[j].start))
                        r = &a->ranges[i++];
                else
                        r = &b->ranges[j++];
                (void) range_set_push(&out, r->start, r->end);
        }
        range_set_done(dst);
        *dst = out;
        return 0;
}

int range_set_intersect(RangeSet *dst, const RangeSet *a, const RangeSet *b) {
        RangeSet out = RANGE_SET_INIT;
        size_t i = 0, j = 0;

        /* The intersection of two canonical sets has at most |a| + |b| - 1 ranges. */
        if (range_set_reserve(&out, a->n + b->n) < 0)
                return -ENOMEM;
        while (i < a->n && j < b->n) {
                const Range *x = &a->ranges[i], *y = &b->ranges[j];
                uint64_t start = MAX(x->start, y->start), end = MIN(x->end, y->end);

                if (start <= end)
                        out.ranges[out.n++] = (Range) { start, end };
                /* Advance whichever ends first; both when they end together. */
                if (x->end <= y->end)
                        i++;
                if (y->end <= x->end)
                        j++;
        }
        range_set_done(dst);
        *dst = out;
        return 0;
}

int range_set_subtract(RangeSet *dst, const RangeSet *a, const RangeSet *b) {
        RangeSet out = RANGE_SET_INIT;
        size_t j = 0;

        if (range_set_reserve(&out, a->n + b->n) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < a->n; i++) {
                uint64_t start = a->ranges[i].start, end = a->ranges[i].end;
                bool alive = true;

                /* Skip the ranges of b entirely below this one; they cannot matter for later ranges of a
                 * either, since a is sorted. */
                while (j < b->n && b->ranges[j].end < start)
                        j++;
                for (size_t k = j; k < b->n && b->ranges[k].start <= end; k++) {
                        const Range *y = &b->ranges[k];

                        if (y->start > start)
                                out.ranges[out.n++] = (Range) { start, y->start - 1 };
                        if (y->end >= end) {
                                alive = false;
                                break;
                        }
                        start = y->end + 1; /* y->end < end <= UINT64_MAX: no overflow */
                }
                if (alive)
                        out.ranges[out.n++] = (Range) { start, end };
        }
        range_set_done(dst);
        *dst = out;
        return 0;
}

bool range_set_contains(const RangeSet *s, uint64_t addr) {
        size_t i = range_set_lower_bound(s, addr);
        return i < s->n && s->ranges[i].start <= addr;
}

const Range *range_set_find_overlap(const RangeSet *s, uint64_t start, uint64_t end) {
        size_t i;

        if (start > end)
                return NULL;
        i = range_set_lower_bound(s, start);
        if (i < s->n && s->ranges[i].start <= end)
                return &s->ranges[i];
        return NULL;
}

bool range_set_overlaps(const RangeSet *s, uint64_t start, uint64_t end) {
        return range_set_find_overlap(s, start, end) != NULL;
}

uint64_t range_set_size(const RangeSet *s) {
        uint64_t total = 0;

        for (size_t i = 0; i < s->n; i++) {
                uint64_t sz = range_size(s->ranges[i].start, s->ranges[i].end);
                if (sz > UINT64_MAX - total)
                        return UINT64_MAX;
                total += sz;
        }
        return total;
}

bool range_set_equal(const RangeSet *a, const RangeSet *b) {
        return a->n == b->n && (a->n == 0 || memcmp(a->ranges, b->ranges, a->n * sizeof(Range)) == 0);
}
