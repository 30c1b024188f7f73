/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "manager.h"

#include "bus-util.h"
#include "claims-file.h"
#include "host-json.h"
#include "json-util.h"
#include "libvirt.h"
#include "log.h"
#include "machine.h"

#include <malloc.h>
#include <search.h>
#include <stddef.h>
#include <sys/random.h>
#include <signal.h>
#include <systemd/sd-daemon.h>
#include <time.h>

/* A "remove" uevent can arrive while the device's sysfs directory still exists (the kernel sends it from
 * device_del() before kobject_del()): re-read such devices a few times before trusting a full rescan. */
#define REMOVE_RETRY_USEC (20 * 1000ULL)
#define REMOVE_RETRIES_MAX 10U
/* Uevents are applied in batches, and only once the monitor socket is drained (the batch timer has idle
 * priority, below the monitor's). An event that comes after a quiet spell is applied as soon as the socket
 * is drained: a lone hotplug is announced within a millisecond. An event that comes within BATCH_USEC of
 * the previous batch is part of a burst (enabling 256 VFs makes udev send 256 "add" and "bind" events
 * within milliseconds): it waits BATCH_USEC for the rest, so one batch re-reads each device once and
 * announces one PropertiesChanged per object instead of hundreds. */
#define BATCH_USEC (5 * 1000ULL)
/* Above this many queued devices, apply now instead of waiting for the receive queue to drain, so a
 * sustained stream of events cannot starve the model. */
#define DIRTY_MAX 4096U

static void property_cache_free(void *p) {
        PropertyCache *c = p;

        free(c);
}

static int property_cache_compare(const void *a, const void *b) {
        uint64_t x = ((const PropertyCache *) a)->path_hash, y = ((const PropertyCache *) b)->path_hash;
        return x < y ? -1 : x > y;
}

static void random_key(uint8_t key[static SIPHASH_KEY_SIZE]) {
        struct timespec ts;
        uint64_t a, b;

        /* GRND_INSECURE (Linux 5.6) never blocks; on older kernels GRND_NONBLOCK fails only before the pool
         * is initialised, early at boot. The key need only be unknown to whoever names domains and
         * drivers, so the clock and our PID do then. */
        if (getrandom(key, SIPHASH_KEY_SIZE, GRND_INSECURE) == SIPHASH_KEY_SIZE ||
            getrandom(key, SIPHASH_KEY_SIZE, GRND_NONBLOCK) == SIPHASH_KEY_SIZE)
                return;
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        a = (uint64_t) ts.tv_nsec ^ ((uint64_t) getpid() << 32);
        b = (uint64_t) ts.tv_sec ^ (uint64_t) (uintptr_t) key;
        memcpy(key, &a, sizeof(a));
        memcpy(key + sizeof(a), &b, sizeof(b));
}

int manager_new(Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int k;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return -ENOMEM;
        m->last_width = -1;
        random_key(m->hash_key);

        k = sd_event_default(&m->event);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;

        /* The bus goes first: a qemu hook waiting for our answer then fails at once instead of timing out
         * while the libvirt thread finishes a call that waits for that very hook (libvirt.h). */
        m->bus = sd_bus_flush_close_unref(m->bus);
        m->libvirt = libvirt_watcher_free(m->libvirt);

        for (size_t i = 0; i < m->n_machines; i++)
                machine_free(m->machines[i]);
        free(m->machines);

        bus_polkit_queries_free(m);
        for (size_t i = 0; i < m->n_changes; i++) {
                free(m->changes[i].path);
                strv_free(m->changes[i].names);
        }
        free(m->changes);
        tdestroy(m->property_cache, property_cache_free);

        for (size_t i = 0; i < m->n_dirty; i++)
                free(m->dirty[i]);
        free(m->dirty);
        strv_free(m->removed);

        sd_event_source_disable_unref(m->overflow_source);
        sd_event_source_disable_unref(m->process_source);
        sd_event_source_disable_unref(m->retry_source);
        sd_event_source_disable_unref(m->flush_source);
        sd_device_monitor_unref(m->monitor);
        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);

        host_free(m->host);
        free(m->root);
        free(m->runtime_dir);
        free(m->libvirt_uri);
        json_object_put(m->bindings);
        free(m->last_intremap);
        free(m);
        return NULL;
}

/* ---- object paths ---- */

int device_object_path(const char *address, char **ret) {
        return sd_bus_path_encode(VFIOMAP_DEVICE_PREFIX, address, ret);
}

int group_object_path(unsigned number, char **ret) {
        char buf[GROUP_OBJECT_PATH_MAX];

        *ret = strdup(group_object_path_format(number, buf));
        return *ret ? 0 : -ENOMEM;
}

const char *group_object_path_format(unsigned number, char buf[static GROUP_OBJECT_PATH_MAX]) {
        char digits[10], *p = buf;
        size_t n = 0;

        /* Decimal digits are valid object path characters; sd_bus_path_encode() would escape a leading
         * digit ("14" -> "_314"), which helps nobody reading busctl output. */
        _Static_assert(sizeof(unsigned) <= 4, "GROUP_OBJECT_PATH_MAX holds 10 digits");
        memcpy(p, VFIOMAP_GROUP_PREFIX "/", sizeof(VFIOMAP_GROUP_PREFIX "/") - 1);
        p += sizeof(VFIOMAP_GROUP_PREFIX "/") - 1;
        do {
                digits[n++] = (char) ('0' + number % 10);
                number /= 10;
        } while (number > 0);
        while (n > 0)
                *p++ = digits[--n];
        *p = 0;
        return buf;
}

