/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <sys/ioctl.h>
#include <wchar.h>

#include "table.h"
#include "util.h"

struct Table {
        size_t n_columns;
        char **cells; /* row-major, header first */
        size_t n_cells, allocated;
        ssize_t shrinkable;
};

Table *table_new(const char *header, ...) {
        Table *t = calloc(1, sizeof(Table));
        va_list ap;

        if (!t)
                return NULL;
        t->shrinkable = -1;
        va_start(ap, header);
        for (const char *h = header; h; h = va_arg(ap, const char *)) {
                if (!GREEDY_REALLOC(t->cells, t->allocated, t->n_cells + 1) ||
                    !(t->cells[t->n_cells] = strdup(h))) {
                        va_end(ap);
                        return table_free(t);
                }
                t->n_cells++;
        }
        va_end(ap);
        t->n_columns = t->n_cells;
        return t;
}

Table *table_free(Table *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_cells; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t);
        return NULL;
}

int table_add_cells(Table *t, const char *const *cells) {
        if (!GREEDY_REALLOC(t->cells, t->allocated, t->n_cells + t->n_columns))
                return -ENOMEM;
        for (size_t i = 0; i < t->n_columns; i++) {
                char *c = strdup(isempty(cells[i]) ? "-" : cells[i]);
                if (!c) {
                        while (i-- > 0)
                                free(t->cells[t->n_cells + i]);
                        return -ENOMEM;
                }
                t->cells[t->n_cells + i] = c;
        }
        t->n_cells += t->n_columns;
        return 0;
}

int table_add_row(Table *t, ...) {
        _cleanup_free_ const char **cells = calloc(t->n_columns, sizeof(char *));
        va_list ap;

        if (!cells)
                return -ENOMEM;
        va_start(ap, t);
        for (size_t i = 0; i < t->n_columns; i++)
                cells[i] = va_arg(ap, const char *);
        va_end(ap);
        return table_add_cells(t, cells);
}

size_t table_rows(const Table *t) {
        return t->n_cells / t->n_columns - 1;
}

void table_set_shrinkable(Table *t, size_t column) {
        t->shrinkable = column < t->n_columns ? (ssize_t) column : -1;
}

/* Display width of a UTF-8 string (cells hold device names and "…"). */
static size_t text_width(const char *s) {
        mbstate_t st = {};
        size_t w = 0;
        wchar_t wc;

        for (;;) {
                size_t n = mbrtowc(&wc, s, MB_CUR_MAX, &st);
                int cw;

                if (n == 0)
                        break;
                if (n == (size_t) -1 || n == (size_t) -2) {
                        w++, s++;
                        memset(&st, 0, sizeof(st));
                        continue;
                }
                cw = wcwidth(wc);
                w += cw > 0 ? (size_t) cw : 0;
                s += n;
        }
        return w;
}

static size_t terminal_columns(FILE *f) {
        struct winsize ws;
        const char *e = getenv("COLUMNS");
        int c;

        if (e && safe_atoi(e, &c) >= 0 && c > 0)
                return c;
        if (ioctl(fileno(f), TIOCGWINSZ, &ws) >= 0 && ws.ws_col > 0)
                return ws.ws_col;
        return SIZE_MAX; /* not a terminal: never cut */
}

int table_print(const Table *t, FILE *f, bool header) {
        _cleanup_free_ size_t *width = calloc(t->n_columns, sizeof(size_t));
        size_t rows = t->n_cells / t->n_columns, total = 0, avail;

        if (!width)
                return -ENOMEM;
        for (size_t r = header ? 0 : 1; r < rows; r++)
                for (size_t c = 0; c < t->n_columns; c++)
                        width[c] = MAX(width[c], text_width(t->cells[r * t->n_columns + c]));
        for (size_t c = 0; c < t->n_columns; c++)
                total += width[c] + (c > 0);
        avail = terminal_columns(f);
        if (t->shrinkable >= 0 && total > avail) {
                size_t excess = total - avail, w = width[t->shrinkable];
                width[t->shrinkable] = w > excess + 8 ? w - excess : MIN(w, (size_t) 8);
        }

        for (size_t r = header ? 0 : 1; r < rows; r++) {
                for (size_t c = 0; c < t->n_columns; c++) {
                        const char *cell = t->cells[r * t->n_columns + c];
                        size_t w = text_width(cell);
                        bool last = c + 1 == t->n_columns;

                        if (c > 0)
                                fputc(' ', f);
                        if (w > width[c]) {
                                /* Cut to width - 1 display cells and mark it. */
                                size_t keep = 0, kw = 0;
                                while (cell[keep] && kw + 1 < width[c]) {
                                        keep++, kw++;
                                        while ((cell[keep] & 0xc0) == 0x80)
                                                keep++;
                                }
                                fprintf(f, "%.*s…", (int) keep, cell);
                                w = kw + 1;
                        } else
                                fputs(cell, f);
                        if (!last)
                                for (; w < width[c]; w++)
                                        fputc(' ', f);
                }
                fputc('\n', f);
        }
        return 0;
}
