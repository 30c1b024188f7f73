/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-util.h"
#include "claim-refusal.h"
#include "host-json.h"
#include "json-util.h"
#include "layout.h"
#include "log.h"
#include "machine.h"
#include "manager.h"
#include "vmspec.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

/* ---- properties ---- */

static int property_get_version(
        sd_bus *bus,
        const char *path,
        const char *interface,
        const char *property,
        sd_bus_message *reply,
        void *userdata,
        sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", PACKAGE_VERSION);
}

static int property_get_root(
        sd_bus *bus,
        const char *path,
        const char *interface,
        const char *property,
        sd_bus_message *reply,
        void *userdata,
        sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "s", m->root ?: "/");
}

static int property_get_read_only(
        sd_bus *bus,
        const char *path,
        const char *interface,
        const char *property,
        sd_bus_message *reply,
        void *userdata,
        sd_bus_error *error) {
        return sd_bus_message_append(reply, "b", manager_read_only(userdata));
}

static int property_get_counts(
        sd_bus *bus,
        const char *path,
        const char *interface,
        const char *property,
        sd_bus_message *reply,
        void *userdata,
        sd_bus_error *error) {
        Manager *m = userdata;
        uint32_t n = streq(property, "NDevices") ? m->host->n_devices
                : streq(property, "NGroups")     ? m->host->n_groups
                                                 : m->n_machines;
        return sd_bus_message_append(reply, "u", n);
}

static int property_get_iommu(
        sd_bus *bus,
        const char *path,
        const char *interface,
        const char *property,
        sd_bus_message *reply,
        void *userdata,
        sd_bus_error *error) {
        Manager *m = userdata;

        /* The announced values are the current ones: manager_announce_manager_properties() runs after
         * every model change, before any property can be read. */
        if (streq(property, "IommuAddressWidth"))
                return sd_bus_message_append(reply, "i", m->last_width);
        if (streq(property, "InterruptRemapping"))
                return sd_bus_message_append(reply, "s", strna(m->last_intremap));
        return sd_bus_message_append(reply, "b", m->host->allow_unsafe_interrupts);
}

static int property_get_libvirt(
        sd_bus *bus,
        const char *path,
        const char *interface,
        const char *property,
        sd_bus_message *reply,
        void *userdata,
        sd_bus_error *error) {
        Manager *m = userdata;

        if (streq(property, "LibvirtURI"))
                return sd_bus_message_append(reply, "s", m->no_libvirt ? "" : m->libvirt_uri ?: "");
        return sd_bus_message_append(reply, "b", m->libvirt_connected);
}

static int property_get_cpu_vendor(
        sd_bus *bus,
        const char *path,
        const char *interface,
        const char *property,
        sd_bus_message *reply,
        void *userdata,
        sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "s", m->host->cpu_vendor ?: "");
}

/* ---- queries ---- */

/* The List* replies carry every object of the host, hundreds or thousands of structs. They are built with
 * sd_bus_message_append_basic(), which sd_bus_message_append() ends up calling for each value after
 * parsing its format string (that parsing was a ninth of ListGroups' instructions), and with object paths
 * formatted into a buffer on the stack (asprintf() was an eighth). What is left is sd-bus's own work per
 * value: checking each struct's signature, UTF-8 and object paths, and growing the body. */

