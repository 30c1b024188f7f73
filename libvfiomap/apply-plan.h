/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Which of a layout's recommendations `vfiomapctl apply` writes into a domain XML.
 *
 * A layout offers alternatives, not a recipe: on an AMD host a newer machine type (QEMU moves the RAM to
 * 1 TiB) and less RAM each clear the HyperTransport hole, and applying both costs the user RAM for nothing.
 * Some fixes only appear once another is made (guest phys-bits can be limited only when the rest of the
 * layout fits them). So the plan searches: it writes one recommendation at a time, recomputes the layout of
 * the result, and follows the recommendations of that layout, breadth first, up to APPLY_PLAN_DEPTH_MAX
 * changes and APPLY_PLAN_LAYOUTS_MAX layouts. It picks the result with the best verdict (then the fewest
 * errors, the fewest warnings), among those the one that keeps the most RAM, then the one with the fewest
 * changes, then the first found.
 *
 * Pure: the layouts come from the caller (vfiomapd over the bus, or the layout engine under --root). */

#include <stddef.h>

struct json_object;

#define APPLY_PLAN_DEPTH_MAX 4U
#define APPLY_PLAN_LAYOUTS_MAX 64U

/* Computes the layout JSON (../proto/layout-json.md) of a domain XML. Returns a negative errno when it
 * cannot, having said why itself; the plan stops with that error. */
typedef int (*ApplyPlanLayoutFn)(const char *xml, struct json_object **ret, void *userdata);

typedef struct ApplyPlanChange {
        char *action; /* the recommendation's stable id */
        char *summary;
        char *libvirt; /* its snippet */
} ApplyPlanChange;

typedef struct ApplyPlan {
        struct json_object *layout;     /* of the domain as given */
        struct json_object *new_layout; /* with the chosen changes; NULL when none was chosen */
        char *before, *after;           /* the XML before and after, serialised alike (domain_xml_apply()) */
        ApplyPlanChange *chosen;        /* in the order they are written */
        size_t n_chosen;
        /* Recommendations with a snippet the domain as given was offered and the plan does not apply. */
        ApplyPlanChange *not_needed;
        size_t n_not_needed;
        unsigned n_layouts; /* layouts computed, the first included */
} ApplyPlan;

ApplyPlan *apply_plan_free(ApplyPlan *p);
static inline void apply_plan_freep(ApplyPlan **p) {
        if (*p)
                (void) apply_plan_free(*p);
}

/* Returns 0, the callback's error, -ENOMEM, or -EINVAL with *ret_error when the domain or a snippet cannot
 * be merged (domain_xml_apply()). */
int apply_plan_compute(
        const char *xml,
        ApplyPlanLayoutFn layout_fn,
        void *userdata,
        ApplyPlan **ret,
        char **ret_error);
