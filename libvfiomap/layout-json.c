/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A Layout as the JSON object of ../proto/layout-json.md. Addresses follow the host model's convention
 * (host-json.h): lowercase "0x..." strings with inclusive ends; sizes are plain byte counts (at most 2^52,
 * exact in every JSON reader); facts that are not known are null, never guessed. */

#include <json-c/json.h>

#include "host-json.h"
#include "layout.h"
#include "util.h"

#define ADD(o, k, v) (void) json_object_object_add((o), (k), (v))

static json_object *json_string_or_null(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

static json_object *json_int_or_null(int v) {
        return v >= 0 ? json_object_new_int(v) : NULL;
}

static json_object *json_optional_range(bool has, uint64_t start, uint64_t end) {
        return has ? json_range(start, end) : NULL;
}

static json_object *problem_to_json(const Problem *p) {
        json_object *o = json_object_new_object();

        ADD(o, "code", json_object_new_string(p->code));
        ADD(o, "severity", json_object_new_string(severity_to_string(p->severity)));
        ADD(o, "message", json_object_new_string(p->message));
        ADD(o, "device", json_string_or_null(p->device));
        ADD(o, "group", json_int_or_null(p->group));
        ADD(o, "range", json_optional_range(p->has_range, p->start, p->end));
        return o;
}

static json_object *exclusion_to_json(const Exclusion *e) {
        json_object *o = json_range(e->start, e->end);

        ADD(o, "kind", json_object_new_string(exclusion_kind_to_string(e->kind)));
        ADD(o, "group", json_int_or_null(e->group));
        ADD(o, "device", json_string_or_null(e->device));
        ADD(o, "via", json_string_or_null(e->via));
        ADD(o, "what", json_string_or_null(e->what));
        return o;
}

static json_object *recommendation_to_json(const Recommendation *r) {
        json_object *o = json_object_new_object();

        ADD(o, "action", json_object_new_string(r->action));
        ADD(o, "summary", json_object_new_string(r->summary));
        ADD(o, "libvirt", json_string_or_null(r->libvirt));
        ADD(o, "qemu", json_string_or_null(r->qemu));
        return o;
}

int layout_to_json(const Layout *l, json_object **ret) {
        json_object *o, *a;

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        ADD(o, "vm", json_string_or_null(l->vm_name));
        ADD(o, "machine", json_object_new_string(l->machine));
        ADD(o, "machine_family", json_object_new_string(machine_family_to_string(l->family)));
        ADD(o, "verdict", json_object_new_string(verdict_to_string(l->verdict)));

        a = json_object_new_array();
        for (size_t i = 0; i < l->n_problems; i++)
                (void) json_object_array_add(a, problem_to_json(&l->problems[i]));
        ADD(o, "problems", a);

        a = json_object_new_array();
        for (size_t i = 0; i < l->ram.n; i++)
                (void) json_object_array_add(a, json_range(l->ram.ranges[i].start, l->ram.ranges[i].end));
        ADD(o, "ram", a);
        ADD(o, "ram_bytes", json_object_new_uint64(l->ram_size));
        ADD(o, "ram_relocated_above_1tib", json_object_new_boolean(l->ram_relocated_above_1tib));
        ADD(o, "hotplug", json_optional_range(l->has_hotplug, l->hotplug_start, l->hotplug_end));
        ADD(o, "mmio32", json_optional_range(l->has_mmio32, l->mmio32_start, l->mmio32_end));
        ADD(o, "mmio64", json_optional_range(l->has_mmio64, l->mmio64_start, l->mmio64_end));
        ADD(o, "mmio64_bytes",
            l->has_mmio64 ? json_object_new_uint64(l->mmio64_end - l->mmio64_start + 1) : json_object_new_uint64(0));
        ADD(o, "guest_cpu_vendor", json_string_or_null(l->guest_cpu_vendor));
        ADD(o, "guest_phys_bits", json_int_or_null(l->guest_phys_bits));
        ADD(o, "viommu_aw_bits", json_int_or_null(l->viommu_aw_bits));

        a = json_object_new_array();
        for (size_t i = 0; i < l->n_excluded; i++)
                (void) json_object_array_add(a, exclusion_to_json(&l->excluded[i]));
        ADD(o, "excluded", a);
        ADD(o, "iommu_address_width", json_int_or_null(l->iommu_address_width));

        a = json_object_new_array();
        for (size_t i = 0; i < l->n_recommendations; i++)
                (void) json_object_array_add(a, recommendation_to_json(&l->recommendations[i]));
        ADD(o, "recommendations", a);

        *ret = o;
        return 0;
}
