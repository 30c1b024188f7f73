/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-bus [--clients N] [--seconds S] [--rounds R] [--layout-device BDF]: round trips per second of
 * vfiomapd's queries on $DBUS_SYSTEM_BUS_ADDRESS, beside two floors measured in the same run:
 *
 *   GetId        org.freedesktop.DBus.GetId, answered by the bus itself: the smallest round trip any
 *                service on this bus can have;
 *   Echo(N)      a trivial service (a child of this program) that returns N bytes as "ay", N being the size
 *                of ListGroups' reply: what moving that payload through the same bus costs, with no work
 *                behind it.
 *
 * N clients (separate processes, one connection each) call back to back for S seconds; the figure is the
 * sum of their round trips divided by S. Every measurement is repeated R times, interleaved with the
 * others (round 1 of each, round 2 of each, ...) so that a noisy neighbour hurts them alike. Output, one
 * line per query: NAME CLIENTS MEDIAN MIN MAX (round trips per second), then "listgroups_bytes N". */

#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include "util.h"

#define ECHO_NAME "org.vfiomap1.BenchEcho"
#define ECHO_PATH "/org/vfiomap1/bench"
#define ECHO_IFACE "org.vfiomap1.BenchEcho"

static unsigned arg_clients = 1, arg_rounds = 5;
static double arg_seconds = 1.0;
static const char *arg_layout_device;

typedef struct Query {
        const char *name;
        const char *dest, *path, *iface, *member, *sig;
        const char *s_arg;
        uint32_t u_arg;
        bool skip;
        double rates[64];
} Query;

static uint64_t now_usec(void) {
        struct timespec ts;
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

static int call(sd_bus *bus, const Query *q, sd_bus_message **ret) {
        if (!q->sig)
                return sd_bus_call_method(bus, q->dest, q->path, q->iface, q->member, NULL, ret, NULL);
        if (streq(q->sig, "u"))
                return sd_bus_call_method(bus, q->dest, q->path, q->iface, q->member, NULL, ret, "u", q->u_arg);
        return sd_bus_call_method(bus, q->dest, q->path, q->iface, q->member, NULL, ret, "s", q->s_arg);
}

/* D-Bus marshalling (the specification's "Marshaling" section): the bytes ListGroups' a(uasbso) body takes,
 * so that Echo can move exactly as many. */
static size_t align_to(size_t n, size_t a) {
        return (n + a - 1) / a * a;
}

static int listgroups_body_size(sd_bus_message *m, size_t *ret) {
        size_t n = 4; /* the array length */
        int k;

        k = sd_bus_message_enter_container(m, 'a', "(uasbso)");
        if (k < 0)
                return k;
        while ((k = sd_bus_message_enter_container(m, 'r', "uasbso")) > 0) {
                const char *s, *p;
                uint32_t u;
                int b;

                k = sd_bus_message_read(m, "u", &u);
                if (k < 0)
                        return k;
                n = align_to(n, 8) + 4;                 /* struct, u */
                n = align_to(n, 4) + 4;                 /* as length */
                k = sd_bus_message_enter_container(m, 'a', "s");
                if (k < 0)
                        return k;
                while ((k = sd_bus_message_read(m, "s", &s)) > 0)
                        n = align_to(n, 4) + 4 + strlen(s) + 1;
                if (k < 0)
                        return k;
                (void) sd_bus_message_exit_container(m);
                k = sd_bus_message_read(m, "bso", &b, &s, &p);
                if (k < 0)
                        return k;
                n = align_to(n, 4) + 4;
                n = align_to(n, 4) + 4 + strlen(s) + 1;
                n = align_to(n, 4) + 4 + strlen(p) + 1;
                (void) sd_bus_message_exit_container(m);
        }
        if (k < 0)
                return k;
        *ret = n;
        return 0;
}

/* ---- the echo service ---- */

static uint8_t *echo_buf;

static int method_echo(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        uint32_t n;
        int k;

        k = sd_bus_message_read(message, "u", &n);
        if (k < 0)
                return k;
        k = sd_bus_message_new_method_return(message, &reply);
        if (k < 0)
                return k;
        k = sd_bus_message_append_array(reply, 'y', echo_buf, n);
        if (k < 0)
                return k;
        return sd_bus_send(NULL, reply, NULL);
}

/* UNPRIVILEGED, as vfiomapd's methods are: without it sd-bus checks the caller for CAP_SYS_ADMIN, which
 * on a system bus costs a GetConnectionCredentials round trip to dbus-daemon on every call (so Echo was
 * slower than ListGroups with the same reply, callgrind on dbus-daemon showed why). */
static const sd_bus_vtable echo_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Echo", "u", "ay", method_echo, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static _Noreturn void run_echo(size_t max, int ready_fd) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;

        echo_buf = calloc(1, MAX(max, (size_t) 1));
        if (!echo_buf || sd_bus_open_system(&bus) < 0 ||
            sd_bus_add_object_vtable(bus, NULL, ECHO_PATH, ECHO_IFACE, echo_vtable, NULL) < 0 ||
            sd_bus_request_name(bus, ECHO_NAME, 0) < 0)
                _exit(EXIT_FAILURE);
        (void) write(ready_fd, "x", 1);
        (void) close(ready_fd);
        for (;;) {
                int k = sd_bus_process(bus, NULL);
                if (k < 0)
                        _exit(EXIT_FAILURE);
                if (k == 0 && sd_bus_wait(bus, UINT64_MAX) < 0)
                        _exit(EXIT_FAILURE);
        }
}

