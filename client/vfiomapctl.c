/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <locale.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "host-json.h"
#include "util.h"
#include "vfiomapctl.h"

static const char *program_name = "vfiomapctl";

static void log_va(const char *prefix, const char *format, va_list ap) {
        fprintf(stderr, "%s: %s", program_name, prefix);
        vfprintf(stderr, format, ap);
        fputc('\n', stderr);
}

int log_error_errno(int error, const char *format, ...) {
        va_list ap;
        int saved = errno;

        /* Like systemd's, %m in format expands to the error's text. */
        errno = error < 0 ? -error : error;
        va_start(ap, format);
        log_va("", format, ap);
        va_end(ap);
        errno = saved;
        return error < 0 ? error : -error;
}

void log_warning(const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        log_va("warning: ", format, ap);
        va_end(ap);
}

static bool root_has(const char *root, const char *relpath) {
        _cleanup_free_ char *p = NULL;
        struct stat st;

        return asprintf_safe(&p, "%s/%s", root, relpath) >= 0 && stat(p, &st) >= 0 && S_ISDIR(st.st_mode);
}

/* --root names the directory holding sys/, proc/ and dev/, or a snapshot archive. An empty directory or
 * the sys/ directory itself would otherwise read as a host without PCI devices or IOMMU, which is a wrong
 * answer, not a missing one. */
static int context_prepare_root(Context *c) {
        _cleanup_free_ char *parent = NULL;
        const char *given = c->root;
        struct stat st;
        char *slash;
        int k;

        if (!c->root)
                return 0;
        if (stat(c->root, &st) < 0)
                return log_error_errno(errno, "Failed to read the host model from %s: %m", c->root);
        if (S_ISREG(st.st_mode)) {
                const char *dir;

                k = root_archive_unpack(c->root, &dir);
                if (k < 0)
                        return k;
                c->root = dir;
        } else if (!S_ISDIR(st.st_mode))
                return log_error_errno(ENOTDIR, "--root=%s is neither a directory nor a snapshot archive.",
                                       c->root);

        /* A host without PCI (some arm64 boards) still has sys/bus; only a tree without it is no sysfs. */
        if (root_has(c->root, "sys/bus/pci") || root_has(c->root, "sys/bus"))
                return 0;
        if (root_has(c->root, "bus/pci") && root_has(c->root, "kernel")) {
                /* The parent as a path the user can type: "host/sys/" -> "host", "sys" -> ".". */
                parent = strdup(c->root);
                if (!parent)
                        return log_error_errno(ENOMEM, "%m");
                while ((slash = strrchr(parent, '/')) && slash[1] == 0 && slash != parent)
                        *slash = 0;
                slash = strrchr(parent, '/');
                if (slash == parent)
                        parent[1] = 0;
                else if (slash)
                        *slash = 0;
                return log_error_errno(ENOENT,
                                       "%s is a sysfs tree itself, not the root above one: use --root=%s.",
                                       c->root, slash ? parent : ".");
        }
        if (given != c->root)
                return log_error_errno(ENOENT,
                                       "%s holds no sysfs: there is no sys/bus/pci in it. A snapshot "
                                       "archive holds sys/, proc/ and dev/ at its top.", given);
        return log_error_errno(ENOENT,
                               "%s holds no sysfs: there is no %s/sys/bus/pci. --root takes the directory "
                               "that holds sys/, proc/ and dev/ (/, a sample host, or a snapshot).", c->root,
                               c->root);
}

int context_load_host(Context *c, Host **ret) {
        int k;

        k = host_load(c->root ?: "/", ret);
        if (k < 0)
                return log_error_errno(k, "Failed to read the host model from %s: %m", c->root ?: "/");
        return 0;
}

int parse_address_arg(const char *arg, char ret[static PCI_ADDRESS_MAX]) {
        PciAddress a;

        if (pci_address_parse_user(arg, &a) < 0)
                return log_error_errno(EINVAL, PCI_ADDRESS_USER_ERROR ".", arg);
        pci_address_format(&a, ret);
        return 0;
}

