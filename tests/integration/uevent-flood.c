/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* uevent-flood ROUNDS [ACTION DEVPATH]...: sends uevents the way udevd re-broadcasts them, on the netlink
 * multicast group of udev (2), ROUNDS times over the list given, as fast as the socket takes them. Prints
 * the number sent.
 *
 * For test-uevent-storm.sh, which runs it as root in a network namespace of its own beside a vfiomapd
 * started with --follow-uevents: multicast netlink reaches only the sockets of the same namespace, so
 * nothing else on the machine sees these events. sd-device accepts messages on the udev group from any
 * sender whose credentials say uid 0; this sends the kernel's format ("ACTION@DEVPATH", then KEY=VALUE
 * strings), which sd-device takes like udevd's ("libudev" header) and passes through its subsystem filter in
 * user space. */

#include "util.h"

#include <linux/netlink.h>
#include <sys/socket.h>

#define MONITOR_GROUP_UDEV 2U

int main(int argc, char *argv[]) {
        struct sockaddr_nl dest = { .nl_family = AF_NETLINK, .nl_groups = MONITOR_GROUP_UDEV };
        struct sockaddr_nl self = { .nl_family = AF_NETLINK };
        unsigned long rounds, sent = 0, seqnum = 1;
        int fd;

        if (argc < 4 || (argc - 2) % 2 != 0) {
                fprintf(stderr, "usage: %s ROUNDS ACTION DEVPATH [ACTION DEVPATH]...\n", argv[0]);
                return 2;
        }
        rounds = strtoul(argv[1], NULL, 10);

        fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
        if (fd < 0 || bind(fd, (struct sockaddr *) &self, sizeof(self)) < 0) {
                perror("netlink socket");
                return 1;
        }
        for (unsigned long r = 0; r < rounds; r++)
                for (int i = 2; i + 1 < argc; i += 2) {
                        char buf[2048];
                        const char *action = argv[i], *devpath = argv[i + 1];
                        int l;

                        /* lib/kobject_uevent.c: the summary, then the environment, every string NUL-ended.
                         */
                        l = snprintf(
                                buf,
                                sizeof(buf),
                                "%s@%s%cACTION=%s%cDEVPATH=%s%cSUBSYSTEM=pci%cSEQNUM=%lu%c",
                                action,
                                devpath,
                                0,
                                action,
                                0,
                                devpath,
                                0,
                                0,
                                seqnum++,
                                0);
                        if (l < 0 || (size_t) l >= sizeof(buf))
                                return 1;
                        /* A multicast send succeeds whether or not a listener's queue had room: overflowing
                         * them is the point. ECONNREFUSED only says that nobody listened. */
                        if (sendto(fd, buf, (size_t) l, 0, (struct sockaddr *) &dest, sizeof(dest)) < 0 &&
                            errno != ECONNREFUSED) {
                                perror("sendto");
                                return 1;
                        }
                        sent++;
                }
        printf("%lu\n", sent);
        return 0;
}
