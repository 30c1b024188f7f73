/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The Manager owns everything vfiomapd has: the event loop, the bus connection, the uevent monitor, the
 * host model and the claimed machines. Like systemd's machined, one core file holds the lifecycle
 * (manager.c), the bus vtables live in one file per object kind (*-dbus.c) and main() is a thin wrapper.
 *
 * A Manager without a bus and a monitor (manager_new() + manager_load(), no manager_startup()) is complete
 * enough for unit tests: claims, releases, the state of machines and the persisted claims file work, and
 * every emit function does nothing. */

#include "claims.h"
#include "host.h"
#include "siphash.h"
#include "util.h"

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-device.h>
#include <systemd/sd-event.h>

typedef struct Machine Machine;
typedef struct PolkitQuery PolkitQuery;
typedef struct LibvirtWatcher LibvirtWatcher;
struct json_object;

#define VFIOMAP_BUS_NAME "org.vfiomap1"
#define VFIOMAP_OBJECT_PATH "/org/vfiomap1"
#define VFIOMAP_DEVICE_PREFIX "/org/vfiomap1/device"
#define VFIOMAP_GROUP_PREFIX "/org/vfiomap1/group"
#define VFIOMAP_MACHINE_PREFIX "/org/vfiomap1/machine"
#define VFIOMAP_MANAGE_ACTION "org.vfiomap1.manage"

/* Queued PropertiesChanged: one entry per object and interface, names merged, flushed once per event loop
 * iteration. */
typedef struct PendingChange {
        char *path;
        const char *interface;
        char **names;
} PendingChange;

/* The values of a bus object's EMITS_CHANGE properties as last announced, to emit a change only when a
 * value really changed. Kept in a tsearch() tree, one allocation per object. Only keyed hashes are kept
 * (SipHash-2-4 under Manager.hash_key): of the object path, and of each value (0 for an absent one). The
 * strings themselves, for every device and group of a large host, were a fifth of the daemon's heap. With
 * a random key, two paths or two values share a hash with a chance of about 2^-64 per pair, and nobody
 * who names domains or drivers can arrange it. */
typedef struct PropertyCache {
        uint64_t path_hash;
        size_t n_hashes;
        uint64_t hashes[];
} PropertyCache;

typedef struct Manager {
        sd_event *event;
        sd_bus *bus;
        sd_device_monitor *monitor;
        sd_event_source *overflow_source; /* watches the monitor socket for ENOBUFS, see udev-monitor.c */
        sd_event_source *process_source;  /* applies queued uevents once the socket is drained */
        sd_event_source *retry_source;    /* re-reads devices whose removal sysfs did not show yet */
        sd_event_source *flush_source;    /* defer source: emits queued PropertiesChanged */

        char *root;        /* --root DIR; NULL for the live host */
        char *runtime_dir; /* where claims.json and machines/NAME.json live */

        /* libvirt.c: the libvirt daemon whose running domains the claims follow. NULL URI: not watched
         * (--no-libvirt, or --root without --libvirt-uri). */
        char *libvirt_uri;
        bool no_libvirt;
        /* --follow-uevents: the monitor runs with --root too; the storm tests feed it from a network
         * namespace of their own (tests/integration/test-uevent-storm.sh). */
        bool follow_uevents;
        bool libvirt_connected;
        LibvirtWatcher *libvirt;

        Host *host;

        Machine **machines; /* sorted by name */
        size_t n_machines;

        /* Uevents received and not applied yet: the addresses concerned, and whether a full rescan is due
         * (receive buffer overrun or a model that disagrees with the event). */
        char **dirty;
        size_t n_dirty, allocated_dirty;
        char **removed; /* "remove" seen, but sysfs still shows the device: re-read later */
        unsigned remove_retries;
        bool rescan_pending;

        PendingChange *changes;
        size_t n_changes, allocated_changes;
        void *property_cache; /* tsearch() root of PropertyCache */
        uint8_t hash_key[SIPHASH_KEY_SIZE]; /* random, for PropertyCache.hashes */

        /* Manager properties as last announced. */
        uint32_t last_n_devices, last_n_groups, last_n_machines;
        int last_width;
        char *last_intremap;

        PolkitQuery *polkit_queries;

        struct json_object *bindings; /* vfio-bind.c: {"GROUP": [{"device", "driver", "override"}]} */

        uint64_t last_batch_usec; /* CLOCK_MONOTONIC when the last batch was applied: bursts are batched */

        /* Statistics, for --debug logging and the benchmark. */
        uint64_t n_uevents, n_batches, n_rescans;
} Manager;

