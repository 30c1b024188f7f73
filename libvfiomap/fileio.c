/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdalign.h>
#include <sys/stat.h>

#include "fileio.h"
#include "util.h"

void path_list_done(PathList *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->paths[i]);
        free(l->paths);
        *l = (PathList) {};
}

void reader_trace(const Reader *r, const char *relpath) {
        char *c;

        /* A failed allocation here only makes a snapshot miss a file; the read itself goes on. */
        if (!r->trace)
                return;
        if (!GREEDY_REALLOC(r->trace->paths, r->trace->allocated, r->trace->n + 1))
                return;
        c = strdup(relpath);
        if (c)
                r->trace->paths[r->trace->n++] = c;
}


/* root + "/" + relpath into buf: the loader builds some 15 paths per device, and formatting each one
 * into a new allocation was a fifth of a host load's instructions. */
static int reader_path_buf(const Reader *r, const char *relpath, char buf[static PATH_MAX]) {
        while (*relpath == '/')
                relpath++;
        return path_join(buf, PATH_MAX, r->root, relpath);
}

char *reader_path(const Reader *r, const char *relpath) {
        char buf[PATH_MAX];

        if (reader_path_buf(r, relpath, buf) < 0)
                return NULL;
        return strdup(buf);
}

/* Reads into buf until the end of the file, the buffer is full, or more than max bytes came (-EFBIG).
 * Returns 1 when the buffer filled up (the file may go on), 0 at the end of the file. */
static int read_fd_into(int fd, char *buf, size_t size, size_t max, bool attribute, size_t *ret_size) {
        size_t n_read = 0;

        while (n_read < size) {
                ssize_t n = read(fd, buf + n_read, MIN(size - n_read, max + 1 - n_read));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                n_read += n;
                if (n_read > max)
                        return -EFBIG;
                /* A sysfs attribute comes whole in one read (kernfs formats it into one page, and a
                 * snapshot's regular file returns all it has): a short read is the end, and asking again
                 * only to hear it doubled the reads of a host load. /proc's seq files may stop early, so
                 * they are read to the end. */
                if (attribute && n_read < size)
                        break;
        }
        *ret_size = n_read;
        return n_read == size;
}

static int read_fd(int fd, size_t max, bool attribute, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, allocated = 0;
        char first[4096];
        int k;

        /* Callers keep what they read ("DMA\n", a driver name), and nearly every file is a line: read into
         * the stack first and allocate exactly what came. A buffer grown for read-ahead behind each kept
         * string (8 KiB, or a shrunk one whose freed tail fragments the heap) was most of the daemon's heap
         * on large hosts. Larger files continue on the heap. */
        k = read_fd_into(fd, first, sizeof(first), max, attribute, &size);
        if (k < 0)
                return k;
        if (k == 0) {
                buf = malloc(size + 1);
                if (!buf)
                        return -ENOMEM;
                memcpy(buf, first, size);
        } else {
                if (!GREEDY_REALLOC(buf, allocated, size + 4096 + 1))
                        return -ENOMEM;
                memcpy(buf, first, size);
                for (;;) {
                        ssize_t n;

                        if (!GREEDY_REALLOC(buf, allocated, MIN(size + 4096, max + 1) + 1))
                                return -ENOMEM;
                        n = read(fd, buf + size, MIN(allocated - size - 1, max + 1 - size));
                        if (n < 0) {
                                if (errno == EINTR)
                                        continue;
                                return -errno;
                        }
                        if (n == 0)
                                break;
                        size += n;
                        if (size > max)
                                return -EFBIG;
                }
        }
        buf[size] = 0;
        *ret = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = size;
        return 0;
}

/* The fd of relpath's directory from the cache, opening it when it is another one; -EBADF when there is
 * no cache or the directory cannot be opened (the caller then uses the absolute path, which reports the
 * error). The fd is opened by absolute path, so under umockdev it already points into the testbed and a
 * relative openat() from it needs no redirection. */