const char *device_object_path_format(const char *address, char buf[static DEVICE_OBJECT_PATH_MAX]) {
        static const char hex[] = "0123456789abcdef";
        size_t l = strnlen(address, PCI_ADDRESS_MAX);
        char *p = buf;

        if (l >= PCI_ADDRESS_MAX)
                return NULL;
        memcpy(p, VFIOMAP_DEVICE_PREFIX "/", sizeof(VFIOMAP_DEVICE_PREFIX "/") - 1);
        p += sizeof(VFIOMAP_DEVICE_PREFIX "/") - 1;
        /* bus_label_escape() of systemd's src/basic/bus-label.c, which sd_bus_path_encode() uses: every byte
         * but a-z, A-Z and (not first) 0-9 becomes '_' and two lower-case hex digits; "" becomes "_". */
        if (l == 0)
                *p++ = '_';
        for (size_t i = 0; i < l; i++) {
                unsigned char c = (unsigned char) address[i];

                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9'))
                        *p++ = (char) c;
                else {
                        *p++ = '_';
                        *p++ = hex[c >> 4];
                        *p++ = hex[c & 15];
                }
        }
        *p = 0;
        return buf;
}

int machine_object_path(const char *name, char **ret) {
        return sd_bus_path_encode(VFIOMAP_MACHINE_PREFIX, name, ret);
}

/* ---- PropertiesChanged, coalesced ---- */

int manager_queue_properties_changed(Manager *m, const char *path, const char *interface, const char *name) {
        PendingChange *c = NULL;
        int k;

        if (!m->bus)
                return 0;
        for (size_t i = 0; i < m->n_changes; i++)
                if (m->changes[i].interface == interface && streq(m->changes[i].path, path)) {
                        c = m->changes + i;
                        break;
                }
        if (!c) {
                if (!GREEDY_REALLOC(m->changes, m->allocated_changes, m->n_changes + 1))
                        return -ENOMEM;
                c = m->changes + m->n_changes;
                *c = (PendingChange){ .path = strdup(path), .interface = interface };
                if (!c->path)
                        return -ENOMEM;
                m->n_changes++;
        }
        if (!strv_contains(c->names, name)) {
                k = strv_extend(&c->names, name);
                if (k < 0)
                        return k;
        }
        /* Emitted once, after the current event loop iteration: a burst of changes is one signal per
         * object (STYLE.md §5). */
        return m->flush_source ? sd_event_source_set_enabled(m->flush_source, SD_EVENT_ONESHOT) : 0;
}

int manager_flush_properties_changed(Manager *m) {
        for (size_t i = 0; i < m->n_changes; i++) {
                PendingChange *c = m->changes + i;
                int k;

                k = sd_bus_emit_properties_changed_strv(m->bus, c->path, c->interface, c->names);
                /* The object may be gone again by now (a device added and removed in one burst). */
                if (k < 0 && k != -ENOENT)
                        log_debug_errno(k, "Failed to emit PropertiesChanged for %s: %m", c->path);
                free(c->path);
                strv_free(c->names);
        }
        m->n_changes = 0;
        return 0;
}

static int on_flush(sd_event_source *s, void *userdata) {
        return manager_flush_properties_changed(userdata);
}

/* 0 stands for an absent value; a string hashing to 0 (chance 2^-64) is taken for 1. */
static uint64_t value_hash(const Manager *m, const char *s) {
        uint64_t h;

        if (!s)
                return 0;
        h = siphash24(s, strlen(s), m->hash_key);
        return h ?: 1;
}

int manager_announce_values(
        Manager *m,
        const char *path,
        const char *interface,
        const char *const *names,
        char **values) {
        _cleanup_strv_free_ char **owned = values;
        PropertyCache key = { .path_hash = siphash24(path, strlen(path), m->hash_key) }, *c, **found;
        size_t n = strv_length((char **) names), n_values = strv_length(owned);
        int k;

        found = tfind(&key, &m->property_cache, property_cache_compare);
        c = found ? *found : NULL;
        if (!c || c->n_hashes != n) {
                PropertyCache *old = c;

                c = malloc(offsetof(PropertyCache, hashes) + n * sizeof(uint64_t));
                if (!c)
                        return -ENOMEM;
                c->path_hash = key.path_hash;
                c->n_hashes = n;
                for (size_t i = 0; i < n; i++)
                        c->hashes[i] = i < n_values ? value_hash(m, owned[i]) : 0;
                if (old) {
                        /* Not expected (an interface's property list is fixed): replace the entry. */
                        (void) tdelete(old, &m->property_cache, property_cache_compare);
                        property_cache_free(old);
                }
                if (!tsearch(c, &m->property_cache, property_cache_compare)) {
                        property_cache_free(c);
                        return -ENOMEM;
                }
                /* A new object is announced by DeviceAdded or MachineNew, not by PropertiesChanged. */
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                uint64_t h = i < n_values ? value_hash(m, owned[i]) : 0;

                if (h == c->hashes[i])
                        continue;
                c->hashes[i] = h;
                k = manager_queue_properties_changed(m, path, interface, names[i]);
                if (k < 0)
                        return k;
        }
        return 0;
}

void manager_forget_values(Manager *m, const char *path) {
        PropertyCache key = { .path_hash = siphash24(path, strlen(path), m->hash_key) }, **found;
        PropertyCache *c;

        found = tfind(&key, &m->property_cache, property_cache_compare);
        if (!found)
                return;
        c = *found;
        (void) tdelete(&key, &m->property_cache, property_cache_compare);
        property_cache_free(c);
}

