/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-util.h"
#include "host-json.h"
#include "json-util.h"
#include "machine.h"
#include "manager.h"

static int group_from_path(Manager *m, const char *path, const Group **ret) {
        const char *e = startswith(path, VFIOMAP_GROUP_PREFIX "/");
        const Group *g;
        uint64_t n;

        /* Only the spelling group_object_path() makes: "01" is not another name of group 1. */
        if (!e || (e[0] == '0' && e[1] != 0) || safe_atou64_base(e, 10, &n) < 0 || n > UINT32_MAX)
                return 0;
        g = host_find_group(m->host, (unsigned) n);
        if (!g)
                return 0;
        *ret = g;
        return 1;
}

int group_object_find(
        sd_bus *bus,
        const char *path,
        const char *interface,
        void *userdata,
        void **found,
        sd_bus_error *error) {
        const Group *g;
        int k;

        k = group_from_path(userdata, path, &g);
        if (k <= 0)
                return k;
        *found = userdata;
        return 1;
}

int group_node_enumerator(
        sd_bus *bus,
        const char *path,
        void *userdata,
        char ***nodes,
        sd_bus_error *error) {
        _cleanup_strv_free_ char **l = NULL;
        Manager *m = userdata;

        for (size_t i = 0; i < m->host->n_groups; i++) {
                char *p = NULL;
                int k = group_object_path(m->host->groups[i]->number, &p);
                if (k < 0)
                        return k;
                if (strv_consume(&l, p) < 0)
                        return -ENOMEM;
        }
        *nodes = TAKE_PTR(l);
        return 1;
}

#define GET_GROUP(g) \
        const Group *g; \
        do { \
                int _k = group_from_path(userdata, path, &g); \
                if (_k < 0) \
                        return _k; \
                if (_k == 0) \
                        return sd_bus_error_setf( \
                                error, \
                                VFIOMAP_ERROR_NO_SUCH_GROUP, \
                                "The IOMMU group of %s is gone.", \
                                path); \
        } while (0)

static int property_get_number(
        sd_bus *bus,
        const char *path,
        const char *interface,
        const char *property,
        sd_bus_message *reply,
        void *userdata,
        sd_bus_error *error) {
        GET_GROUP(g);
        return sd_bus_message_append(reply, "u", g->number);
}

static int property_get_strv(
        sd_bus *bus,
        const char *path,
        const char *interface,
        const char *property,
        sd_bus_message *reply,
        void *userdata,
        sd_bus_error *error) {
        GET_GROUP(g);
        return sd_bus_message_append_strv(reply, streq(property, "Devices") ? g->devices : g->warnings);
}

static int property_get_viable(
        sd_bus *bus,
        const char *path,
        const char *interface,
        const char *property,
        sd_bus_message *reply,
        void *userdata,
        sd_bus_error *error) {
        Manager *m = userdata;
        GET_GROUP(g);
        return sd_bus_message_append(reply, "b", group_is_viable(m->host, g));
}

static int property_get_string(
        sd_bus *bus,
        const char *path,
        const char *interface,
        const char *property,
        sd_bus_message *reply,
        void *userdata,
        sd_bus_error *error) {
        Manager *m = userdata;
        const char *v;
        GET_GROUP(g);

        if (streq(property, "Type"))
                v = g->type;
        else if (streq(property, "IommuUnit"))
                v = group_iommu(m->host, g);
        else {
                Machine *owner = manager_group_owner(m, g->number);
                v = owner ? owner->claim.machine : NULL;
        }
        return sd_bus_message_append(reply, "s", v ?: "");
}

static int property_get_blockers(
        sd_bus *bus,
        const char *path,
        const char *interface,
        const char *property,
        sd_bus_message *reply,
        void *userdata,
        sd_bus_error *error) {
        _cleanup_free_ Blocker *blockers = NULL;
        Manager *m = userdata;
        int n, k;
        GET_GROUP(g);

        n = group_blockers(m->host, g, NULL, &blockers);
        if (n < 0)
                return n;
        k = sd_bus_message_open_container(reply, 'a', "(ss)");
        for (int i = 0; k >= 0 && i < n; i++)
                k = sd_bus_message_append(reply, "(ss)", blockers[i].device, blockers[i].driver ?: "");
        return k < 0 ? k : sd_bus_message_close_container(reply);
}

static int property_get_shared_because(
        sd_bus *bus,
        const char *path,
        const char *interface,
        const char *property,
        sd_bus_message *reply,
        void *userdata,
        sd_bus_error *error) {
        _cleanup_free_ SharedBecause *shared = NULL;
        Manager *m = userdata;
        int n, k;
        GET_GROUP(g);

        n = group_shared_because(m->host, g, &shared);
        if (n < 0)
                return n;
        k = sd_bus_message_open_container(reply, 'a', "(ss)");
        for (int i = 0; k >= 0 && i < n; i++)
                k = sd_bus_message_append(
                        reply, "(ss)", shared_reason_to_string(shared[i].reason), shared[i].device);
        return k < 0 ? k : sd_bus_message_close_container(reply);
}

