/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vfiomapctl apply NAME [--dry-run]: writes the settings a layout recommends into the persistent definition
 * of a libvirt domain. The layouts come from vfiomapd (or the tree of --root). A layout's recommendations
 * are alternatives, so apply-plan.c picks the smallest set that gives the best verdict, keeping the RAM
 * when it can, recomputing the layout after each change; the change is shown as a unified diff first and
 * defined with virDomainDefineXML(), so it takes effect at the next start of the domain. Alternatives left
 * out are named; recommendations without a libvirt snippet (unbind a device, move it to another slot) need
 * a change on the host and are listed, not applied. */

#include "apply-plan.h"
#include "domain-xml.h"
#include "json-util.h"
#include "layout.h"
#include "util.h"
#include "vfiomapctl.h"
#include "vmspec.h"

#include <libvirt/libvirt.h>
#include <systemd/sd-bus.h>

typedef struct ApplyContext {
        Context *c;
        sd_bus *bus;
        Host *host; /* under --root: read once for every layout of the plan */
} ApplyContext;

/* The layout JSON (proto/layout-json.md) of spec, from the daemon or computed offline under --root. */
static int compute_layout(ApplyContext *a, const char *spec, json_object **ret) {
        _cleanup_(vmspec_freep) VmSpec *s = NULL;
        _cleanup_(layout_freep) Layout *l = NULL;
        _cleanup_free_ char *error = NULL;
        int k;

        if (!a->c->root) {
                if (!a->bus) {
                        k = bus_open(a->c, &a->bus);
                        if (k < 0)
                                return k;
                }
                return bus_call_json(a->c, a->bus, "ComputeLayout", ret, "s", spec);
        }
        k = vmspec_parse(spec, strlen(spec), &s, &error);
        if (k < 0)
                return log_error_errno(k, "The domain XML cannot be read: %s", error ?: strerror(-k));
        if (!a->host) {
                k = context_load_host(a->c, &a->host);
                if (k < 0)
                        return k;
        }
        vmspec_probe_rom_files(s, a->c->root);
        k = layout_compute(a->host, s, &l);
        if (k >= 0)
                k = layout_to_json(l, ret);
        return k < 0 ? log_error_errno(k, "Failed to compute the layout: %m") : 0;
}

static void apply_context_done(ApplyContext *a) {
        sd_bus_flush_close_unref(a->bus);
        host_free(a->host);
}

static int plan_layout(const char *xml, json_object **ret, void *userdata) {
        return compute_layout(userdata, xml, ret);
}

static int verdict_exit_status(const char *verdict) {
        if (streq_ptr(verdict, "ok"))
                return EXIT_SUCCESS;
        if (streq_ptr(verdict, "warning"))
                return EXIT_VERDICT_WARNING;
        return EXIT_VERDICT_ERROR;
}

static void print_changes(const char *label, const ApplyPlanChange *changes, size_t n) {
        for (size_t i = 0; i < n; i++)
                printf("%s: %s\n", label, changes[i].summary);
}

