/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What every fuzz target shares: the libFuzzer entry point and a check that fails like a memory error
 * would (abort), so libFuzzer and the corpus replay both report a broken invariant as a crash. */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(expr)                                                                                \
        do {                                                                                            \
                if (!(expr)) {                                                                          \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #expr);        \
                        abort();                                                                        \
                }                                                                                       \
        } while (0)

/* A NUL-terminated copy of size bytes, for the parsers that take C strings (an embedded NUL simply ends
 * the string early). Aborts on allocation failure: a fuzzer has nothing better to do. */
static inline char *fuzz_strndup(const void *data, size_t size) {
        char *s = malloc(size + 1);

        if (!s)
                abort();
        memcpy(s, data, size);
        s[size] = 0;
        return s;
}
