/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "claims-file.h"

#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

/* Temporary files of writes that a crash (kill -9, power loss) cut short: never renamed, so never part of
 * the record, but they would pile up with every crash. */
static void remove_stale_temporaries(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d)))
                if (startswith(de->d_name, ".#") && de->d_type == DT_REG)
                        (void) unlinkat(dirfd(d), de->d_name, 0);
        closedir(d);
}

int claims_file_load(const char *dir, ClaimRecord **ret, size_t *ret_n, char **ret_error) {
        _cleanup_free_ char *path = NULL, *buf = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t size = 0, allocated = 0;
        int k;

        *ret = NULL;
        *ret_n = 0;
        if (ret_error)
                *ret_error = NULL;
        if (asprintf_safe(&path, "%s/" CLAIMS_FILE_NAME, dir) < 0)
                return -ENOMEM;
        /* Loaded once, at start, before anything writes here. */
        remove_stale_temporaries(dir);
        {
                _cleanup_free_ char *mdir = NULL;
                if (asprintf_safe(&mdir, "%s/" MACHINES_DIR_NAME, dir) >= 0)
                        remove_stale_temporaries(mdir);
        }
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;

        for (;;) {
                ssize_t l;

                if (!GREEDY_REALLOC(buf, allocated, size + 65536 + 1))
                        return -ENOMEM;
                l = read(fd, buf + size, allocated - size - 1);
                if (l < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (l == 0)
                        break;
                size += (size_t) l;
                if (size > CLAIMS_INPUT_MAX)
                        return -EFBIG;
        }
        if (!buf)
                return -ENOMEM;
        buf[size] = 0;

        k = claims_parse(buf, size, ret, ret_n, ret_error);
        return k == -EINVAL ? -EBADMSG : k;
}

static int write_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t l = write(fd, p, n);
                if (l < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += l;
                n -= (size_t) l;
        }
        return 0;
}

/* Replaces dir/name with doc (plus a newline): temporary file, fsync(), rename(), fsync() of dir. */
static int write_atomic(const char *dir, const char *name, const char *doc) {
        _cleanup_free_ char *path = NULL, *tmp = NULL;
        _cleanup_close_ int fd = -EBADF, dfd = -EBADF;
        int k;

        if (asprintf_safe(&path, "%s/%s", dir, name) < 0 || asprintf_safe(&tmp, "%s/.#%sXXXXXX", dir, name) < 0)
                return -ENOMEM;

        (void) mkdir(dir, 0755);
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* Claims name VMs; readable by everyone like the bus properties they mirror. */
        k = fchmod(fd, 0644) < 0 ? -errno : 0;
        if (k >= 0)
                k = write_all(fd, doc, strlen(doc));
        if (k >= 0)
                k = write_all(fd, "\n", 1);
        if (k >= 0 && fsync(fd) < 0)
                k = -errno;
        if (k >= 0 && rename(tmp, path) < 0)
                k = -errno;
        if (k < 0) {
                (void) unlink(tmp);
                return k;
        }

        /* Make the rename itself durable. */
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        return fsync(dfd) < 0 ? -errno : 0;
}

int claims_file_save(const char *dir, const ClaimRecord *records, size_t n) {
        _cleanup_free_ char *doc = NULL;
        int k;

        k = claims_serialize(records, n, &doc);
        if (k < 0)
                return k;
        /* A file claims_file_load() would refuse must never be written: the daemon would not start. */
        if (strlen(doc) + 1 > CLAIMS_INPUT_MAX)
                return -EFBIG;
        return write_atomic(dir, CLAIMS_FILE_NAME, doc);
}

static bool file_has_content(const char *path, const char *doc) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        size_t l = strlen(doc);
        _cleanup_free_ char *buf = NULL;

        if (!f)
                return false;
        buf = malloc(l + 2);
        if (!buf)
                return false;
        return fread(buf, 1, l + 2, f) == l + 1 && memcmp(buf, doc, l) == 0 && buf[l] == '\n';
}

int machine_files_sync(const char *dir, const ClaimRecord *records, size_t n) {
        _cleanup_free_ char *mdir = NULL;
        DIR *d;
        struct dirent *de;
        int k, r = 0;

        if (asprintf_safe(&mdir, "%s/" MACHINES_DIR_NAME, dir) < 0)
                return -ENOMEM;
        (void) mkdir(dir, 0755);
        (void) mkdir(mdir, 0755);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *name = NULL, *path = NULL;

                if (asprintf_safe(&name, "%s.json", records[i].machine) < 0 ||
                    asprintf_safe(&path, "%s/%s", mdir, name) < 0)
                        return -ENOMEM;
                /* Rewritten only when it changed: hooks and tools may watch these files. */
                if (file_has_content(path, records[i].layout ?: "null"))
                        continue;
                k = write_atomic(mdir, name, records[i].layout ?: "null");
                if (k < 0 && r == 0)
                        r = k;
        }

        d = opendir(mdir);
        if (!d)
                return r < 0 ? r : -errno;
        while ((de = readdir(d))) {
                bool claimed = false;
                size_t l = strlen(de->d_name);

                if (de->d_name[0] == '.' || !endswith(de->d_name, ".json"))
                        continue;
                for (size_t i = 0; i < n && !claimed; i++)
                        claimed = strlen(records[i].machine) == l - 5 &&
                                strncmp(records[i].machine, de->d_name, l - 5) == 0;
                if (!claimed && unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT && r == 0)
                        r = -errno;
        }
        closedir(d);
        return r;
}
