/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vfiomapctl snapshot: copy exactly the files the host model reads into a directory or a .tar.gz, with
 * symlinks recreated as the kernel laid them out, so `--root DEST` replays the host anywhere. */

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "util.h"
#include "vfiomapctl.h"

static int mkdir_p(const char *path) {
        char buf[PATH_MAX];
        size_t l = strlen(path);

        if (l >= sizeof(buf))
                return -ENAMETOOLONG;
        memcpy(buf, path, l + 1);
        for (char *p = buf + 1; *p; p++)
                if (*p == '/') {
                        *p = 0;
                        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                                return -errno;
                        *p = '/';
                }
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int copy_file(const char *src, const char *dst) {
        _cleanup_close_ int in = -EBADF, out = -EBADF;
        char buf[8192];
        ssize_t n;

        in = open(src, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (in < 0)
                return -errno;
        out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (out < 0)
                return -errno;
        for (;;) {
                n = read(in, buf, sizeof(buf));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        /* Config space beyond what we may read: the model kept what it got, so do we. */
                        break;
                }
                if (n == 0)
                        break;
                if (write(out, buf, n) != n)
                        return errno ? -errno : -EIO;
        }
        return 0;
}

/* Replicates one root-relative path: every directory on the way, every symlink met (and what it points
 * to, resolved inside the root), and the final file's contents. */
static int replicate(const char *src_root, const char *dst_root, const char *relpath) {
        char done[PATH_MAX] = "", todo[PATH_MAX];
        unsigned links = 0;

        if (strlen(relpath) >= sizeof(todo))
                return -ENAMETOOLONG;
        strcpy(todo, relpath);

        for (;;) {
                char *s = todo, src[PATH_MAX * 2], dst[PATH_MAX * 2], target[PATH_MAX];
                struct stat st;
                size_t cl, dl;
                ssize_t tl;
                bool last;

                while (*s == '/')
                        s++;
                if (!*s)
                        return 0;
                cl = strcspn(s, "/");
                last = s[cl] == 0 || strspn(s + cl, "/") == strlen(s + cl);
                if (cl == 2 && s[0] == '.' && s[1] == '.') {
                        char *slash = strrchr(done, '/');
                        if (!done[0])
                                return -EXDEV;
                        if (slash)
                                *slash = 0;
                        else
                                done[0] = 0;
                        memmove(todo, s + cl, strlen(s + cl) + 1);
                        continue;
                }
                if (cl == 1 && s[0] == '.') {
                        memmove(todo, s + cl, strlen(s + cl) + 1);
                        continue;
                }
                dl = strlen(done);
                if (dl + 1 + cl >= sizeof(done))
                        return -ENAMETOOLONG;
                if (dl > 0)
                        done[dl++] = '/';
                memcpy(done + dl, s, cl);
                done[dl + cl] = 0;
                memmove(todo, s + cl, strlen(s + cl) + 1);

                (void) snprintf(src, sizeof(src), "%s/%s", src_root, done);
                (void) snprintf(dst, sizeof(dst), "%s/%s", dst_root, done);
                if (lstat(src, &st) < 0)
                        return -errno;

                if (S_ISLNK(st.st_mode)) {
                        tl = readlink(src, target, sizeof(target) - 1);
                        if (tl < 0)
                                return -errno;
                        target[tl] = 0;
                        if (symlink(target, dst) < 0 && errno != EEXIST)
                                return -errno;
                        /* A link read for itself (driver, iommu_group, /proc/PID/fd/N) ends here; one
                         * passed through continues in its target, inside the root. */
                        if (last)
                                return 0;
                        if (++links > 32)
                                return -ELOOP;
                        {
                                char next[PATH_MAX * 2];
                                char *slash = strrchr(done, '/');

                                if (target[0] == '/' || !slash)
                                        done[0] = 0;
                                else
                                        *slash = 0;
                                if ((size_t) snprintf(next, sizeof(next), "%s%s", target, todo) >= sizeof(todo))
                                        return -ENAMETOOLONG;
                                strcpy(todo, next);
                        }
                        continue;
                }
                if (S_ISDIR(st.st_mode)) {
                        if (mkdir(dst, 0755) < 0 && errno != EEXIST)
                                return -errno;
                        continue;
                }
                if (!last)
                        return -ENOTDIR;
                if (S_ISREG(st.st_mode))
                        return copy_file(src, dst);
                /* Device nodes (/dev/vfio/N) become empty files: the model only lists them. */
                {
                        int fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
                        if (fd < 0)
                                return -errno;
                        (void) close(fd);
                }
                return 0;
        }
}

static int remove_tree(const char *path) {
        DIR *d = opendir(path);
        struct dirent *de;

        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                char p[PATH_MAX * 2];
                struct stat st;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                (void) snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
                if (lstat(p, &st) >= 0 && S_ISDIR(st.st_mode))
                        (void) remove_tree(p);
                else
                        (void) unlink(p);
        }
        (void) closedir(d);
        return rmdir(path) < 0 ? -errno : 0;
}

