/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A minimal TAP producer for the C unit tests: automake's tap-driver.sh counts every "ok"/"not ok" line,
 * so the suite's summary counts test cases rather than programs. */

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned tap_count, tap_failures;

static inline __attribute__((format(printf, 4, 5))) int
tap_ok(int pass, const char *file, int line, const char *fmt, ...) {
        va_list ap;

        tap_count++;
        printf("%s %u - ", pass ? "ok" : "not ok", tap_count);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
        if (!pass) {
                tap_failures++;
                printf("# failed at %s:%d\n", file, line);
        }
        fflush(stdout);
        return pass;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, want, name)                                                                         \
        ({                                                                                              \
                long long _g = (long long) (got), _w = (long long) (want);                              \
                int _p = ok(_g == _w, "%s", name);                                                      \
                if (!_p)                                                                                \
                        printf("#   got %lld, expected %lld\n", _g, _w);                                \
                _p;                                                                                     \
        })

#define is_u64(got, want, name)                                                                         \
        ({                                                                                              \
                uint64_t _g = (uint64_t) (got), _w = (uint64_t) (want);                                 \
                int _p = ok(_g == _w, "%s", name);                                                      \
                if (!_p)                                                                                \
                        printf("#   got 0x%" PRIx64 ", expected 0x%" PRIx64 "\n", _g, _w);          \
                _p;                                                                                     \
        })

#define is_str(got, want, name)                                                                         \
        ({                                                                                              \
                const char *_g = (got), *_w = (want);                                                   \
                int _p = ok((!_g && !_w) || (_g && _w && strcmp(_g, _w) == 0), "%s", name);             \
                if (!_p)                                                                                \
                        printf("#   got \"%s\", expected \"%s\"\n", _g ? _g : "(null)", _w ? _w : "(null)"); \
                _p;                                                                                     \
        })

static inline void tap_skip_all(const char *why) {
        printf("1..0 # SKIP %s\n", why);
        exit(0);
}

static inline int tap_done(void) {
        printf("1..%u\n", tap_count);
        return tap_failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
