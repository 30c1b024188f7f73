/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Replays a fuzzer's seed corpus through its LLVMFuzzerTestOneInput() as a TAP test, so every build checks
 * what libFuzzer builds fuzz. Each seed also runs truncated at every length and with bits flipped: the
 * parsers take a length and must stop there, and most bugs sit next to a valid input. Every seed runs in
 * its own process so a crash is one "not ok" line naming the seed, not a dead test program.
 *
 * Usage: fuzz-NAME [FILE|DIR...]; without arguments the corpus is $top_srcdir/tests/fuzz/corpus/fuzz-NAME
 * (the build tree's source directory when top_srcdir is not set). In --enable-fuzzing builds libFuzzer
 * owns main(): with arguments the program is a plain libFuzzer binary, and without any it replays its
 * corpus as here, which is what "make check" runs. */

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fuzz.h"
#include "util.h"

#ifndef FUZZ_CORPUS_DIR
#define FUZZ_CORPUS_DIR "tests/fuzz/corpus"
#endif

#define SEED_SIZE_MAX (1024 * 1024)
/* Below this size every truncation and every bit flip is tried; above it, evenly spaced ones. */
#define EXHAUSTIVE_SIZE_MAX 4096
#define BIT_FLIPS_MAX 8192

static unsigned tap_number;

/* A fresh exact-size copy for every run: an over-read then leaves the allocation, where ASan sees it. */
static void run_one(const uint8_t *data, size_t size) {
        uint8_t *copy = malloc(size ? size : 1);

        if (!copy)
                abort();
        memcpy(copy, data, size);
        (void) LLVMFuzzerTestOneInput(copy, size);
        free(copy);
}

static uint64_t replay_seed(const uint8_t *data, size_t size) {
        size_t step = size <= EXHAUSTIVE_SIZE_MAX ? 1 : size / EXHAUSTIVE_SIZE_MAX + 1;
        uint64_t runs = 0;
        uint8_t *m;

        run_one(data, size);
        runs++;

        for (size_t l = 0; l < size; l += step, runs++)
                run_one(data, l);

        if (size == 0)
                return runs;
        m = malloc(size);
        if (!m)
                abort();
        memcpy(m, data, size);
        if (size * 8 <= BIT_FLIPS_MAX)
                for (size_t bit = 0; bit < size * 8; bit++, runs++) {
                        m[bit / 8] ^= (uint8_t) (1u << (bit % 8));
                        run_one(m, size);
                        m[bit / 8] ^= (uint8_t) (1u << (bit % 8));
                }
        else
                /* One bit per chosen byte, walking through the bit positions as the bytes go by. */
                for (size_t i = 0; i < size; i += step, runs++) {
                        m[i] ^= (uint8_t) (1u << (i % 8));
                        run_one(m, size);
                        m[i] ^= (uint8_t) (1u << (i % 8));
                }
        free(m);
        return runs;
}

static int read_seed(const char *path, uint8_t **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ uint8_t *buf = NULL;
        size_t size = 0;
        struct stat st;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EISDIR;
        if (st.st_size > SEED_SIZE_MAX)
                return -EFBIG;
        buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        while (size < (size_t) st.st_size) {
                ssize_t n = read(fd, buf + size, (size_t) st.st_size - size);

                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                size += (size_t) n;
        }
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

/* Runs one seed in a child and prints its TAP line; returns false when it failed. */
static bool replay_file(const char *path) {
        _cleanup_free_ uint8_t *data = NULL;
        uint64_t runs = 0;
        size_t size = 0;
        int fds[2], status, r;
        pid_t pid;

        tap_number++;
        r = read_seed(path, &data, &size);
        if (r < 0) {
                printf("not ok %u - %s: cannot read: %s\n", tap_number, path, strerror(-r));
                return false;
        }

        if (getenv("FUZZ_REPLAY_NO_FORK")) {
                /* For a debugger: a crash ends the whole run. */
                runs = replay_seed(data, size);
                printf("ok %u - %s: %zu bytes, %" PRIu64 " runs\n", tap_number, path, size, runs);
                return true;
        }

        if (pipe2(fds, O_CLOEXEC) < 0) {
                printf("not ok %u - %s: pipe: %s\n", tap_number, path, strerror(errno));
                return false;
        }
        fflush(stdout);
        pid = fork();
        if (pid < 0) {
                printf("not ok %u - %s: fork: %s\n", tap_number, path, strerror(errno));
                return false;
        }
        if (pid == 0) {
                (void) close(fds[0]);
                runs = replay_seed(data, size);
                if (write(fds[1], &runs, sizeof(runs)) != sizeof(runs))
                        _exit(EXIT_FAILURE);
                /* exit(), not _exit(): LeakSanitizer checks at exit. */
                exit(EXIT_SUCCESS);
        }
        (void) close(fds[1]);
        if (read(fds[0], &runs, sizeof(runs)) != sizeof(runs))
                runs = 0;
        (void) close(fds[0]);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        printf("not ok %u - %s: waitpid: %s\n", tap_number, path, strerror(errno));
                        return false;
                }

        if (WIFSIGNALED(status)) {
                printf("not ok %u - %s: killed by signal %d (%s); rerun with FUZZ_REPLAY_NO_FORK=1\n",
                       tap_number, path, WTERMSIG(status), strsignal(WTERMSIG(status)));
                return false;
        }
        if (WEXITSTATUS(status) != 0) {
                printf("not ok %u - %s: exit status %d (sanitizer report above)\n", tap_number, path,
                       WEXITSTATUS(status));
                return false;
        }
        printf("ok %u - %s: %zu bytes, %" PRIu64 " runs\n", tap_number, path, size, runs);
        return true;
}

static int collect(const char *path, char ***files) {
        _cleanup_strv_free_ char **names = NULL;
        struct dirent *de;
        struct stat st;
        DIR *d;

        if (stat(path, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode))
                return strv_extend(files, path);

        d = opendir(path);
        if (!d)
                return -errno;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.' && strv_extend(&names, de->d_name) < 0) {
                        (void) closedir(d);
                        return -ENOMEM;
                }
        (void) closedir(d);
        /* Sorted, so TAP numbers name the same seeds on every run. */
        strv_sort(names);
        STRV_FOREACH(n, names)
                if (strv_extendf(files, "%s/%s", path, *n) < 0)
                        return -ENOMEM;
        return 0;
}

