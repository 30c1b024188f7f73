/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The claims file, $RUNTIME_DIRECTORY/claims.json: read at start, rewritten after every claim and release.
 * The format is ../proto/claims-json.md, the codec libvfiomap/claims.c. */

#include "claims.h"

#define CLAIMS_FILE_NAME "claims.json"

/* Reads dir/claims.json. A missing file is no claims (0 records). A file that does not parse is -EBADMSG
 * with *ret_error naming the problem. */
int claims_file_load(const char *dir, ClaimRecord **ret, size_t *ret_n, char **ret_error);

/* Replaces dir/claims.json atomically: the document goes to a temporary file in the same directory, is
 * fsync()ed and rename()d over the old one, then the directory is fsync()ed, so after a crash (kill -9,
 * power loss) the file holds either the old or the new claims, never a mix (rename(2) is atomic). */
int claims_file_save(const char *dir, const ClaimRecord *records, size_t n);
