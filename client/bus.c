/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The client's side of the bus: connect to the system bus, call vfiomapd, turn its errors into messages
 * that say what to do. */

#include "util.h"
#include "vfiomapctl.h"

#include <stdarg.h>
#include <systemd/sd-bus.h>

int bus_connect(Context *c, sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int k;

        /* The hook environment has no DBUS_SYSTEM_BUS_ADDRESS: sd_bus_open_system() falls back to the
         * default socket, which is what we want there. An explicit address (hook.conf "bus=") is for
         * tests that run the daemon on a private bus. */
        if (!c->bus_address)
                return sd_bus_open_system(ret);
        k = sd_bus_new(&bus);
        if (k < 0)
                return k;
        k = sd_bus_set_address(bus, c->bus_address);
        if (k >= 0)
                k = sd_bus_set_bus_client(bus, true);
        if (k >= 0)
                k = sd_bus_start(bus);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(bus);
        return 0;
}

int bus_open(Context *c, sd_bus **ret) {
        int k;

        k = bus_connect(c, ret);
        if (k < 0)
                return log_error_errno(
                        k,
                        "Failed to connect to the system bus: %m (is vfiomapd running? "
                        "--root / reads this host without it)");
        return 0;
}

bool bus_error_is_daemon_missing(const sd_bus_error *e, int k) {
        if (e && sd_bus_error_is_set(e))
                return sd_bus_error_has_names(
                        e,
                        SD_BUS_ERROR_SERVICE_UNKNOWN,
                        SD_BUS_ERROR_NAME_HAS_NO_OWNER,
                        SD_BUS_ERROR_NO_REPLY,
                        SD_BUS_ERROR_DISCONNECTED);
        /* No bus at all: the socket is missing or refuses us. */
        return IN_SET(-k, ENOENT, ECONNREFUSED, ENOTCONN, ECONNRESET, ETIMEDOUT);
}

int log_bus_error(const sd_bus_error *e, int k, const char *what) {
        if (bus_error_is_daemon_missing(e, k))
                return log_error_errno(
                        k,
                        "vfiomapd is not running (start it with \"systemctl start vfiomapd\"), "
                        "or use --root / to read this host directly.");
        if (e && e->message)
                return log_error_errno(k, "%s", e->message);
        return log_error_errno(k, "%s: %m", what);
}

int bus_call_json(Context *c, sd_bus *bus, const char *method, json_object **ret, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        enum json_tokener_error jerr;
        const char *s;
        va_list ap;
        int k;

        k = sd_bus_message_new_method_call(
                bus, &call, VFIOMAP_SERVICE, VFIOMAP_PATH, VFIOMAP_MANAGER, method);
        if (k >= 0 && types) {
                va_start(ap, types);
                k = sd_bus_message_appendv(call, types, ap);
                va_end(ap);
        }
        if (k < 0)
                return log_error_errno(k, "Failed to build the call of %s: %m", method);
        k = sd_bus_call(bus, call, 0, &error, &reply);
        if (k < 0)
                return log_bus_error(&error, k, method);
        k = sd_bus_message_read(reply, "s", &s);
        if (k < 0)
                return log_error_errno(k, "Failed to read vfiomapd's reply: %m");
        *ret = json_tokener_parse_verbose(s, &jerr);
        if (!*ret)
                return log_error_errno(
                        EBADMSG, "vfiomapd sent invalid JSON: %s", json_tokener_error_desc(jerr));
        return 0;
}

int bus_describe(Context *c, json_object **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int k;

        k = bus_open(c, &bus);
        if (k < 0)
                return k;
        return bus_call_json(c, bus, "Describe", ret, NULL);
}
