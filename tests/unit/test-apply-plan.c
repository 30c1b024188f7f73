/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* apply_plan_compute() on the sample hosts with the real layout engine: `vfiomapctl apply` must write the
 * smallest set of changes that gives the best verdict, keep the user's RAM when it can, and name the
 * alternatives it leaves out. */

#include "apply-plan.h"
#include "json-util.h"
#include "layout.h"
#include "tap.h"
#include "util.h"
#include "vmspec.h"

#include <inttypes.h>
#include <json-c/json.h>

#ifndef SAMPLE_HOSTS_DIR
#error "SAMPLE_HOSTS_DIR must point at tests/hosts"
#endif
#ifndef LAYOUT_CLI_DIR
#error "LAYOUT_CLI_DIR must point at tests/layout/cli"
#endif

typedef struct Engine {
        Host *host;
        unsigned calls;
} Engine;

static int engine_layout(const char *xml, json_object **ret, void *userdata) {
        _cleanup_(vmspec_freep) VmSpec *spec = NULL;
        _cleanup_(layout_freep) Layout *l = NULL;
        _cleanup_free_ char *error = NULL;
        Engine *e = userdata;
        int k;

        e->calls++;
        k = vmspec_parse(xml, strlen(xml), &spec, &error);
        if (k < 0) {
                printf("# the XML does not parse: %s\n", strna(error));
                return k;
        }
        k = layout_compute(e->host, spec, &l);
        return k < 0 ? k : layout_to_json(l, ret);
}

