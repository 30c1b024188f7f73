/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "apply-plan.h"

#include "domain-xml.h"
#include "json-util.h"
#include "layout.h"
#include "util.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One candidate: the domain with a sequence of recommendations written into it, and its layout. */
typedef struct State {
        ApplyPlanChange *path;
        size_t n_path;
        char *after;
        json_object *layout;
        int verdict; /* 0 ok, 1 warning, 2 error */
        unsigned errors, warnings;
        uint64_t ram;
} State;

static void change_done(ApplyPlanChange *c) {
        free(c->action);
        free(c->summary);
        free(c->libvirt);
}

static void changes_free(ApplyPlanChange *c, size_t n) {
        for (size_t i = 0; c && i < n; i++)
                change_done(c + i);
        free(c);
}

static int change_set(ApplyPlanChange *c, const char *action, const char *summary, const char *libvirt) {
        *c = (ApplyPlanChange){
                .action = strdup(strna(action)),
                .summary = strdup(strna(summary)),
                .libvirt = libvirt ? strdup(libvirt) : NULL,
        };
        if (!c->action || !c->summary || (libvirt && !c->libvirt)) {
                change_done(c);
                return -ENOMEM;
        }
        return 0;
}

static void state_done(State *s) {
        changes_free(s->path, s->n_path);
        free(s->after);
        json_object_put(s->layout);
}

static void states_free(State *s, size_t n) {
        for (size_t i = 0; s && i < n; i++)
                state_done(s + i);
        free(s);
}

static void state_score(State *s) {
        const char *v = jstr(s->layout, "verdict");
        json_object *problems = jget(s->layout, "problems");

        s->verdict = streq_ptr(v, "ok") ? 0 : streq_ptr(v, "warning") ? 1 : 2;
        s->errors = s->warnings = 0;
        for (size_t i = 0; i < jlen(problems); i++) {
                const char *sev = jstr(jidx(problems, i), "severity");
                if (streq_ptr(sev, "error"))
                        s->errors++;
                else if (streq_ptr(sev, "warning"))
                        s->warnings++;
        }
        s->ram = json_object_get_uint64(jget(s->layout, "ram_bytes"));
}

/* Negative when a is the better result: the layout first, then the user's RAM, then fewer changes. */
static int state_compare(const State *a, const State *b) {
        if (a->verdict != b->verdict)
                return a->verdict < b->verdict ? -1 : 1;
        if (a->errors != b->errors)
                return a->errors < b->errors ? -1 : 1;
        if (a->warnings != b->warnings)
                return a->warnings < b->warnings ? -1 : 1;
        if (a->ram != b->ram)
                return a->ram > b->ram ? -1 : 1;
        if (a->n_path != b->n_path)
                return a->n_path < b->n_path ? -1 : 1;
        return 0;
}

static bool path_has_action(const State *s, const char *action) {
        for (size_t i = 0; i < s->n_path; i++)
                if (streq_ptr(s->path[i].action, action))
                        return true;
        return false;
}

/* Writes path (plus one more, when extra is not NULL) into the domain. */
static int write_path(
        const char *xml,
        const ApplyPlanChange *path,
        size_t n,
        const ApplyPlanChange *extra,
        char **ret_before,
        char **ret_after,
        char **ret_error) {
        _cleanup_free_ Recommendation *recs = calloc(n + 1, sizeof(Recommendation));
        _cleanup_strv_free_ char **applied = NULL;
        int k;

        if (!recs)
                return -ENOMEM;
        for (size_t i = 0; i < n + !!extra; i++) {
                const ApplyPlanChange *c = i < n ? path + i : extra;
                recs[i] = (Recommendation){ .action = c->action,
                                            .summary = c->summary,
                                            .libvirt = c->libvirt };
        }
        k = domain_xml_apply(
                xml, strlen(xml), recs, n + !!extra, ret_before, ret_after, &applied, ret_error);
        return k < 0 ? k : 0;
}

/* The successors of states[i]: each recommendation of its layout with a snippet it has not written yet.
 * Results equal to a state already known are dropped (two orders of the same changes). */
