/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-util.h"

#include "log.h"

static const sd_bus_error_map vfiomap_errors[] = {
        SD_BUS_ERROR_MAP(VFIOMAP_ERROR_GROUP_NOT_VIABLE, EBUSY),
        SD_BUS_ERROR_MAP(VFIOMAP_ERROR_GROUP_OWNED, EADDRINUSE),
        SD_BUS_ERROR_MAP(VFIOMAP_ERROR_DEVICE_NOT_FOUND, ENODEV),
        SD_BUS_ERROR_MAP(VFIOMAP_ERROR_NO_IOMMU_GROUP, ENXIO),
        SD_BUS_ERROR_MAP(VFIOMAP_ERROR_INVALID_SPEC, EINVAL),
        SD_BUS_ERROR_MAP(VFIOMAP_ERROR_LAYOUT_ERROR, ERANGE),
        SD_BUS_ERROR_MAP(VFIOMAP_ERROR_NO_SUCH_MACHINE, ENOENT),
        SD_BUS_ERROR_MAP(VFIOMAP_ERROR_NO_SUCH_GROUP, ENOENT),
        SD_BUS_ERROR_MAP(VFIOMAP_ERROR_READ_ONLY, EROFS),
        SD_BUS_ERROR_MAP_END,
};

int bus_error_map_register(void) {
        return sd_bus_error_add_map(vfiomap_errors);
}

/* Each parked call holds its message (a Claim carries a spec of up to 4 MiB) until polkit answers, which
 * can take the 120 s a password prompt may last: without a bound, an unprivileged user could park calls
 * until the daemon runs out of memory. Per user, not per connection: a user may open hundreds of those.
 * Beyond either bound a call is refused at once (LimitsExceeded). */
#define POLKIT_QUERIES_PER_USER_MAX 16U
#define POLKIT_QUERIES_MAX 64U

struct PolkitQuery {
        PolkitQuery *next;
        Manager *manager;
        sd_bus_message *request;
        sd_bus_slot *slot;
        uid_t uid;
        bool done;
        bool allowed;
};

static PolkitQuery *polkit_query_free(PolkitQuery *q) {
        if (!q)
                return NULL;
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->request);
        free(q);
        return NULL;
}

static void polkit_query_unlink(Manager *m, PolkitQuery *q) {
        for (PolkitQuery **p = &m->polkit_queries; *p; p = &(*p)->next)
                if (*p == q) {
                        *p = q->next;
                        return;
                }
}

void bus_polkit_queries_free(Manager *m) {
        while (m->polkit_queries) {
                PolkitQuery *q = m->polkit_queries;
                m->polkit_queries = q->next;
                polkit_query_free(q);
        }
}

static int polkit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int authorized = 0, challenge = 0, k;

        q->slot = sd_bus_slot_unref(q->slot);
        q->done = true;
        if (e)
                /* No polkit on this bus (a minimal system, a test bus): only root may manage. */
                log_debug("polkit did not answer: %s: %s", e->name, strna(e->message));
        else {
                k = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
                if (k >= 0)
                        k = sd_bus_message_read(reply, "bb", &authorized, &challenge);
                if (k < 0)
                        log_debug_errno(k, "Failed to parse polkit's answer: %m");
        }
        q->allowed = authorized > 0;

        /* Dispatch the original call again, arguments unread; bus_verify_manage() then finds this answer. */
        (void) sd_bus_message_rewind(q->request, true);
        k = sd_bus_enqueue_for_read(sd_bus_message_get_bus(q->request), q->request);
        if (k < 0) {
                log_error_errno(k, "Failed to requeue a call after its authorization: %m");
                polkit_query_unlink(q->manager, q);
                polkit_query_free(q);
        }
        return 0;
}

int bus_verify_manage(Manager *m, sd_bus_message *message, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        PolkitQuery *q;
        const char *sender;
        uid_t uid;
        int k;

        for (q = m->polkit_queries; q; q = q->next)
                if (q->request == message)
                        break;
        if (q) {
                bool allowed = q->allowed;

                if (!q->done)
                        return 0; /* A duplicate dispatch while polkit thinks: keep waiting. */
                polkit_query_unlink(m, q);
                polkit_query_free(q);
                if (allowed)
                        return 1;
                return sd_bus_error_setf(
                        error,
                        SD_BUS_ERROR_ACCESS_DENIED,
                        "Not authorized: this needs root or the polkit action " VFIOMAP_MANAGE_ACTION ".");
        }

        k = sd_bus_query_sender_creds(message, SD_BUS_CREDS_EUID, &creds);
        if (k < 0)
                return k;
        k = sd_bus_creds_get_euid(creds, &uid);
        if (k < 0)
                return k;
        if (uid == 0)
                return 1;

        sender = sd_bus_message_get_sender(message);
        if (!sender)
                return sd_bus_error_setf(
                        error, SD_BUS_ERROR_ACCESS_DENIED, "Not authorized: unknown sender.");

        /* org.freedesktop.PolicyKit1.Authority.CheckAuthorization(subject (sa{sv}), action_id s, details
         * a{ss}, flags u (1 = AllowUserInteraction), cancellation_id s) -> (bba{ss}). */
        k = sd_bus_message_new_method_call(
                sd_bus_message_get_bus(message),
                &call,
                "org.freedesktop.PolicyKit1",
                "/org/freedesktop/PolicyKit1/Authority",
                "org.freedesktop.PolicyKit1.Authority",
                "CheckAuthorization");
        if (k < 0)
                return k;
        k = sd_bus_message_append(
                call,
                "(sa{sv})sa{ss}us",
                "system-bus-name",
                1,
                "name",
                "s",
                sender,
                VFIOMAP_MANAGE_ACTION,
                0,
                (uint32_t) (sd_bus_message_get_allow_interactive_authorization(message) > 0),
                "");
        if (k < 0)
                return k;

        {
                unsigned n = 0, n_user = 0;

                for (PolkitQuery *i = m->polkit_queries; i; i = i->next) {
                        n++;
                        n_user += i->uid == uid;
                }
                if (n >= POLKIT_QUERIES_MAX || n_user >= POLKIT_QUERIES_PER_USER_MAX)
                        return sd_bus_error_setf(
                                error,
                                SD_BUS_ERROR_LIMITS_EXCEEDED,
                                "Too many calls are waiting for polkit's answer; try again later.");
        }

        q = calloc(1, sizeof(PolkitQuery));
        if (!q)
                return -ENOMEM;
        q->manager = m;
        q->uid = uid;
        q->request = sd_bus_message_ref(message);
        /* polkit may ask the user for a password: allow it the 25 s of a default call and some more. */
        k = sd_bus_call_async(
                sd_bus_message_get_bus(message), &q->slot, call, polkit_reply, q, 120 * 1000000ULL);
        if (k < 0) {
                polkit_query_free(q);
                return k;
        }
        q->next = m->polkit_queries;
        m->polkit_queries = q;
        return 0;
}

int bus_reply_json(sd_bus_message *message, json_object *j) {
        const char *s;

        if (!j)
                return -ENOMEM;
        s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        return sd_bus_reply_method_return(message, "s", s);
}

int parse_pci_address_arg(const char *s, char ret[static PCI_ADDRESS_MAX]) {
        PciAddress a;

        if (pci_address_parse_user(s, &a) < 0)
                return -EINVAL;
        pci_address_format(&a, ret);
        return 0;
}