static int method_list_devices(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int k;

        k = sd_bus_message_new_method_return(message, &reply);
        if (k < 0)
                return k;
        k = sd_bus_message_open_container(reply, 'a', "(sqqusiso)");
        if (k < 0)
                return k;
        for (size_t i = 0; i < m->host->n_devices; i++) {
                const Device *d = m->host->devices[i];
                const Machine *owner = manager_device_owner(m, d->address);
                /* Copies of the exact D-Bus types: append_basic() reads them through a pointer. */
                const uint16_t vendor = d->vendor, device = d->device;
                const uint32_t class = d->class;
                const int32_t group = d->group;
                char path[DEVICE_OBJECT_PATH_MAX];

                if (!device_object_path_format(d->address, path))
                        return -EINVAL;
                k = sd_bus_message_open_container(reply, 'r', "sqqusiso");
                if (k >= 0)
                        k = sd_bus_message_append_basic(reply, 's', d->address);
                if (k >= 0)
                        k = sd_bus_message_append_basic(reply, 'q', &vendor);
                if (k >= 0)
                        k = sd_bus_message_append_basic(reply, 'q', &device);
                if (k >= 0)
                        k = sd_bus_message_append_basic(reply, 'u', &class);
                if (k >= 0)
                        k = sd_bus_message_append_basic(reply, 's', d->driver ?: "");
                if (k >= 0)
                        k = sd_bus_message_append_basic(reply, 'i', &group);
                if (k >= 0)
                        k = sd_bus_message_append_basic(reply, 's', owner ? owner->claim.machine : "");
                if (k >= 0)
                        k = sd_bus_message_append_basic(reply, 'o', path);
                if (k >= 0)
                        k = sd_bus_message_close_container(reply);
                if (k < 0)
                        return k;
        }
        k = sd_bus_message_close_container(reply);
        if (k < 0)
                return k;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_list_groups(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int k;

        k = sd_bus_message_new_method_return(message, &reply);
        if (k < 0)
                return k;
        k = sd_bus_message_open_container(reply, 'a', "(uasbso)");
        if (k < 0)
                return k;
        for (size_t i = 0; i < m->host->n_groups; i++) {
                const Group *g = m->host->groups[i];
                const Machine *owner = manager_group_owner(m, g->number);
                const uint32_t number = g->number;
                const int viable = group_is_viable(m->host, g);
                char path[GROUP_OBJECT_PATH_MAX];

                k = sd_bus_message_open_container(reply, 'r', "uasbso");
                if (k >= 0)
                        k = sd_bus_message_append_basic(reply, 'u', &number);
                if (k >= 0)
                        k = sd_bus_message_append_strv(reply, g->devices);
                if (k >= 0)
                        k = sd_bus_message_append_basic(reply, 'b', &viable);
                if (k >= 0)
                        k = sd_bus_message_append_basic(reply, 's', owner ? owner->claim.machine : "");
                if (k >= 0)
                        k = sd_bus_message_append_basic(
                                reply, 'o', group_object_path_format(g->number, path));
                if (k >= 0)
                        k = sd_bus_message_close_container(reply);
                if (k < 0)
                        return k;
        }
        k = sd_bus_message_close_container(reply);
        if (k < 0)
                return k;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_list_machines(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int k;

        k = sd_bus_message_new_method_return(message, &reply);
        if (k < 0)
                return k;
        k = sd_bus_message_open_container(reply, 'a', "(ssauo)");
        if (k < 0)
                return k;
        for (size_t i = 0; i < m->n_machines; i++) {
                const Machine *machine = m->machines[i];

                k = sd_bus_message_open_container(reply, 'r', "ssauo");
                if (k >= 0)
                        k = sd_bus_message_append_basic(reply, 's', machine->claim.machine);
                if (k >= 0)
                        k = sd_bus_message_append_basic(reply, 's', machine_state_to_string(machine->state));
                if (k >= 0)
                        k = sd_bus_message_append_array(
                                reply,
                                'u',
                                machine->claim.groups,
                                machine->claim.n_groups * sizeof(uint32_t));
                if (k >= 0)
                        k = sd_bus_message_append_basic(reply, 'o', machine->path);
                if (k >= 0)
                        k = sd_bus_message_close_container(reply);
                if (k < 0)
                        return k;
        }
        k = sd_bus_message_close_container(reply);
        if (k < 0)
                return k;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_describe(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *s = NULL;
        int k;

        k = manager_describe_json(userdata, &s);
        if (k < 0)
                return k;
        return sd_bus_reply_method_return(message, "s", s);
}

static int method_get_device(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *p = NULL;
        Manager *m = userdata;
        char address[PCI_ADDRESS_MAX];
        const char *s;
        int k;

        k = sd_bus_message_read(message, "s", &s);
        if (k < 0)
                return k;
        if (parse_pci_address_arg(s, address) < 0)
                return sd_bus_error_setf(
                        error, SD_BUS_ERROR_INVALID_ARGS, PCI_ADDRESS_USER_ERROR ".", bus_arg_quotable(s));
        if (!host_find_device(m->host, address))
                return sd_bus_error_setf(
                        error, VFIOMAP_ERROR_DEVICE_NOT_FOUND, "Device %s does not exist.", address);
        k = device_object_path(address, &p);
        if (k < 0)
                return k;
        return sd_bus_reply_method_return(message, "o", p);
}

static int method_get_group(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *p = NULL;
        Manager *m = userdata;
        uint32_t n;
        int k;

        k = sd_bus_message_read(message, "u", &n);
        if (k < 0)
                return k;
        if (!host_find_group(m->host, n))
                return sd_bus_error_setf(
                        error, VFIOMAP_ERROR_NO_SUCH_GROUP, "IOMMU group %u does not exist.", n);
        k = group_object_path(n, &p);
        if (k < 0)
                return k;
        return sd_bus_reply_method_return(message, "o", p);
}

static int method_get_machine(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        Machine *machine;
        const char *name;
        int k;

        k = sd_bus_message_read(message, "s", &name);
        if (k < 0)
                return k;
        machine = manager_find_machine(m, name);
        if (!machine)
                return sd_bus_error_setf(
                        error,
                        VFIOMAP_ERROR_NO_SUCH_MACHINE,
                        "No machine %s has a claim.",
                        bus_arg_quotable(name));
        return sd_bus_reply_method_return(message, "o", machine->path);
}

/* ---- layouts and claims ---- */

/* The layout knows one VM; the daemon knows who holds the other groups a bus reset would reach
 * (libvfiomap/reset.c, bus-reset-not-owned): the problem names those machines. */
static int layout_name_bus_reset_owners(Manager *m, const VmSpec *spec, Layout *l) {
        for (size_t i = 0; i < l->n_problems; i++) {
                _cleanup_strv_free_ char **scope = NULL;
                Problem *p = l->problems + i;
                const Device *d;

                if (!streq(p->code, PROBLEM_BUS_RESET_NOT_OWNED) || !p->device)
                        continue;
                d = host_find_device(m->host, p->device);
                if (!d || device_bus_reset_scope(m->host, d, &scope) < 0)
                        continue;
                STRV_FOREACH (a, scope) {
                        const Device *e = host_find_device(m->host, *a);
                        Machine *owner = e && e->group >= 0 ? manager_group_owner(m, (unsigned) e->group) : NULL;
                        char *n = NULL;

                        if (!owner || streq_ptr(owner->claim.machine, spec->name))
                                continue;
                        if (asprintf_safe(&n, "%s %s (group %d) belongs to machine %s.", p->message, e->address,
                                          e->group, owner->claim.machine) < 0)
                                return -ENOMEM;
                        free(p->message);
                        p->message = n;
                }
        }
        return 0;
}

static int parse_spec(const char *text, VmSpec **ret, sd_bus_error *error) {
        _cleanup_free_ char *msg = NULL;
        int k;

        k = vmspec_parse(text, strlen(text), ret, &msg);
        if (k == -ENOMEM)
                return k;
        if (k < 0)
                return sd_bus_error_setf(
                        error, VFIOMAP_ERROR_INVALID_SPEC, "Invalid VM spec: %s", msg ?: strerror(-k));
        return 0;
}

static int layout_json_string(const Layout *l, char **ret) {
        _cleanup_(json_object_putp) json_object *j = NULL;
        const char *s;
        int k;

        k = layout_to_json(l, &j);
        if (k < 0)
                return k;
        s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int method_compute_layout(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(vmspec_freep) VmSpec *spec = NULL;
        _cleanup_(layout_freep) Layout *layout = NULL;
        _cleanup_free_ char *s = NULL;
        Manager *m = userdata;
        const char *text;
        int k;

        k = sd_bus_message_read(message, "s", &text);
        if (k < 0)
                return k;
        k = parse_spec(text, &spec, error);
        if (k < 0)
                return k;
        vmspec_probe_rom_files(spec, m->root ?: "/"); /* <rom file=> below the daemon's root */
        k = layout_compute(m->host, spec, &layout);
        if (k >= 0)
                k = layout_name_bus_reset_owners(m, spec, layout);
        if (k < 0)
                return k;
        k = layout_json_string(layout, &s);
        if (k < 0)
                return k;
        return sd_bus_reply_method_return(message, "s", s);
}

/* The report "vfiomapctl layout" prints, from the daemon's host model, so that the client without --root
 * shows what claim and apply act on (a client run by a user other than root would read a host with zeroed
 * BARs and short config space). */
static int layout_report_string(const Layout *l, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;
        int k;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        k = layout_report(l, f);
        if (fclose(f) != 0 && k >= 0)
                k = -ENOMEM;
        if (k < 0)
                return k;
        *ret = TAKE_PTR(buf);
        return 0;
}

static int method_render_layout(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(vmspec_freep) VmSpec *spec = NULL;
        _cleanup_(layout_freep) Layout *layout = NULL;
        _cleanup_free_ char *json = NULL, *report = NULL, *svg = NULL;
        Manager *m = userdata;
        const char *text;
        uint64_t flags;
        int k;

        k = sd_bus_message_read(message, "st", &text, &flags);
        if (k < 0)
                return k;
        if (flags & ~(uint64_t) VFIOMAP_RENDER_LAYOUT_SVG)
                return sd_bus_error_setf(
                        error,
                        SD_BUS_ERROR_INVALID_ARGS,
                        "Unknown flags 0x%" PRIx64 ".",
                        flags & ~(uint64_t) VFIOMAP_RENDER_LAYOUT_SVG);
        k = parse_spec(text, &spec, error);
        if (k < 0)
                return k;
        vmspec_probe_rom_files(spec, m->root ?: "/"); /* <rom file=> below the daemon's root */
        k = layout_compute(m->host, spec, &layout);
        if (k >= 0)
                k = layout_name_bus_reset_owners(m, spec, layout);
        if (k >= 0)
                k = layout_json_string(layout, &json);
        if (k >= 0)
                k = layout_report_string(layout, &report);
        if (k >= 0 && (flags & VFIOMAP_RENDER_LAYOUT_SVG))
                k = layout_to_svg(layout, &svg);
        if (k < 0)
                return k;
        return sd_bus_reply_method_return(message, "sss", json, report, svg ?: "");
}

/* Whether the spec itself names the VM: a domain XML always does (<name> is required); a JSON spec only
 * with a "name" key (vmspec_parse_json() otherwise calls it "vm"). */
static bool spec_names_machine(const char *text) {
        _cleanup_(json_object_putp) json_object *j = NULL;

        text += strspn(text, " \t\r\n");
        if (*text != '{')
                return true;
        j = json_tokener_parse(text);
        return jstr(j, "name");
}

/* "14 (0000:01:00.0, 0000:01:00.1)" */
static char *format_group(const Group *g) {
        _cleanup_free_ char *members = NULL;
        char *s = NULL;

        STRV_FOREACH (d, g->devices) {
                char *n = NULL;
                if (asprintf_safe(&n, "%s%s%s", members ?: "", members ? ", " : "", *d) < 0)
                        return NULL;
                free(members);
                members = n;
        }
        if (asprintf_safe(&s, "%u (%s)", g->number, members ?: "no devices") < 0)
                return NULL;
        return s;
}

static int uint_compare(const void *a, const void *b) {
        unsigned x = *(const unsigned *) a, y = *(const unsigned *) b;
        return x < y ? -1 : x > y;
}

/* Everything a claim needs beyond the layout: the devices exist and have groups, the groups are free (or
 * already this machine's) and viable once the VM's own devices go to VFIO. Fills claim->devices and
 * claim->groups, and refusal with every reason it finds (claim-refusal.h). */
static int claim_check(
        Manager *m,
        const char *name,
        const VmSpec *spec,
        ClaimRecord *claim,
        ClaimRefusal *refusal) {
        int k;

        for (size_t i = 0; i < spec->n_hostdevs; i++) {
                const char *a = spec->hostdevs[i].address;
                const Device *d = host_find_device(m->host, a);

                if (!d) {
                        k = claim_refusal_add(
                                refusal,
                                CLAIM_ERROR_UNFIXABLE,
                                VFIOMAP_ERROR_DEVICE_NOT_FOUND,
                                a,
                                "Device %s of machine %s does not exist on this host.",
                                a,
                                name);
                        if (k < 0)
                                return k;
                        continue;
                }
                if (d->group < 0) {
                        k = claim_refusal_add(
                                refusal,
                                CLAIM_ERROR_UNFIXABLE,
                                VFIOMAP_ERROR_NO_IOMMU_GROUP,
                                a,
                                "Device %s of machine %s is in no IOMMU group: the IOMMU is "
                                "off or does not cover it.",
                                a,
                                name);
                        if (k < 0)
                                return k;
                        continue;
                }
                if (!strv_contains(claim->devices, a) && strv_extend(&claim->devices, a) < 0)
                        return -ENOMEM;
                if (claim->n_groups == 0 ||
                    !bsearch(
                            &(unsigned){ d->group },
                            claim->groups,
                            claim->n_groups,
                            sizeof(unsigned),
                            uint_compare)) {
                        unsigned *ng = realloc(claim->groups, sizeof(unsigned) * (claim->n_groups + 1));
                        if (!ng)
                                return -ENOMEM;
                        claim->groups = ng;
                        claim->groups[claim->n_groups++] = (unsigned) d->group;
                        qsort(claim->groups, claim->n_groups, sizeof(unsigned), uint_compare);
                }
        }
        strv_sort(claim->devices);

        for (size_t i = 0; i < claim->n_groups; i++) {
                _cleanup_free_ Blocker *blockers = NULL;
                _cleanup_free_ char *desc = NULL;
                const Group *g = host_find_group(m->host, claim->groups[i]);
                Machine *owner = manager_group_owner(m, claim->groups[i]);
                int n;

                if (!g) {
                        k = claim_refusal_add(
                                refusal,
                                CLAIM_ERROR_UNFIXABLE,
                                VFIOMAP_ERROR_NO_IOMMU_GROUP,
                                NULL,
                                "IOMMU group %u of machine %s does not exist.",
                                claim->groups[i],
                                name);
                        if (k < 0)
                                return k;
                        continue;
                }
                desc = format_group(g);
                if (!desc)
                        return -ENOMEM;
                if (owner && !streq(owner->claim.machine, name)) {
                        char when[64];
                        k = claim_refusal_add(
                                refusal,
                                CLAIM_ERROR_OTHER_MACHINE,
                                VFIOMAP_ERROR_GROUP_OWNED,
                                NULL,
                                "Group %s is owned by machine %s (%s).",
                                desc,
                                owner->claim.machine,
                                machine_format_claimed_at(owner, when));
                        if (k < 0)
                                return k;
                }
                /* What QEMU would refuse with "group N is not viable" (../shared/DOMAIN.md §2): every
                 * member bound to a host driver, each one a line. */
                n = group_blockers(m->host, g, claim->devices, &blockers);
                if (n < 0)
                        return n;
                for (int b = 0; b < n; b++) {
                        k = claim_refusal_add(
                                refusal,
                                CLAIM_ERROR_HOST_DRIVER,
                                VFIOMAP_ERROR_GROUP_NOT_VIABLE,
                                blockers[b].device,
                                "Group %s is not viable for machine %s: %s is bound to %s and "
                                "not part of the VM; bind it to vfio-pci or add it to the VM.",
                                desc,
                                name,
                                blockers[b].device,
                                strna(blockers[b].driver));
                        if (k < 0)
                                return k;
                }

                /* managed='no': libvirt does not detach the device, it only checks that it is on a stub
                 * driver already (virHostdevPreparePCIDevicesImpl() in src/hypervisor/virhostdev.c), and
                 * QEMU opens it through vfio-pci alone. managed='yes' devices are rebound by libvirt. */
                for (size_t j = 0; j < spec->n_hostdevs; j++) {
                        const VmHostdev *hd = spec->hostdevs + j;
                        const Device *d = hd->managed ? NULL : host_find_device(m->host, hd->address);

                        if (!d || d->group != (int) g->number || driver_is_vfio(d->driver))
                                continue;
                        k = claim_refusal_add(
                                refusal,
                                CLAIM_ERROR_HOST_DRIVER,
                                VFIOMAP_ERROR_GROUP_NOT_VIABLE,
                                d->address,
                                "Group %s is not viable for machine %s: %s is %s%s and its <hostdev> has "
                                "managed='no', so libvirt will not move it to vfio-pci; bind it to vfio-pci "
                                "(\"vfiomapctl bind-vfio %s\") or set managed='yes'.",
                                desc,
                                name,
                                d->address,
                                d->driver ? "bound to " : "bound to no driver",
                                d->driver ?: "",
                                d->address);
                        if (k < 0)
                                return k;
                }
        }
        return 0;
}

/* The layout's errors, beside claim_check()'s: those it already named in its own words are left out. */
static int claim_add_layout_errors(const Layout *layout, ClaimRefusal *refusal) {
        for (size_t i = 0; i < layout->n_problems; i++) {
                const Problem *p = layout->problems + i;
                ClaimErrorRank rank = CLAIM_ERROR_LAYOUT;
                const char *same = NULL;
                int k;

                if (p->severity != SEVERITY_ERROR)
                        continue;
                if (streq(p->code, PROBLEM_DEVICE_NOT_FOUND))
                        same = VFIOMAP_ERROR_DEVICE_NOT_FOUND;
                else if (streq(p->code, PROBLEM_NO_IOMMU_GROUP))
                        same = VFIOMAP_ERROR_NO_IOMMU_GROUP;
                else if (streq(p->code, PROBLEM_GROUP_NOT_VIABLE))
                        same = VFIOMAP_ERROR_GROUP_NOT_VIABLE;
                if (same && claim_refusal_has(refusal, same, p->device))
                        continue;
                /* A direct region: the kernel never gives the device to VFIO, whatever the VM is. */
                if (streq(p->code, PROBLEM_DIRECT_REGION) || streq(p->code, PROBLEM_DEVICE_NOT_FOUND) ||
                    streq(p->code, PROBLEM_NO_IOMMU_GROUP))
                        rank = CLAIM_ERROR_UNFIXABLE;
                else if (streq(p->code, PROBLEM_GROUP_NOT_VIABLE))
                        rank = CLAIM_ERROR_HOST_DRIVER;
                k = claim_refusal_add(
                        refusal, rank, same ?: VFIOMAP_ERROR_LAYOUT_ERROR, p->device, "%s", p->message);
                if (k < 0)
                        return k;
        }
        return 0;
}

static int claim_validate(const char *name, const char *text, VmSpec **ret, sd_bus_error *error) {
        _cleanup_(vmspec_freep) VmSpec *spec = NULL;
        int k;

        if (!claim_name_is_valid(name))
                return sd_bus_error_setf(
                        error,
                        SD_BUS_ERROR_INVALID_ARGS,
                        "\"%s\" is not a valid machine name.",
                        bus_arg_quotable(name));
        k = parse_spec(text, &spec, error);
        if (k < 0)
                return k;
        if (spec_names_machine(text) && !streq(spec->name, name))
                return sd_bus_error_setf(
                        error,
                        SD_BUS_ERROR_INVALID_ARGS,
                        "The machine is called %s but its spec names %s.",
                        name,
                        spec->name);
        if (ret)
                *ret = TAKE_PTR(spec);
        return 0;
}

int manager_claim(Manager *m, const char *name, const char *text, char **ret_layout, sd_bus_error *error) {
        _cleanup_(claim_record_done) ClaimRecord claim = {};
        _cleanup_(claim_refusal_done) ClaimRefusal refusal = {};
        _cleanup_(vmspec_freep) VmSpec *spec = NULL;
        _cleanup_(layout_freep) Layout *layout = NULL;
        _cleanup_(machine_freep) Machine *machine = NULL;
        _cleanup_free_ char *reply = NULL;
        Machine *old, *added;
        struct timespec ts;
        int k;

        k = claim_validate(name, text, &spec, error);
        if (k < 0)
                return k;
        k = claim_check(m, name, spec, &claim, &refusal);
        if (k < 0)
                return k;
        vmspec_probe_rom_files(spec, m->root ?: "/"); /* <rom file=> below the daemon's root */
        k = layout_compute(m->host, spec, &layout);
        if (k >= 0)
                k = layout_name_bus_reset_owners(m, spec, layout);
        if (k < 0)
                return k;
        k = claim_add_layout_errors(layout, &refusal);
        if (k < 0)
                return k;
        if (refusal.n > 0)
                return claim_refusal_to_bus_error(&refusal, error);
        k = layout_json_string(layout, &reply);
        if (k < 0)
                return k;

        claim.machine = strdup(name);
        claim.spec = strdup(text);
        claim.layout = strdup(reply);
        if (!claim.machine || !claim.spec || !claim.layout)
                return -ENOMEM;
        (void) clock_gettime(CLOCK_REALTIME, &ts);
        claim.claimed_at = (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;

        /* Claiming again (libvirt's "reconnect", a changed domain) replaces the machine's claim. The new
         * claim goes to disk before the table changes: a failed write (a full disk) leaves the old claim in
         * force, in memory and on disk, and the caller gets the error. */
        old = manager_find_machine(m, name);
        /* The claims file must stay loadable: claims_parse() refuses more machines than this. */
        if (!old && m->n_machines >= CLAIMS_MACHINES_MAX)
                return sd_bus_error_setf(
                        error,
                        SD_BUS_ERROR_LIMITS_EXCEEDED,
                        "Cannot claim for machine %s: vfiomapd holds %u claims, its limit.",
                        name,
                        CLAIMS_MACHINES_MAX);
        k = machine_new(m, &claim, &machine);
        if (k < 0)
                return k;
        k = manager_save_claims_with(m, old, &machine->claim);
        if (k < 0) {
                log_error_errno(k, "Failed to save the claims: %m");
                return sd_bus_error_set_errnof(
                        error, k, "Failed to save the claim of %s in %s: %m", name, m->runtime_dir);
        }
        if (old) {
                k = manager_remove_machine(m, old);
                if (k < 0)
                        return k;
        }
        added = TAKE_PTR(machine);
        k = manager_add_machine(m, added);
        if (k < 0) {
                /* Only a failed realloc() leaves it outside the table; the table owns it otherwise. */
                if (manager_find_machine(m, name) != added)
                        machine_free(added);
                return k;
        }
        log_info(
                "Machine %s claimed IOMMU groups for %zu devices.",
                name,
                strv_length(manager_find_machine(m, name)->claim.devices));
        if (ret_layout)
                *ret_layout = TAKE_PTR(reply);
        return 0;
}

static int method_claim(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *reply = NULL;
        Manager *m = userdata;
        const char *name, *text;
        int k;

        /* Parse, validate, authorize, act, emit, reply (STYLE.md §5). */
        k = sd_bus_message_read(message, "ss", &name, &text);
        if (k < 0)
                return k;
        k = claim_validate(name, text, NULL, error);
        if (k < 0)
                return k;
        k = bus_verify_manage(m, message, error);
        if (k < 0)
                return k;
        if (k == 0)
                return 1; /* polkit will answer; the call is dispatched again then */

        k = manager_claim(m, name, text, &reply, error);
        if (k < 0)
                return k;
        return sd_bus_reply_method_return(message, "s", reply);
}

int manager_release(Manager *m, const char *name, sd_bus_error *error) {
        Machine *machine;
        int k;

        /* Idempotent: libvirt calls the release hook even for guests whose prepare failed
         * (../shared/DOMAIN.md §4). */
        machine = manager_find_machine(m, name);
        if (!machine)
                return 0;
        /* On disk first, like a claim: after a failed write the claim still holds, everywhere. */
        k = manager_save_claims_with(m, machine, NULL);
        if (k < 0) {
                log_error_errno(k, "Failed to save the claims: %m");
                return sd_bus_error_set_errnof(
                        error,
                        k,
                        "Failed to release %s: cannot save the claims in %s: %m",
                        name,
                        m->runtime_dir);
        }
        k = manager_remove_machine(m, machine);
        if (k < 0)
                return k;
        log_info("Machine %s released its claim.", name);
        return 1;
}

static int method_release(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *name;
        int k;

        k = sd_bus_message_read(message, "s", &name);
        if (k < 0)
                return k;
        if (!claim_name_is_valid(name))
                return sd_bus_error_setf(
                        error,
                        SD_BUS_ERROR_INVALID_ARGS,
                        "\"%s\" is not a valid machine name.",
                        bus_arg_quotable(name));
        k = bus_verify_manage(m, message, error);
        if (k < 0)
                return k;
        if (k == 0)
                return 1;

        k = manager_release(m, name, error);
        if (k < 0)
                return k;
        return sd_bus_reply_method_return(message, NULL);
}

static json_object *problem_json(const Problem *p) {
        json_object *o = json_object_new_object();

        (void) json_object_object_add(o, "code", json_object_new_string(p->code));
        (void) json_object_object_add(
                o, "severity", json_object_new_string(severity_to_string(p->severity)));
        (void) json_object_object_add(o, "message", json_object_new_string(p->message));
        return o;
}

/* Would hot-adding the device to the running VM work with the layout it has? The layout engine sees the VM
 * with the device added (marked hotplug); its RAM placement does not depend on the devices, so the problems
 * it finds for the device and its group are the problems of the hot-add (VFIO refuses to attach a group
 * whose reserved regions collide with existing mappings, ../shared/DOMAIN.md §2). */
int manager_check_hotplug(Manager *m, const char *name, const char *s, json_object **ret, sd_bus_error *error) {
        _cleanup_(json_object_putp) json_object *result = NULL;
        _cleanup_(vmspec_freep) VmSpec *spec = NULL;
        _cleanup_(layout_freep) Layout *layout = NULL;
        _cleanup_free_ Blocker *blockers = NULL;
        _cleanup_strv_free_ char **assigned = NULL;
        char address[PCI_ADDRESS_MAX];
        json_object *problems;
        const Device *d;
        const Group *g;
        Machine *machine, *owner;
        bool possible = true;
        int k, n;

        machine = manager_find_machine(m, name);
        if (!machine)
                return sd_bus_error_setf(
                        error,
                        VFIOMAP_ERROR_NO_SUCH_MACHINE,
                        "No machine %s has a claim.",
                        bus_arg_quotable(name));
        if (parse_pci_address_arg(s, address) < 0)
                return sd_bus_error_setf(
                        error, SD_BUS_ERROR_INVALID_ARGS, PCI_ADDRESS_USER_ERROR ".", bus_arg_quotable(s));
        d = host_find_device(m->host, address);
        if (!d)
                return sd_bus_error_setf(
                        error, VFIOMAP_ERROR_DEVICE_NOT_FOUND, "Device %s does not exist.", address);

        result = json_object_new_object();
        problems = json_object_new_array();
        if (!result || !problems) {
                json_object_put(problems);
                return -ENOMEM;
        }
        (void) json_object_object_add(result, "machine", json_object_new_string(name));
        (void) json_object_object_add(result, "device", json_object_new_string(address));
        (void) json_object_object_add(result, "group", d->group >= 0 ? json_object_new_int(d->group) : NULL);

        owner = d->group >= 0 ? manager_group_owner(m, (unsigned) d->group) : NULL;
        (void) json_object_object_add(
                result, "owner", owner ? json_object_new_string(owner->claim.machine) : NULL);
        (void) json_object_object_add(
                result, "assigned", json_object_new_boolean(machine_has_device(machine, address)));
        if (machine_has_device(machine, address)) {
                /* Nothing to add: the claim holds the device, so the VM has it. A second attach is what
                 * libvirt refuses ("PCI device %s is in use by driver %s, domain %s",
                 * virHostdevIsPCINodeDeviceUsed() in src/hypervisor/virhostdev.c): not "possible". */
                char when[64], *msg = NULL;
                json_object *p = json_object_new_object();

                if (!p || asprintf_safe(
                                  &msg,
                                  "Machine %s already has %s (%s): there is nothing to hot-add.",
                                  name,
                                  address,
                                  machine_format_claimed_at(machine, when)) < 0) {
                        json_object_put(p);
                        json_object_put(problems);
                        return -ENOMEM;
                }
                (void) json_object_object_add(p, "code", json_object_new_string("already-assigned"));
                (void) json_object_object_add(p, "severity", json_object_new_string("error"));
                (void) json_object_object_add(p, "message", json_object_new_string(msg));
                free(msg);
                (void) json_object_array_add(problems, p);
                (void) json_object_object_add(result, "possible", json_object_new_boolean(false));
                (void) json_object_object_add(result, "problems", problems);
                *ret = TAKE_PTR(result);
                return 0;
        }
        if (owner && owner != machine) {
                char when[64], *msg = NULL;
                possible = false;
                if (asprintf_safe(
                            &msg,
                            "Group %d is owned by machine %s (%s).",
                            d->group,
                            owner->claim.machine,
                            machine_format_claimed_at(owner, when)) < 0)
                        return -ENOMEM;
                json_object *p = json_object_new_object();
                (void) json_object_object_add(p, "code", json_object_new_string("group-owned"));
                (void) json_object_object_add(p, "severity", json_object_new_string("error"));
                (void) json_object_object_add(p, "message", json_object_new_string(msg));
                free(msg);
                (void) json_object_array_add(problems, p);
        }

        g = d->group >= 0 ? host_find_group(m->host, (unsigned) d->group) : NULL;
        if (g) {
                if (strv_extend(&assigned, address) < 0)
                        return -ENOMEM;
                STRV_FOREACH (x, machine->claim.devices)
                        if (strv_extend(&assigned, *x) < 0)
                                return -ENOMEM;
                n = group_blockers(m->host, g, assigned, &blockers);
                if (n < 0)
                        return n;
                for (int i = 0; i < n; i++) {
                        char *msg = NULL;
                        json_object *p = json_object_new_object();
                        possible = false;
                        if (asprintf_safe(
                                    &msg,
                                    "Group %u is not viable: %s is bound to %s.",
                                    g->number,
                                    blockers[i].device,
                                    strna(blockers[i].driver)) < 0)
                                return -ENOMEM;
                        (void) json_object_object_add(p, "code", json_object_new_string("group-not-viable"));
                        (void) json_object_object_add(p, "severity", json_object_new_string("error"));
                        (void) json_object_object_add(p, "message", json_object_new_string(msg));
                        free(msg);
                        (void) json_object_array_add(problems, p);
                }
        }

        /* The claimed spec, with the device added as a hot-plugged one. */
        k = vmspec_parse(machine->claim.spec, strlen(machine->claim.spec), &spec, NULL);
        if (k < 0)
                return sd_bus_error_setf(
                        error,
                        VFIOMAP_ERROR_INVALID_SPEC,
                        "The stored spec of machine %s does not parse any more.",
                        name);
        if (!machine_has_device(machine, address)) {
                VmHostdev *nh = realloc(spec->hostdevs, sizeof(VmHostdev) * (spec->n_hostdevs + 1));
                if (!nh)
                        return -ENOMEM;
                spec->hostdevs = nh;
                spec->hostdevs[spec->n_hostdevs] = (VmHostdev){
                        .hotplug = true, .managed = true, .rom_bar = -1, .rom_enabled = -1 };
                memcpy(spec->hostdevs[spec->n_hostdevs].address, address, PCI_ADDRESS_MAX);
                spec->n_hostdevs++;
        }
        vmspec_probe_rom_files(spec, m->root ?: "/"); /* <rom file=> below the daemon's root */
        k = layout_compute(m->host, spec, &layout);
        if (k < 0)
                return k;
        for (size_t i = 0; i < layout->n_problems; i++) {
                const Problem *p = layout->problems + i;
                bool concerns = streq_ptr(p->device, address) || (g && p->group == (int) g->number);

                /* Blockers were reported above, with the VM's own devices taken into account. */
                if (!concerns || streq(p->code, PROBLEM_GROUP_NOT_VIABLE))
                        continue;
                if (p->severity == SEVERITY_ERROR)
                        possible = false;
                (void) json_object_array_add(problems, problem_json(p));
        }
        (void) json_object_object_add(result, "possible", json_object_new_boolean(possible));
        (void) json_object_object_add(result, "problems", problems);
        *ret = TAKE_PTR(result);
        return 0;
}

static int method_check_hotplug(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(json_object_putp) json_object *result = NULL;
        const char *name, *address;
        int k;

        k = sd_bus_message_read(message, "ss", &name, &address);
        if (k < 0)
                return k;
        k = manager_check_hotplug(userdata, name, address, &result, error);
        if (k < 0)
                return k;
        return bus_reply_json(message, result);
}

/* ---- the vtable ---- */

const sd_bus_vtable manager_vtable[] = {
        /* Every method is callable by everyone as far as sd-bus is concerned (without UNPRIVILEGED it would
         * demand CAP_SYS_ADMIN of the caller); the methods that change state check root or polkit
         * themselves, in bus_verify_manage(). */
        SD_BUS_VTABLE_START(0),

        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Root", "s", property_get_root, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ReadOnly", "b", property_get_read_only, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("NDevices", "u", property_get_counts, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("NGroups", "u", property_get_counts, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("NMachines", "u", property_get_counts, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY(
                "IommuAddressWidth",
                "i",
                property_get_iommu,
                0,
                SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY(
                "InterruptRemapping",
                "s",
                property_get_iommu,
                0,
                SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        /* Read with the rest of the host only on a full rescan: no change signal. */
        SD_BUS_PROPERTY("AllowUnsafeInterrupts", "b", property_get_iommu, 0, 0),
        SD_BUS_PROPERTY("CpuVendor", "s", property_get_cpu_vendor, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("LibvirtURI", "s", property_get_libvirt, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("LibvirtConnected", "b", property_get_libvirt, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),

        SD_BUS_METHOD_WITH_ARGS(
                "ListDevices",
                SD_BUS_NO_ARGS,
                SD_BUS_RESULT("a(sqqusiso)", devices),
                method_list_devices,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS(
                "ListGroups",
                SD_BUS_NO_ARGS,
                SD_BUS_RESULT("a(uasbso)", groups),
                method_list_groups,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS(
                "ListMachines",
                SD_BUS_NO_ARGS,
                SD_BUS_RESULT("a(ssauo)", machines),
                method_list_machines,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS(
                "GetDevice",
                SD_BUS_ARGS("s", address),
                SD_BUS_RESULT("o", object),
                method_get_device,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS(
                "GetGroup",
                SD_BUS_ARGS("u", group),
                SD_BUS_RESULT("o", object),
                method_get_group,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS(
                "GetMachine",
                SD_BUS_ARGS("s", machine),
                SD_BUS_RESULT("o", object),
                method_get_machine,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS(
                "Describe",
                SD_BUS_NO_ARGS,
                SD_BUS_RESULT("s", json),
                method_describe,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS(
                "ComputeLayout",
                SD_BUS_ARGS("s", spec),
                SD_BUS_RESULT("s", layout),
                method_compute_layout,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS(
                "RenderLayout",
                SD_BUS_ARGS("s", spec, "t", flags),
                SD_BUS_RESULT("s", layout, "s", report, "s", svg),
                method_render_layout,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS(
                "Claim",
                SD_BUS_ARGS("s", machine, "s", spec),
                SD_BUS_RESULT("s", layout),
                method_claim,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS(
                "Release",
                SD_BUS_ARGS("s", machine),
                SD_BUS_NO_RESULT,
                method_release,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS(
                "CheckHotplug",
                SD_BUS_ARGS("s", machine, "s", device),
                SD_BUS_RESULT("s", json),
                method_check_hotplug,
                SD_BUS_VTABLE_UNPRIVILEGED),

        SD_BUS_METHOD_WITH_ARGS(
                "BindVfio",
                SD_BUS_ARGS("u", group),
                SD_BUS_RESULT("a(ss)", devices),
                method_bind_vfio,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS(
                "UnbindVfio",
                SD_BUS_ARGS("u", group),
                SD_BUS_RESULT("a(ss)", devices),
                method_unbind_vfio,
                SD_BUS_VTABLE_UNPRIVILEGED),

        SD_BUS_SIGNAL_WITH_ARGS("DeviceAdded", SD_BUS_ARGS("s", address, "o", object), 0),
        SD_BUS_SIGNAL_WITH_ARGS("DeviceRemoved", SD_BUS_ARGS("s", address, "o", object), 0),
        SD_BUS_SIGNAL_WITH_ARGS("MachineNew", SD_BUS_ARGS("s", machine, "o", object), 0),
        SD_BUS_SIGNAL_WITH_ARGS("MachineRemoved", SD_BUS_ARGS("s", machine, "o", object), 0),

        SD_BUS_VTABLE_END,
};