static int expand(
        const char *xml,
        ApplyPlanLayoutFn layout_fn,
        void *userdata,
        State **states,
        size_t *n_states,
        size_t i,
        unsigned *n_layouts,
        char **ret_error) {
        json_object *recs = jget((*states)[i].layout, "recommendations");
        int k;

        for (size_t r = 0; r < jlen(recs) && *n_layouts < APPLY_PLAN_LAYOUTS_MAX; r++) {
                json_object *o = jidx(recs, r);
                _cleanup_free_ char *before = NULL, *after = NULL;
                ApplyPlanChange extra = { (char *) jstr(o, "action"),
                                          (char *) jstr(o, "summary"),
                                          (char *) jstr(o, "libvirt") };
                bool known = false;
                State *s, *ns;

                if (!extra.libvirt || path_has_action(*states + i, extra.action))
                        continue;
                k = write_path(
                        xml, (*states)[i].path, (*states)[i].n_path, &extra, &before, &after, ret_error);
                if (k < 0)
                        return k;
                for (size_t j = 0; j < *n_states && !known; j++)
                        known = streq((*states)[j].after, after);
                if (known)
                        continue;

                ns = realloc(*states, sizeof(State) * (*n_states + 1));
                if (!ns)
                        return -ENOMEM;
                *states = ns;
                s = ns + *n_states;
                *s = (State){ .after = TAKE_PTR(after) };
                (*n_states)++;
                s->path = calloc(ns[i].n_path + 1, sizeof(ApplyPlanChange));
                if (!s->path)
                        return -ENOMEM;
                for (size_t p = 0; p < ns[i].n_path; p++) {
                        k = change_set(
                                s->path + p,
                                ns[i].path[p].action,
                                ns[i].path[p].summary,
                                ns[i].path[p].libvirt);
                        if (k < 0)
                                return k;
                        s->n_path++;
                }
                k = change_set(s->path + s->n_path, extra.action, extra.summary, extra.libvirt);
                if (k < 0)
                        return k;
                s->n_path++;
                k = layout_fn(s->after, &s->layout, userdata);
                (*n_layouts)++;
                if (k < 0)
                        return k;
                state_score(s);
        }
        return 0;
}

ApplyPlan *apply_plan_free(ApplyPlan *p) {
        if (!p)
                return NULL;
        json_object_put(p->layout);
        json_object_put(p->new_layout);
        free(p->before);
        free(p->after);
        changes_free(p->chosen, p->n_chosen);
        changes_free(p->not_needed, p->n_not_needed);
        free(p);
        return NULL;
}

typedef struct States {
        State *s;
        size_t n;
} States;

static void states_done(States *st) {
        states_free(st->s, st->n);
}

static int add_not_needed(ApplyPlan *plan) {
        json_object *offered = jget(plan->layout, "recommendations");

        for (size_t r = 0; r < jlen(offered); r++) {
                json_object *o = jidx(offered, r);
                bool chosen = false;
                ApplyPlanChange *n;
                int k;

                if (!jstr(o, "libvirt"))
                        continue;
                for (size_t c = 0; c < plan->n_chosen && !chosen; c++)
                        chosen = streq_ptr(plan->chosen[c].action, jstr(o, "action"));
                if (chosen)
                        continue;
                n = realloc(plan->not_needed, sizeof(ApplyPlanChange) * (plan->n_not_needed + 1));
                if (!n)
                        return -ENOMEM;
                plan->not_needed = n;
                k = change_set(
                        n + plan->n_not_needed, jstr(o, "action"), jstr(o, "summary"), jstr(o, "libvirt"));
                if (k < 0)
                        return k;
                plan->n_not_needed++;
        }
        return 0;
}

int apply_plan_compute(
        const char *xml,
        ApplyPlanLayoutFn layout_fn,
        void *userdata,
        ApplyPlan **ret,
        char **ret_error) {
        _cleanup_(apply_plan_freep) ApplyPlan *plan = NULL;
        _cleanup_(states_done) States st = {};
        size_t level_start = 0, best = 0;
        unsigned n_layouts = 0;
        int k;

        plan = calloc(1, sizeof(ApplyPlan));
        st.s = calloc(1, sizeof(State));
        if (!plan || !st.s)
                return -ENOMEM;
        st.n = 1;
        k = write_path(xml, NULL, 0, NULL, &plan->before, &st.s[0].after, ret_error);
        if (k < 0)
                return k;
        k = layout_fn(xml, &st.s[0].layout, userdata);
        n_layouts++;
        if (k < 0)
                return k;
        state_score(&st.s[0]);

        /* Breadth first, one level per change. An ok layout that keeps all the RAM ends the search: nothing
         * deeper can be better. */
        for (unsigned depth = 1; depth <= APPLY_PLAN_DEPTH_MAX && n_layouts < APPLY_PLAN_LAYOUTS_MAX;
             depth++) {
                size_t level_end = st.n;

                if (st.s[best].verdict == 0 && st.s[best].ram >= st.s[0].ram)
                        break;
                for (size_t i = level_start; i < level_end; i++) {
                        k = expand(xml, layout_fn, userdata, &st.s, &st.n, i, &n_layouts, ret_error);
                        if (k < 0)
                                return k;
                }
                if (st.n == level_end)
                        break;
                for (size_t i = level_end; i < st.n; i++)
                        if (state_compare(st.s + i, st.s + best) < 0)
                                best = i;
                level_start = level_end;
        }

        plan->layout = TAKE_PTR(st.s[0].layout);
        plan->n_layouts = n_layouts;
        if (best == 0) {
                plan->after = strdup(plan->before);
                if (!plan->after)
                        return -ENOMEM;
        } else {
                plan->new_layout = TAKE_PTR(st.s[best].layout);
                plan->after = TAKE_PTR(st.s[best].after);
                plan->chosen = TAKE_PTR(st.s[best].path);
                plan->n_chosen = st.s[best].n_path;
                st.s[best].n_path = 0;
        }
        k = add_not_needed(plan);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(plan);
        return 0;
}
