/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfiomapctl layout FILE: the guest physical layout of one VM on this host, from its libvirt domain XML or
 * JSON spec, computed by vfiomapd (offline under --root, or when no vfiomapd runs). The exit status carries
 * the verdict so hooks and scripts need not parse the output. */

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "host-json.h"
#include "json-util.h"
#include "layout.h"
#include "util.h"
#include "vfiomapctl.h"
#include "vmspec.h"

/* Reads FILE ("-" for stdin) up to one byte more than a spec may have, so an oversized input is told
 * apart from one that fits exactly. */
int read_input(const char *path, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, max = VMSPEC_INPUT_MAX + 1;

        if (streq(path, "-"))
                fd = dup(STDIN_FILENO);
        else
                fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        buf = malloc(max + 1);
        if (!buf)
                return -ENOMEM;
        while (size < max) {
                ssize_t n = read(fd, buf + size, max - size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                size += (size_t) n;
        }
        if (size > VMSPEC_INPUT_MAX)
                return -EFBIG;
        buf[size] = 0;
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

static int write_svg(const char *path, const char *svg) {
        _cleanup_fclose_ FILE *f = NULL;

        f = streq(path, "-") ? fdopen(dup(STDOUT_FILENO), "w") : fopen(path, "we");
        if (!f)
                return -errno;
        if (fputs(svg, f) < 0 || fflush(f) != 0)
                return errno > 0 ? -errno : -EIO;
        return 0;
}

/* An argument that can only be a file: a path, or a name ending the way domain descriptions do. Such a
 * name that does not exist is a missing file to report as one, not a libvirt domain to ask for (whose
 * connection error would hide the typo). */
static bool names_file(const char *arg) {
        return strchr(arg, '/') || endswith(arg, ".xml") || endswith(arg, ".json");
}

static int verdict_exit_status(Verdict v) {
        switch (v) {
        case VERDICT_OK: return EXIT_SUCCESS;
        case VERDICT_WARNING: return EXIT_VERDICT_WARNING;
        default: return EXIT_VERDICT_ERROR;
        }
}

static int verdict_string_exit_status(const char *verdict) {
        if (streq_ptr(verdict, "ok"))
                return EXIT_SUCCESS;
        if (streq_ptr(verdict, "warning"))
                return EXIT_VERDICT_WARNING;
        return EXIT_VERDICT_ERROR;
}

/* Prints what the layout verb prints, from vfiomapd's rendering: the report, the JSON, the SVG. */
static int print_rendered(Context *c, const char *json, const char *report, const char *svg) {
        _cleanup_(json_object_putp) json_object *j = NULL;
        enum json_tokener_error jerr;
        int r;

        j = json_tokener_parse_verbose(json, &jerr);
        if (!j)
                return log_error_errno(
                        EBADMSG, "vfiomapd sent an invalid layout: %s", json_tokener_error_desc(jerr));
        if (c->svg) {
                r = write_svg(c->svg, svg);
                if (r < 0)
                        return log_error_errno(r, "Failed to write %s: %m", c->svg);
        }
        r = verdict_string_exit_status(jstr(j, "verdict"));
        if (c->json != JSON_OFF) {
                int k = print_json(c, TAKE_PTR(j));
                return k < 0 ? k : r;
        }
        if (!(c->svg && streq(c->svg, "-")) && (fputs(report, stdout) < 0 || fflush(stdout) != 0))
                return log_error_errno(errno > 0 ? -errno : -EIO, "Failed to write the report: %m");
        return r;
}

/* Without --root, the layout comes from vfiomapd, as claim and apply get it: the daemon's model is the
 * one they act on, and it is complete where a client run by a user other than root would read zeroed BARs
 * and short config space. Returns an exit status, negative errno after logging, or -ENXIO (not logged)
 * when no vfiomapd answers, so that the caller can read / itself. */
static int layout_from_daemon(Context *c, const char *spec) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *json, *report, *svg;
        int k;

        k = bus_connect(c, &bus);
        if (k >= 0)
                k = sd_bus_call_method(
                        bus,
                        VFIOMAP_SERVICE,
                        VFIOMAP_PATH,
                        VFIOMAP_MANAGER,
                        "RenderLayout",
                        &error,
                        &reply,
                        "st",
                        spec,
                        (uint64_t) (c->svg ? VFIOMAP_RENDER_LAYOUT_SVG : 0));
        if (k < 0) {
                /* An older vfiomapd has no RenderLayout: as good as none for this. */
                if (bus_error_is_daemon_missing(&error, k) ||
                    sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_METHOD))
                        return -ENXIO;
                return log_bus_error(&error, k, "RenderLayout");
        }
        k = sd_bus_message_read(reply, "sss", &json, &report, &svg);
        if (k < 0)
                return log_error_errno(k, "Failed to read vfiomapd's reply: %m");
        return print_rendered(c, json, report, svg);
}

