/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The host model's warnings as a person reads them: one line per problem, except the ones only privileges
 * cure, which a non-root reader gets for every device (config space cut to 64 bytes, BAR ranges shown as
 * zeros, /proc/iomem zeroed) and which are counted in a single line instead. */

#include <stdio.h>

#include "util.h"
#include "vfiomapctl.h"

typedef struct RootCount {
        size_t files;
        size_t config_devices;
        size_t config_bytes;    /* what the cut config files held, SIZE_MAX when they differ */
        size_t ranges_devices;
        bool iomem;
} RootCount;

/* Counts w when only privileges cure it; true when it was counted (and is not to be printed alone). */
static bool count_needs_root(RootCount *c, const char *w, bool device) {
        const char *p;
        size_t bytes;

        if (!w)
                return false;
        if (device && strstr(w, HOST_WARNING_PARTIAL_CONFIG)) {
                p = strstr(w, " only up to ");
                if (!p || sscanf(p, " only up to %zu bytes", &bytes) != 1)
                        bytes = SIZE_MAX;
                c->config_bytes = c->config_devices == 0 || c->config_bytes == bytes ? bytes : SIZE_MAX;
                c->config_devices++;
                c->files++;
                return true;
        }
        if (device && strstr(w, HOST_WARNING_HIDDEN_RANGES)) {
                c->ranges_devices++;
                c->files++;
                return true;
        }
        if (!device && strstr(w, HOST_WARNING_HIDDEN_RANGES) && startswith(w, "proc/iomem")) {
                c->iomem = true;
                c->files++;
                return true;
        }
        return false;
}

static void print_root_summary(FILE *f, const RootCount *c) {
        const char *sep = "";

        if (c->files == 0)
                return;
        fprintf(f, "warning: %zu file%s need%s root:", c->files, c->files == 1 ? "" : "s",
                c->files == 1 ? "s" : "");
        if (c->config_devices > 0) {
                if (c->config_bytes != SIZE_MAX)
                        fprintf(f, " config space beyond %zu bytes of %zu device%s (ACS unknown)",
                                c->config_bytes, c->config_devices, c->config_devices == 1 ? "" : "s");
                else
                        fprintf(f, " the full config space of %zu device%s (ACS unknown)", c->config_devices,
                                c->config_devices == 1 ? "" : "s");
                sep = ",";
        }
        if (c->ranges_devices > 0) {
                fprintf(f, "%s the BAR and window ranges of %zu device%s", sep, c->ranges_devices,
                        c->ranges_devices == 1 ? "" : "s");
                sep = ",";
        }
        if (c->iomem)
                fprintf(f, "%s the ranges of /proc/iomem", sep);
        fprintf(f, "; run as root (or ask vfiomapd) for the full view.\n");
}

static void print_object_warnings(FILE *f, RootCount *c, const char *what, const char *name,
                                  json_object *o) {
        json_object *w = jget(o, "warnings");

        for (size_t i = 0; i < jlen(w); i++) {
                const char *s = json_object_get_string(jidx(w, i));

                if (!count_needs_root(c, s, streq(what, "device")))
                        fprintf(f, "warning: %s %s: %s\n", what, name, s);
        }
}

void print_host_warnings(json_object *state, FILE *f) {
        RootCount c = {};
        json_object *w = jget(state, "warnings"), *a;

        for (size_t i = 0; i < jlen(w); i++) {
                const char *s = json_object_get_string(jidx(w, i));

                if (!count_needs_root(&c, s, false))
                        fprintf(f, "warning: %s\n", s);
        }
        a = jget(state, "devices");
        for (size_t i = 0; i < jlen(a); i++)
                print_object_warnings(f, &c, "device", jstr(jidx(a, i), "address"), jidx(a, i));
        a = jget(state, "groups");
        for (size_t i = 0; i < jlen(a); i++) {
                char num[24] = "";
                json_object *g = jget(jidx(a, i), "group");

                if (json_object_is_type(g, json_type_int))
                        (void) snprintf(num, sizeof(num), "%d", json_object_get_int(g));
                print_object_warnings(f, &c, "group", num, jidx(a, i));
        }
        a = jget(jget(state, "iommu"), "units");
        for (size_t i = 0; i < jlen(a); i++)
                print_object_warnings(f, &c, "IOMMU", jstr(jidx(a, i), "name"), jidx(a, i));
        print_root_summary(f, &c);
}