static int announce_device(Manager *m, const Device *d) {
        _cleanup_free_ char *path = NULL;
        char **values = NULL;
        int k;

        k = device_object_path(d->address, &path);
        if (k < 0)
                return k;
        k = device_property_values(m, d, &values);
        if (k < 0)
                return k;
        return manager_announce_values(m, path, "org.vfiomap1.Device", device_changing_properties, values);
}

static int announce_group(Manager *m, unsigned number) {
        _cleanup_free_ char *path = NULL;
        const Group *g = host_find_group(m->host, number);
        char **values = NULL;
        int k;

        k = group_object_path(number, &path);
        if (k < 0)
                return k;
        if (!g) {
                manager_forget_values(m, path);
                return 0;
        }
        k = group_property_values(m, g, &values);
        if (k < 0)
                return k;
        return manager_announce_values(m, path, "org.vfiomap1.Group", group_changing_properties, values);
}

static void manager_iommu_summary(Manager *m, int *ret_width, const char **ret_intremap) {
        int width = -1;
        bool any_yes = false, any_no = false, any_unknown = m->host->n_units == 0;

        /* The smallest width decides what every VM can use; "unknown" wins only when nothing is known. */
        for (size_t i = 0; i < m->host->n_units; i++) {
                const IommuUnit *u = m->host->units[i];

                if (u->address_width > 0 && (width < 0 || u->address_width < width))
                        width = u->address_width;
                if (u->interrupt_remapping > 0)
                        any_yes = true;
                else if (u->interrupt_remapping == 0)
                        any_no = true;
                else
                        any_unknown = true;
        }
        *ret_width = width;
        *ret_intremap = any_no ? "no" : any_unknown ? "unknown" : any_yes ? "yes" : "unknown";
}

int manager_announce_manager_properties(Manager *m) {
        const char *intremap;
        int width, k = 0;

        manager_iommu_summary(m, &width, &intremap);
        if (m->last_n_devices != m->host->n_devices)
                k = manager_queue_properties_changed(
                        m, VFIOMAP_OBJECT_PATH, "org.vfiomap1.Manager", "NDevices");
        if (k >= 0 && m->last_n_groups != m->host->n_groups)
                k = manager_queue_properties_changed(
                        m, VFIOMAP_OBJECT_PATH, "org.vfiomap1.Manager", "NGroups");
        if (k >= 0 && m->last_n_machines != m->n_machines)
                k = manager_queue_properties_changed(
                        m, VFIOMAP_OBJECT_PATH, "org.vfiomap1.Manager", "NMachines");
        if (k >= 0 && m->last_width != width)
                k = manager_queue_properties_changed(
                        m, VFIOMAP_OBJECT_PATH, "org.vfiomap1.Manager", "IommuAddressWidth");
        if (k >= 0 && !streq_ptr(m->last_intremap, intremap))
                k = manager_queue_properties_changed(
                        m, VFIOMAP_OBJECT_PATH, "org.vfiomap1.Manager", "InterruptRemapping");
        if (k < 0)
                return k;
        m->last_n_devices = m->host->n_devices;
        m->last_n_groups = m->host->n_groups;
        m->last_n_machines = m->n_machines;
        m->last_width = width;
        if (!streq_ptr(m->last_intremap, intremap)) {
                free(m->last_intremap);
                m->last_intremap = strdup(intremap);
                if (!m->last_intremap)
                        return -ENOMEM;
        }
        return 0;
}

/* ---- machines ---- */

Machine *manager_find_machine(Manager *m, const char *name) {
        for (size_t i = 0; i < m->n_machines; i++)
                if (streq(m->machines[i]->claim.machine, name))
                        return m->machines[i];
        return NULL;
}

Machine *manager_group_owner(Manager *m, unsigned group) {
        for (size_t i = 0; i < m->n_machines; i++)
                if (machine_has_group(m->machines[i], group))
                        return m->machines[i];
        return NULL;
}

Machine *manager_device_owner(Manager *m, const char *address) {
        for (size_t i = 0; i < m->n_machines; i++)
                if (machine_has_device(m->machines[i], address))
                        return m->machines[i];
        return NULL;
}

static int machine_compare(const void *a, const void *b) {
        return strcmp((*(Machine *const *) a)->claim.machine, (*(Machine *const *) b)->claim.machine);
}

/* Owner properties of the machine's groups and devices follow its claim. */
static int announce_machine_objects(Manager *m, const Machine *machine) {
        int k;

        for (size_t i = 0; i < machine->claim.n_groups; i++) {
                k = announce_group(m, machine->claim.groups[i]);
                if (k < 0)
                        return k;
        }
        STRV_FOREACH (a, machine->claim.devices) {
                const Device *d = host_find_device(m->host, *a);
                if (d) {
                        k = announce_device(m, d);
                        if (k < 0)
                                return k;
                }
        }
        return 0;
}

int manager_add_machine(Manager *m, Machine *machine) {
        Machine **nm;
        int k;

        nm = realloc(m->machines, sizeof(Machine *) * (m->n_machines + 1));
        if (!nm)
                return -ENOMEM;
        m->machines = nm;
        m->machines[m->n_machines++] = machine;
        qsort(m->machines, m->n_machines, sizeof(Machine *), machine_compare);

        (void) machine_evaluate(machine, m->host);
        if (m->bus) {
                k = sd_bus_emit_signal(
                        m->bus,
                        VFIOMAP_OBJECT_PATH,
                        "org.vfiomap1.Manager",
                        "MachineNew",
                        "so",
                        machine->claim.machine,
                        machine->path);
                if (k < 0)
                        log_debug_errno(k, "Failed to emit MachineNew: %m");
        }
        k = announce_machine_objects(m, machine);
        if (k < 0)
                return k;
        return manager_announce_manager_properties(m);
}

