/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Sets of 64-bit addresses as sorted, disjoint, non-touching inclusive ranges.
 *
 * The kernel prints ranges with an inclusive end (reserved_regions, resource, /proc/iomem), and a range can
 * end at 0xffffffffffffffff, so an exclusive end would overflow. Every operation here keeps that convention
 * and never computes end + 1 without checking for UINT64_MAX first. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct Range {
        uint64_t start;
        uint64_t end; /* inclusive */
} Range;

typedef struct RangeSet {
        Range *ranges; /* sorted by start, disjoint, no two touching */
        size_t n;
        size_t allocated;
} RangeSet;

#define RANGE_SET_INIT ((RangeSet) {})

void range_set_done(RangeSet *s);
/* Adds [start, end]; start > end is -EINVAL. Amortised O(log n) when added in order, O(n) otherwise;
 * use range_set_add_many() for bulk input. */
int range_set_add(RangeSet *s, uint64_t start, uint64_t end);
/* Normalises an arbitrary array of ranges (any order, overlapping) into s in O(n log n). */
int range_set_add_many(RangeSet *s, const Range *ranges, size_t n);
int range_set_copy(RangeSet *dst, const RangeSet *src);
/* dst = a ∪ b, a \ b, a ∩ b. dst may not alias a or b. O(|a| + |b|). */
int range_set_union(RangeSet *dst, const RangeSet *a, const RangeSet *b);
int range_set_subtract(RangeSet *dst, const RangeSet *a, const RangeSet *b);
int range_set_intersect(RangeSet *dst, const RangeSet *a, const RangeSet *b);
bool range_set_contains(const RangeSet *s, uint64_t addr);
bool range_set_overlaps(const RangeSet *s, uint64_t start, uint64_t end);
/* The first (lowest) range of s that overlaps [start, end], NULL when none. O(log n). The pointer is valid
 * until s is modified. */
const Range *range_set_find_overlap(const RangeSet *s, uint64_t start, uint64_t end);
/* Canonical sets are equal exactly when their arrays are. */
bool range_set_equal(const RangeSet *a, const RangeSet *b);
/* Total number of addresses; saturates at UINT64_MAX for the full 2^64 space. */
uint64_t range_set_size(const RangeSet *s);

static inline bool range_overlaps(uint64_t a_start, uint64_t a_end, uint64_t b_start, uint64_t b_end) {
        return a_start <= b_end && b_start <= a_end;
}
/* Number of addresses in [start, end]; saturates at UINT64_MAX for [0, UINT64_MAX]. */
static inline uint64_t range_size(uint64_t start, uint64_t end) {
        return end - start == UINT64_MAX ? UINT64_MAX : end - start + 1;
}
