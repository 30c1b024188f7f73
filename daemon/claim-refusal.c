/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "claim-refusal.h"

#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void claim_refusal_done(ClaimRefusal *r) {
        for (size_t i = 0; i < r->n; i++) {
                free(r->errors[i].message);
                free(r->errors[i].device);
        }
        free(r->errors);
        *r = (ClaimRefusal){};
}

int claim_refusal_add(
        ClaimRefusal *r,
        ClaimErrorRank rank,
        const char *name,
        const char *device,
        const char *format,
        ...) {
        _cleanup_free_ char *message = NULL, *dev = NULL;
        ClaimError *n;
        va_list ap;
        int k;

        va_start(ap, format);
        k = vasprintf(&message, format, ap);
        va_end(ap);
        if (k < 0) {
                message = NULL;
                return -ENOMEM;
        }
        if (device) {
                dev = strdup(device);
                if (!dev)
                        return -ENOMEM;
        }
        n = realloc(r->errors, sizeof(ClaimError) * (r->n + 1));
        if (!n)
                return -ENOMEM;
        r->errors = n;
        n[r->n++] = (ClaimError){
                .rank = rank,
                .name = name,
                .message = TAKE_PTR(message),
                .device = TAKE_PTR(dev),
        };
        return 0;
}

bool claim_refusal_has(const ClaimRefusal *r, const char *name, const char *device) {
        for (size_t i = 0; i < r->n; i++)
                if (streq(r->errors[i].name, name) && streq_ptr(r->errors[i].device, device))
                        return true;
        return false;
}

int claim_refusal_to_bus_error(ClaimRefusal *r, sd_bus_error *error) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        FILE *f;

        /* An insertion sort keeps the order of equal ranks; there are a handful of errors. */
        for (size_t i = 1; i < r->n; i++)
                for (size_t j = i; j > 0 && r->errors[j - 1].rank > r->errors[j].rank; j--) {
                        ClaimError t = r->errors[j];
                        r->errors[j] = r->errors[j - 1];
                        r->errors[j - 1] = t;
                }
        if (r->n == 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_FAILED, "The claim failed.");

        f = open_memstream(&text, &len);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < r->n; i++)
                fprintf(f, "%s%s", i > 0 ? "\n" : "", r->errors[i].message);
        if (fclose(f) != 0)
                return -ENOMEM;
        return sd_bus_error_set(error, r->errors[0].name, text);
}
