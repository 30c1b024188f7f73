/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* claims_parse() on arbitrary bytes: the claims file vfiomapd reads at start (proto/claims-json.md). What
 * parses keeps the invariants ownership rests on (one owner per name and per group, valid names, sorted
 * unique groups, normalised addresses) and survives claims_serialize() and a second parse unchanged. */

#include "claims.h"
#include "fuzz.h"
#include "sysfs-parse.h"
#include "util.h"

static void check_records(const ClaimRecord *r, size_t n) {
        for (size_t i = 0; i < n; i++) {
                FUZZ_CHECK(claim_name_is_valid(r[i].machine));
                FUZZ_CHECK(r[i].spec && r[i].layout);
                for (size_t g = 1; g < r[i].n_groups; g++)
                        FUZZ_CHECK(r[i].groups[g - 1] < r[i].groups[g]);
                STRV_FOREACH (d, r[i].devices)
                        FUZZ_CHECK(pci_address_is_valid(*d));
                for (size_t j = i + 1; j < n; j++) {
                        FUZZ_CHECK(!streq(r[i].machine, r[j].machine));
                        for (size_t a = 0; a < r[i].n_groups; a++)
                                for (size_t b = 0; b < r[j].n_groups; b++)
                                        FUZZ_CHECK(r[i].groups[a] != r[j].groups[b]);
                }
        }
}

static bool records_equal(const ClaimRecord *a, const ClaimRecord *b) {
        if (!streq(a->machine, b->machine) || a->claimed_at != b->claimed_at || a->n_groups != b->n_groups ||
            !streq(a->spec, b->spec) || !streq(a->layout, b->layout) ||
            strv_length(a->devices) != strv_length(b->devices))
                return false;
        for (size_t i = 0; i < a->n_groups; i++)
                if (a->groups[i] != b->groups[i])
                        return false;
        for (size_t i = 0; i < strv_length(a->devices); i++)
                if (!streq(a->devices[i], b->devices[i]))
                        return false;
        return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        ClaimRecord *r = NULL, *again = NULL;
        size_t n = 0, n_again = 0;
        char *error = NULL, *doc = NULL;
        int k;

        k = claims_parse((const char *) data, size, &r, &n, &error);
        if (k < 0) {
                FUZZ_CHECK(IN_SET(k, -EINVAL, -E2BIG, -EFBIG, -ENOMEM));
                FUZZ_CHECK(k != -EINVAL || error); /* a refusal always says why */
                FUZZ_CHECK(!r);
                free(error);
                return 0;
        }
        FUZZ_CHECK(!error);
        check_records(r, n);

        FUZZ_CHECK(claims_serialize(r, n, &doc) == 0);
        k = claims_parse(doc, strlen(doc), &again, &n_again, &error);
        if (k < 0)
                fprintf(stderr, "serialized claims do not parse again: %s\n", error);
        FUZZ_CHECK(k == 0 && n_again == n);
        for (size_t i = 0; i < n; i++)
                FUZZ_CHECK(records_equal(r + i, again + i));

        claim_records_free(r, n);
        claim_records_free(again, n_again);
        free(doc);
        return 0;
}