int verb_apply(int argc, char *argv[], Context *c) {
        _cleanup_(apply_context_done) ApplyContext ac = { .c = c };
        _cleanup_(json_object_putp) json_object *out = NULL;
        _cleanup_(apply_plan_freep) ApplyPlan *plan = NULL;
        _cleanup_free_ char *xml = NULL, *diff = NULL, *error = NULL;
        _cleanup_free_ char *label_a = NULL, *label_b = NULL;
        const char *name = argv[1];
        const char *not_needed_label;
        json_object *final, *manual_recs;
        bool defined = false;
        int k;

        /* The persistent definition, secrets included: what is defined back must lose nothing (a VNC
         * password left out of the XML would be gone after the define). */
        k = libvirt_domain_xml(name, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE, &xml);
        if (k < 0)
                return k;
        /* Not every recommendation at once: they are alternatives (apply-plan.h). */
        k = apply_plan_compute(xml, plan_layout, &ac, &plan, &error);
        if (k == -ENOMEM)
                return log_error_errno(k, "%m");
        if (k < 0 && error)
                return log_error_errno(
                        k, "Failed to write the recommendations into the XML of %s: %s", name, error);
        if (k < 0)
                return k; /* the layout's error, already reported */
        if (asprintf_safe(&label_a, "%s (defined)", name) < 0 ||
            asprintf_safe(&label_b, "%s (with vfiomap's recommendations)", name) < 0 ||
            text_diff_unified(plan->before, plan->after, label_a, label_b, &diff) < 0)
                return log_error_errno(ENOMEM, "%m");

        if (!isempty(diff) && !c->dry_run) {
                k = libvirt_domain_define(plan->after);
                if (k < 0)
                        return k;
                defined = true;
        }

        /* What is left to do on the host is what the new layout still asks for. */
        final = plan->new_layout ?: plan->layout;
        manual_recs = jget(final, "recommendations");
        not_needed_label = plan->n_chosen > 0 ? "Not applied, the changes above do without it"
                                              : "Not applied, it does not make the layout better";

        if (c->json) {
                json_object *a = json_object_new_array(), *manual = json_object_new_array(),
                            *skipped = json_object_new_array();

                out = json_object_new_object();
                if (!out || !a || !manual || !skipped) {
                        json_object_put(a);
                        json_object_put(manual);
                        json_object_put(skipped);
                        return log_error_errno(ENOMEM, "%m");
                }
                for (size_t i = 0; i < plan->n_chosen; i++)
                        (void) json_object_array_add(a, json_object_new_string(plan->chosen[i].action));
                for (size_t i = 0; i < plan->n_not_needed; i++) {
                        json_object *o = json_object_new_object();
                        (void) json_object_object_add(
                                o, "action", json_object_new_string(plan->not_needed[i].action));
                        (void) json_object_object_add(
                                o, "summary", json_object_new_string(plan->not_needed[i].summary));
                        (void) json_object_array_add(skipped, o);
                }
                for (size_t i = 0; i < jlen(manual_recs); i++)
                        if (!jstr(jidx(manual_recs, i), "libvirt"))
                                (void) json_object_array_add(
                                        manual,
                                        json_object_new_string(
                                                strna(jstr(jidx(manual_recs, i), "summary"))));
                (void) json_object_object_add(out, "machine", json_object_new_string(name));
                (void) json_object_object_add(
                        out, "verdict", json_object_new_string(strna(jstr(plan->layout, "verdict"))));
                (void) json_object_object_add(out, "applied", a);
                (void) json_object_object_add(out, "not_applied", skipped);
                (void) json_object_object_add(out, "manual", manual);
                (void) json_object_object_add(out, "diff", json_object_new_string(diff));
                (void) json_object_object_add(
                        out,
                        "new_verdict",
                        plan->new_layout ? json_object_new_string(strna(jstr(plan->new_layout, "verdict")))
                                         : NULL);
                (void) json_object_object_add(
                        out, "layouts_computed", json_object_new_int64(plan->n_layouts));
                (void) json_object_object_add(out, "defined", json_object_new_boolean(defined));
                k = print_json(c, TAKE_PTR(out));
                if (k < 0)
                        return k;
                return verdict_exit_status(jstr(final, "verdict"));
        }

        if (isempty(diff))
                printf("Nothing to write: no change libvirt's XML carries makes the layout of %s (verdict %s) "
                       "better.\n",
                       name,
                       strna(jstr(plan->layout, "verdict")));
        else
                fputs(diff, stdout);
        print_changes("Applied", plan->chosen, plan->n_chosen);
        print_changes(not_needed_label, plan->not_needed, plan->n_not_needed);
        for (size_t i = 0; i < jlen(manual_recs); i++)
                if (!jstr(jidx(manual_recs, i), "libvirt"))
                        printf("Not applied, needs a change on the host: %s\n",
                               strna(jstr(jidx(manual_recs, i), "summary")));
        if (!isempty(diff)) {
                printf("%s %s: verdict %s, %s with these changes.\n",
                       c->dry_run ? "Not defined (--dry-run)" : "Defined",
                       name,
                       strna(jstr(plan->layout, "verdict")),
                       strna(jstr(plan->new_layout, "verdict")));
                if (defined)
                        printf("The new definition takes effect when %s starts next.\n", name);
        }
        return verdict_exit_status(jstr(final, "verdict"));
}