static int path_compare(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int run_tar(const char *dir, const char *dest) {
        pid_t pid;
        int status;

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                execlp("tar", "tar", "--sort=name", "-C", dir, "-czf", dest, ".", (char *) NULL);
                _exit(127);
        }
        if (waitpid(pid, &status, 0) < 0)
                return -errno;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return -EIO;
        return 0;
}

int verb_snapshot(int argc, char *argv[], Context *c) {
        _cleanup_(host_freep) Host *h = NULL;
        _cleanup_(path_list_done) HostTrace trace = {};
        _cleanup_free_ char *tmp = NULL;
        const char *dest = argv[1], *src_root = c->root ?: "/", *into;
        bool tarball = endswith(dest, ".tar.gz") || endswith(dest, ".tgz");
        size_t copied = 0, failed = 0;
        int k;

        k = host_load_traced(src_root, &trace, &h);
        if (k < 0)
                return log_error_errno(k, "Failed to read the host model from %s: %m", src_root);

        if (tarball) {
                tmp = strdup("/tmp/vfiomap-snapshot.XXXXXX");
                if (!tmp || !mkdtemp(tmp))
                        return log_error_errno(errno ?: ENOMEM, "Failed to create a temporary directory: %m");
                into = tmp;
        } else {
                struct stat st;
                if (lstat(dest, &st) >= 0) {
                        DIR *d = opendir(dest);
                        struct dirent *de;
                        bool empty = true;
                        if (!d)
                                return log_error_errno(errno, "%s exists and is not a directory: %m", dest);
                        while ((de = readdir(d)))
                                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                                        empty = false;
                        (void) closedir(d);
                        if (!empty)
                                return log_error_errno(EEXIST, "%s exists and is not empty; refusing to mix hosts.",
                                                       dest);
                }
                k = mkdir_p(dest);
                if (k < 0)
                        return log_error_errno(k, "Failed to create %s: %m", dest);
                into = dest;
        }

        /* The trace may hold a path many times (a link is read once per file behind it). */
        if (trace.n > 1)
                qsort(trace.paths, trace.n, sizeof(char *), path_compare);
        for (size_t i = 0; i < trace.n; i++) {
                if (i > 0 && streq(trace.paths[i], trace.paths[i - 1]))
                        continue;
                k = replicate(src_root, into, trace.paths[i]);
                if (k < 0) {
                        /* Gone since it was read (a process exited, a device was unplugged). */
                        log_warning("Could not copy %s: %s", trace.paths[i], strerror(-k));
                        failed++;
                } else
                        copied++;
        }

        if (tarball) {
                k = run_tar(into, dest);
                (void) remove_tree(tmp);
                if (k < 0)
                        return log_error_errno(k, "Failed to write %s with tar: %m", dest);
        }
        fprintf(stderr, "Copied %zu files and links (%zu devices, %zu groups, %zu IOMMU units) to %s%s.\n", copied,
                h->n_devices, h->n_groups, h->n_units, dest, failed ? ", some could not be copied" : "");
        return failed ? EXIT_FAILURE : 0;
}
