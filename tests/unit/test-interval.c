/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Range sets against a brute-force oracle.
 *
 * Random ranges take their endpoints from a small list of points that includes 0 and 2^64-1 and pairs of
 * neighbours (touching ranges). Between two consecutive points every address behaves alike, so a set is
 * fully described by a bitmap of "atoms": each point, and each non-empty gap between neighbours. The oracle
 * computes on bitmaps; the result of the real code must equal, range for range, the canonical set rebuilt
 * from the oracle's bitmap. That checks the values and the canonical form (sorted, disjoint, not touching)
 * at once. */

#include <stdbool.h>

#include "interval.h"
#include "tap.h"
#include "util.h"

/* Setup steps that cannot fail unless memory runs out: stop the whole test with TAP's "Bail out!". */
#define assert_se(expr)                                                                                 \
        do {                                                                                            \
                if (!(expr)) {                                                                          \
                        printf("Bail out! %s:%d: %s\n", __FILE__, __LINE__, #expr);                     \
                        exit(EXIT_FAILURE);                                                             \
                }                                                                                       \
        } while (0)
#define assert_se_add(s, a, b) assert_se(range_set_add((s), (a), (b)) == 0)

static const uint64_t points[] = {
        0, 1, 2, 3, 0x7f, 0x80, 0x81, 0xfff, 0x1000,
        UINT64_C(0xfee00000), UINT64_C(0xfeefffff), UINT64_C(0xfef00000),
        UINT64_C(0xffffffff), UINT64_C(0x100000000),
        UINT64_C(0xfd00000000), UINT64_C(0xffffffffff),
        UINT64_MAX - 0x1000, UINT64_MAX - 2, UINT64_MAX - 1, UINT64_MAX,
};
#define N_POINTS ELEMENTSOF(points)
#define N_ATOMS_MAX (2 * N_POINTS)

typedef struct Atom {
        uint64_t lo, hi;
} Atom;

static Atom atoms[N_ATOMS_MAX];
static size_t n_atoms;
static size_t point_atom[N_POINTS]; /* index of the atom of each point */

typedef struct Bits {
        bool b[N_ATOMS_MAX];
} Bits;

static void atoms_init(void) {
        for (size_t i = 0; i < N_POINTS; i++) {
                point_atom[i] = n_atoms;
                atoms[n_atoms++] = (Atom) { points[i], points[i] };
                if (i + 1 < N_POINTS && points[i + 1] - points[i] > 1)
                        atoms[n_atoms++] = (Atom) { points[i] + 1, points[i + 1] - 1 };
        }
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15;
static uint64_t rnd(void) {
        /* xorshift64*: deterministic, so a failure can be replayed. */
        rnd_state ^= rnd_state >> 12;
        rnd_state ^= rnd_state << 25;
        rnd_state ^= rnd_state >> 27;
        return rnd_state * UINT64_C(2685821657736338717);
}

static void random_range(size_t *a, size_t *b) {
        size_t x = rnd() % N_POINTS, y = rnd() % N_POINTS;
        *a = MIN(x, y);
        *b = MAX(x, y);
}

static void bits_add(Bits *bits, size_t pa, size_t pb) {
        for (size_t k = point_atom[pa]; k <= point_atom[pb]; k++)
                bits->b[k] = true;
}

/* The canonical set of a bitmap, built by hand (not with the code under test): runs of set atoms are one
 * range each, since neighbouring atoms touch. */
static void bits_to_set(const Bits *bits, RangeSet *s) {
        range_set_done(s);
        s->ranges = calloc(N_ATOMS_MAX, sizeof(Range));
        assert_se(s->ranges);
        s->allocated = N_ATOMS_MAX;
        for (size_t k = 0; k < n_atoms; k++) {
                if (!bits->b[k])
                        continue;
                if (k > 0 && bits->b[k - 1])
                        s->ranges[s->n - 1].end = atoms[k].hi;
                else
                        s->ranges[s->n++] = (Range) { atoms[k].lo, atoms[k].hi };
        }
}

static bool set_is_canonical(const RangeSet *s) {
        for (size_t i = 0; i < s->n; i++) {
                if (s->ranges[i].start > s->ranges[i].end)
                        return false;
                if (i > 0 && (s->ranges[i - 1].end == UINT64_MAX || s->ranges[i - 1].end + 1 >= s->ranges[i].start))
                        return false;
        }
        return true;
}

static uint64_t bits_size(const Bits *bits) {
        uint64_t total = 0;
        for (size_t k = 0; k < n_atoms; k++)
                if (bits->b[k]) {
                        uint64_t sz = range_size(atoms[k].lo, atoms[k].hi);
                        if (sz > UINT64_MAX - total)
                                return UINT64_MAX;
                        total += sz;
                }
        return total;
}

static void print_set(const char *name, const RangeSet *s) {
        printf("#   %s:", name);
        for (size_t i = 0; i < s->n; i++)
                printf(" [0x%" PRIx64 ", 0x%" PRIx64 "]", s->ranges[i].start, s->ranges[i].end);
        printf("\n");
}

/* A random set built both ways: incrementally with range_set_add() in random order, and with the oracle. */
static void random_set(RangeSet *s, Bits *bits, size_t max_ranges) {
        size_t n = rnd() % (max_ranges + 1);

        range_set_done(s);
        *bits = (Bits) {};
        for (size_t i = 0; i < n; i++) {
                size_t a, b;
                random_range(&a, &b);
                assert_se_add(s, points[a], points[b]);
                bits_add(bits, a, b);
        }
}

static unsigned failures_reported;

static bool check_equal(const char *what, const RangeSet *got, const Bits *want_bits) {
        RangeSet want = RANGE_SET_INIT;
        bool good;

        bits_to_set(want_bits, &want);
        good = set_is_canonical(got) && range_set_equal(got, &want);
        if (!good && failures_reported++ < 5) {
                printf("# %s differs from the oracle\n", what);
                print_set("got", got);
                print_set("want", &want);
        }
        range_set_done(&want);
        return good;
}

static void test_random(unsigned rounds) {
        unsigned bad_add = 0, bad_many = 0, bad_union = 0, bad_inter = 0, bad_sub = 0, bad_query = 0,
                 bad_size = 0, bad_copy = 0;

        for (unsigned round = 0; round < rounds; round++) {
                RangeSet a = RANGE_SET_INIT, b = RANGE_SET_INIT, r = RANGE_SET_INIT, c = RANGE_SET_INIT;
                Bits ba, bb, br;
                Range many[16];
                size_t n_many;

                random_set(&a, &ba, 8);
                random_set(&b, &bb, 8);
                bad_add += !check_equal("range_set_add", &a, &ba);

                /* add_many on top of an existing set, ranges in any order */
                n_many = rnd() % ELEMENTSOF(many);
                br = ba;
                for (size_t i = 0; i < n_many; i++) {
                        size_t x, y;
                        random_range(&x, &y);
                        many[i] = (Range) { points[x], points[y] };
                        bits_add(&br, x, y);
                }
                assert_se(range_set_copy(&c, &a) == 0);
                bad_copy += !range_set_equal(&c, &a);
                assert_se(range_set_add_many(&c, many, n_many) == 0);
                bad_many += !check_equal("range_set_add_many", &c, &br);

                for (size_t k = 0; k < n_atoms; k++)
                        br.b[k] = ba.b[k] || bb.b[k];
                assert_se(range_set_union(&r, &a, &b) == 0);
                bad_union += !check_equal("range_set_union", &r, &br);

                for (size_t k = 0; k < n_atoms; k++)
                        br.b[k] = ba.b[k] && bb.b[k];
                assert_se(range_set_intersect(&r, &a, &b) == 0);
                bad_inter += !check_equal("range_set_intersect", &r, &br);

                for (size_t k = 0; k < n_atoms; k++)
                        br.b[k] = ba.b[k] && !bb.b[k];
                assert_se(range_set_subtract(&r, &a, &b) == 0);
                bad_sub += !check_equal("range_set_subtract", &r, &br);

                bad_size += range_set_size(&a) != bits_size(&ba);

                /* Point and range queries, at every atom boundary. */
                for (size_t k = 0; k < n_atoms; k++) {
                        bad_query += range_set_contains(&a, atoms[k].lo) != ba.b[k];
                        bad_query += range_set_contains(&a, atoms[k].hi) != ba.b[k];
                }
                for (unsigned q = 0; q < 8; q++) {
                        size_t x, y;
                        bool want = false;
                        const Range *first;

                        random_range(&x, &y);
                        for (size_t k = point_atom[x]; k <= point_atom[y]; k++)
                                want = want || ba.b[k];
                        bad_query += range_set_overlaps(&a, points[x], points[y]) != want;
                        first = range_set_find_overlap(&a, points[x], points[y]);
                        if (want) {
                                /* The first overlapping range: no earlier range may overlap too. */
                                bad_query += !first || !range_overlaps(first->start, first->end, points[x], points[y]);
                                if (first && first > a.ranges)
                                        bad_query += range_overlaps(first[-1].start, first[-1].end, points[x], points[y]);
                        } else
                                bad_query += first != NULL;
                }

                range_set_done(&a);
                range_set_done(&b);
                range_set_done(&r);
                range_set_done(&c);
        }

        is_int(bad_add, 0, "range_set_add matches the oracle");
        is_int(bad_many, 0, "range_set_add_many matches the oracle");
        is_int(bad_copy, 0, "range_set_copy copies");
        is_int(bad_union, 0, "range_set_union matches the oracle");
        is_int(bad_inter, 0, "range_set_intersect matches the oracle");
        is_int(bad_sub, 0, "range_set_subtract matches the oracle");
        is_int(bad_size, 0, "range_set_size matches the oracle");
        is_int(bad_query, 0, "contains/overlaps/find_overlap match the oracle");
}

static void test_edges(void) {
        RangeSet s = RANGE_SET_INIT, t = RANGE_SET_INIT, r = RANGE_SET_INIT, empty = RANGE_SET_INIT;

        /* touching ranges merge, in either order */
        assert_se_add(&s, 0x1000, 0x1fff);
        assert_se_add(&s, 0x2000, 0x2fff);
        ok(s.n == 1 && s.ranges[0].start == 0x1000 && s.ranges[0].end == 0x2fff, "touching ranges merge (in order)");
        assert_se_add(&s, 0x0, 0xfff);
        ok(s.n == 1 && s.ranges[0].start == 0 && s.ranges[0].end == 0x2fff, "touching ranges merge (before)");
        assert_se_add(&s, 0x3001, 0x4000);
        is_int(s.n, 2, "a one-address gap keeps ranges apart");
        assert_se_add(&s, 0x3000, 0x3000);
        is_int(s.n, 1, "filling the gap merges three ranges");
        ok(range_set_add(&s, 5, 4) == -EINVAL, "start > end is EINVAL");
        range_set_done(&s);

        /* the top of the address space */
        assert_se_add(&s, UINT64_MAX, UINT64_MAX);
        assert_se_add(&s, UINT64_MAX - 1, UINT64_MAX - 1);
        ok(s.n == 1 && s.ranges[0].start == UINT64_MAX - 1 && s.ranges[0].end == UINT64_MAX,
           "ranges ending at 2^64-1 merge without overflow");
        ok(range_set_contains(&s, UINT64_MAX) && !range_set_contains(&s, UINT64_MAX - 2), "contains at 2^64-1");
        is_u64(range_set_size(&s), 2, "size of the last two addresses");
        assert_se_add(&t, 0, UINT64_MAX);
        is_u64(range_set_size(&t), UINT64_MAX, "size of the full space saturates");
        assert_se(range_set_subtract(&r, &t, &s) == 0);
        ok(r.n == 1 && r.ranges[0].start == 0 && r.ranges[0].end == UINT64_MAX - 2, "full minus top");
        assert_se(range_set_subtract(&r, &t, &t) == 0);
        is_int(r.n, 0, "full minus full is empty");
        assert_se(range_set_union(&r, &s, &t) == 0);
        ok(r.n == 1 && r.ranges[0].start == 0 && r.ranges[0].end == UINT64_MAX, "union with the full space");
        assert_se(range_set_intersect(&r, &s, &t) == 0);
        ok(range_set_equal(&r, &s), "intersection with the full space");

        /* empty sets */
        assert_se(range_set_union(&r, &empty, &empty) == 0);
        is_int(r.n, 0, "empty ∪ empty");
        assert_se(range_set_subtract(&r, &empty, &t) == 0);
        is_int(r.n, 0, "empty \\ full");
        assert_se(range_set_subtract(&r, &s, &empty) == 0);
        ok(range_set_equal(&r, &s), "s \\ empty = s");
        assert_se(range_set_intersect(&r, &empty, &t) == 0);
        is_int(r.n, 0, "empty ∩ full");
        ok(!range_set_overlaps(&empty, 0, UINT64_MAX) && !range_set_contains(&empty, 0), "queries on empty");
        is_u64(range_set_size(&empty), 0, "size of empty");
        assert_se(range_set_add_many(&r, NULL, 0) == 0);
        ok(range_set_add_many(&r, (Range[]) { { 2, 1 } }, 1) == -EINVAL, "add_many rejects start > end");

        range_set_done(&s);
        range_set_done(&t);
        range_set_done(&r);
}

int main(void) {
        atoms_init();
        test_edges();
        test_random(20000);
        return tap_done();
}