int manager_remove_machine(Manager *m, Machine *machine) {
        _cleanup_(machine_freep) Machine *gone = machine;
        size_t i;
        int k;

        for (i = 0; i < m->n_machines; i++)
                if (m->machines[i] == machine)
                        break;
        if (i >= m->n_machines) {
                gone = NULL;
                return -ENOENT;
        }
        memmove(m->machines + i, m->machines + i + 1, sizeof(Machine *) * (m->n_machines - i - 1));
        m->n_machines--;

        if (m->bus) {
                k = sd_bus_emit_signal(
                        m->bus,
                        VFIOMAP_OBJECT_PATH,
                        "org.vfiomap1.Manager",
                        "MachineRemoved",
                        "so",
                        machine->claim.machine,
                        machine->path);
                if (k < 0)
                        log_debug_errno(k, "Failed to emit MachineRemoved: %m");
        }
        manager_forget_values(m, machine->path);
        k = announce_machine_objects(m, machine);
        if (k < 0)
                return k;
        return manager_announce_manager_properties(m);
}

static int claim_record_compare(const void *a, const void *b) {
        return strcmp(((const ClaimRecord *) a)->machine, ((const ClaimRecord *) b)->machine);
}

int manager_save_claims_with(Manager *m, const Machine *without, const ClaimRecord *with) {
        _cleanup_free_ ClaimRecord *records = NULL;
        size_t n = 0;
        int k;

        records = calloc(m->n_machines + 1, sizeof(ClaimRecord));
        if (!records)
                return -ENOMEM;
        /* Shallow copies: the machines keep owning their records. */
        for (size_t i = 0; i < m->n_machines; i++)
                if (m->machines[i] != without)
                        records[n++] = m->machines[i]->claim;
        if (with) {
                records[n++] = *with;
                qsort(records, n, sizeof(ClaimRecord), claim_record_compare);
        }
        k = claims_file_save(m->runtime_dir, records, n);
        if (k < 0)
                return k;
        /* claims.json is the record; the per-machine files are a convenience derived from it, so a failure
         * to write one is logged and does not undo the claim. */
        k = machine_files_sync(m->runtime_dir, records, n);
        if (k < 0)
                log_warning_errno(k, "Failed to update %s/" MACHINES_DIR_NAME "/: %m", m->runtime_dir);
        return 0;
}

int manager_save_claims(Manager *m) {
        return manager_save_claims_with(m, NULL, NULL);
}

int manager_update_machines(Manager *m) {
        for (size_t i = 0; i < m->n_machines; i++) {
                Machine *machine = m->machines[i];
                MachineState before = machine->state;
                int k;

                k = machine_evaluate(machine, m->host);
                if (k < 0)
                        return k;
                if (k == 0)
                        continue;
                if (machine->state != before) {
                        if (machine->state == MACHINE_DEGRADED)
                                log_warning(
                                        "Machine %s is degraded: %s",
                                        machine->claim.machine,
                                        machine->problems[0]);
                        else
                                log_info("Machine %s is whole again.", machine->claim.machine);
                        k = manager_queue_properties_changed(
                                m, machine->path, "org.vfiomap1.Machine", "State");
                        if (k < 0)
                                return k;
                }
                k = manager_queue_properties_changed(m, machine->path, "org.vfiomap1.Machine", "Problems");
                if (k < 0)
                        return k;
        }
        return 0;
}

/* ---- loading ---- */

static int manager_restore_claims(Manager *m) {
        _cleanup_free_ char *error = NULL;
        ClaimRecord *records = NULL;
        size_t n = 0;
        int k;

        k = claims_file_load(m->runtime_dir, &records, &n, &error);
        if (k == -EBADMSG) {
                /* Refuse to start rather than serve claims from a file we do not understand: a silently
                 * dropped claim would let a second VM take a group in use. */
                return log_error_errno(
                        k,
                        "%s/" CLAIMS_FILE_NAME " is corrupt (%s); move it away to start "
                        "without claims.",
                        m->runtime_dir,
                        strna(error));
        }
        if (k < 0)
                return log_error_errno(k, "Failed to read %s/" CLAIMS_FILE_NAME ": %m", m->runtime_dir);

        for (size_t i = 0; i < n; i++) {
                Machine *machine;

                k = machine_new(m, records + i, &machine);
                if (k < 0) {
                        claim_records_free(records, n);
                        return log_oom();
                }
                k = manager_add_machine(m, machine);
                if (k < 0) {
                        machine_free(machine);
                        claim_records_free(records, n);
                        return log_oom();
                }
                log_info(
                        "Restored the claim of machine %s (%zu groups, %s).",
                        machine->claim.machine,
                        machine->claim.n_groups,
                        machine_state_to_string(machine->state));
        }
        claim_records_free(records, n);
        return 0;
}

/* Hands the heap's free pages back to the kernel after work that allocated a lot and freed most of it: the
 * whole host read (the old model, read buffers, directory listings) or a burst of uevents. glibc keeps
 * them otherwise, and a daemon that loaded 4,000 functions once would keep the high-water mark of that
 * load as its RSS for ever. Cheap next to the work before it: one walk of the free lists. */
#define TRIM_AFTER_EVENTS 64

