/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* File access for the host loader. Paths are built under a root prefix and opened with open()/opendir()/
 * readlink() by absolute path, or with openat()/readlinkat() relative to a directory that was itself opened
 * by absolute path: umockdev redirects only absolute /sys and /dev paths passed to those calls
 * (../shared/DOMAIN.md §6), and a directory fd it redirected already points into its testbed, so this is
 * what lets the daemon run unchanged under umockdev-wrapper. Every path touched can be recorded for
 * `vfiomapctl snapshot`. */

#include <stddef.h>
#include <stdint.h>

/* Paths read, in the order read; duplicates are possible and removed by the consumer (appending must stay
 * O(1): a large host reads ~100,000 paths). */
typedef struct PathList {
        char **paths;
        size_t n;
        size_t allocated;
} PathList;

void path_list_done(PathList *l);

/* Directories reader_resolve() already found to be real (no symlink on the way), so that resolving the
 * thousands of device links of a large host does not lstat() the same parents again and again. Valid for
 * one load; a few slots suffice because devices are resolved in sorted order. */
#define RESOLVE_CACHE_SLOTS 4
typedef struct ResolveCache {
        char *real[RESOLVE_CACHE_SLOTS];
        unsigned next;
        /* The directory last read from, open, so the next attribute of the same device is opened relative
         * to it instead of walking the whole path again. */
        char *dir;
        int dir_fd;
} ResolveCache;

#define RESOLVE_CACHE_INIT ((ResolveCache) { .dir_fd = -EBADF })

void resolve_cache_done(ResolveCache *c);

typedef struct Reader {
        const char *root; /* "" for "/", else the root without trailing slash */
        PathList *trace;  /* when non-NULL, every relative path read is appended */
        ResolveCache *cache; /* may be NULL */
} Reader;

/* Records relpath as read (for paths found without reading them through the reader). */
void reader_trace(const Reader *r, const char *relpath);
/* readlink() without recording the path, for scans where only some links matter (/proc/PID/fd). */
int reader_readlink_untraced(const Reader *r, const char *relpath, char **ret);

/* Builds root + "/" + relpath into a new string. */
char *reader_path(const Reader *r, const char *relpath);

/* Reads a whole file (at most max bytes; more is -EFBIG) into a NUL-terminated buffer. */
int reader_read_file(const Reader *r, const char *relpath, size_t max, char **ret, size_t *ret_size);
/* Reads the first line without its newline. */
int reader_read_line(const Reader *r, const char *relpath, char **ret);
/* Reads a whole file into buf (NUL-terminated, so at most size - 1 bytes; more is -EFBIG), for the small
 * attributes read by the thousand, which need no allocation. */
int reader_read_file_buf(const Reader *r, const char *relpath, char *buf, size_t size, size_t *ret_size);
/* As reader_read_line(), into buf. */
int reader_read_attr(const Reader *r, const char *relpath, char *buf, size_t size);
/* Reads up to max bytes of a binary file; a short file is not an error. */
int reader_read_binary(const Reader *r, const char *relpath, size_t max, uint8_t **ret, size_t *ret_size);
int reader_readlink(const Reader *r, const char *relpath, char **ret);
/* Whether relpath is a symlink (0, traced) or not (negative errno: -ENOENT absent, -EINVAL not a link). */
int reader_link_exists(const Reader *r, const char *relpath);
/* The last path component of a symlink's target ("../../bus/pci/drivers/vfio-pci" -> "vfio-pci"). */
int reader_readlink_basename(const Reader *r, const char *relpath, char **ret);
/* Sorted names of a directory's entries, without "." and "..". Only the directory is traced: call
 * reader_trace_entries() when the entries themselves are facts (group members), not when they are a
 * search space (/proc). */
int reader_list_dir(const Reader *r, const char *relpath, char ***ret);
void reader_trace_entries(const Reader *r, const char *relpath, char *const *entries);
/* Resolves a symlink relative to the directory holding it into a normalised root-relative path
 * ("sys/bus/pci/devices/0000:00:01.0" -> "sys/devices/pci0000:00/0000:00:01.0"). Follows at most 32
 * links; -ELOOP beyond, -EXDEV when a link escapes the root. */
int reader_resolve(const Reader *r, const char *relpath, char **ret);