static int fuzz_replay_main(int argc, char **argv) {
        _cleanup_strv_free_ char **files = NULL;
        _cleanup_free_ char *corpus = NULL;
        const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
        bool failed = false;
        int r;

        if (argc > 1)
                for (int i = 1; i < argc; i++) {
                        r = collect(argv[i], &files);
                        if (r < 0) {
                                printf("Bail out! %s: %s\n", argv[i], strerror(-r));
                                return EXIT_FAILURE;
                        }
                }
        else {
                const char *top = getenv("top_srcdir");

                if (top ? asprintf_safe(&corpus, "%s/tests/fuzz/corpus/%s", top, name) < 0
                        : asprintf_safe(&corpus, "%s/%s", FUZZ_CORPUS_DIR, name) < 0)
                        return EXIT_FAILURE;
                r = collect(corpus, &files);
                if (r < 0) {
                        printf("Bail out! no seed corpus for %s at %s: %s\n", name, corpus, strerror(-r));
                        return EXIT_FAILURE;
                }
        }
        if (strv_length(files) == 0) {
                printf("Bail out! no seed inputs for %s\n", name);
                return EXIT_FAILURE;
        }

        STRV_FOREACH(f, files)
                if (!replay_file(*f))
                        failed = true;
        printf("1..%u\n", tap_number);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#ifdef FUZZ_LIBFUZZER
/* libFuzzer calls this before it starts; without arguments there is nothing for it to do but the replay. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
        if (*argc > 1)
                return 0;
        fflush(stderr);
        exit(fuzz_replay_main(*argc, *argv));
}
#else
int main(int argc, char **argv) {
        return fuzz_replay_main(argc, argv);
}
#endif