static void manager_release_memory(Manager *m) {
        (void) malloc_trim(0);
}

int manager_load(Manager *m) {
        int k;

        if (!m->runtime_dir) {
                const char *e = getenv("RUNTIME_DIRECTORY");
                /* systemd may pass several directories separated by ":"; ours is the first. */
                m->runtime_dir = e ? strndup(e, strcspn(e, ":")) : strdup("/run/vfiomap");
                if (!m->runtime_dir)
                        return log_oom();
        }

        k = host_load(m->root ?: "/", &m->host);
        if (k < 0)
                return log_error_errno(k, "Failed to read the host model from %s: %m", m->root ?: "/");
        log_info(
                "Host model read from %s: %zu devices, %zu IOMMU groups, %zu IOMMU units.",
                m->root ?: "/",
                m->host->n_devices,
                m->host->n_groups,
                m->host->n_units);

        for (size_t i = 0; i < m->host->n_devices; i++) {
                k = announce_device(m, m->host->devices[i]);
                if (k < 0)
                        return log_oom();
        }
        for (size_t i = 0; i < m->host->n_groups; i++) {
                k = announce_group(m, m->host->groups[i]->number);
                if (k < 0)
                        return log_oom();
        }
        k = manager_restore_claims(m);
        if (k < 0)
                return k;
        k = manager_load_bindings(m);
        if (k < 0)
                return k;
        k = manager_announce_manager_properties(m);
        if (k < 0)
                return log_oom();
        manager_release_memory(m);
        return 0;
}

/* ---- the live model ---- */

/* Removes every copy of s from l, in place. */
static void strv_remove(char **l, const char *s) {
        char **w = l;

        if (!l)
                return;
        for (char **r = l; *r; r++)
                if (streq(*r, s))
                        free(*r);
                else
                        *w++ = *r;
        *w = NULL;
}

static uint64_t monotonic_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

/* The previous batch was applied less than BATCH_USEC ago: more events are likely on their way. */
static bool manager_in_burst(Manager *m) {
        return m->last_batch_usec > 0 && monotonic_usec() < m->last_batch_usec + BATCH_USEC;
}

/* Arms the batch timer unless it runs already; a rescan (delay 0) brings it forward. */
static int manager_arm_batch(Manager *m, uint64_t delay) {
        int enabled = SD_EVENT_OFF, k;

        if (!m->process_source)
                return 0;
        k = sd_event_source_get_enabled(m->process_source, &enabled);
        if (k < 0)
                return k;
        if (enabled != SD_EVENT_OFF && delay > 0)
                return 0;
        k = sd_event_source_set_time_relative(m->process_source, delay);
        if (k < 0)
                return k;
        return sd_event_source_set_enabled(m->process_source, SD_EVENT_ONESHOT);
}

int manager_queue_uevent(Manager *m, const char *address, bool remove) {
        bool known = false;
        int k;

        m->n_uevents++;
        /* Linear: a batch holds the devices of one burst, a few hundred at most before it is applied. */
        for (size_t i = 0; i < m->n_dirty; i++)
                if (streq(m->dirty[i], address)) {
                        known = true;
                        break;
                }
        if (!known) {
                if (!GREEDY_REALLOC(m->dirty, m->allocated_dirty, m->n_dirty + 1))
                        return -ENOMEM;
                m->dirty[m->n_dirty] = strdup(address);
                if (!m->dirty[m->n_dirty])
                        return -ENOMEM;
                m->n_dirty++;
        }
        if (remove && !strv_contains(m->removed, address)) {
                k = strv_extend(&m->removed, address);
                if (k < 0)
                        return k;
        } else if (!remove)
                /* Added again after a remove in the same burst. */
                strv_remove(m->removed, address);
        if (m->n_dirty >= DIRTY_MAX)
                return manager_process_uevents(m);
        return manager_arm_batch(m, manager_in_burst(m) ? BATCH_USEC : 0);
}

int manager_queue_rescan(Manager *m) {
        m->rescan_pending = true;
        return manager_arm_batch(m, 0);
}

static int emit_device_signal(Manager *m, const char *member, const char *address) {
        _cleanup_free_ char *path = NULL;
        int k;

        k = device_object_path(address, &path);
        if (k < 0)
                return k;
        if (!streq(member, "DeviceAdded"))
                manager_forget_values(m, path);
        if (!m->bus)
                return 0;
        k = sd_bus_emit_signal(
                m->bus, VFIOMAP_OBJECT_PATH, "org.vfiomap1.Manager", member, "so", address, path);
        if (k < 0)
                log_debug_errno(k, "Failed to emit %s for %s: %m", member, address);
        return 0;
}

typedef struct GroupSet {
        unsigned *numbers;
        size_t n, allocated;
} GroupSet;

static void group_set_done(GroupSet *s) {
        free(s->numbers);
}

static int group_set_add(GroupSet *s, int number) {
        if (number < 0)
                return 0;
        for (size_t i = 0; i < s->n; i++)
                if (s->numbers[i] == (unsigned) number)
                        return 0;
        if (!GREEDY_REALLOC(s->numbers, s->allocated, s->n + 1))
                return -ENOMEM;
        s->numbers[s->n++] = (unsigned) number;
        return 0;
}

/* Re-reads only the devices named by uevents and the groups they were and are in (host_reload_device()),
 * then announces what changed. */
