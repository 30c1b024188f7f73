/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What every verb of vfiomapctl shares: the parsed global options and the way to reach the host model
 * (a root directory offline, the daemon otherwise). One file per verb family implements the verbs. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <systemd/sd-bus.h>

#include "host.h"
#include "json-util.h"

typedef enum JsonMode {
        JSON_OFF,
        JSON_PRETTY,
        JSON_SHORT,
} JsonMode;

typedef struct Context {
        const char *root;       /* --root DIR: offline, read this tree; NULL: ask vfiomapd */
        JsonMode json;          /* --json[=pretty|short] */
        bool legend;            /* false with --no-legend */
        const char *svg;        /* --svg FILE (layout) */
        bool dry_run;           /* --dry-run (apply) */
        const char *bus_address; /* the bus to reach vfiomapd on; NULL: the system bus (hook.conf "bus=") */
} Context;

/* Exit statuses beyond EXIT_SUCCESS/EXIT_FAILURE. Documented in vfiomapctl(1). */
#define EXIT_USAGE 2            /* bad command line */
#define EXIT_VERDICT_WARNING 10 /* layout: the VM fits, with warnings */
#define EXIT_VERDICT_ERROR 11   /* layout: the VM does not fit */

typedef int (*VerbFunction)(int argc, char *argv[], Context *c);

/* Loads the host model from --root. Logs and returns negative errno. Without --root this is an error:
 * verbs that need the model itself (snapshot) read "/" explicitly, the others use context_describe(). */
int context_load_host(Context *c, Host **ret);

/* The whole host as the JSON document of proto/host-json.md (keys "devices", "groups", "iommu",
 * "warnings", ...): offline from the model under --root, otherwise from vfiomapd's Describe(). Every host
 * verb renders from this, so both paths print the same. Logs and returns negative errno. */
int context_describe(Context *c, json_object **ret);

/* As context_describe(), building offline only the members asked for (the daemon sends everything). */
enum {
        DESCRIBE_DEVICES = 1 << 0,
        DESCRIBE_GROUPS = 1 << 1,
        DESCRIBE_IOMMU = 1 << 2,
        DESCRIBE_ALL = ~0U,
};
int context_describe_parts(Context *c, unsigned parts, json_object **ret);

/* Parses a PCI address typed on the command line (lspci's short form too) into its normalised form;
 * logs PCI_ADDRESS_USER_ERROR and returns -EINVAL when it is none. Every verb that takes one uses it. */
int parse_address_arg(const char *arg, char ret[static PCI_ADDRESS_MAX]);

/* client/root-archive.c: unpacks a --root archive into a private temporary directory, removed at exit and
 * on SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGPIPE. Logs. */
int root_archive_unpack(const char *archive, const char **ret_dir);

/* client/pci-names.c: adds "vendor_name" and "device_name" from pci.ids (under --root the tree's own
 * usr/share/misc/pci.ids or usr/share/hwdata/pci.ids when present, else this host's) to each device
 * object of the array whose ids it knows. Without pci.ids nothing is added. */
void annotate_pci_names(const Context *c, json_object *devices);

/* client/host-warnings.c: the warnings of a host document (proto/host-json.md), one per line, those that
 * only privileges cure counted in one line. */
void print_host_warnings(json_object *state, FILE *f);

/* Prints j (consumed) according to c->json, followed by a newline. */
int print_json(const Context *c, json_object *j);

/* Error output in one style: "vfiomapctl: message". Returns -abs(error) so callers can return it. */
int log_error_errno(int error, const char *format, ...) __attribute__((format(printf, 2, 3)));
void log_warning(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* client/bus.c: talking to vfiomapd on the system bus ($DBUS_SYSTEM_BUS_ADDRESS or the default socket). */
#define VFIOMAP_SERVICE "org.vfiomap1"
#define VFIOMAP_PATH "/org/vfiomap1"
#define VFIOMAP_MANAGER "org.vfiomap1.Manager"
/* Manager.RenderLayout's flags (proto/org.vfiomap1.Manager.xml; daemon/bus-util.h has the same). */
#define VFIOMAP_RENDER_LAYOUT_SVG (UINT64_C(1) << 0)

int bus_describe(Context *c, json_object **ret);
/* Connects to c->bus_address or the system bus. Does not log: the hook words its own message. */
int bus_connect(Context *c, sd_bus **ret);
/* Like bus_connect(), logging a failure with what to do. */
int bus_open(Context *c, sd_bus **ret);
/* True when the failure means vfiomapd is not there (no bus, no owner of org.vfiomap1). */
bool bus_error_is_daemon_missing(const sd_bus_error *e, int k);
/* Logs a failed call: the bus error's message, or what to do when vfiomapd is not running. Returns k. */
int log_bus_error(const sd_bus_error *e, int k, const char *what);
/* Calls a Manager method with one string reply parsed as JSON. */
int bus_call_json(Context *c, sd_bus *bus, const char *method, json_object **ret, const char *types, ...);

/* client/verb-layout.c: reads FILE ("-" for stdin) up to VMSPEC_INPUT_MAX bytes (-EFBIG beyond). */
int read_input(const char *path, char **ret, size_t *ret_size);

/* client/libvirt-domain.c: the domain XML of a libvirt domain, through $LIBVIRT_DEFAULT_URI or
 * qemu:///system; flags as for virDomainGetXMLDesc(). Logs. Never called by the qemu hook. */
int libvirt_domain_xml(const char *name, unsigned flags, char **ret);
/* The same without logging: on failure *ret_error (freed by the caller, may stay NULL) says why. -ENOENT:
 * libvirt has no such domain; -ECONNREFUSED: libvirt could not be reached. */
int libvirt_domain_xml_error(const char *name, unsigned flags, char **ret, char **ret_error);
int libvirt_domain_define(const char *xml);

/* Verbs, one file per family. */
int verb_devices(int argc, char *argv[], Context *c);
int verb_device(int argc, char *argv[], Context *c);
int verb_groups(int argc, char *argv[], Context *c);
int verb_group(int argc, char *argv[], Context *c);
int verb_iommu(int argc, char *argv[], Context *c);
int verb_snapshot(int argc, char *argv[], Context *c);
int verb_layout(int argc, char *argv[], Context *c); /* client/verb-layout.c */
int verb_libvirt_hook(int argc, char *argv[], Context *c); /* client/verb-libvirt-hook.c */
int verb_status(int argc, char *argv[], Context *c); /* client/verbs-machine.c */
int verb_machines(int argc, char *argv[], Context *c);
int verb_machine(int argc, char *argv[], Context *c);
int verb_claim(int argc, char *argv[], Context *c);
int verb_release(int argc, char *argv[], Context *c);
int verb_check_hotplug(int argc, char *argv[], Context *c);
int verb_monitor(int argc, char *argv[], Context *c); /* client/verb-monitor.c */
int verb_bind_vfio(int argc, char *argv[], Context *c); /* client/verbs-vfio.c */
int verb_unbind(int argc, char *argv[], Context *c);
int verb_apply(int argc, char *argv[], Context *c); /* client/verb-apply.c */

/* client/device-facts.c */
const char *device_reset_column(json_object *d, char *buf, size_t size);
void print_device_facts(json_object *d);
void print_group_cdev_users(json_object *g);
