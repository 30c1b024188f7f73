/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>

#include "util.h"

bool endswith(const char *s, const char *suffix) {
        size_t sl = strlen(s), xl = strlen(suffix);
        return sl >= xl && memcmp(s + sl - xl, suffix, xl) == 0;
}

char **strv_free(char **l) {
        STRV_FOREACH(s, l)
                free(*s);
        free(l);
        return NULL;
}

size_t strv_length(char *const *l) {
        size_t n = 0;
        STRV_FOREACH(s, l)
                n++;
        return n;
}

bool strv_contains(char *const *l, const char *s) {
        STRV_FOREACH(i, l)
                if (streq(*i, s))
                        return true;
        return false;
}

int strv_consume(char ***l, char *s) {
        size_t n;
        char **c;

        if (!s)
                return -ENOMEM;
        n = strv_length(*l);
        c = realloc(*l, sizeof(char *) * (n + 2));
        if (!c) {
                free(s);
                return -ENOMEM;
        }
        c[n] = s;
        c[n + 1] = NULL;
        *l = c;
        return 0;
}

int strv_extend(char ***l, const char *s) {
        return strv_consume(l, strdup(s));
}

int strv_extendf(char ***l, const char *format, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return strv_consume(l, s);
}

static int str_compare(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

void strv_sort(char **l) {
        size_t n = strv_length(l);
        if (n > 1)
                qsort(l, n, sizeof(char *), str_compare);
}

void *greedy_realloc(void **array, size_t *allocated, size_t need, size_t sz) {
        size_t a;
        void *q;

        if (*allocated >= need && *array)
                return *array;
        if (need > SIZE_MAX / 2 / sz)
                return NULL;
        a = MAX(need * 2, (size_t) 4);
        q = realloc(*array, a * sz);
        if (!q)
                return NULL;
        *array = q;
        *allocated = a;
        return q;
}

char *strdup_or_null(const char *s) {
        return s ? strdup(s) : NULL;
}

int asprintf_safe(char **ret, const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(ret, format, ap);
        va_end(ap);
        if (r < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

void *memdup_or_null(const void *p, size_t size) {
        void *c;

        if (size == 0)
                return NULL;
        c = malloc(size);
        if (c)
                memcpy(c, p, size);
        return c;
}

int path_join(char *buf, size_t size, const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b);

        if (la + 1 + lb + 1 > size)
                return -ENAMETOOLONG;
        memcpy(buf, a, la);
        buf[la] = '/';
        memcpy(buf + la + 1, b, lb + 1);
        return 0;
}

char *strstrip_trailing(char *s) {
        size_t l = strlen(s);
        while (l > 0 && isspace((unsigned char) s[l - 1]))
                s[--l] = 0;
        return s;
}

const char *format_addr(char buf[static ADDR_STRLEN], uint64_t a) {
        (void) snprintf(buf, ADDR_STRLEN, "0x%" PRIx64, a);
        return buf;
}

const char *format_size(char buf[static SIZE_STRLEN], uint64_t bytes) {
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
        unsigned u = 0;
        uint64_t v = bytes;

        while (v >= 1024 && u + 1 < ELEMENTSOF(units)) {
                v /= 1024;
                u++;
        }
        if (u == 0)
                (void) snprintf(buf, SIZE_STRLEN, "%" PRIu64 " B", bytes);
        else {
                /* One decimal, dropped when it is zero: "1.5 GiB", "2 GiB". */
                uint64_t unit = UINT64_C(1) << (10 * u);
                uint64_t tenths = (bytes % unit) * 10 / unit;
                if (tenths == 0)
                        (void) snprintf(buf, SIZE_STRLEN, "%" PRIu64 " %s", v, units[u]);
                else
                        (void) snprintf(buf, SIZE_STRLEN, "%" PRIu64 ".%" PRIu64 " %s", v, tenths, units[u]);
        }
        return buf;
}

int safe_atou64_base(const char *s, int base, uint64_t *ret) {
        char *end = NULL;
        unsigned long long v;

        if (isempty(s) || isspace((unsigned char) s[0]) || s[0] == '-' || s[0] == '+')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, base);
        if (errno != 0)
                return -errno;
        if (!end || *end != 0)
                return -EINVAL;
        *ret = v;
        return 0;
}

int safe_atoi(const char *s, int *ret) {
        char *end = NULL;
        long v;

        if (isempty(s) || isspace((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtol(s, &end, 10);
        if (errno != 0)
                return -errno;
        if (!end || *end != 0)
                return -EINVAL;
        if (v < INT32_MIN || v > INT32_MAX)
                return -ERANGE;
        *ret = (int) v;
        return 0;
}
