/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The host model's warnings as a person reads them: after the table, one per line, naming the object. The
 * host verbs and layout print them alike: a fact the model could not read weakens every answer built on
 * it. */

#include <stdio.h>

#include "util.h"
#include "vfiomapctl.h"

static void print_object_warnings(FILE *f, const char *what, const char *name, json_object *o) {
        json_object *w = jget(o, "warnings");

        for (size_t i = 0; i < jlen(w); i++)
                fprintf(f, "warning: %s %s: %s\n", what, name, json_object_get_string(jidx(w, i)));
}

void print_host_warnings(json_object *state, FILE *f) {
        json_object *w = jget(state, "warnings"), *a;

        for (size_t i = 0; i < jlen(w); i++)
                fprintf(f, "warning: %s\n", json_object_get_string(jidx(w, i)));
        a = jget(state, "devices");
        for (size_t i = 0; i < jlen(a); i++)
                print_object_warnings(f, "device", jstr(jidx(a, i), "address"), jidx(a, i));
        a = jget(state, "groups");
        for (size_t i = 0; i < jlen(a); i++) {
                char num[24] = "";
                json_object *g = jget(jidx(a, i), "group");

                if (json_object_is_type(g, json_type_int))
                        (void) snprintf(num, sizeof(num), "%d", json_object_get_int(g));
                print_object_warnings(f, "group", num, jidx(a, i));
        }
        a = jget(jget(state, "iommu"), "units");
        for (size_t i = 0; i < jlen(a); i++)
                print_object_warnings(f, "IOMMU", jstr(jidx(a, i), "name"), jidx(a, i));
}
