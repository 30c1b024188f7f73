/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* --root ARCHIVE: a snapshot as `vfiomapctl snapshot host.tar.gz` writes it, replayed without unpacking it
 * by hand. tar unpacks it into a private temporary directory, removed at exit and on the signals that end
 * a command-line tool; the host model then reads that directory as any other root.
 *
 * tar, not libarchive: the snapshot is written with tar (client/snapshot.c), so the client already needs
 * it, and libarchive would be a new build dependency for one verb. The archive is outside input, so its
 * listing is checked before anything is unpacked: no absolute names, no "..", nothing but regular files,
 * directories and links (a device node in a tree the model reads would be read as a sysfs file). GNU tar
 * also defers symlinks that point outside the directory until the end of the extraction, so no member is
 * written through one. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"
#include "vfiomapctl.h"

/* The directory to remove, for atexit() and the signal handlers: process state of the client, never of the
 * library. */
static char archive_dir[PATH_MAX];

/* Removes what is below dirfd, then nothing else: only async-signal-safe calls (openat, getdents64,
 * unlinkat, close), because a signal handler runs it too. Depth is bounded: a snapshot's deepest path is a
 * PCI hierarchy, some 20 levels. */
static void remove_below(int dirfd, unsigned depth) {
        alignas(struct dirent64) char buf[4096];

        if (depth > 64)
                return;
        for (;;) {
                ssize_t size = getdents64(dirfd, buf, sizeof(buf));
                bool removed = false;

                if (size <= 0)
                        return;
                for (ssize_t off = 0; off < size;) {
                        const struct dirent64 *de = (const struct dirent64 *) (buf + off);
                        int fd;

                        off += de->d_reclen;
                        if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                                continue;
                        if (unlinkat(dirfd, de->d_name, 0) >= 0) {
                                removed = true;
                                continue;
                        }
                        fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (fd < 0)
                                continue;
                        remove_below(fd, depth + 1);
                        (void) close(fd);
                        if (unlinkat(dirfd, de->d_name, AT_REMOVEDIR) >= 0)
                                removed = true;
                }
                /* Entries removed while listing: list again from the start, as rm does. */
                if (removed)
                        (void) lseek(dirfd, 0, SEEK_SET);
        }
}

static void archive_dir_remove(void) {
        int fd;

        if (!archive_dir[0])
                return;
        fd = open(archive_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
                remove_below(fd, 0);
                (void) close(fd);
        }
        (void) rmdir(archive_dir);
        archive_dir[0] = 0;
}

static void archive_dir_remove_on_signal(int sig) {
        archive_dir_remove();
        /* Die of the signal, as without the handler, so the caller sees it. */
        (void) signal(sig, SIG_DFL);
        (void) raise(sig);
}

/* Runs tar with argv, its standard output into *ret (NUL-terminated) when ret is not NULL. */
static int run_tar(char *const argv[], char **ret) {
        _cleanup_free_ char *out = NULL;
        size_t size = 0, allocated = 0;
        int pipefd[2] = { -1, -1 }, status;
        pid_t pid;

        if (ret && pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                int e = errno;
                if (ret) {
                        (void) close(pipefd[0]);
                        (void) close(pipefd[1]);
                }
                return -e;
        }
        if (pid == 0) {
                if (ret && dup2(pipefd[1], STDOUT_FILENO) < 0)
                        _exit(127);
                execvp("tar", argv);
                _exit(127);
        }
        if (ret) {
                (void) close(pipefd[1]);
                for (;;) {
                        ssize_t n;

                        if (!GREEDY_REALLOC(out, allocated, size + 4097)) {
                                (void) close(pipefd[0]);
                                (void) kill(pid, SIGKILL);
                                (void) waitpid(pid, NULL, 0);
                                return -ENOMEM;
                        }
                        n = read(pipefd[0], out + size, 4096);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0)
                                break;
                        size += (size_t) n;
                }
                (void) close(pipefd[0]);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (!WIFEXITED(status) || WEXITSTATUS(status) == 127)
                return -ENOEXEC;
        if (WEXITSTATUS(status) != 0)
                return -EBADMSG;
        if (ret) {
                out[size] = 0;
                *ret = TAKE_PTR(out);
        }
        return 0;
}