int context_describe_parts(Context *c, unsigned parts, json_object **ret) {
        _cleanup_(host_freep) Host *h = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        int k;

        if (!c->root)
                return bus_describe(c, ret);
        k = context_load_host(c, &h);
        if (k < 0)
                return k;
        if (parts == DESCRIBE_ALL)
                o = host_to_json(h);
        else {
                /* Encoding the whole host to print one part of it was a third of `groups --json`. */
                o = json_object_new_object();
                if (o && (parts & DESCRIBE_DEVICES))
                        (void) json_object_object_add(o, "devices", host_devices_to_json(h));
                if (o && (parts & DESCRIBE_GROUPS))
                        (void) json_object_object_add(o, "groups", host_groups_to_json(h));
                if (o && (parts & DESCRIBE_IOMMU))
                        (void) json_object_object_add(o, "iommu", host_iommu_to_json(h));
        }
        if (!o)
                return log_error_errno(ENOMEM, "%m");
        *ret = TAKE_PTR(o);
        return 0;
}

int context_describe(Context *c, json_object **ret) {
        return context_describe_parts(c, DESCRIBE_ALL, ret);
}

int print_json(const Context *c, json_object *j) {
        int flags = c->json == JSON_SHORT ? JSON_C_TO_STRING_PLAIN
                                          : JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED;
        const char *s;

        s = json_object_to_json_string_ext(j, flags | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s) {
                json_object_put(j);
                return log_error_errno(ENOMEM, "Failed to format JSON: %m");
        }
        puts(s);
        json_object_put(j);
        return fflush(stdout) == 0 ? 0 : log_error_errno(errno, "Failed to write output: %m");
}

static int help(void) {
        printf("%s [OPTIONS...] COMMAND ...\n\n"
               "Inspect PCI devices, IOMMU groups and guest layouts for VFIO passthrough.\n\n"
               "Host commands:\n"
               "  devices                 List PCI devices with driver, group and IOMMU unit\n"
               "  device ADDRESS          Show one PCI device (BARs, windows, ACS, SR-IOV)\n"
               "  groups                  List IOMMU groups: members, reserved regions, viability\n"
               "  group NUMBER            Show one IOMMU group and why its members share it\n"
               "  iommu                   List IOMMU units with address width and interrupt remapping\n"
               "  snapshot DEST           Copy the files the model reads into DEST (a directory\n"
               "                          or a .tar.gz) for a bug report; replay with --root DEST\n"
               "\nDaemon and machine commands (ask vfiomapd):\n"
               "  status                  Show vfiomapd's state: host, IOMMU, libvirt, machines\n"
               "  machines                List the machines holding claims on IOMMU groups\n"
               "  machine NAME            Show one machine: groups, devices, users, layout, problems\n"
               "  claim NAME [FILE]       Claim the groups of a VM's devices (FILE: domain XML or JSON\n"
               "                          spec; without it, the libvirt domain NAME's XML)\n"
               "  release NAME            Give up a machine's claim\n"
               "  check-hotplug NAME ADDRESS\n"
               "                          Would hot-adding a device to a running machine work?\n"
               "  monitor                 Print vfiomapd's signals as they come, until Ctrl-C\n"
               "  bind-vfio ADDRESS|group N\n"
               "                          Bind every device of an IOMMU group to vfio-pci\n"
               "  unbind ADDRESS|group N  Give the group's devices back to their previous drivers\n"
               "\nVM commands:\n"
               "  layout FILE|NAME        Compute the guest physical layout of a VM from its libvirt\n"
               "                          domain XML or JSON spec (- for standard input), or of the\n"
               "                          libvirt domain NAME\n"
               "  apply NAME              Write the fewest recommended settings that make the layout\n"
               "                          fit into the libvirt domain NAME, showing the XML diff\n"
               "                          first (see --dry-run)\n"
               "  libvirt-hook GUEST OPERATION SUBOPERATION [EXTRA]\n"
               "                          The qemu hook: libvirt runs it with the domain XML on\n"
               "                          standard input (installed as hooks/qemu.d/50-vfiomap)\n"
               "\nOptions:\n"
               "  -h --help               Show this help\n"
               "     --version            Show the package version\n"
               "     --root=DIR|ARCHIVE   Read the host model from DIR (holding sys/, proc/, dev/)\n"
               "                          or a snapshot archive (.tar.gz) instead of asking\n"
               "                          vfiomapd (--root=/ reads this host's /sys, /proc, /dev)\n"
               "     --json=pretty|short  Print JSON (--json alone: pretty)\n"
               "     --no-legend          Print no header and no summary line\n"
               "     --svg=FILE           layout: also draw the address map as an SVG picture\n"
               "     --dry-run            apply: show the change, define nothing\n"
               "\nSee the vfiomapctl(1) man page for details.\n",
               program_name);
        return 0;
}

