/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"
#include "manager.h"

#include <getopt.h>
#include <locale.h>

static int help(void) {
        printf("%s [OPTIONS...]\n\n"
               "Serve the host's PCI devices, IOMMU groups and VM claims on the system bus\n"
               "as " VFIOMAP_BUS_NAME ".\n\n"
               "  -h --help               Show this help\n"
               "     --version            Show the package version\n"
               "     --root=DIR           Serve the host tree in DIR (a snapshot or sample host) instead\n"
               "                          of this host; no uevents, and calls that would change the\n"
               "                          host are refused\n"
               "     --runtime-dir=DIR    Keep the claims in DIR (default: $RUNTIME_DIRECTORY or\n"
               "                          /run/vfiomap)\n"
               "     --libvirt-uri=URI    Follow the running domains of this libvirt (default:\n"
               "                          qemu:///system; with --root only when given)\n"
               "     --no-libvirt         Do not watch libvirt: claims come from Claim() only\n"
               "     --follow-uevents     With --root, follow uevents all the same, re-reading the\n"
               "                          devices they name in DIR (for tests that send their own)\n"
               "     --debug              Log debug messages\n",
               program_invocation_short_name);
        return 0;
}

static int parse_argv(int argc, char *argv[], Manager *m) {
        enum {
                ARG_VERSION = 0x100,
                ARG_ROOT,
                ARG_RUNTIME_DIR,
                ARG_LIBVIRT_URI,
                ARG_NO_LIBVIRT,
                ARG_FOLLOW_UEVENTS,
                ARG_DEBUG,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "root", required_argument, NULL, ARG_ROOT },
                { "runtime-dir", required_argument, NULL, ARG_RUNTIME_DIR },
                { "libvirt-uri", required_argument, NULL, ARG_LIBVIRT_URI },
                { "no-libvirt", no_argument, NULL, ARG_NO_LIBVIRT },
                { "follow-uevents", no_argument, NULL, ARG_FOLLOW_UEVENTS },
                { "debug", no_argument, NULL, ARG_DEBUG },
                {},
        };
        int opt;

        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (opt) {
                case 'h': return help();
                case ARG_VERSION: puts(PACKAGE_STRING); return 0;
                case ARG_ROOT:
                        if (isempty(optarg))
                                return log_error_errno(EINVAL, "--root= needs a directory.");
                        free(m->root);
                        m->root = strdup(optarg);
                        if (!m->root)
                                return log_oom();
                        break;
                case ARG_RUNTIME_DIR:
                        if (isempty(optarg))
                                return log_error_errno(EINVAL, "--runtime-dir= needs a directory.");
                        free(m->runtime_dir);
                        m->runtime_dir = strdup(optarg);
                        if (!m->runtime_dir)
                                return log_oom();
                        break;
                case ARG_LIBVIRT_URI:
                        if (isempty(optarg))
                                return log_error_errno(EINVAL, "--libvirt-uri= needs a URI.");
                        free(m->libvirt_uri);
                        m->libvirt_uri = strdup(optarg);
                        if (!m->libvirt_uri)
                                return log_oom();
                        m->no_libvirt = false;
                        break;
                case ARG_NO_LIBVIRT: m->no_libvirt = true; break;
                case ARG_FOLLOW_UEVENTS: m->follow_uevents = true; break;
                case ARG_DEBUG: log_set_max_level(LOG_DEBUG); break;
                case '?': return -EINVAL;
                default: return log_error_errno(EINVAL, "Unhandled option %d.", opt);
                }
        if (optind < argc)
                return log_error_errno(EINVAL, "%s takes no arguments.", program_invocation_short_name);
        return 1;
}

int main(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int k;

        (void) setlocale(LC_ALL, "");
        k = manager_new(&m);
        if (k < 0)
                return log_error_errno(k, "Failed to allocate the manager: %m"), EXIT_FAILURE;
        k = parse_argv(argc, argv, m);
        if (k <= 0)
                return k < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        k = manager_load(m);
        if (k < 0)
                return EXIT_FAILURE;
        k = manager_startup(m);
        if (k < 0)
                return EXIT_FAILURE;
        k = manager_run(m);
        return k < 0 ? EXIT_FAILURE : k;
}
