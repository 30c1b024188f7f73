/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vfiomapctl monitor: vfiomapd's signals as they come, one line each, like "udevadm monitor": devices
 * added and removed, machines claimed and released, properties changed (drivers, owners, viability,
 * machine state), and the daemon itself coming and going. Until SIGINT or SIGTERM. */

#include "json-util.h"
#include "util.h"
#include "vfiomapctl.h"

#include <signal.h>
#include <sys/time.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <time.h>

static inline void sd_event_unrefp_local(sd_event **e) {
        if (*e)
                (void) sd_event_unref(*e);
}

/* The next complete value of m as JSON: basic types as themselves, arrays and structs as arrays, a{sv}
 * as an object. Enough for every property and signal vfiomapd has. */
static int read_value(sd_bus_message *m, json_object **ret) {
        const char *contents;
        char type;
        int k;

        k = sd_bus_message_peek_type(m, &type, &contents);
        if (k <= 0)
                return k < 0 ? k : -ENODATA;

        if (type == SD_BUS_TYPE_ARRAY || type == SD_BUS_TYPE_STRUCT || type == SD_BUS_TYPE_VARIANT ||
            type == SD_BUS_TYPE_DICT_ENTRY) {
                bool dict = type == SD_BUS_TYPE_ARRAY && contents[0] == '{';
                json_object *o;

                k = sd_bus_message_enter_container(m, type, contents);
                if (k < 0)
                        return k;
                if (type == SD_BUS_TYPE_VARIANT) {
                        k = read_value(m, &o);
                        if (k < 0)
                                return k;
                } else {
                        o = dict ? json_object_new_object() : json_object_new_array();
                        if (!o)
                                return -ENOMEM;
                        while ((k = sd_bus_message_at_end(m, false)) == 0) {
                                json_object *v = NULL;
                                if (dict) {
                                        json_object *key = NULL;
                                        k = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, NULL);
                                        if (k >= 0)
                                                k = read_value(m, &key);
                                        if (k >= 0)
                                                k = read_value(m, &v);
                                        if (k >= 0)
                                                k = sd_bus_message_exit_container(m);
                                        if (k >= 0)
                                                (void) json_object_object_add(
                                                        o, json_object_get_string(key), v);
                                        json_object_put(key);
                                } else {
                                        k = read_value(m, &v);
                                        if (k >= 0)
                                                (void) json_object_array_add(o, v);
                                }
                                if (k < 0) {
                                        json_object_put(o);
                                        return k;
                                }
                        }
                        if (k < 0) {
                                json_object_put(o);
                                return k;
                        }
                }
                k = sd_bus_message_exit_container(m);
                if (k < 0) {
                        json_object_put(o);
                        return k;
                }
                *ret = o;
                return 1;
        }

        switch (type) {
        case SD_BUS_TYPE_STRING:
        case SD_BUS_TYPE_OBJECT_PATH:
        case SD_BUS_TYPE_SIGNATURE: {
                const char *s;
                k = sd_bus_message_read_basic(m, type, &s);
                *ret = k >= 0 ? json_object_new_string(s) : NULL;
                break;
        }
        case SD_BUS_TYPE_BOOLEAN: {
                int b;
                k = sd_bus_message_read_basic(m, type, &b);
                *ret = k >= 0 ? json_object_new_boolean(b) : NULL;
                break;
        }
        case SD_BUS_TYPE_DOUBLE: {
                double d;
                k = sd_bus_message_read_basic(m, type, &d);
                *ret = k >= 0 ? json_object_new_double(d) : NULL;
                break;
        }
        default: {
                /* Every integer type fits in 8 bytes. */
                union {
                        uint8_t y;
                        int16_t n;
                        uint16_t q;
                        int32_t i;
                        uint32_t u;
                        int64_t x;
                        uint64_t t;
                } v = {};
                k = sd_bus_message_read_basic(m, type, &v);
                if (k < 0)
                        return k;
                switch (type) {
                case SD_BUS_TYPE_BYTE: *ret = json_object_new_int(v.y); break;
                case SD_BUS_TYPE_INT16: *ret = json_object_new_int(v.n); break;
                case SD_BUS_TYPE_UINT16: *ret = json_object_new_int(v.q); break;
                case SD_BUS_TYPE_INT32: *ret = json_object_new_int(v.i); break;
                case SD_BUS_TYPE_UINT32: *ret = json_object_new_int64(v.u); break;
                case SD_BUS_TYPE_INT64: *ret = json_object_new_int64(v.x); break;
                case SD_BUS_TYPE_UINT64: *ret = json_object_new_uint64(v.t); break;
                default: *ret = NULL; break; /* unix fds: never sent by vfiomapd */
                }
        }
        }
        return k < 0 ? k : 1;
}

static void format_now(char buf[static 32], uint64_t *ret_usec) {
        struct timeval tv;
        struct tm tm;

        (void) gettimeofday(&tv, NULL);
        *ret_usec = (uint64_t) tv.tv_sec * 1000000ULL + (uint64_t) tv.tv_usec;
        if (!localtime_r(&tv.tv_sec, &tm) || strftime(buf, 32, "%H:%M:%S", &tm) == 0)
                buf[0] = 0;
        else
                (void) snprintf(buf + strlen(buf), 32 - strlen(buf), ".%03ld", (long) (tv.tv_usec / 1000));
}

