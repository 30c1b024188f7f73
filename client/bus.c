/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The client's side of the bus: connect to the system bus, call vfiomapd, turn its errors into messages
 * that say what to do. */

#include <systemd/sd-bus.h>

#include "util.h"
#include "vfiomapctl.h"

#define VFIOMAP_SERVICE "org.vfiomap1"
#define VFIOMAP_PATH "/org/vfiomap1"
#define VFIOMAP_MANAGER "org.vfiomap1.Manager"


static int bus_open(sd_bus **ret) {
        int k;

        /* The hook environment has no DBUS_SYSTEM_BUS_ADDRESS: sd_bus_open_system() falls back to the
         * default socket, which is what we want there. */
        k = sd_bus_open_system(ret);
        if (k < 0)
                return log_error_errno(k, "Failed to connect to the system bus: %m (is vfiomapd running? "
                                          "--root / reads this host without it)");
        return 0;
}

static int log_bus_error(const sd_bus_error *e, int k, const char *what) {
        if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                return log_error_errno(k,
                                       "vfiomapd is not running (start it with \"systemctl start vfiomapd\"), "
                                       "or use --root / to read this host directly.");
        return log_error_errno(k, "%s: %s", what, e && e->message ? e->message : strerror(k < 0 ? -k : k));
}

int bus_describe(Context *c, json_object **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        enum json_tokener_error jerr;
        const char *s;
        int k;

        k = bus_open(&bus);
        if (k < 0)
                return k;
        k = sd_bus_call_method(bus, VFIOMAP_SERVICE, VFIOMAP_PATH, VFIOMAP_MANAGER, "Describe", &error, &reply,
                               NULL);
        if (k < 0)
                return log_bus_error(&error, k, "Failed to ask vfiomapd for the host model");
        k = sd_bus_message_read(reply, "s", &s);
        if (k < 0)
                return log_error_errno(k, "Failed to read vfiomapd's reply: %m");
        *ret = json_tokener_parse_verbose(s, &jerr);
        if (!*ret)
                return log_error_errno(EBADMSG, "vfiomapd sent invalid JSON: %s", json_tokener_error_desc(jerr));
        return 0;
}
