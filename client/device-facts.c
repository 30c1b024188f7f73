/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The device facts of issue 13 (reset, host claims on BARs, ROM, VFIO cdev) for the devices table and
 * `vfiomapctl device`, rendered from the JSON document like the rest of verbs-host.c. */

#include "json-util.h"
#include "util.h"
#include "vfiomapctl.h"

/* The users of a group's devices' VFIO cdevs (iommufd), after its /dev/vfio/N line. */
void print_group_cdev_users(json_object *g) {
        json_object *p = jget(g, "vfio_cdev_processes");

        for (size_t i = 0; i < jlen(p); i++) {
                json_object *u = jidx(p, i);
                printf("VFIO cdev of %s: open by PID %d%s%s%s\n", strna(jstr(u, "device")),
                       json_object_get_int(jget(u, "pid")), jstr(u, "comm") ? " (" : "", jstr(u, "comm") ?: "",
                       jstr(u, "comm") ? ")" : "");
        }
}

/* "flr,bus", "-" for none, "?" when unknown */
const char *device_reset_column(json_object *d, char *buf, size_t size) {
        json_object *m = jget(jget(d, "reset"), "methods");
        size_t len = 0;

        if (!m)
                return "?";
        if (jlen(m) == 0)
                return "-";
        buf[0] = 0;
        for (size_t i = 0; i < jlen(m); i++) {
                int n = snprintf(buf + len, size - len, "%s%s", i > 0 ? "," : "", json_object_get_string(jidx(m, i)));
                if (n < 0 || (size_t) n >= size - len)
                        break;
                len += n;
        }
        return buf;
}

static void print_strv_line(const char *label, json_object *a) {
        printf("%s", label);
        for (size_t i = 0; i < jlen(a); i++)
                printf("%s%s", i > 0 ? ", " : "", json_object_get_string(jidx(a, i)));
        printf("\n");
}

void print_device_facts(json_object *d) {
        json_object *r = jget(d, "reset"), *a;
        char buf[128];

        if (r) {
                const char *source = jstr(r, "source");
                printf("        Reset: %s", device_reset_column(d, buf, sizeof(buf)));
                if (streq_ptr(source, "sysfs"))
                        printf(" (reset_method)");
                else if (streq_ptr(source, "config"))
                        printf(" (from config space: FLR %s, AF FLR %s, PM reset %s)", jbool(r, "flr") ? "yes" : "no",
                               jbool(r, "af_flr") ? "yes" : "no",
                               jnull(r, "pm_no_soft_reset") ? "no capability"
                               : jbool(r, "pm_no_soft_reset") ? "no (No_Soft_Reset)" : "yes");
                else
                        printf(" (config space unreadable)");
                printf("\n");
                if (jnull(r, "bus_reset_scope"))
                        printf("    Bus reset: none (root bus)\n");
                else
                        print_strv_line("    Bus reset: resets ", jget(r, "bus_reset_scope"));
                if (!jnull(r, "power_state") || !jnull(r, "d3cold_allowed"))
                        printf("        Power: %s%s\n", jstr(r, "power_state") ?: "(unknown)",
                               jnull(r, "d3cold_allowed") ? ""
                               : jbool(r, "d3cold_allowed") ? ", D3cold allowed" : ", D3cold not allowed");
        }
        if (!jnull(d, "boot_vga"))
                printf("     Boot VGA: %s\n", jbool(d, "boot_vga") ? "yes (the firmware's display device)" : "no");
        if (jget(d, "rom"))
                printf("          ROM: %s, sysfs rom %s\n", jbool(jget(d, "rom"), "bar") ? "ROM BAR" : "no ROM BAR",
                       strna(jstr(jget(d, "rom"), "sysfs")));
        if (jget(d, "vfio_cdev")) {
                json_object *v = jget(d, "vfio_cdev"), *p = jget(v, "processes");
                printf("    VFIO cdev: %s", strna(jstr(v, "name")));
                if (jnull(v, "node"))
                        printf(" (no /dev/vfio/devices node)");
                else if (jlen(p) == 0)
                        printf(", not open");
                else
                        for (size_t i = 0; i < jlen(p); i++)
                                printf("%s %d%s%s%s", i > 0 ? "," : ", open by PID",
                                       json_object_get_int(jget(jidx(p, i), "pid")),
                                       jstr(jidx(p, i), "comm") ? " (" : "", jstr(jidx(p, i), "comm") ?: "",
                                       jstr(jidx(p, i), "comm") ? ")" : "");
                printf("\n");
        }
        a = jget(d, "bar_claims");
        for (size_t i = 0; i < jlen(a); i++) {
                json_object *c = jidx(a, i);
                printf("    BAR claim: BAR%d %s-%s held by %s%s\n", json_object_get_int(jget(c, "bar")),
                       strna(jstr(c, "start")), strna(jstr(c, "end")), strna(jstr(c, "name")),
                       jbool(c, "framebuffer") ? " (firmware framebuffer)" : "");
        }
}