int verb_layout(int argc, char *argv[], Context *c) {
        _cleanup_(host_freep) Host *h = NULL;
        _cleanup_(vmspec_freep) VmSpec *spec = NULL;
        _cleanup_(layout_freep) Layout *l = NULL;
        _cleanup_free_ char *input = NULL, *error = NULL, *svg = NULL;
        const char *path = argv[1];
        size_t size = 0;
        int r;

        r = read_input(path, &input, &size);
        if (r == -ENOENT && !names_file(path)) {
                _cleanup_free_ char *why = NULL;

                /* Not a file: a libvirt domain of that name, as libvirt has it now (live when it runs). When
                 * that fails too, both lookups are the answer: the user may have meant either. */
                r = libvirt_domain_xml_error(path, 0, &input, &why);
                if (r < 0)
                        return log_error_errno(r, "%s is neither a file (no such file here) nor a libvirt "
                                               "domain (%s).", path, why ?: strerror(-r));
                size = strlen(input);
        } else if (r == -EFBIG)
                return log_error_errno(r, "%s is larger than %u bytes; that is no VM description.",
                                       streq(path, "-") ? "Standard input" : path, VMSPEC_INPUT_MAX);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s: %m", streq(path, "-") ? "standard input" : path);

        r = vmspec_parse(input, size, &spec, &error);
        if (r == -ENOMEM)
                return log_error_errno(r, "Failed to parse %s: %m", path);
        if (r < 0)
                return log_error_errno(r, "%s: %s", streq(path, "-") ? "<stdin>" : path,
                                       error ?: "cannot be parsed");

        if (!c->root) {
                r = layout_from_daemon(c, input);
                if (r != -ENXIO)
                        return r;
                log_warning("vfiomapd is not running: reading the host model from / directly%s.",
                            geteuid() != 0 ? " as a user other than root, which sees less of it (see the "
                                             "warnings)" : "");
        }
        r = context_load_host(c, &h);
        if (r < 0)
                return r;

        vmspec_probe_rom_files(spec, c->root ?: "/");
        r = layout_compute(h, spec, &l);
        if (r < 0)
                return log_error_errno(r, "Failed to compute the layout: %m");

        if (c->svg) {
                r = layout_to_svg(l, &svg);
                if (r < 0)
                        return log_error_errno(r, "Failed to draw the layout: %m");
                r = write_svg(c->svg, svg);
                if (r < 0)
                        return log_error_errno(r, "Failed to write %s: %m", c->svg);
        }

        if (c->json != JSON_OFF) {
                json_object *j = NULL;
                r = layout_to_json(l, &j);
                if (r < 0)
                        return log_error_errno(r, "Failed to encode the layout: %m");
                r = print_json(c, j);
                if (r < 0)
                        return r;
        } else if (!(c->svg && streq(c->svg, "-"))) {
                r = layout_report(l, stdout);
                if (r < 0 || fflush(stdout) != 0)
                        return log_error_errno(r < 0 ? r : -errno, "Failed to write the report: %m");
        }

        /* What the model could not read weakens the verdict: say it, after the report, or on stderr when
         * stdout carries JSON or SVG. */
        {
                _cleanup_(json_object_putp) json_object *state = host_to_json(h);
                bool text = c->json == JSON_OFF && !(c->svg && streq(c->svg, "-"));

                if (!state)
                        return log_error_errno(ENOMEM, "%m");
                print_host_warnings(state, text ? stdout : stderr);
        }

        return verdict_exit_status(l->verdict);
}