static int manager_apply_devices(Manager *m, char **addresses, size_t n) {
        _cleanup_(group_set_done) GroupSet groups = {};
        _cleanup_free_ bool *existed = NULL;
        _cleanup_strv_free_ char **extra = NULL;
        int k;

        existed = calloc(n, sizeof(bool));
        if (!existed)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const Device *d = host_find_device(m->host, addresses[i]);

                existed[i] = d;
                if (d && group_set_add(&groups, d->group) < 0)
                        return -ENOMEM;
        }

        /* A bind or unbind also requests or releases the device's BARs in /proc/iomem: read it once per
         * batch, or a BAR would still look held by the driver the device left (seen in tests/system: "BAR
         * 0 ... is still claimed by e1000" of a NIC libvirt had moved to vfio-pci). */
        k = host_reload_iomem(m->host);
        if (k == -ENOMEM)
                return k;
        if (k < 0)
                log_warning_errno(k, "Failed to re-read /proc/iomem, keeping the copy read before: %m");

        for (size_t i = 0; i < n; i++) {
                const Device *d;

                k = host_reload_device(m->host, addresses[i]);
                if (k == -ENOMEM)
                        return k;
                if (k < 0) {
                        log_warning_errno(
                                k, "Failed to re-read %s, reading the whole host again: %m", addresses[i]);
                        return manager_queue_rescan(m);
                }
                d = host_find_device(m->host, addresses[i]);
                if (d && strv_contains(m->removed, addresses[i]))
                        continue; /* announced once sysfs agrees, see manager_retry_removed() */
                if (!d)
                        strv_remove(m->removed, addresses[i]);
                if (!existed[i] && d)
                        k = emit_device_signal(m, "DeviceAdded", addresses[i]);
                else if (existed[i] && !d)
                        k = emit_device_signal(m, "DeviceRemoved", addresses[i]);
                else
                        k = 0;
                if (k < 0)
                        return k;
                if (d) {
                        if (group_set_add(&groups, d->group) < 0)
                                return -ENOMEM;
                        k = announce_device(m, d);
                        if (k < 0)
                                return k;
                        /* A VF coming or going changes its PF's VirtualFunctions. */
                        if (d->physfn && !strv_contains(extra, d->physfn) &&
                            strv_extend(&extra, d->physfn) < 0)
                                return -ENOMEM;
                }
        }

        STRV_FOREACH (pf, extra) {
                const Device *d;

                k = host_reload_device(m->host, *pf);
                if (k < 0 && k != -ENOMEM)
                        continue;
                if (k < 0)
                        return k;
                d = host_find_device(m->host, *pf);
                if (d && (k = announce_device(m, d)) < 0)
                        return k;
        }

        for (size_t i = 0; i < groups.n; i++) {
                k = announce_group(m, groups.numbers[i]);
                if (k < 0)
                        return k;
        }
        return 0;
}

/* Replaces the whole model (receive queue overrun, or a read that contradicts the events) and announces the
 * difference, object by object, like an incremental update would have. */
static int manager_rescan(Manager *m) {
        _cleanup_(host_freep) Host *old = NULL;
        _cleanup_(group_set_done) GroupSet groups = {};
        Host *h;
        int k;

        m->n_rescans++;
        k = host_load(m->root ?: "/", &h);
        if (k < 0)
                return log_error_errno(k, "Failed to read the host model again, keeping the old one: %m");
        old = m->host;
        m->host = h;
        log_info("Host model read again: %zu devices, %zu IOMMU groups.", h->n_devices, h->n_groups);

        for (size_t i = 0; i < old->n_devices; i++)
                if (!host_find_device(h, old->devices[i]->address)) {
                        k = emit_device_signal(m, "DeviceRemoved", old->devices[i]->address);
                        if (k < 0)
                                return k;
                }
        for (size_t i = 0; i < h->n_devices; i++) {
                const Device *d = h->devices[i];

                if (!host_find_device(old, d->address)) {
                        k = emit_device_signal(m, "DeviceAdded", d->address);
                        if (k < 0)
                                return k;
                }
                k = announce_device(m, d);
                if (k < 0)
                        return k;
        }
        for (size_t i = 0; i < old->n_groups; i++)
                if (group_set_add(&groups, old->groups[i]->number) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < h->n_groups; i++)
                if (group_set_add(&groups, h->groups[i]->number) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < groups.n; i++) {
                k = announce_group(m, groups.numbers[i]);
                if (k < 0)
                        return k;
        }
        strv_free(TAKE_PTR(m->removed));
        return 0;
}

static int on_retry_removed(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        _cleanup_strv_free_ char **again = TAKE_PTR(m->removed);
        int k = 0;

        /* sysfs still showed these after their "remove": ask again, and after REMOVE_RETRIES_MAX rounds
         * believe nothing and read everything. */
        if (++m->remove_retries > REMOVE_RETRIES_MAX) {
                log_warning("Devices still present long after their removal, reading the whole host again.");
                m->remove_retries = 0;
                k = manager_queue_rescan(m);
        } else
                STRV_FOREACH (a, again) {
                        k = manager_queue_uevent(m, *a, true);
                        if (k < 0)
                                break;
                }
        m->n_uevents -= strv_length(again); /* not new events */
        return k < 0 ? log_oom() : 0;
}

