/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-util.h"
#include "json-util.h"
#include "machine.h"
#include "manager.h"

static Machine *machine_from_path(Manager *m, const char *path) {
        for (size_t i = 0; i < m->n_machines; i++)
                if (streq(m->machines[i]->path, path))
                        return m->machines[i];
        return NULL;
}

int machine_object_find(
        sd_bus *bus,
        const char *path,
        const char *interface,
        void *userdata,
        void **found,
        sd_bus_error *error) {
        Machine *machine = machine_from_path(userdata, path);

        if (!machine)
                return 0;
        /* Machines are not reallocated while they exist (the table holds pointers), so unlike devices the
         * object itself can be the userdata. */
        *found = machine;
        return 1;
}

int machine_node_enumerator(
        sd_bus *bus,
        const char *path,
        void *userdata,
        char ***nodes,
        sd_bus_error *error) {
        _cleanup_strv_free_ char **l = NULL;
        Manager *m = userdata;

        for (size_t i = 0; i < m->n_machines; i++)
                if (strv_extend(&l, m->machines[i]->path) < 0)
                        return -ENOMEM;
        *nodes = TAKE_PTR(l);
        return 1;
}

static int property_get_string(
        sd_bus *bus,
        const char *path,
        const char *interface,
        const char *property,
        sd_bus_message *reply,
        void *userdata,
        sd_bus_error *error) {
        Machine *machine = userdata;
        const char *v;

        if (streq(property, "Name"))
                v = machine->claim.machine;
        else if (streq(property, "State"))
                v = machine_state_to_string(machine->state);
        else if (streq(property, "Layout"))
                v = machine->claim.layout;
        else
                v = machine->claim.spec;
        return sd_bus_message_append(reply, "s", v ?: "");
}

static int property_get_strv(
        sd_bus *bus,
        const char *path,
        const char *interface,
        const char *property,
        sd_bus_message *reply,
        void *userdata,
        sd_bus_error *error) {
        Machine *machine = userdata;
        return sd_bus_message_append_strv(
                reply, streq(property, "Devices") ? machine->claim.devices : machine->problems);
}

static int property_get_groups(
        sd_bus *bus,
        const char *path,
        const char *interface,
        const char *property,
        sd_bus_message *reply,
        void *userdata,
        sd_bus_error *error) {
        Machine *machine = userdata;
        return sd_bus_message_append_array(
                reply, 'u', machine->claim.groups, machine->claim.n_groups * sizeof(uint32_t));
}

static int property_get_claimed_at(
        sd_bus *bus,
        const char *path,
        const char *interface,
        const char *property,
        sd_bus_message *reply,
        void *userdata,
        sd_bus_error *error) {
        Machine *machine = userdata;
        return sd_bus_message_append(reply, "t", machine->claim.claimed_at);
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
        Machine *machine = userdata;
        size_t n = 0;
        int k;

        k = machine_users(machine, machine->manager->root, &users, &n);
        if (k < 0)
                return k;
        k = sd_bus_message_open_container(reply, 'a', "(uu)");
        for (size_t i = 0; k >= 0 && i < n; i++)
                k = sd_bus_message_append(reply, "(uu)", users[i].group, (uint32_t) users[i].pid);
        return k < 0 ? k : sd_bus_message_close_container(reply);
}

static int method_describe(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Machine *machine = userdata;
        _cleanup_(json_object_putp) json_object *j = machine_to_json(machine, machine->manager->root);

        return bus_reply_json(message, j);
}

const sd_bus_vtable machine_vtable[] = {
        SD_BUS_VTABLE_START(0),

        SD_BUS_PROPERTY("Name", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Problems", "as", property_get_strv, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        /* A claim is replaced as a whole (MachineRemoved, MachineNew), never edited: the rest is const. */
        SD_BUS_PROPERTY("Groups", "au", property_get_groups, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Devices", "as", property_get_strv, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ClaimedAt", "t", property_get_claimed_at, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Layout", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Spec", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        /* Read from /proc on every Get. */
        SD_BUS_PROPERTY("Users", "a(uu)", property_get_users, 0, 0),

        SD_BUS_METHOD_WITH_ARGS(
                "Describe",
                SD_BUS_NO_ARGS,
                SD_BUS_RESULT("s", json),
                method_describe,
                SD_BUS_VTABLE_UNPRIVILEGED),

        SD_BUS_VTABLE_END,
};
