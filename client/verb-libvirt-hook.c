/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vfiomapctl libvirt-hook GUEST OPERATION SUBOPERATION EXTRA: the qemu hook. libvirt runs every executable
 * in /etc/libvirt/hooks/qemu.d/ with these arguments and the domain XML on standard input
 * (../shared/DOMAIN.md §4); ours is libvirt/vfiomap-hook, which execs this.
 *
 *   prepare begin    VFIO devices: Claim(GUEST, XML). Refused → exit 1 with one line on stderr, which
 *                    libvirt puts into the error of "virsh start". No VFIO devices: exit 0, no bus.
 *   release end      Release(GUEST); idempotent, and libvirt also calls it after a failed prepare.
 *   reconnect begin  libvirtd restarted with GUEST running: claim again. Never fails: libvirt kills a
 *                    running guest whose reconnect hook fails (qemuProcessReconnect() in
 *                    src/qemu/qemu_process.c), so problems are printed and the hook exits 0.
 *   migrate, restore libvirt would take what we print as the new XML: we print nothing.
 *   everything else  exit 0.
 *
 * Never calls libvirt: it runs while libvirt holds the domain's lock.
 *
 * Configuration: $VFIOMAP_HOOK_CONF or SYSCONFDIR/vfiomap/hook.conf, "key = value" lines:
 *   on-daemon-missing = fail | warn   what to do when vfiomapd cannot be reached (default fail)
 *   bus = ADDRESS                     the bus vfiomapd is on (default: the system bus; tests)
 *   runtime-dir = DIR                 vfiomapd's runtime directory (default /run/vfiomap) */

#include "domain-xml.h"
#include "util.h"
#include "vfiomapctl.h"

#include <stdarg.h>
#include <systemd/sd-bus.h>

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define HOOK_CONF SYSCONFDIR "/vfiomap/hook.conf"
#define DEFAULT_RUNTIME_DIR "/run/vfiomap"

typedef struct HookConfig {
        char *path;
        bool warn_if_daemon_missing;
        char *bus;
        char *runtime_dir;
} HookConfig;

static void hook_config_done(HookConfig *conf) {
        free(conf->path);
        free(conf->bus);
        free(conf->runtime_dir);
}

/* Errors in the file are warnings: a typo must not stop every VM on the host. */
static int hook_config_load(HookConfig *conf) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t allocated = 0;
        unsigned n = 0;
        const char *e = getenv("VFIOMAP_HOOK_CONF");

        conf->path = strdup(isempty(e) ? HOOK_CONF : e);
        if (!conf->path)
                return -ENOMEM;
        f = fopen(conf->path, "re");
        if (!f)
                return errno == ENOENT ? 0 : log_error_errno(errno, "Failed to open %s: %m", conf->path);
        while (getline(&line, &allocated, f) >= 0) {
                char *key = line, *value, *eq;

                n++;
                key += strspn(key, " \t");
                strstrip_trailing(key);
                if (*key == 0 || *key == '#')
                        continue;
                eq = strchr(key, '=');
                if (!eq) {
                        log_warning("%s:%u: no \"=\", ignored.", conf->path, n);
                        continue;
                }
                value = eq + 1 + strspn(eq + 1, " \t");
                *eq = 0;
                strstrip_trailing(key);
                if (streq(key, "on-daemon-missing")) {
                        if (streq(value, "warn"))
                                conf->warn_if_daemon_missing = true;
                        else if (streq(value, "fail"))
                                conf->warn_if_daemon_missing = false;
                        else
                                log_warning(
                                        "%s:%u: on-daemon-missing is fail or warn, not \"%s\"; using fail.",
                                        conf->path,
                                        n,
                                        value);
                } else if (streq(key, "bus")) {
                        free(conf->bus);
                        conf->bus = strdup(value);
                        if (!conf->bus)
                                return -ENOMEM;
                } else if (streq(key, "runtime-dir")) {
                        free(conf->runtime_dir);
                        conf->runtime_dir = strdup(value);
                        if (!conf->runtime_dir)
                                return -ENOMEM;
                } else
                        log_warning("%s:%u: unknown key \"%s\", ignored.", conf->path, n, key);
        }
        return 0;
}

/* One line on stderr, "vfiomap: ...": libvirt appends the hook's output to its own error. */
static void hook_say(const char *format, ...) _printf_(1, 2);
static void hook_say(const char *format, ...) {
        va_list ap;

        fputs("vfiomap: ", stderr);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
}

/* vfiomapd's refusal names every reason, one a line, the unfixable ones first (daemon/claim-refusal.h):
 * one "vfiomap: " line each. The hint follows a single reason on its line, several on a line of its own. */
static void hook_say_lines(const char *message, const char *hint_text) {
        if (!strchr(message, '\n')) {
                hook_say("%s%s", message, hint_text);
                return;
        }
        for (const char *p = message; *p;) {
                size_t l = strcspn(p, "\n");

                hook_say("%.*s", (int) l, p);
                p += l + (p[l] == '\n');
        }
        if (!isempty(hint_text))
                hook_say("%s", hint_text + strspn(hint_text, " "));
}