static int property_get_regions(
        sd_bus *bus,
        const char *path,
        const char *interface,
        const char *property,
        sd_bus_message *reply,
        void *userdata,
        sd_bus_error *error) {
        int k;
        GET_GROUP(g);

        k = sd_bus_message_open_container(reply, 'a', "(tts)");
        for (size_t i = 0; k >= 0 && i < g->n_regions; i++)
                k = sd_bus_message_append(
                        reply,
                        "(tts)",
                        g->regions[i].start,
                        g->regions[i].end,
                        resv_type_to_string(g->regions[i].type));
        return k < 0 ? k : sd_bus_message_close_container(reply);
}

static int property_get_users(
        sd_bus *bus,
        const char *path,
        const char *interface,
        const char *property,
        sd_bus_message *reply,
        void *userdata,
        sd_bus_error *error) {
        _cleanup_free_ GroupUser *users = NULL;
        Manager *m = userdata;
        size_t n = 0;
        int k;
        GET_GROUP(g);

        /* Read now, not from the model: who holds /dev/vfio/N changes without a uevent. A one-group
         * stand-in machine reuses the /proc scan of machine.c. */
        Machine probe = { .manager = m, .claim = { .groups = (unsigned *) &g->number, .n_groups = 1 } };
        k = machine_users(&probe, m->root, &users, &n);
        if (k < 0)
                return k;
        k = sd_bus_message_open_container(reply, 'a', "u");
        for (size_t i = 0; k >= 0 && i < n; i++)
                k = sd_bus_message_append(reply, "u", (uint32_t) users[i].pid);
        return k < 0 ? k : sd_bus_message_close_container(reply);
}

const char *const group_changing_properties[] = {
        "Devices", "Viable",    "Blockers", "SharedBecause", "ReservedRegions",
        "Type",    "IommuUnit", "Owner",    "Warnings",      NULL,
};

int group_property_values(Manager *m, const Group *g, char ***ret) {
        _cleanup_(json_object_putp) json_object *j = group_to_json(m->host, g);
        _cleanup_strv_free_ char **v = NULL;
        Machine *owner = manager_group_owner(m, g->number);
        static const char *const keys[] = { "devices",          "viable", "blockers", "shared_because",
                                            "reserved_regions", "type",   "iommu" };

        if (!j)
                return -ENOMEM;
        /* The JSON encoder already renders each of these facts canonically; its text is the value to
         * compare. In the order of group_changing_properties. */
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (strv_extend(
                            &v,
                            json_object_to_json_string_ext(jget(j, keys[i]), JSON_C_TO_STRING_PLAIN) ?: "") <
                    0)
                        return -ENOMEM;
        if (strv_extend(&v, owner ? owner->claim.machine : "") < 0 ||
            strv_extend(
                    &v, json_object_to_json_string_ext(jget(j, "warnings"), JSON_C_TO_STRING_PLAIN) ?: "") <
                    0)
                return -ENOMEM;
        *ret = TAKE_PTR(v);
        return 0;
}

static int method_describe(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(json_object_putp) json_object *j = NULL;
        Manager *m = userdata;
        const char *path = sd_bus_message_get_path(message);
        GET_GROUP(g);

        /* vfio_node and vfio_users: read now, see manager_describe_json(). */
        if (host_reload_vfio(m->host) == -ENOMEM)
                return -ENOMEM;
        j = group_to_json(m->host, g);
        return bus_reply_json(message, j);
}

const sd_bus_vtable group_vtable[] = {
        SD_BUS_VTABLE_START(0),

        SD_BUS_PROPERTY("Number", "u", property_get_number, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Devices", "as", property_get_strv, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Viable", "b", property_get_viable, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Blockers", "a(ss)", property_get_blockers, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY(
                "SharedBecause",
                "a(ss)",
                property_get_shared_because,
                0,
                SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY(
                "ReservedRegions",
                "a(tts)",
                property_get_regions,
                0,
                SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Type", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("IommuUnit", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Owner", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        /* Read from /proc on every Get: opening /dev/vfio/N sends no event to watch. */
        SD_BUS_PROPERTY("Users", "au", property_get_users, 0, 0),
        SD_BUS_PROPERTY("Warnings", "as", property_get_strv, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),

        SD_BUS_METHOD_WITH_ARGS(
                "Describe",
                SD_BUS_NO_ARGS,
                SD_BUS_RESULT("s", json),
                method_describe,
                SD_BUS_VTABLE_UNPRIVILEGED),

        SD_BUS_VTABLE_END,
};