/* A member name that would land outside the directory. */
static bool member_name_unsafe(const char *name) {
        if (name[0] == '/')
                return true;
        for (const char *p = name; p;) {
                const char *slash = strchr(p, '/');
                size_t l = slash ? (size_t) (slash - p) : strlen(p);

                if (l == 2 && p[0] == '.' && p[1] == '.')
                        return true;
                p = slash ? slash + 1 : NULL;
        }
        return false;
}

/* Checks tar's listing: names (one per line, GNU tar escapes newlines in them) and the verbose listing,
 * whose first column is the member type. */
static int check_listing(const char *archive, char *names, const char *verbose) {
        char *line, *next;

        for (line = names; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                if (member_name_unsafe(line))
                        return log_error_errno(EPERM, "%s holds the member \"%s\", which points outside the "
                                               "directory it is unpacked into; refusing it.", archive, line);
        }
        for (const char *l = verbose; l && *l;) {
                const char *nl = strchr(l, '\n');

                /* "-" file, "d" directory, "l" symbolic link, "h" hard link. */
                if (!strchr("-dlh", *l))
                        return log_error_errno(EPERM, "%s holds a member that is no file, directory or link "
                                               "(\"%.*s\"); a snapshot has none, refusing it.", archive,
                                               (int) (nl ? nl - l : (ptrdiff_t) strlen(l)), l);
                l = nl ? nl + 1 : NULL;
        }
        return 0;
}

int root_archive_unpack(const char *archive, const char **ret_dir) {
        _cleanup_free_ char *names = NULL, *verbose = NULL;
        static const int signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE };
        const char *tmpdir = getenv("TMPDIR");
        /* -P: list names as stored; without it tar strips what we look for ("/", "../") before we see it. */
        char *list_argv[] = { (char *) "tar", (char *) "-tPf", (char *) archive, NULL };
        char *verbose_argv[] = { (char *) "tar", (char *) "-tvPf", (char *) archive, NULL };
        int k;

        if (archive_dir[0])
                return log_error_errno(EBUSY, "Only one --root archive at a time.");
        if ((size_t) snprintf(archive_dir, sizeof(archive_dir), "%s/vfiomapctl-root.XXXXXX",
                              isempty(tmpdir) ? "/tmp" : tmpdir) >= sizeof(archive_dir))
                return log_error_errno(ENAMETOOLONG, "$TMPDIR is too long.");
        if (!mkdtemp(archive_dir)) {
                k = -errno;
                archive_dir[0] = 0;
                return log_error_errno(k, "Failed to create a temporary directory for %s: %m", archive);
        }
        /* From here on the directory goes away however the process ends, short of SIGKILL. */
        if (atexit(archive_dir_remove) != 0) {
                archive_dir_remove();
                return log_error_errno(ENOMEM, "%m");
        }
        for (size_t i = 0; i < ELEMENTSOF(signals); i++) {
                struct sigaction sa = { .sa_handler = archive_dir_remove_on_signal };
                (void) sigaction(signals[i], &sa, NULL);
        }

        k = run_tar(list_argv, &names);
        if (k >= 0)
                k = run_tar(verbose_argv, &verbose);
        if (k == -ENOEXEC)
                return log_error_errno(k, "Failed to run tar to read %s: is tar installed?", archive);
        if (k == -EBADMSG)
                return log_error_errno(k, "%s is not a directory, and tar cannot read it as an archive "
                                       "(see tar's message above).", archive);
        if (k < 0)
                return log_error_errno(k, "Failed to list %s: %m", archive);
        k = check_listing(archive, names, verbose);
        if (k < 0)
                return k;

        {
                char *extract_argv[] = { (char *) "tar", (char *) "-xf", (char *) archive, (char *) "-C",
                                         archive_dir, (char *) "--no-same-owner",
                                         (char *) "--no-same-permissions", NULL };

                k = run_tar(extract_argv, NULL);
        }
        if (k < 0)
                return log_error_errno(k, "Failed to unpack %s with tar: %m", archive);
        *ret_dir = archive_dir;
        return 0;
}