static const char *hint(const sd_bus_error *e, const char *guest) {
        if (sd_bus_error_has_name(e, "org.vfiomap1.Error.GroupOwned"))
                return " Stop that machine first; \"vfiomapctl machines\" lists what holds which group.";
        if (sd_bus_error_has_name(e, "org.vfiomap1.Error.GroupNotViable"))
                return " (\"vfiomapctl bind-vfio DEVICE\" binds a device's whole group to vfio-pci.)";
        if (sd_bus_error_has_name(e, "org.vfiomap1.Error.DeviceNotFound"))
                return " Correct the <hostdev> address with \"virsh edit\".";
        if (sd_bus_error_has_name(e, "org.vfiomap1.Error.NoIommuGroup"))
                return " Turn the IOMMU on (intel_iommu=on or amd_iommu=on on the kernel command line).";
        if (sd_bus_error_has_name(e, "org.vfiomap1.Error.LayoutError"))
                return " \"vfiomapctl layout NAME\" explains each problem; \"vfiomapctl apply NAME\" writes the "
                       "fixes the domain XML can carry.";
        return "";
}

static int hook_claim(
        Context *c,
        HookConfig *conf,
        const char *guest,
        const char *xml,
        char **devices,
        bool reconnect) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int k;

        k = bus_connect(c, &bus);
        if (k >= 0)
                k = sd_bus_call_method(
                        bus,
                        VFIOMAP_SERVICE,
                        VFIOMAP_PATH,
                        VFIOMAP_MANAGER,
                        "Claim",
                        &error,
                        &reply,
                        "ss",
                        guest,
                        xml);
        if (k >= 0)
                return EXIT_SUCCESS;

        if (bus_error_is_daemon_missing(&error, k)) {
                if (reconnect || conf->warn_if_daemon_missing) {
                        hook_say(
                                "warning: vfiomapd is not running: %s starts without a check of the "
                                "IOMMU groups of %s.",
                                guest,
                                devices[0]);
                        return EXIT_SUCCESS;
                }
                hook_say(
                        "vfiomapd is not running, so the IOMMU groups of %s's devices (%s%s) cannot be "
                        "checked: start vfiomapd, or set on-daemon-missing=warn in %s to start VMs "
                        "unchecked.",
                        guest,
                        devices[0],
                        devices[1] ? ", ..." : "",
                        conf->path);
                return EXIT_FAILURE;
        }
        if (reconnect) {
                /* Failing here would make libvirt kill the running guest. */
                hook_say("warning: %s runs, but: %s", guest, error.message ?: strerror(-k));
                return EXIT_SUCCESS;
        }
        hook_say_lines(error.message ?: strerror(-k), hint(&error, guest));
        return EXIT_FAILURE;
}

static int hook_release(Context *c, HookConfig *conf, const char *guest, bool has_devices) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        int k;

        /* A domain without VFIO devices at its end may still hold a claim (its last device was
         * hot-unplugged): vfiomapd keeps one file per claim in machines/, cheap to look at. */
        if (!has_devices) {
                if (asprintf_safe(
                            &path, "%s/machines/%s.json", conf->runtime_dir ?: DEFAULT_RUNTIME_DIR, guest) <
                    0)
                        return log_error_errno(ENOMEM, "%m");
                if (access(path, F_OK) < 0)
                        return EXIT_SUCCESS;
        }
        k = bus_connect(c, &bus);
        if (k >= 0)
                k = sd_bus_call_method(
                        bus,
                        VFIOMAP_SERVICE,
                        VFIOMAP_PATH,
                        VFIOMAP_MANAGER,
                        "Release",
                        &error,
                        NULL,
                        "s",
                        guest);
        if (k < 0 && !bus_error_is_daemon_missing(&error, k))
                hook_say(
                        "warning: failed to release the claim of %s: %s",
                        guest,
                        error.message ?: strerror(-k));
        /* Nothing to refuse at release: libvirt ignores the result, and vfiomapd releases the claims of
         * domains that are gone when it next talks to libvirt. */
        return EXIT_SUCCESS;
}

int verb_libvirt_hook(int argc, char *argv[], Context *c) {
        _cleanup_(hook_config_done) HookConfig conf = {};
        _cleanup_strv_free_ char **devices = NULL;
        _cleanup_free_ char *xml = NULL, *error = NULL;
        const char *guest = argv[1], *op = argv[2], *subop = argc > 3 ? argv[3] : "-";
        bool claim, release, reconnect;
        size_t size = 0;
        int n, k;

        reconnect = streq(op, "reconnect") && streq(subop, "begin");
        claim = (streq(op, "prepare") && streq(subop, "begin")) || reconnect;
        release = streq(op, "release") && streq(subop, "end");
        /* migrate and restore: printing nothing keeps libvirt's XML; other operations concern us not. */
        if (!claim && !release)
                return EXIT_SUCCESS;

        k = read_input("-", &xml, &size);
        if (k < 0) {
                hook_say("failed to read the domain XML of %s from standard input: %s", guest, strerror(-k));
                return reconnect || release ? EXIT_SUCCESS : EXIT_FAILURE;
        }
        n = domain_xml_pci_hostdevs(xml, size, &devices, &error);
        if (n == -ENOMEM)
                return log_error_errno(n, "%m");
        if (n < 0) {
                /* libvirt's own XML; should it ever not parse, the daemon would not understand it either. */
                hook_say("%s: cannot read the domain XML: %s", guest, strna(error));
                return claim && !reconnect ? EXIT_FAILURE : EXIT_SUCCESS;
        }
        /* The fast path: most VMs have no VFIO devices and never touch the bus. */
        if (n == 0 && claim)
                return EXIT_SUCCESS;

        k = hook_config_load(&conf);
        if (k < 0)
                return reconnect || release ? EXIT_SUCCESS : EXIT_FAILURE;
        if (conf.bus)
                c->bus_address = conf.bus;
        if (release)
                return hook_release(c, &conf, guest, n > 0);
        return hook_claim(c, &conf, guest, xml, devices, reconnect);
}
