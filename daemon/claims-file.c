/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "claims-file.h"

#include "util.h"

#include <fcntl.h>
#include <sys/stat.h>

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

int claims_file_save(const char *dir, const ClaimRecord *records, size_t n) {
        _cleanup_free_ char *doc = NULL, *path = NULL, *tmp = NULL;
        _cleanup_close_ int fd = -EBADF, dfd = -EBADF;
        int k;

        k = claims_serialize(records, n, &doc);
        if (k < 0)
                return k;
        if (asprintf_safe(&path, "%s/" CLAIMS_FILE_NAME, dir) < 0 ||
            asprintf_safe(&tmp, "%s/.#" CLAIMS_FILE_NAME "XXXXXX", dir) < 0)
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