static int cached_dir_fd(const Reader *r, const char *relpath, const char **ret_name) {
        ResolveCache *c = r->cache;
        const char *slash = strrchr(relpath, '/');
        _cleanup_free_ char *dir = NULL;
        char p[PATH_MAX];
        int fd;

        if (!c || !slash)
                return -EBADF;
        if (c->dir && strlen(c->dir) == (size_t) (slash - relpath) && strncmp(c->dir, relpath, slash - relpath) == 0) {
                *ret_name = slash + 1;
                return c->dir_fd;
        }
        dir = strndup(relpath, slash - relpath);
        if (!dir || reader_path_buf(r, dir, p) < 0)
                return -EBADF;
        fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -EBADF;
        if (c->dir_fd >= 0)
                (void) close(c->dir_fd);
        free(c->dir);
        c->dir = TAKE_PTR(dir);
        c->dir_fd = fd;
        *ret_name = slash + 1;
        return fd;
}

static int reader_open(const Reader *r, const char *relpath, int flags) {
        char p[PATH_MAX];
        const char *name;
        int fd, dfd, k;

        dfd = cached_dir_fd(r, relpath, &name);
        if (dfd >= 0) {
                fd = openat(dfd, name, flags | O_CLOEXEC);
                return fd < 0 ? -errno : fd;
        }
        k = reader_path_buf(r, relpath, p);
        if (k < 0)
                return k;
        fd = open(p, flags | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return fd;
}

int reader_read_file(const Reader *r, const char *relpath, size_t max, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        int k;

        fd = reader_open(r, relpath, O_RDONLY | O_NOCTTY);
        if (fd < 0)
                return fd;
        k = read_fd(fd, max, startswith(relpath, "sys/") != NULL, ret, ret_size);
        if (k >= 0)
                reader_trace(r, relpath);
        return k;
}

int reader_read_line(const Reader *r, const char *relpath, char **ret) {
        char *buf, *nl;
        int k;

        k = reader_read_file(r, relpath, 64 * 1024, &buf, NULL);
        if (k < 0)
                return k;
        nl = strchr(buf, '\n');
        if (nl)
                *nl = 0;
        *ret = buf;
        return 0;
}

int reader_read_file_buf(const Reader *r, const char *relpath, char *buf, size_t size, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        bool attribute = startswith(relpath, "sys/") != NULL;
        size_t n = 0;
        int k;

        if (size == 0)
                return -EINVAL;
        fd = reader_open(r, relpath, O_RDONLY | O_NOCTTY);
        if (fd < 0)
                return fd;
        k = read_fd_into(fd, buf, size - 1, SIZE_MAX - 1, attribute, &n);
        if (k < 0)
                return k;
        if (k > 0) {
                char c;
                ssize_t l;

                /* Full: it fits only if nothing follows. */
                do
                        l = read(fd, &c, 1);
                while (l < 0 && errno == EINTR);
                if (l < 0)
                        return -errno;
                if (l > 0)
                        return -EFBIG;
        }
        buf[n] = 0;
        reader_trace(r, relpath);
        if (ret_size)
                *ret_size = n;
        return 0;
}

int reader_read_attr(const Reader *r, const char *relpath, char *buf, size_t size) {
        size_t n;
        char *nl;
        int k;

        k = reader_read_file_buf(r, relpath, buf, size, &n);
        if (k < 0)
                return k;
        nl = memchr(buf, '\n', n);
        if (nl)
                *nl = 0;
        return 0;
}

int reader_read_binary(const Reader *r, const char *relpath, size_t max, uint8_t **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ uint8_t *buf = NULL;
        size_t size = 0;

        fd = reader_open(r, relpath, O_RDONLY | O_NOCTTY);
        if (fd < 0)
                return fd;
        buf = malloc(MAX(max, (size_t) 1));
        if (!buf)
                return -ENOMEM;
        while (size < max) {
                ssize_t n = read(fd, buf + size, max - size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        /* Config space reads past what the caller may see fail with EIO/EPERM on
                         * some kernels instead of returning short: keep what was read. */
                        if (size > 0)
                                break;
                        return -errno;
                }
                if (n == 0)
                        break;
                size += n;
        }
        reader_trace(r, relpath);
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

/* readlink() into buf (NUL-terminated); a target that does not fit is -ENAMETOOLONG (sysfs targets are far
 * shorter than PATH_MAX). */
static int readlink_buf(const Reader *r, const char *relpath, char buf[static PATH_MAX]) {
        const char *slash = strrchr(relpath, '/'), *name = relpath;
        char p[PATH_MAX];
        int dfd = AT_FDCWD, k;
        ssize_t n;

        /* A link in the directory already open (a device's driver, iommu_group, iommu) is read relative to
         * it; any other is read by absolute path, without replacing the cached directory: the bus links
         * resolved between two devices would otherwise make every device directory be opened twice. */
        if (r->cache && r->cache->dir_fd >= 0 && slash && strlen(r->cache->dir) == (size_t) (slash - relpath) &&
            strncmp(r->cache->dir, relpath, slash - relpath) == 0) {
                dfd = r->cache->dir_fd;
                name = slash + 1;
        } else {
                k = reader_path_buf(r, relpath, p);
                if (k < 0)
                        return k;
                name = p;
        }
        n = readlinkat(dfd, name, buf, PATH_MAX);
        if (n < 0)
                return -errno;
        if (n >= PATH_MAX)
                return -ENAMETOOLONG;
        buf[n] = 0;
        return 0;
}

static int readlink_malloc(const Reader *r, const char *relpath, char **ret) {
        char buf[PATH_MAX];
        int k;

        k = readlink_buf(r, relpath, buf);
        if (k < 0)
                return k;
        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
}

int reader_readlink_untraced(const Reader *r, const char *relpath, char **ret) {
        return readlink_malloc(r, relpath, ret);
}

int reader_readlink(const Reader *r, const char *relpath, char **ret) {
        int k = readlink_malloc(r, relpath, ret);
        if (k >= 0)
                reader_trace(r, relpath);
        return k;
}

int reader_link_exists(const Reader *r, const char *relpath) {
        char buf[PATH_MAX];
        int k = readlink_buf(r, relpath, buf);
        if (k >= 0)
                reader_trace(r, relpath);
        return k;
}

int reader_readlink_basename(const Reader *r, const char *relpath, char **ret) {
        char target[PATH_MAX];
        const char *b;
        size_t l;
        int k;

        k = readlink_buf(r, relpath, target);
        if (k < 0)
                return k;
        reader_trace(r, relpath);
        strstrip_trailing(target);
        l = strlen(target);
        while (l > 1 && target[l - 1] == '/')
                target[--l] = 0;
        b = strrchr(target, '/');
        b = b ? b + 1 : target;
        if (isempty(b))
                return -EINVAL;
        *ret = strdup(b);
        return *ret ? 0 : -ENOMEM;
}

int reader_list_dir(const Reader *r, const char *relpath, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t n = 0, allocated = 0;
        char p[PATH_MAX];
        /* getdents64() into the stack rather than opendir(), whose 32 KiB buffer is a large-bin request:
         * each one made malloc consolidate its fast bins, 4% of a host load that lists a few thousand group
         * directories of one or two entries each. */
        alignas(struct dirent64) char buf[8192];
        int k;

        k = reader_path_buf(r, relpath, p);
        if (k < 0)
                return k;
        fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        for (;;) {
                ssize_t size = getdents64(fd, buf, sizeof(buf));

                if (size < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (size == 0)
                        break;
                for (ssize_t off = 0; off < size;) {
                        const struct dirent64 *de = (const struct dirent64 *) (buf + off);

                        off += de->d_reclen;
                        if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                                continue;
                        /* Grown geometrically, not with strv_extend(): sys/bus/pci/devices and iommu_groups
                         * hold thousands of entries on large hosts, and appending one by one is quadratic. */
                        if (!GREEDY_REALLOC(l, allocated, n + 2))
                                return -ENOMEM;
                        l[n] = strdup(de->d_name);
                        if (!l[n])
                                return -ENOMEM;
                        l[++n] = NULL;
                }
        }
        reader_trace(r, relpath);
        if (!l) {
                l = calloc(1, sizeof(char *));
                if (!l)
                        return -ENOMEM;
        }
        strv_sort(l);
        *ret = TAKE_PTR(l);
        return 0;
}

void reader_trace_entries(const Reader *r, const char *relpath, char *const *entries) {
        if (!r->trace)
                return;
        STRV_FOREACH(e, entries) {
                char p[PATH_MAX];
                if (path_join(p, sizeof(p), relpath, *e) >= 0)
                        reader_trace(r, p);
        }
}

/* Appends component c to the normalised relative path p (no leading or trailing slash), handling "." and
 * "..". Going above the root is -EXDEV. */
static int path_push(char *p, size_t size, const char *c, size_t cl) {
        size_t l = strlen(p);

        if (cl == 0 || (cl == 1 && c[0] == '.'))
                return 0;
        if (cl == 2 && c[0] == '.' && c[1] == '.') {
                char *s;
                if (l == 0)
                        return -EXDEV;
                s = strrchr(p, '/');
                if (s)
                        *s = 0;
                else
                        p[0] = 0;
                return 0;
        }
        if (l + 1 + cl + 1 > size)
                return -ENAMETOOLONG;
        if (l > 0)
                p[l++] = '/';
        memcpy(p + l, c, cl);
        p[l + cl] = 0;
        return 0;
}

void resolve_cache_done(ResolveCache *c) {
        for (unsigned i = 0; i < RESOLVE_CACHE_SLOTS; i++)
                free(c->real[i]);
        free(c->dir);
        if (c->dir_fd >= 0)
                (void) close(c->dir_fd);
        *c = RESOLVE_CACHE_INIT;
}

/* path is a known real directory, or an ancestor of one. */
static bool resolve_cache_has(const ResolveCache *c, const char *path) {
        size_t l = strlen(path);

        for (unsigned i = 0; c && i < RESOLVE_CACHE_SLOTS; i++)
                if (c->real[i] && strncmp(c->real[i], path, l) == 0 && IN_SET(c->real[i][l], '/', 0))
                        return true;
        return false;
}

static void resolve_cache_add(ResolveCache *c, const char *path) {
        char *copy;

        if (!c || resolve_cache_has(c, path))
                return;
        copy = strdup(path);
        if (!copy)
                return; /* only a cache */
        free(c->real[c->next]);
        c->real[c->next] = copy;
        c->next = (c->next + 1) % RESOLVE_CACHE_SLOTS;
}

int reader_resolve(const Reader *r, const char *relpath, char **ret) {
        /* Resolve component by component, so that every symlink met is read through the reader (and thus
         * traced for snapshots) and so that absolute link targets stay inside the root. */
        _cleanup_free_ char *todo = strdup(relpath);
        char done[PATH_MAX] = "";
        unsigned links = 0;

        if (!todo)
                return -ENOMEM;
        for (;;) {
                char *s = todo, *slash, *target = NULL, *next;
                size_t cl;
                struct stat st;
                char full[PATH_MAX];
                int k;

                while (*s == '/')
                        s++;
                if (!*s)
                        break;
                slash = strchr(s, '/');
                cl = slash ? (size_t) (slash - s) : strlen(s);

                k = path_push(done, sizeof(done), s, cl);
                if (k < 0)
                        return k;
                if (cl == 2 && s[0] == '.' && s[1] == '.') {
                        memmove(todo, s + cl, strlen(s + cl) + 1);
                        continue;
                }

                if (resolve_cache_has(r->cache, done)) {
                        memmove(todo, s + cl, strlen(s + cl) + 1);
                        continue;
                }
                k = reader_path_buf(r, done, full);
                if (k < 0)
                        return k;
                if (lstat(full, &st) < 0)
                        return -errno;
                if (!S_ISLNK(st.st_mode)) {
                        if (S_ISDIR(st.st_mode))
                                resolve_cache_add(r->cache, done);
                        memmove(todo, s + cl, strlen(s + cl) + 1);
                        continue;
                }
                if (++links > 32)
                        return -ELOOP;
                k = reader_readlink(r, done, &target);
                if (k < 0)
                        return k;
                /* Replace the link with its target: relative to the link's directory, or to the root. */
                {
                        char *dir_end = strrchr(done, '/');
                        if (target[0] == '/' || !dir_end)
                                done[0] = 0;
                        else
                                *dir_end = 0;
                }
                if (asprintf_safe(&next, "%s%s", target, s + cl) < 0) {
                        free(target);
                        return -ENOMEM;
                }
                free(target);
                free(todo);
                todo = next;
        }
        /* Every component of the result is real: its parent directory can be skipped next time. */
        {
                char *slash = strrchr(done, '/');
                if (slash) {
                        *slash = 0;
                        resolve_cache_add(r->cache, done);
                        *slash = '/';
                }
        }
        *ret = strdup(done);
        return *ret ? 0 : -ENOMEM;
}
