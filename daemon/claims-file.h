/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The claims file, $RUNTIME_DIRECTORY/claims.json: read at start, rewritten after every claim and release.
 * The format is ../proto/claims-json.md, the codec libvfiomap/claims.c. */

#include "claims.h"

#define CLAIMS_FILE_NAME "claims.json"
#define MACHINES_DIR_NAME "machines"

/* Reads dir/claims.json. A missing file is no claims (0 records). A file that does not parse is -EBADMSG
 * with *ret_error naming the problem. */
int claims_file_load(const char *dir, ClaimRecord **ret, size_t *ret_n, char **ret_error);
/* (claims_file_load() also removes the temporary files ".#*" that writes cut short by a crash left in dir
 * and dir/machines/.) */

/* Replaces dir/claims.json atomically: the document goes to a temporary file in the same directory, is
 * fsync()ed and rename()d over the old one, then the directory is fsync()ed, so after a crash (kill -9,
 * power loss) the file holds either the old or the new claims, never a mix (rename(2) is atomic). */
int claims_file_save(const char *dir, const ClaimRecord *records, size_t n);

/* Makes dir/machines/ hold NAME.json for each record, the layout JSON the claim returned (for scripts and
 * for the qemu hook, which looks there before bothering the daemon at release), and nothing else. Each file
 * is replaced atomically and only when its content changed. Returns the first error, after trying all. */
int machine_files_sync(const char *dir, const ClaimRecord *records, size_t n);
