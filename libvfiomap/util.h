/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The handful of helpers every file of vfiomap uses: cleanup attributes in the style of systemd,
 * string predicates and array helpers. Nothing here logs or touches global state. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _pure_ __attribute__((pure))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _warn_unused_result_ __attribute__((warn_unused_result))
#define _likely_(x) (__builtin_expect(!!(x), 1))
#define _unlikely_(x) (__builtin_expect(!!(x), 0))

/* x equals one of the listed ints. */
#define IN_SET(x, ...)                                                                                  \
        ({                                                                                              \
                const int _set_[] = { __VA_ARGS__ };                                                    \
                bool _found_ = false;                                                                   \
                for (size_t _i_ = 0; _i_ < sizeof(_set_) / sizeof(_set_[0]); _i_++)                    \
                        if ((x) == _set_[_i_]) {                                                        \
                                _found_ = true;                                                         \
                                break;                                                                  \
                        }                                                                               \
                _found_;                                                                                \
        })

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Take ownership of a pointer: returns it and sets the variable to NULL so no cleanup frees it. */
#define TAKE_PTR(p)                                                                                     \
        ({                                                                                              \
                typeof(p) _p_ = (p);                                                                    \
                (p) = NULL;                                                                             \
                _p_;                                                                                    \
        })

#define TAKE_FD(fd)                                                                                     \
        ({                                                                                              \
                int _fd_ = (fd);                                                                        \
                (fd) = -EBADF;                                                                          \
                _fd_;                                                                                   \
        })

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                (void) close(*fd);
                errno = saved;
        }
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f) {
        if (*f)
                (void) fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                         \
        static inline void func##p(type *p) {                                                           \
                if (*p)                                                                                 \
                        (void) func(*p);                                                                \
        }

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return streq(a, b);
}

static inline bool isempty(const char *s) {
        return !s || !*s;
}

static inline const char *strna(const char *s) {
        return s ?: "n/a";
}

static inline const char *strempty_dash(const char *s) {
        return isempty(s) ? "-" : s;
}

/* Returns the rest of s after prefix, or NULL when s does not start with prefix. */
static inline const char *startswith(const char *s, const char *prefix) {
        size_t l = strlen(prefix);
        return strncmp(s, prefix, l) == 0 ? s + l : NULL;
}

bool endswith(const char *s, const char *suffix) _pure_;

/* NULL-terminated string arrays. */
char **strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)
size_t strv_length(char *const *l) _pure_;
bool strv_contains(char *const *l, const char *s) _pure_;
/* Appends a copy of s; returns 0 or -ENOMEM. */
int strv_extend(char ***l, const char *s);
/* Appends s itself, taking ownership even on failure. */
int strv_consume(char ***l, char *s);
int strv_extendf(char ***l, const char *format, ...) _printf_(2, 3);
void strv_sort(char **l);
#define STRV_FOREACH(s, l) for (char *const *s = (l); s && *s; s++)

/* Grows *array (of *allocated elements of size sz) to hold at least need elements. */
void *greedy_realloc(void **array, size_t *allocated, size_t need, size_t sz);
#define GREEDY_REALLOC(array, allocated, need)                                                          \
        greedy_realloc((void **) &(array), &(allocated), (need), sizeof((array)[0]))

char *strdup_or_null(const char *s);
int asprintf_safe(char **ret, const char *format, ...) _printf_(2, 3);
/* A copy of size bytes at p; NULL for size 0 (nothing to keep) or when out of memory. */
void *memdup_or_null(const void *p, size_t size);
/* a + "/" + b into buf; -ENAMETOOLONG when it does not fit. */
int path_join(char *buf, size_t size, const char *a, const char *b);
/* Strips trailing whitespace (newlines) in place; returns s. */
char *strstrip_trailing(char *s);

/* Formats a 64-bit address the way vfiomap prints them everywhere: "0x" + lowercase hex. */
#define ADDR_STRLEN (2 + 16 + 1)
const char *format_addr(char buf[static ADDR_STRLEN], uint64_t a);
/* "1.5 GiB", "512 MiB", "4 KiB", "17 B": the largest binary unit that keeps one decimal. */
#define SIZE_STRLEN 48
const char *format_size(char buf[static SIZE_STRLEN], uint64_t bytes);

/* Parses an unsigned 64-bit integer in base (0: auto with 0x prefix); the whole string must be used. */
int safe_atou64_base(const char *s, int base, uint64_t *ret);
int safe_atoi(const char *s, int *ret);