static char *read_file(const char *path) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t size = 0;

        if (!f || getdelim(&buf, &size, '\0', f) < 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

static bool chosen_are(const ApplyPlan *p, const char *const *actions) {
        size_t n = 0;

        while (actions[n])
                n++;
        if (n != p->n_chosen)
                return false;
        for (size_t i = 0; i < n; i++) {
                bool found = false;
                for (size_t j = 0; j < p->n_chosen && !found; j++)
                        found = streq(p->chosen[j].action, actions[i]);
                if (!found)
                        return false;
        }
        return true;
}

static bool not_needed_has(const ApplyPlan *p, const char *action) {
        for (size_t i = 0; i < p->n_not_needed; i++)
                if (streq(p->not_needed[i].action, action))
                        return true;
        return false;
}

static bool has_error(json_object *layout, const char *code) {
        json_object *a = jget(layout, "problems");

        for (size_t i = 0; i < jlen(a); i++)
                if (streq_ptr(jstr(jidx(a, i), "code"), code) &&
                    streq_ptr(jstr(jidx(a, i), "severity"), "error"))
                        return true;
        return false;
}

static void print_chosen(const ApplyPlan *p) {
        printf("#   chosen:");
        for (size_t i = 0; i < p->n_chosen; i++)
                printf(" %s", p->chosen[i].action);
        printf("\n");
}

static ApplyPlan *plan_for(const char *host, const char *xml, Engine *e) {
        _cleanup_free_ char *root = NULL, *error = NULL;
        ApplyPlan *p = NULL;

        if (asprintf_safe(&root, "%s/%s", SAMPLE_HOSTS_DIR, host) < 0 || host_load(root, &e->host) < 0)
                return NULL;
        if (apply_plan_compute(xml, engine_layout, e, &p, &error) < 0)
                printf("# apply_plan_compute: %s\n", strna(error));
        return p;
}

/* amd-server, 1022.75 GiB on pc-q35-6.2: a 7.1 machine type lets QEMU move the RAM past the HyperTransport
 * hole, and so would 1010 GiB of RAM. Only the machine type may change; the group stays not viable (a host
 * driver), which no XML fixes. */
static void test_machine_type_alone(void) {
        _cleanup_free_ char *path = NULL, *xml = NULL;
        _cleanup_(apply_plan_freep) ApplyPlan *p = NULL;
        Engine e = {};

        if (asprintf_safe(&path, "%s/amd-gpu-big.xml", LAYOUT_CLI_DIR) < 0 || !(xml = read_file(path)))
                abort();
        p = plan_for("amd-server", xml, &e);
        ok(p, "amd-server epyc-big-old: planned");
        if (p) {
                ok(chosen_are(p, (const char *const[]){ "relocate-above-1tib", NULL }),
                   "only the machine type changes");
                if (!chosen_are(p, (const char *const[]){ "relocate-above-1tib", NULL }))
                        print_chosen(p);
                ok(strstr(p->after, "machine=\"pc-q35-7.1\""), "the new XML has the 7.1 machine type");
                ok(strstr(p->after, "<memory unit=\"KiB\">1072431104</memory>"),
                   "the RAM stays 1022.75 GiB");
                ok(not_needed_has(p, "reduce-memory"),
                   "cutting the RAM is named as the alternative left out");
                is_u64(json_object_get_uint64(jget(p->new_layout, "ram_bytes")),
                       json_object_get_uint64(jget(p->layout, "ram_bytes")),
                       "the new layout keeps the RAM");
                ok(!has_error(p->new_layout, "amd-ht-hole") && has_error(p->layout, "amd-ht-hole"),
                   "the amd-ht-hole error is gone after the change");
                is_str(jstr(p->new_layout, "verdict"), "error", "the not viable group still fails it");
                ok(p->n_layouts == e.calls && p->n_layouts <= APPLY_PLAN_LAYOUTS_MAX,
                   "layouts counted (%u)",
                   p->n_layouts);
        }
        host_free(e.host);
}

/* intel-client, 490 GiB under TCG (the integration test's vfiomap-big): the RAM must shrink below the
 * GPU's own BAR at 272 GiB, which also brings the 64-bit hole under the 39-bit IOMMU; guest phys-bits 40
 * must then be limited to 39, a fix the layout only offers once the rest fits. The verdict becomes ok. */
static void test_fix_found_after_recompute(void) {
        static const char xml[] =
                "<domain type='qemu'><name>vfiomap-big</name><memory unit='MiB'>501760</memory><vcpu>1</vcpu>"
                "<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>"
                "<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x01' "
                "slot='0x00' function='0x0'/></source></hostdev>"
                "<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x01' "
                "slot='0x00' function='0x1'/></source></hostdev>"
                "<memballoon model='none'/></devices></domain>";
        _cleanup_(apply_plan_freep) ApplyPlan *p = NULL;
        bool offered_at_first = false;
        Engine e = {};
        json_object *recs;

        p = plan_for("intel-client", xml, &e);
        ok(p, "intel-client vfiomap-big: planned");
        if (!p) {
                host_free(e.host);
                return;
        }
        recs = jget(p->layout, "recommendations");
        for (size_t i = 0; i < jlen(recs); i++)
                offered_at_first =
                        offered_at_first || streq_ptr(jstr(jidx(recs, i), "action"), "set-maxphysaddr");
        ok(!offered_at_first,
           "the first layout does not offer the phys-bits fix (the case needs the search)");
        is_str(jstr(p->new_layout, "verdict"), "ok", "the changes make the verdict ok");
        ok(chosen_are(p, (const char *const[]){ "reduce-memory", "set-maxphysaddr", NULL }),
           "less RAM and the phys-bits limit, nothing else");
        if (!chosen_are(p, (const char *const[]){ "reduce-memory", "set-maxphysaddr", NULL }))
                print_chosen(p);
        ok(strstr(p->after, "<maxphysaddr mode=\"emulate\" bits=\"39\"/>"),
           "the new XML limits phys-bits to 39");
        ok(!strstr(p->after, "pcihole64"), "the 64-bit hole is left alone: less RAM already fits it");
        ok(not_needed_has(p, "set-pcihole64"), "the hole's change is named as not applied");
        host_free(e.host);
}

/* A layout that is already ok gets no change, and one computation. */
static void test_nothing_to_do(void) {
        static const char xml[] =
                "<domain type='qemu'><name>small</name><memory unit='GiB'>8</memory>"
                "<os><type arch='x86_64' machine='pc-q35-8.2'>hvm</type></os>"
                "<cpu><maxphysaddr mode='emulate' bits='39'/></cpu><devices>"
                "<hostdev mode='subsystem' type='pci'><source><address domain='0x0000' bus='0x01' slot='0x00' "
                "function='0x0'/></source></hostdev>"
                "<hostdev mode='subsystem' type='pci'><source><address domain='0x0000' bus='0x01' slot='0x00' "
                "function='0x1'/></source></hostdev></devices></domain>";
        _cleanup_(apply_plan_freep) ApplyPlan *p = NULL;
        Engine e = {};

        p = plan_for("intel-client", xml, &e);
        ok(p && streq_ptr(jstr(p->layout, "verdict"), "ok"), "a small guest fits as it is");
        if (p) {
                ok(p->n_chosen == 0 && !p->new_layout && streq(p->before, p->after), "no change");
                is_int(e.calls, 1, "one layout computed");
        }
        host_free(e.host);
}

/* intel-client with an intel vIOMMU, the GPU and its audio function (group 2) on two guest root ports: the
 * plan moves both hostdevs behind a new pcie-to-pci-bridge, in place, and QEMU's "used in multiple address
 * spaces" is gone. */
static void test_viommu_group_to_one_bridge(void) {
        _cleanup_free_ char *xml = NULL;
        _cleanup_(apply_plan_freep) ApplyPlan *p = NULL;
        Engine e = {};

        xml = read_file(LAYOUT_CASES_DIR "/intel-viommu-group-split.xml");
        if (!xml)
                abort();
        p = plan_for("intel-client", xml, &e);
        ok(p, "intel-client viommu-split: planned");
        if (p) {
                ok(has_error(p->layout, "viommu-group-address-spaces"), "the domain as given is refused");
                ok(chosen_are(p, (const char *const[]){ "share-address-space", NULL }), "the bridge is the change");
                if (!chosen_are(p, (const char *const[]){ "share-address-space", NULL }))
                        print_chosen(p);
                ok(p->after && strstr(p->after, "model=\"pcie-to-pci-bridge\""), "the new XML has the bridge");
                ok(p->new_layout && !has_error(p->new_layout, "viommu-group-address-spaces"),
                   "the new layout has one address space for the group");
                if (p->after) {
                        size_t n = 0;
                        for (const char *q = p->after; (q = strstr(q, "<hostdev ")); q++)
                                n++;
                        ok(n == 2 && strstr(p->after, "bus=\"0x03\" slot=\"0x01\"") &&
                                   strstr(p->after, "bus=\"0x03\" slot=\"0x02\""),
                           "the two hostdevs moved in place to slots 1 and 2 of bus 3 (%zu hostdevs)", n);
                }
        }
        host_free(e.host);
}

int main(void) {
        test_viommu_group_to_one_bridge();
        test_machine_type_alone();
        test_fix_found_after_recompute();
        test_nothing_to_do();
        return tap_done();
}