int manager_process_uevents(Manager *m) {
        char **dirty = m->dirty;
        bool rescanned = m->rescan_pending;
        size_t n = m->n_dirty;
        int k;

        m->dirty = NULL;
        m->n_dirty = m->allocated_dirty = 0;
        m->n_batches++;
        m->last_batch_usec = monotonic_usec();

        if (m->rescan_pending) {
                m->rescan_pending = false;
                k = manager_rescan(m);
        } else
                k = manager_apply_devices(m, dirty, n);
        for (size_t i = 0; i < n; i++)
                free(dirty[i]);
        free(dirty);
        if (k == -ENOMEM)
                return log_oom();

        if (m->rescan_pending)
                /* manager_apply_devices() found the model inconsistent: rescan in this batch. */
                return manager_process_uevents(m);

        k = manager_update_machines(m);
        if (k >= 0)
                k = manager_announce_manager_properties(m);
        if (k < 0)
                return log_oom();
        if (rescanned || n >= TRIM_AFTER_EVENTS)
                manager_release_memory(m);

        if (m->removed) {
                if (!m->retry_source) {
                        k = sd_event_add_time_relative(
                                m->event,
                                &m->retry_source,
                                CLOCK_MONOTONIC,
                                REMOVE_RETRY_USEC,
                                0,
                                on_retry_removed,
                                m);
                        if (k < 0)
                                return log_error_errno(k, "Failed to arm the removal timer: %m");
                } else {
                        (void) sd_event_source_set_time_relative(m->retry_source, REMOVE_RETRY_USEC);
                        (void) sd_event_source_set_enabled(m->retry_source, SD_EVENT_ONESHOT);
                }
        } else
                m->remove_retries = 0;
        return 0;
}

static int on_process(sd_event_source *s, uint64_t usec, void *userdata) {
        return manager_process_uevents(userdata);
}

/* ---- Describe() ---- */

int manager_describe_json(Manager *m, char **ret) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_object *machines;
        const char *s;

        /* /dev/vfio nodes and the processes holding them change without an event (a bind creates a node,
         * QEMU opening it is silent): read them now, as Group.Users does on every Get. */
        if (host_reload_vfio(m->host) == -ENOMEM)
                return -ENOMEM;
        o = host_to_json(m->host);
        machines = json_object_new_array();
        if (!o || !machines) {
                json_object_put(machines);
                return -ENOMEM;
        }
        for (size_t i = 0; i < m->n_machines; i++)
                (void) json_object_array_add(machines, machine_to_json(m->machines[i], m->root));
        (void) json_object_object_add(o, "machines", machines);
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

/* ---- bus ---- */

/* Who holds the name we wanted: "PID 1234 (vfiomapd), connection :1.5", or at least the unique name. */
static char *format_name_owner(sd_bus *bus) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        const char *unique = NULL, *comm = NULL;
        pid_t pid = 0;
        char *s = NULL;

        /* AUGMENT: the bus tells the PID, /proc/PID/comm the name. */
        if (sd_bus_get_name_creds(
                    bus,
                    VFIOMAP_BUS_NAME,
                    SD_BUS_CREDS_UNIQUE_NAME | SD_BUS_CREDS_PID | SD_BUS_CREDS_COMM |
                            SD_BUS_CREDS_AUGMENT,
                    &creds) < 0)
                return NULL;
        (void) sd_bus_creds_get_unique_name(creds, &unique);
        (void) sd_bus_creds_get_pid(creds, &pid);
        (void) sd_bus_creds_get_comm(creds, &comm);
        if (pid > 0)
                (void) asprintf_safe(
                        &s, "PID %d (%s), connection %s", (int) pid, strna(comm), strna(unique));
        else if (unique)
                s = strdup(unique);
        return s;
}

/* Synchronous, and before the device monitor and the libvirt watcher start: a second vfiomapd must not
 * reconcile claims, write the claims file or tell the service manager it is ready while another one
 * serves. Without SD_BUS_NAME_QUEUE sd-bus asks with DBUS_NAME_FLAG_DO_NOT_QUEUE and turns the
 * EXISTS reply into -EEXIST (sd_bus_request_name(3)); the asynchronous variant's reply had gone
 * unchecked, so a second daemon logged "Serving" and sent READY=1 without the name. */
static int manager_request_name(Manager *m) {
        _cleanup_free_ char *owner = NULL;
        int k;

        k = sd_bus_request_name(m->bus, VFIOMAP_BUS_NAME, 0);
        if (k >= 0)
                return 0;
        if (k != -EEXIST)
                return log_error_errno(k, "Failed to request the bus name " VFIOMAP_BUS_NAME ": %m");
        owner = format_name_owner(m->bus);
        return log_error_errno(
                k,
                "The bus name " VFIOMAP_BUS_NAME " is already owned by %s; is another vfiomapd "
                "running? Stop it first (\"systemctl stop vfiomapd\"). Not serving.",
                owner ?: "another process");
}