int manager_new(Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Loads the host model (from m->root, or "/") and the persisted claims. Needs no bus. */
int manager_load(Manager *m);
/* Connects to the system bus, registers the objects, starts the uevent monitor (not with --root) and
 * requests the bus name; READY=1 is sent once the name is owned. */
int manager_startup(Manager *m);
int manager_run(Manager *m);

static inline bool manager_read_only(const Manager *m) {
        return !!m->root;
}

/* ---- machines (claims) ---- */
Machine *manager_find_machine(Manager *m, const char *name);
/* The machine owning the group, NULL when it is free. */
Machine *manager_group_owner(Manager *m, unsigned group);
Machine *manager_device_owner(Manager *m, const char *address);
int manager_add_machine(Manager *m, Machine *machine);
int manager_remove_machine(Manager *m, Machine *machine);
/* Writes the claims file atomically, and $runtime_dir/machines/NAME.json (each machine's layout) to
 * match. */
int manager_save_claims(Manager *m);
/* The same for the table as it would be without machine "without" and with the record "with" (either may
 * be NULL): a claim or release is written before the table changes, so a failed write changes nothing. */
int manager_save_claims_with(Manager *m, const Machine *without, const ClaimRecord *with);

/* What the bus methods Claim, Release and CheckHotplug do once the caller is authorized (manager-dbus.c);
 * also used for claims made on libvirt's word (reconcile.c). Errors are set in error (named errors of
 * bus-util.h) and returned as negative errno. manager_release() returns 1 when a claim was released, 0
 * when there was none. */
int manager_claim(Manager *m, const char *name, const char *spec, char **ret_layout, sd_bus_error *error);
int manager_release(Manager *m, const char *name, sd_bus_error *error);
int manager_check_hotplug(
        Manager *m,
        const char *name,
        const char *address,
        struct json_object **ret,
        sd_bus_error *error);

/* ---- the live model ---- */
/* Records a uevent for a PCI device; the model is updated once the receive queue is drained. */
int manager_queue_uevent(Manager *m, const char *address, bool remove);
int manager_queue_rescan(Manager *m);
/* Applies everything queued now (normally done by an idle-priority event source). */
int manager_process_uevents(Manager *m);
/* Re-evaluates every machine against the model, announcing state changes. */
int manager_update_machines(Manager *m);

/* ---- bus emission helpers: no-ops without a bus ---- */
int manager_queue_properties_changed(Manager *m, const char *path, const char *interface, const char *name);
int manager_flush_properties_changed(Manager *m);
/* Compares values (a NULL-terminated list parallel to names) with what was last announced for path and
 * queues PropertiesChanged for the names whose value differs. Takes ownership of values. */
int manager_announce_values(
        Manager *m,
        const char *path,
        const char *interface,
        const char *const *names,
        char **values);
void manager_forget_values(Manager *m, const char *path);
int manager_announce_manager_properties(Manager *m);

/* ---- object paths ---- */
int device_object_path(const char *address, char **ret);
int group_object_path(unsigned number, char **ret);
int machine_object_path(const char *name, char **ret);

/* The same paths in a buffer of the caller's, for the replies that list every object: no allocation and
 * no printf per object. device_object_path_format() escapes as sd_bus_path_encode() does, byte for byte;
 * it returns NULL for a string longer than any PCI address. */
#define GROUP_OBJECT_PATH_MAX (sizeof(VFIOMAP_GROUP_PREFIX "/") + 10) /* UINT32_MAX has 10 digits */
#define DEVICE_OBJECT_PATH_MAX (sizeof(VFIOMAP_DEVICE_PREFIX "/") + 3 * (PCI_ADDRESS_MAX - 1))
const char *group_object_path_format(unsigned number, char buf[static GROUP_OBJECT_PATH_MAX]);
const char *device_object_path_format(const char *address, char buf[static DEVICE_OBJECT_PATH_MAX]);

/* ---- vtables (the *-dbus.c files) ---- */
extern const sd_bus_vtable manager_vtable[];
extern const sd_bus_vtable device_vtable[];
extern const sd_bus_vtable group_vtable[];
extern const sd_bus_vtable machine_vtable[];
int device_object_find(
        sd_bus *bus,
        const char *path,
        const char *interface,
        void *userdata,
        void **found,
        sd_bus_error *error);
int device_node_enumerator(
        sd_bus *bus,
        const char *path,
        void *userdata,
        char ***nodes,
        sd_bus_error *error);
int group_object_find(
        sd_bus *bus,
        const char *path,
        const char *interface,
        void *userdata,
        void **found,
        sd_bus_error *error);
int group_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error);
int machine_object_find(
        sd_bus *bus,
        const char *path,
        const char *interface,
        void *userdata,
        void **found,
        sd_bus_error *error);
int machine_node_enumerator(
        sd_bus *bus,
        const char *path,
        void *userdata,
        char ***nodes,
        sd_bus_error *error);

/* The EMITS_CHANGE property values of one object, in the order of the *_changing_properties lists. */
extern const char *const device_changing_properties[];
extern const char *const group_changing_properties[];
int device_property_values(Manager *m, const Device *d, char ***ret);
int group_property_values(Manager *m, const Group *g, char ***ret);

/* Writes value into root/relpath in one write(), as sysfs attributes want it (device-dbus.c). */
int write_sysfs(const char *root, const char *relpath, const char *value);

/* vfio-bind.c: the BindVfio and UnbindVfio methods, and $runtime_dir/bindings.json, which remembers the
 * drivers the devices had before, so that UnbindVfio can give them back. */
int manager_load_bindings(Manager *m);
int method_bind_vfio(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_unbind_vfio(sd_bus_message *message, void *userdata, sd_bus_error *error);

/* Describe(): host_to_json() plus "machines". */
int manager_describe_json(Manager *m, char **ret);

/* ---- udev-monitor.c ---- */
int manager_start_monitor(Manager *m);