typedef struct Verb {
        const char *name;
        unsigned min_args, max_args; /* including the verb itself */
        VerbFunction run;
} Verb;

static const Verb verbs[] = {
        { "devices", 1, 1, verb_devices },
        { "device", 2, 2, verb_device },
        { "groups", 1, 1, verb_groups },
        { "group", 2, 2, verb_group },
        { "iommu", 1, 1, verb_iommu },
        { "snapshot", 2, 2, verb_snapshot },
        { "layout", 2, 2, verb_layout },
        { "status", 1, 1, verb_status },
        { "machines", 1, 1, verb_machines },
        { "machine", 2, 2, verb_machine },
        { "claim", 2, 3, verb_claim },
        { "release", 2, 2, verb_release },
        { "check-hotplug", 3, 3, verb_check_hotplug },
        { "monitor", 1, 1, verb_monitor },
        { "bind-vfio", 2, 3, verb_bind_vfio },
        { "unbind", 2, 3, verb_unbind },
        { "apply", 2, 2, verb_apply },
        { "libvirt-hook", 3, 5, verb_libvirt_hook },
};

static int parse_argv(int argc, char *argv[], Context *c) {
        enum {
                ARG_VERSION = 0x100,
                ARG_ROOT,
                ARG_JSON,
                ARG_NO_LEGEND,
                ARG_SVG,
                ARG_DRY_RUN,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "root", required_argument, NULL, ARG_ROOT },
                { "json", optional_argument, NULL, ARG_JSON },
                { "no-legend", no_argument, NULL, ARG_NO_LEGEND },
                { "svg", required_argument, NULL, ARG_SVG },
                { "dry-run", no_argument, NULL, ARG_DRY_RUN },
                {},
        };
        int opt;

        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        puts(PACKAGE_STRING);
                        return 0;
                case ARG_ROOT:
                        if (isempty(optarg))
                                return log_error_errno(EINVAL, "--root= needs a directory.");
                        c->root = optarg;
                        break;
                case ARG_JSON:
                        if (!optarg || streq(optarg, "pretty"))
                                c->json = JSON_PRETTY;
                        else if (streq(optarg, "short"))
                                c->json = JSON_SHORT;
                        else if (streq(optarg, "off"))
                                c->json = JSON_OFF;
                        else
                                return log_error_errno(EINVAL, "Unknown JSON mode \"%s\": use pretty, short or off.",
                                                       optarg);
                        break;
                case ARG_NO_LEGEND:
                        c->legend = false;
                        break;
                case ARG_SVG:
                        c->svg = optarg;
                        break;
                case ARG_DRY_RUN:
                        c->dry_run = true;
                        break;
                case '?':
                        return -EINVAL;
                default:
                        return log_error_errno(EINVAL, "Unhandled option %d.", opt);
                }
        return 1;
}

int main(int argc, char *argv[]) {
        Context c = { .legend = true };
        const char *name;
        int k;

        (void) setlocale(LC_ALL, "");
        k = parse_argv(argc, argv, &c);
        if (k <= 0)
                return k < 0 ? EXIT_USAGE : EXIT_SUCCESS;

        k = context_prepare_root(&c);
        if (k < 0)
                return EXIT_FAILURE;

        argc -= optind;
        argv += optind;
        name = argc > 0 ? argv[0] : NULL;
        if (!name) {
                log_error_errno(EINVAL, "A command is needed; see --help.");
                return EXIT_USAGE;
        }
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                const Verb *v = verbs + i;

                if (!streq(v->name, name))
                        continue;
                if ((unsigned) argc < v->min_args) {
                        log_error_errno(EINVAL, "Too few arguments for \"%s\"; see --help.", name);
                        return EXIT_USAGE;
                }
                if ((unsigned) argc > v->max_args) {
                        log_error_errno(EINVAL, "Too many arguments for \"%s\"; see --help.", name);
                        return EXIT_USAGE;
                }
                k = v->run(argc, argv, &c);
                /* Verbs return a negative errno on failure or a non-negative exit status. */
                return k < 0 ? EXIT_FAILURE : k;
        }
        log_error_errno(EINVAL, "Unknown command \"%s\"; see --help.", name);
        return EXIT_USAGE;
}
