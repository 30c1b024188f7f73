/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vfiomapctl apply NAME [--dry-run]: writes the settings a layout recommends into the persistent definition
 * of a libvirt domain. The layout comes from vfiomapd (or the tree of --root); the change is shown as a
 * unified diff first and defined with virDomainDefineXML(), so it takes effect at the next start of the
 * domain. Recommendations without a libvirt snippet (unbind a device, move it to another slot) need a
 * change on the host and are listed, not applied. */

#include "domain-xml.h"
#include "json-util.h"
#include "layout.h"
#include "util.h"
#include "vfiomapctl.h"
#include "vmspec.h"

#include <libvirt/libvirt.h>
#include <systemd/sd-bus.h>

/* The layout JSON (proto/layout-json.md) of spec, from the daemon or computed offline under --root. */
static int compute_layout(Context *c, sd_bus **bus, const char *spec, json_object **ret) {
        _cleanup_(host_freep) Host *h = NULL;
        _cleanup_(vmspec_freep) VmSpec *s = NULL;
        _cleanup_(layout_freep) Layout *l = NULL;
        _cleanup_free_ char *error = NULL;
        int k;

        if (!c->root) {
                if (!*bus) {
                        k = bus_open(c, bus);
                        if (k < 0)
                                return k;
                }
                return bus_call_json(c, *bus, "ComputeLayout", ret, "s", spec);
        }
        k = vmspec_parse(spec, strlen(spec), &s, &error);
        if (k < 0)
                return log_error_errno(k, "The domain XML cannot be read: %s", error ?: strerror(-k));
        k = context_load_host(c, &h);
        if (k < 0)
                return k;
        k = layout_compute(h, s, &l);
        if (k >= 0)
                k = layout_to_json(l, ret);
        return k < 0 ? log_error_errno(k, "Failed to compute the layout: %m") : 0;
}

static void recommendations_free(Recommendation *r, size_t n) {
        /* The strings belong to the JSON document they were read from. */
        free(r);
}

static int recommendations_from_json(json_object *layout, Recommendation **ret, size_t *ret_n) {
        json_object *a = jget(layout, "recommendations");
        Recommendation *r;

        r = calloc(jlen(a) + 1, sizeof(Recommendation));
        if (!r)
                return -ENOMEM;
        for (size_t i = 0; i < jlen(a); i++)
                r[i] = (Recommendation){
                        .action = (char *) jstr(jidx(a, i), "action"),
                        .summary = (char *) jstr(jidx(a, i), "summary"),
                        .libvirt = (char *) jstr(jidx(a, i), "libvirt"),
                        .qemu = (char *) jstr(jidx(a, i), "qemu"),
                };
        *ret = r;
        *ret_n = jlen(a);
        return 0;
}

static int verdict_exit_status(const char *verdict) {
        if (streq_ptr(verdict, "ok"))
                return EXIT_SUCCESS;
        if (streq_ptr(verdict, "warning"))
                return EXIT_VERDICT_WARNING;
        return EXIT_VERDICT_ERROR;
}

int verb_apply(int argc, char *argv[], Context *c) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(json_object_putp) json_object *layout = NULL, *new_layout = NULL, *out = NULL;
        _cleanup_free_ char *xml = NULL, *before = NULL, *after = NULL, *diff = NULL, *error = NULL;
        _cleanup_free_ char *label_a = NULL, *label_b = NULL;
        _cleanup_strv_free_ char **applied = NULL;
        Recommendation *recs = NULL;
        const char *name = argv[1];
        size_t n_recs = 0;
        bool defined = false;
        int k, n;

        /* The persistent definition, secrets included: what is defined back must lose nothing (a VNC
         * password left out of the XML would be gone after the define). */
        k = libvirt_domain_xml(name, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE, &xml);
        if (k < 0)
                return k;
        k = compute_layout(c, &bus, xml, &layout);
        if (k < 0)
                return k;
        k = recommendations_from_json(layout, &recs, &n_recs);
        if (k < 0)
                return log_error_errno(k, "%m");
        n = domain_xml_apply(xml, strlen(xml), recs, n_recs, &before, &after, &applied, &error);
        if (n < 0) {
                recommendations_free(recs, n_recs);
                return log_error_errno(
                        n,
                        "Failed to write the recommendations into the XML of %s: %s",
                        name,
                        error ?: strerror(-n));
        }
        if (asprintf_safe(&label_a, "%s (defined)", name) < 0 ||
            asprintf_safe(&label_b, "%s (with vfiomap's recommendations)", name) < 0 ||
            text_diff_unified(before, after, label_a, label_b, &diff) < 0) {
                recommendations_free(recs, n_recs);
                return log_error_errno(ENOMEM, "%m");
        }

        if (!isempty(diff)) {
                k = compute_layout(c, &bus, after, &new_layout);
                if (k < 0) {
                        recommendations_free(recs, n_recs);
                        return k;
                }
        }
        if (!isempty(diff) && !c->dry_run) {
                k = libvirt_domain_define(after);
                if (k < 0) {
                        recommendations_free(recs, n_recs);
                        return k;
                }
                defined = true;
        }

        if (c->json) {
                json_object *a = json_object_new_array(), *manual = json_object_new_array();

                out = json_object_new_object();
                if (!out || !a || !manual) {
                        json_object_put(a);
                        json_object_put(manual);
                        recommendations_free(recs, n_recs);
                        return log_error_errno(ENOMEM, "%m");
                }
                STRV_FOREACH (x, applied)
                        (void) json_object_array_add(a, json_object_new_string(*x));
                for (size_t i = 0; i < n_recs; i++)
                        if (!recs[i].libvirt)
                                (void) json_object_array_add(
                                        manual, json_object_new_string(strna(recs[i].summary)));
                (void) json_object_object_add(out, "machine", json_object_new_string(name));
                (void) json_object_object_add(
                        out, "verdict", json_object_new_string(strna(jstr(layout, "verdict"))));
                (void) json_object_object_add(out, "applied", a);
                (void) json_object_object_add(out, "manual", manual);
                (void) json_object_object_add(out, "diff", json_object_new_string(diff));
                (void) json_object_object_add(
                        out,
                        "new_verdict",
                        new_layout ? json_object_new_string(strna(jstr(new_layout, "verdict"))) : NULL);
                (void) json_object_object_add(out, "defined", json_object_new_boolean(defined));
                recommendations_free(recs, n_recs);
                k = print_json(c, TAKE_PTR(out));
                if (k < 0)
                        return k;
                return verdict_exit_status(jstr(new_layout ?: layout, "verdict"));
        }

        if (isempty(diff))
                printf("Nothing to write: the layout of %s (verdict %s) has no recommendation that "
                       "libvirt's XML carries.\n",
                       name,
                       strna(jstr(layout, "verdict")));
        else
                fputs(diff, stdout);
        for (size_t i = 0; i < n_recs; i++)
                if (!recs[i].libvirt)
                        printf("Not applied, needs a change on the host: %s\n", strna(recs[i].summary));
        recommendations_free(recs, n_recs);
        if (!isempty(diff)) {
                printf("%s %s: verdict %s, %s with these changes.\n",
                       c->dry_run ? "Not defined (--dry-run)" : "Defined",
                       name,
                       strna(jstr(layout, "verdict")),
                       strna(jstr(new_layout, "verdict")));
                if (defined)
                        printf("The new definition takes effect when %s starts next.\n", name);
        }
        return verdict_exit_status(jstr(new_layout ?: layout, "verdict"));
}
