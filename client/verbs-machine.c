/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* status, machines, machine NAME, claim NAME [FILE], release NAME, check-hotplug NAME ADDRESS: vfiomapd's
 * state and its claims. These need the daemon: claims exist only there. */

#include "json-util.h"
#include "table.h"
#include "util.h"
#include "vfiomapctl.h"
#include "vmspec.h"

#include <inttypes.h>
#include <systemd/sd-bus.h>
#include <time.h>

static int need_daemon(const Context *c, const char *verb) {
        if (c->root)
                return log_error_errno(
                        EINVAL, "\"%s\" asks vfiomapd: claims exist only there (drop --root).", verb);
        return 0;
}

static const char *format_time(uint64_t usec, char buf[static 64]) {
        time_t t = (time_t) (usec / 1000000);
        struct tm tm;

        if (usec == 0 || !localtime_r(&t, &tm) || strftime(buf, 64, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                return "-";
        return buf;
}

static char *join_json_array(json_object *a, const char *separator) {
        _cleanup_free_ char *s = strdup("");

        for (size_t i = 0; s && i < jlen(a); i++) {
                char *n = NULL;
                if (asprintf_safe(
                            &n, "%s%s%s", s, i > 0 ? separator : "", json_object_get_string(jidx(a, i))) < 0)
                        return NULL;
                free(s);
                s = n;
        }
        return TAKE_PTR(s);
}

/* ---- status ---- */

static int get_property(sd_bus *bus, const char *name, char type, void *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        char t[2] = { type, 0 };
        int k;

        k = sd_bus_get_property(
                bus, VFIOMAP_SERVICE, VFIOMAP_PATH, VFIOMAP_MANAGER, name, &error, &reply, t);
        if (k < 0)
                return log_bus_error(&error, k, name);
        if (type == 's') {
                const char *s;
                k = sd_bus_message_read(reply, "s", &s);
                if (k >= 0) {
                        *(char **) ret = strdup(s);
                        if (!*(char **) ret)
                                k = -ENOMEM;
                }
        } else
                k = sd_bus_message_read_basic(reply, type, ret);
        return k < 0 ? log_error_errno(k, "Failed to read %s: %m", name) : 0;
}

int verb_status(int argc, char *argv[], Context *c) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(json_object_putp) json_object *state = NULL;
        _cleanup_free_ char *version = NULL, *root = NULL, *intremap = NULL, *libvirt = NULL;
        uint32_t n_devices = 0, n_groups = 0;
        int width = -1, read_only = 0, connected = 0, k;
        json_object *machines, *o;

        k = need_daemon(c, "status");
        if (k < 0)
                return k;
        k = bus_open(c, &bus);
        if (k < 0)
                return k;
        if ((k = get_property(bus, "Version", 's', &version)) < 0 ||
            (k = get_property(bus, "Root", 's', &root)) < 0 ||
            (k = get_property(bus, "ReadOnly", 'b', &read_only)) < 0 ||
            (k = get_property(bus, "NDevices", 'u', &n_devices)) < 0 ||
            (k = get_property(bus, "NGroups", 'u', &n_groups)) < 0 ||
            (k = get_property(bus, "IommuAddressWidth", 'i', &width)) < 0 ||
            (k = get_property(bus, "InterruptRemapping", 's', &intremap)) < 0 ||
            (k = get_property(bus, "LibvirtURI", 's', &libvirt)) < 0 ||
            (k = get_property(bus, "LibvirtConnected", 'b', &connected)) < 0)
                return k;
        k = bus_call_json(c, bus, "Describe", &state, NULL);
        if (k < 0)
                return k;
        machines = jget(state, "machines");

        if (c->json) {
                o = json_object_new_object();
                if (!o)
                        return log_error_errno(ENOMEM, "%m");
                (void) json_object_object_add(o, "version", json_object_new_string(version));
                (void) json_object_object_add(o, "root", json_object_new_string(root));
                (void) json_object_object_add(o, "read_only", json_object_new_boolean(read_only));
                (void) json_object_object_add(o, "devices", json_object_new_int64(n_devices));
                (void) json_object_object_add(o, "groups", json_object_new_int64(n_groups));
                (void) json_object_object_add(
                        o, "iommu_address_width", width >= 0 ? json_object_new_int(width) : NULL);
                (void) json_object_object_add(o, "interrupt_remapping", json_object_new_string(intremap));
                (void) json_object_object_add(
                        o, "libvirt_uri", isempty(libvirt) ? NULL : json_object_new_string(libvirt));
                (void) json_object_object_add(o, "libvirt_connected", json_object_new_boolean(connected));
                (void) json_object_object_add(o, "machines", json_object_get(machines));
                return print_json(c, o);
        }

        /* Labels right-aligned on the colon, like hostnamectl's. */
        printf("%15s vfiomapd %s\n", "Daemon:", version);
        printf("%15s %s%s\n", "Host:", root, read_only ? " (a host tree: read-only)" : "");
        printf("%15s %" PRIu32 "\n", "Devices:", n_devices);
        printf("%15s %" PRIu32 "\n", "IOMMU groups:", n_groups);
        if (width > 0)
                printf("%15s %d bits\n", "IOMMU width:", width);
        else
                printf("%15s unknown\n", "IOMMU width:");
        printf("%15s %s\n", "Int. remapping:", intremap);
        if (isempty(libvirt))
                printf("%15s not watched\n", "libvirt:");
        else
                printf("%15s %s (%s)\n",
                       "libvirt:",
                       libvirt,
                       connected ? "connected" : "not connected, retrying");
        printf("%15s %zu\n", "Machines:", jlen(machines));
        for (size_t i = 0; i < jlen(machines); i++) {
                json_object *mo = jidx(machines, i);
                _cleanup_free_ char *groups = join_json_array(jget(mo, "groups"), ",");

                printf("%15s %s (%s, group%s %s)\n",
                       "",
                       jstr(mo, "machine"),
                       jstr(mo, "state"),
                       jlen(jget(mo, "groups")) == 1 ? "" : "s",
                       strna(groups));
        }
        return 0;
}

/* ---- machines, machine ---- */

static int describe_machines(Context *c, json_object **ret_state, json_object **ret_machines) {
        int k;

        k = need_daemon(c, "machines");
        if (k < 0)
                return k;
        k = context_describe(c, ret_state);
        if (k < 0)
                return k;
        *ret_machines = jget(*ret_state, "machines");
        return 0;
}

int verb_machines(int argc, char *argv[], Context *c) {
        _cleanup_(json_object_putp) json_object *state = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        json_object *machines;
        int k;

        k = describe_machines(c, &state, &machines);
        if (k < 0)
                return k;
        if (c->json)
                return print_json(c, json_object_get(machines));

        t = table_new("MACHINE", "STATE", "GROUPS", "DEVICES", "CLAIMED", "VERDICT", NULL);
        if (!t)
                return log_error_errno(ENOMEM, "%m");
        for (size_t i = 0; i < jlen(machines); i++) {
                json_object *mo = jidx(machines, i);
                _cleanup_free_ char *groups = join_json_array(jget(mo, "groups"), ",");
                _cleanup_free_ char *devices = join_json_array(jget(mo, "devices"), ",");
                char when[64];

                if (table_add_row(
                            t,
                            jstr(mo, "machine"),
                            jstr(mo, "state"),
                            groups,
                            devices,
                            format_time((uint64_t) json_object_get_int64(jget(mo, "claimed_at")), when),
                            jstr(jget(mo, "layout"), "verdict")) < 0)
                        return log_error_errno(ENOMEM, "%m");
        }
        if (table_rows(t) > 0)
                (void) table_print(t, stdout, c->legend);
        if (c->legend)
                printf("%s%zu %s listed.\n",
                       table_rows(t) > 0 ? "\n" : "",
                       table_rows(t),
                       table_rows(t) == 1 ? "machine" : "machines");
        return 0;
}

int verb_machine(int argc, char *argv[], Context *c) {
        _cleanup_(json_object_putp) json_object *state = NULL;
        json_object *machines, *mo = NULL, *layout, *a;
        char when[64];
        int k;

        k = describe_machines(c, &state, &machines);
        if (k < 0)
                return k;
        for (size_t i = 0; i < jlen(machines) && !mo; i++)
                if (streq_ptr(jstr(jidx(machines, i), "machine"), argv[1]))
                        mo = jidx(machines, i);
        if (!mo)
                return log_error_errno(
                        ENOENT, "No machine %s has a claim (\"vfiomapctl machines\" lists them).", argv[1]);
        if (c->json)
                return print_json(c, json_object_get(mo));

        layout = jget(mo, "layout");
        printf("%s\n", jstr(mo, "machine"));
        printf("    State: %s\n", jstr(mo, "state"));
        printf("  Claimed: %s\n",
               format_time((uint64_t) json_object_get_int64(jget(mo, "claimed_at")), when));
        a = jget(mo, "groups");
        printf("   Groups:");
        for (size_t i = 0; i < jlen(a); i++)
                printf(" %s", json_object_get_string(jidx(a, i)));
        printf("\n  Devices:");
        a = jget(mo, "devices");
        for (size_t i = 0; i < jlen(a); i++)
                printf(" %s", json_object_get_string(jidx(a, i)));
        printf("\n    Users:");
        a = jget(mo, "users");
        for (size_t i = 0; i < jlen(a); i++) {
                const char *comm = jstr(jidx(a, i), "comm");

                printf(" pid %s (%s%sgroup %s)",
                       strna(json_object_get_string(jget(jidx(a, i), "pid"))),
                       comm ?: "",
                       comm ? ", " : "",
                       strna(json_object_get_string(jget(jidx(a, i), "group"))));
        }
        if (jlen(a) == 0)
                printf(" -");
        printf("\n  Verdict: %s\n", strna(jstr(layout, "verdict")));
        a = jget(mo, "problems");
        for (size_t i = 0; i < jlen(a); i++)
                printf("  Problem: %s\n", json_object_get_string(jidx(a, i)));
        a = jget(layout, "problems");
        for (size_t i = 0; i < jlen(a); i++)
                printf("   Layout: %s: %s\n",
                       strna(jstr(jidx(a, i), "severity")),
                       strna(jstr(jidx(a, i), "message")));
        a = jget(layout, "recommendations");
        for (size_t i = 0; i < jlen(a); i++)
                printf("  Advice:  %s\n", strna(jstr(jidx(a, i), "summary")));
        return 0;
}

/* ---- claim, release, check-hotplug ---- */

static int verdict_exit_status(const char *verdict) {
        if (streq_ptr(verdict, "ok"))
                return EXIT_SUCCESS;
        if (streq_ptr(verdict, "warning"))
                return EXIT_VERDICT_WARNING;
        return EXIT_VERDICT_ERROR;
}

/* A file's VM description is parsed here first, so that a bad one gets the message "layout FILE" gives
 * (verb-layout.c words it the same way: "FILE: what is wrong"), not the bus's: a document that is not
 * UTF-8 cannot even be sent. */
static int claim_check_spec(const char *path, const char *spec, size_t size) {
        _cleanup_(vmspec_freep) VmSpec *s = NULL;
        _cleanup_free_ char *error = NULL;
        int r;

        r = vmspec_parse(spec, size, &s, &error);
        if (r == -ENOMEM)
                return log_error_errno(r, "Failed to parse %s: %m", path);
        if (r < 0)
                return log_error_errno(
                        r, "%s: %s", streq(path, "-") ? "<stdin>" : path, error ?: "cannot be parsed");
        return 0;
}

/* The reasons vfiomapd gives for refusing a claim because the VM does not fit this host, as opposed to
 * failing to ask it (no daemon, no permission, a spec it cannot read). */
static bool claim_error_is_misfit(const sd_bus_error *e) {
        return sd_bus_error_has_names(
                e,
                "org.vfiomap1.Error.LayoutError",
                "org.vfiomap1.Error.GroupNotViable",
                "org.vfiomap1.Error.GroupOwned",
                "org.vfiomap1.Error.DeviceNotFound",
                "org.vfiomap1.Error.NoIommuGroup");
}

int verb_claim(int argc, char *argv[], Context *c) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_object_putp) json_object *layout = NULL;
        _cleanup_free_ char *spec = NULL;
        const char *text;
        size_t size = 0;
        int k;

        k = need_daemon(c, "claim");
        if (k < 0)
                return k;
        if (argc > 2) {
                k = read_input(argv[2], &spec, &size);
                if (k < 0)
                        return log_error_errno(k, "Failed to read %s: %m", argv[2]);
                k = claim_check_spec(argv[2], spec, size);
                if (k < 0)
                        return k;
        } else {
                /* Without a file: the domain's definition as libvirt has it. */
                k = libvirt_domain_xml(argv[1], 0, &spec);
                if (k < 0)
                        return k;
        }
        k = bus_open(c, &bus);
        if (k < 0)
                return k;
        k = sd_bus_call_method(
                bus,
                VFIOMAP_SERVICE,
                VFIOMAP_PATH,
                VFIOMAP_MANAGER,
                "Claim",
                &error,
                &reply,
                "ss",
                argv[1],
                spec);
        if (k < 0 && claim_error_is_misfit(&error) && error.message) {
                /* vfiomapd names every reason, one a line, those nothing but the host can fix first. */
                const char *p = error.message;
                log_error_errno(k, "%s cannot claim its IOMMU groups:", argv[1]);
                while (*p) {
                        size_t l = strcspn(p, "\n");
                        log_error_errno(k, "  %.*s", (int) l, p);
                        p += l + (p[l] == '\n');
                }
                return EXIT_VERDICT_ERROR;
        }
        if (k < 0)
                return log_bus_error(&error, k, "Claim");
        k = sd_bus_message_read(reply, "s", &text);
        if (k < 0)
                return log_error_errno(k, "Failed to read vfiomapd's reply: %m");
        layout = json_tokener_parse(text);
        if (!layout)
                return log_error_errno(EBADMSG, "vfiomapd sent invalid JSON.");
        k = verdict_exit_status(jstr(layout, "verdict"));
        if (c->json) {
                int r = print_json(c, TAKE_PTR(layout));
                return r < 0 ? r : k;
        }
        printf("%s claimed its IOMMU groups; layout verdict: %s.\n",
               argv[1],
               strna(jstr(layout, "verdict")));
        return k;
}