/* ---- the clients ---- */

/* One client: waits for the start byte, calls for arg_seconds, writes its count. */
static _Noreturn void run_client(const Query *q, int start_fd, int result_fd) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        uint64_t n = 0, end;
        char c;

        if (sd_bus_open_system(&bus) < 0 || read(start_fd, &c, 1) != 1)
                _exit(EXIT_FAILURE);
        end = now_usec() + (uint64_t) (arg_seconds * 1e6);
        while (now_usec() < end) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                if (call(bus, q, &reply) < 0)
                        _exit(EXIT_FAILURE);
                n++;
        }
        (void) write(result_fd, &n, sizeof(n));
        _exit(EXIT_SUCCESS);
}

/* Round trips per second of all clients together, negative errno when a call failed. */
static double measure(const Query *q) {
        int start[2], result[2];
        pid_t pids[64];
        uint64_t total = 0, n;
        bool failed = false;

        if (pipe2(start, O_CLOEXEC) < 0 || pipe2(result, O_CLOEXEC) < 0)
                return -errno;
        for (unsigned i = 0; i < arg_clients; i++) {
                pids[i] = fork();
                if (pids[i] < 0)
                        return -errno;
                if (pids[i] == 0)
                        run_client(q, start[0], result[1]);
        }
        (void) close(start[0]);
        (void) close(result[1]);
        /* Every client connected (the connection costs are not part of the figure): give them a moment,
         * then start them together. */
        (void) usleep(200 * 1000);
        for (unsigned i = 0; i < arg_clients; i++)
                (void) write(start[1], "x", 1);
        (void) close(start[1]);
        for (unsigned i = 0; i < arg_clients; i++) {
                if (read(result[0], &n, sizeof(n)) != sizeof(n))
                        failed = true;
                else
                        total += n;
        }
        (void) close(result[0]);
        for (unsigned i = 0; i < arg_clients; i++) {
                int status;
                (void) waitpid(pids[i], &status, 0);
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        failed = true;
        }
        return failed ? -EIO : (double) total / arg_seconds;
}