/* "/org/vfiomap1/device/_30000_3a01_3a00_2e0" -> "device 0000:01:00.0": what a person looks for. */
static char *object_name(const char *path) {
        static const char *const kinds[] = { "device", "group", "machine" };
        char *s = NULL;

        if (streq_ptr(path, VFIOMAP_PATH))
                return strdup("manager");
        for (size_t i = 0; path && i < ELEMENTSOF(kinds); i++) {
                _cleanup_free_ char *prefix = NULL, *id = NULL;

                if (asprintf_safe(&prefix, VFIOMAP_PATH "/%s", kinds[i]) < 0)
                        return NULL;
                if (sd_bus_path_decode(path, prefix, &id) > 0) {
                        (void) asprintf_safe(&s, "%s %s", kinds[i], id);
                        return s;
                }
        }
        return strdup(strna(path));
}

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Context *c = userdata;
        _cleanup_(json_object_putp) json_object *args = json_object_new_array(), *line = NULL;
        const char *member = sd_bus_message_get_member(m), *path = sd_bus_message_get_path(m);
        const char *interface = sd_bus_message_get_interface(m);
        char when[32];
        uint64_t usec;
        int k;

        format_now(when, &usec);
        if (!args)
                return log_error_errno(ENOMEM, "%m");
        while ((k = sd_bus_message_at_end(m, true)) == 0) {
                json_object *v = NULL;
                k = read_value(m, &v);
                if (k < 0)
                        break;
                (void) json_object_array_add(args, v);
        }
        if (k < 0)
                return log_error_errno(k, "Failed to read a %s signal: %m", strna(member));

        if (streq_ptr(member, "NameOwnerChanged")) {
                /* org.freedesktop.DBus: (name, old owner, new owner) */
                const char *owner = json_object_get_string(json_object_array_get_idx(args, 2));
                member = isempty(owner) ? "DaemonStopped" : "DaemonStarted";
                path = VFIOMAP_PATH;
                interface = VFIOMAP_MANAGER;
                json_object_put(args);
                args = json_object_new_array();
        }

        if (c->json) {
                line = json_object_new_object();
                if (!line)
                        return log_error_errno(ENOMEM, "%m");
                (void) json_object_object_add(line, "timestamp", json_object_new_uint64(usec));
                (void) json_object_object_add(line, "signal", json_object_new_string(strna(member)));
                (void) json_object_object_add(line, "path", json_object_new_string(strna(path)));
                (void) json_object_object_add(line, "interface", json_object_new_string(strna(interface)));
                (void) json_object_object_add(line, "args", TAKE_PTR(args));
                /* One object per line whatever --json says: a stream must be line-delimited. */
                puts(json_object_to_json_string_ext(
                        line, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        } else if (streq_ptr(member, "PropertiesChanged")) {
                /* (interface, {name: value}, [invalidated]) */
                json_object *changed = json_object_array_get_idx(args, 1);
                _cleanup_free_ char *object = object_name(path);

                printf("%s %-17s %s", when, member, strna(object));
                if (json_object_is_type(changed, json_type_object)) {
                        json_object_object_foreach(changed, name, value) printf(
                                " %s=%s",
                                name,
                                json_object_to_json_string_ext(
                                        value, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
                }
                putchar('\n');
        } else {
                /* DeviceAdded, DeviceRemoved, MachineNew, MachineRemoved: (name, object) */
                printf("%s %-17s %s\n",
                       when,
                       strna(member),
                       json_object_array_length(args) > 0
                               ? json_object_get_string(json_object_array_get_idx(args, 0))
                               : strna(path));
        }
        (void) fflush(stdout);
        return 0;
}

int verb_monitor(int argc, char *argv[], Context *c) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_event_unrefp_local) sd_event *event = NULL;
        sigset_t mask;
        int k;

        if (c->root)
                return log_error_errno(
                        EINVAL, "A host tree sends no events; monitor follows vfiomapd (drop --root).");
        k = bus_open(c, &bus);
        if (k < 0)
                return k;
        k = sd_bus_match_signal(bus, NULL, VFIOMAP_SERVICE, NULL, NULL, NULL, on_signal, c);
        /* The daemon coming and going: only our name's changes. */
        if (k >= 0)
                k = sd_bus_add_match(
                        bus,
                        NULL,
                        "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                        "interface='org.freedesktop.DBus',member='NameOwnerChanged',"
                        "arg0='" VFIOMAP_SERVICE "'",
                        on_signal,
                        c);
        if (k < 0)
                return log_error_errno(k, "Failed to subscribe to vfiomapd's signals: %m");

        k = sd_event_default(&event);
        if (k < 0)
                return log_error_errno(k, "Failed to allocate an event loop: %m");
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        (void) sigprocmask(SIG_BLOCK, &mask, NULL);
        k = sd_event_add_signal(event, NULL, SIGINT, NULL, NULL);
        if (k >= 0)
                k = sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL);
        if (k >= 0)
                k = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (k < 0)
                return log_error_errno(k, "Failed to set up the event loop: %m");
        if (!c->json)
                fprintf(stderr, "Monitoring vfiomapd's signals; Ctrl-C stops.\n");
        k = sd_event_loop(event);
        return k < 0 ? log_error_errno(k, "Event loop failed: %m") : EXIT_SUCCESS;
}