int verb_release(int argc, char *argv[], Context *c) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int k;

        k = need_daemon(c, "release");
        if (k < 0)
                return k;
        k = bus_open(c, &bus);
        if (k < 0)
                return k;
        k = sd_bus_call_method(
                bus, VFIOMAP_SERVICE, VFIOMAP_PATH, VFIOMAP_MANAGER, "Release", &error, NULL, "s", argv[1]);
        if (k < 0)
                return log_bus_error(&error, k, "Release");
        return EXIT_SUCCESS;
}

int verb_check_hotplug(int argc, char *argv[], Context *c) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(json_object_putp) json_object *result = NULL;
        json_object *problems;
        char address[PCI_ADDRESS_MAX];
        bool warnings = false;
        int k;

        k = need_daemon(c, "check-hotplug");
        if (k >= 0)
                k = parse_address_arg(argv[2], address);
        if (k < 0)
                return k;
        k = bus_open(c, &bus);
        if (k < 0)
                return k;
        k = bus_call_json(c, bus, "CheckHotplug", &result, "ss", argv[1], address);
        if (k < 0)
                return k;
        problems = jget(result, "problems");
        for (size_t i = 0; i < jlen(problems); i++)
                warnings = warnings || !streq_ptr(jstr(jidx(problems, i), "severity"), "info");
        k = !jbool(result, "possible") ? EXIT_VERDICT_ERROR : warnings ? EXIT_VERDICT_WARNING : EXIT_SUCCESS;
        if (c->json) {
                int r = print_json(c, TAKE_PTR(result));
                return r < 0 ? r : k;
        }
        if (jbool(result, "assigned")) {
                /* possible is false: a second attach of a device the VM holds is refused by libvirt. */
                printf("Hot-adding %s (IOMMU group %s) to %s: not needed, %s already has it.\n",
                       jstr(result, "device"),
                       strna(json_object_get_string(jget(result, "group"))),
                       jstr(result, "machine"),
                       jstr(result, "machine"));
                return k;
        }
        printf("Hot-adding %s (IOMMU group %s) to %s: %s\n",
               jstr(result, "device"),
               strna(json_object_get_string(jget(result, "group"))),
               jstr(result, "machine"),
               jbool(result, "possible") ? (warnings ? "possible, with warnings" : "possible")
                                         : "NOT possible");
        for (size_t i = 0; i < jlen(problems); i++)
                printf("  %s: %s\n",
                       strna(jstr(jidx(problems, i), "severity")),
                       strna(jstr(jidx(problems, i), "message")));
        return k;
}
