/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Plain text tables the way systemd's *ctl tools print them: an upper-case header, columns padded to
 * their widest cell, "-" for empty cells. */

#include <stdbool.h>
#include <stdio.h>

typedef struct Table Table;

/* Column headers, NULL-terminated. */
Table *table_new(const char *header, ...) __attribute__((sentinel));
Table *table_free(Table *t);
static inline void table_freep(Table **t) {
        if (*t)
                (void) table_free(*t);
}
/* One cell per column; NULL or "" prints "-". */
int table_add_row(Table *t, ...);
/* Like table_add_row() with an array of cells. */
int table_add_cells(Table *t, const char *const *cells);
size_t table_rows(const Table *t);
/* A column that may be cut to fit the terminal; cut cells end in "…". */
void table_set_shrinkable(Table *t, size_t column);
int table_print(const Table *t, FILE *f, bool header);