static int compare_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static int help(void) {
        printf("%s [--clients N] [--seconds S] [--rounds R] [--layout-device BDF]\n\n"
               "Round trips per second of vfiomapd's queries beside the bus's own floor, on\n"
               "$DBUS_SYSTEM_BUS_ADDRESS.\n",
               program_invocation_short_name);
        return 0;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "clients", required_argument, NULL, 'c' },
                { "seconds", required_argument, NULL, 's' },
                { "rounds", required_argument, NULL, 'r' },
                { "layout-device", required_argument, NULL, 'l' },
                {},
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *groups = NULL;
        _cleanup_free_ char *spec = NULL;
        size_t bytes = 0;
        int ready[2], opt, k;
        pid_t echo_pid;
        char c;

        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (opt) {
                case 'h': return help();
                case 'c': arg_clients = (unsigned) atoi(optarg); break;
                case 's': arg_seconds = atof(optarg); break;
                case 'r': arg_rounds = (unsigned) atoi(optarg); break;
                case 'l': arg_layout_device = optarg; break;
                default: return EXIT_FAILURE;
                }
        if (arg_clients < 1 || arg_clients > 64 || arg_rounds < 1 || arg_rounds > 64 || arg_seconds <= 0) {
                fprintf(stderr, "--clients 1..64, --rounds 1..64, --seconds > 0\n");
                return EXIT_FAILURE;
        }
        if (!getenv("DBUS_SYSTEM_BUS_ADDRESS")) {
                fprintf(stderr, "Run on a private bus (tests/bench/run sets one up).\n");
                return EXIT_FAILURE;
        }
        k = sd_bus_open_system(&bus);
        if (k >= 0)
                k = sd_bus_call_method(bus, "org.vfiomap1", "/org/vfiomap1", "org.vfiomap1.Manager", "ListGroups",
                                       NULL, &groups, NULL);
        if (k >= 0)
                k = listgroups_body_size(groups, &bytes);
        if (k < 0) {
                fprintf(stderr, "ListGroups failed: %s\n", strerror(-k));
                return EXIT_FAILURE;
        }
        if (arg_layout_device)
                (void) asprintf_safe(&spec,
                                     "{\"name\": \"bench\", \"machine\": \"pc-q35-8.2\", \"memory\": \"16G\", "
                                     "\"hostdevs\": [{\"address\": \"%s\"}]}",
                                     arg_layout_device);

        if (pipe2(ready, O_CLOEXEC) < 0)
                return EXIT_FAILURE;
        echo_pid = fork();
        if (echo_pid < 0)
                return EXIT_FAILURE;
        if (echo_pid == 0) {
                (void) close(ready[0]);
                run_echo(bytes, ready[1]);
        }
        (void) close(ready[1]);
        if (read(ready[0], &c, 1) != 1) {
                fprintf(stderr, "The echo service did not start.\n");
                return EXIT_FAILURE;
        }
        (void) close(ready[0]);

        Query queries[] = {
                { "GetId", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetId" },
                { "Echo", ECHO_NAME, ECHO_PATH, ECHO_IFACE, "Echo", "u", .u_arg = (uint32_t) bytes },
                { "ListGroups", "org.vfiomap1", "/org/vfiomap1", "org.vfiomap1.Manager", "ListGroups" },
                { "ComputeLayout", "org.vfiomap1", "/org/vfiomap1", "org.vfiomap1.Manager", "ComputeLayout", "s",
                  .s_arg = spec, .skip = !spec },
                { "Describe", "org.vfiomap1", "/org/vfiomap1", "org.vfiomap1.Manager", "Describe" },
        };

        /* A query that fails once (no such device for the layout) is left out rather than timed. */
        for (size_t i = 0; i < ELEMENTSOF(queries); i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                if (!queries[i].skip && call(bus, &queries[i], &reply) < 0) {
                        fprintf(stderr, "%s fails, not measured\n", queries[i].name);
                        queries[i].skip = true;
                }
        }
        for (unsigned r = 0; r < arg_rounds; r++)
                for (size_t i = 0; i < ELEMENTSOF(queries); i++)
                        if (!queries[i].skip)
                                queries[i].rates[r] = measure(&queries[i]);

        for (size_t i = 0; i < ELEMENTSOF(queries); i++) {
                Query *q = &queries[i];
                if (q->skip) {
                        printf("%s %u - - -\n", q->name, arg_clients);
                        continue;
                }
                qsort(q->rates, arg_rounds, sizeof(double), compare_double);
                printf("%s %u %.0f %.0f %.0f\n",
                       q->name,
                       arg_clients,
                       arg_rounds % 2 ? q->rates[arg_rounds / 2]
                                      : (q->rates[arg_rounds / 2 - 1] + q->rates[arg_rounds / 2]) / 2,
                       q->rates[0],
                       q->rates[arg_rounds - 1]);
        }
        printf("listgroups_bytes %zu\n", bytes);
        (void) kill(echo_pid, SIGTERM);
        (void) waitpid(echo_pid, NULL, 0);
        return EXIT_SUCCESS;
}