static int manager_connect_bus(Manager *m) {
        int k;

        /* Honours DBUS_SYSTEM_BUS_ADDRESS, which is how the tests run us on a private bus. */
        k = sd_bus_open_system(&m->bus);
        if (k < 0)
                return log_error_errno(k, "Failed to connect to the system bus: %m");
        k = bus_error_map_register();
        if (k < 0)
                return log_error_errno(k, "Failed to register the error map: %m");

        k = sd_bus_add_object_vtable(
                m->bus, NULL, VFIOMAP_OBJECT_PATH, "org.vfiomap1.Manager", manager_vtable, m);
        if (k < 0)
                return log_error_errno(k, "Failed to register the Manager object: %m");
        k = sd_bus_add_fallback_vtable(
                m->bus,
                NULL,
                VFIOMAP_DEVICE_PREFIX,
                "org.vfiomap1.Device",
                device_vtable,
                device_object_find,
                m);
        if (k < 0)
                return log_error_errno(k, "Failed to register the Device objects: %m");
        k = sd_bus_add_node_enumerator(m->bus, NULL, VFIOMAP_DEVICE_PREFIX, device_node_enumerator, m);
        if (k < 0)
                return log_error_errno(k, "Failed to register the Device enumerator: %m");
        k = sd_bus_add_fallback_vtable(
                m->bus,
                NULL,
                VFIOMAP_GROUP_PREFIX,
                "org.vfiomap1.Group",
                group_vtable,
                group_object_find,
                m);
        if (k < 0)
                return log_error_errno(k, "Failed to register the Group objects: %m");
        k = sd_bus_add_node_enumerator(m->bus, NULL, VFIOMAP_GROUP_PREFIX, group_node_enumerator, m);
        if (k < 0)
                return log_error_errno(k, "Failed to register the Group enumerator: %m");
        k = sd_bus_add_fallback_vtable(
                m->bus,
                NULL,
                VFIOMAP_MACHINE_PREFIX,
                "org.vfiomap1.Machine",
                machine_vtable,
                machine_object_find,
                m);
        if (k < 0)
                return log_error_errno(k, "Failed to register the Machine objects: %m");
        k = sd_bus_add_node_enumerator(m->bus, NULL, VFIOMAP_MACHINE_PREFIX, machine_node_enumerator, m);
        if (k < 0)
                return log_error_errno(k, "Failed to register the Machine enumerator: %m");

        k = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (k < 0)
                return log_error_errno(k, "Failed to attach the bus to the event loop: %m");
        (void) sd_bus_set_exit_on_disconnect(m->bus, true);

        return manager_request_name(m);
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        log_info("SIGHUP: reading the whole host again.");
        return manager_queue_rescan(m) < 0 ? log_oom() : 0;
}

int manager_startup(Manager *m) {
        sigset_t mask;
        int k;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");
        /* A NULL handler makes sd-event exit the loop on SIGTERM and SIGINT. */
        k = sd_event_add_signal(m->event, NULL, SIGTERM, NULL, NULL);
        if (k >= 0)
                k = sd_event_add_signal(m->event, NULL, SIGINT, NULL, NULL);
        if (k >= 0)
                k = sd_event_add_signal(m->event, NULL, SIGHUP, on_sighup, m);
        if (k < 0)
                return log_error_errno(k, "Failed to watch signals: %m");
        /* Pings the service manager every WATCHDOG_USEC/2 while the loop runs (sd_event_set_watchdog(3)). */
        k = sd_event_set_watchdog(m->event, true);
        if (k < 0)
                log_warning_errno(k, "Failed to enable the watchdog, continuing without: %m");

        /* Uevents are applied in batches at idle priority (BATCH_USEC): only once the monitor socket is
         * drained, so a burst becomes one batch of model updates and one PropertiesChanged per object. */
        k = sd_event_add_time_relative(
                m->event, &m->process_source, CLOCK_MONOTONIC, BATCH_USEC, 1000, on_process, m);
        if (k >= 0)
                k = sd_event_source_set_priority(m->process_source, SD_EVENT_PRIORITY_IDLE);
        if (k >= 0)
                k = sd_event_source_set_enabled(m->process_source, SD_EVENT_OFF);
        if (k < 0)
                return log_error_errno(k, "Failed to set up uevent processing: %m");
        /* A defer source, not a post source: sd-event marks post sources pending before it dispatches a
         * callback, so one enabled from inside a callback (the uevent batch, a method call) waits for the
         * next unrelated event; in the test guest a Driver change after BindVfio stayed unannounced until
         * the next bus call (tests/vm/check-daemon-vfio.sh). A ONESHOT defer runs in the next iteration. */
        k = sd_event_add_defer(m->event, &m->flush_source, on_flush, m);
        if (k >= 0)
                k = sd_event_source_set_enabled(m->flush_source, SD_EVENT_OFF);
        if (k < 0)
                return log_error_errno(k, "Failed to set up signal coalescing: %m");

        k = manager_connect_bus(m);
        if (k < 0)
                return k;

        if (!m->root || m->follow_uevents) {
                k = manager_start_monitor(m);
                if (k < 0)
                        return k;
        } else
                log_info("Serving the host tree %s: no uevents, and no changes to the host.", m->root);

        /* A host tree belongs to another host, whose libvirt is not this one's: watched only when asked. */
        if (!m->no_libvirt && !m->libvirt_uri && !m->root) {
                m->libvirt_uri = strdup("qemu:///system");
                if (!m->libvirt_uri)
                        return log_oom();
        }
        if (!m->no_libvirt && m->libvirt_uri) {
                /* Started last: the thread inherits the signal mask set above. */
                k = libvirt_watcher_start(m, m->libvirt_uri, &m->libvirt);
                if (k < 0)
                        return log_error_errno(k, "Failed to start watching libvirt: %m");
        } else
                log_debug("Not watching libvirt.");

        /* Clients can reach us once the loop runs: only now is the service ready (sd_notify(3),
         * Type=notify), and only because the name is ours. */
        (void) sd_notifyf(
                false,
                "READY=1\nSTATUS=Serving %zu devices, %zu IOMMU groups, %zu claims.",
                m->host->n_devices,
                m->host->n_groups,
                m->n_machines);
        log_info("Serving " VFIOMAP_BUS_NAME "%s%s.", m->root ? " for the host tree " : "", m->root ?: "");
        return 0;
}

int manager_run(Manager *m) {
        int k;

        k = sd_event_loop(m->event);
        (void) sd_notify(false, "STOPPING=1");
        if (k < 0)
                return log_error_errno(k, "Event loop failed: %m");
        return k;
}
