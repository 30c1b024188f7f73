/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* test-hostile-bus DAEMON_PID [--as-user]: a hostile client of the vfiomapd that test-hostile-bus.sh runs on
 * a private bus ($DBUS_SYSTEM_BUS_ADDRESS) with one claim ("win11", IOMMU group 1).
 *
 * Every method of every object vfiomapd exports is found by introspection (so a method added later is
 * attacked too) and called with the wrong types (no arguments, an int, one argument too many, an array, a
 * variant) and, in each string or integer position, with hostile values: empty, over a megabyte, over the
 * spec limit, deeply nested, path-like, control characters, unknown machines, devices and groups, specs for
 * devices that do not exist or are owned. Each call must be answered, with a return or a named error
 * (never NoReply or a vanished service), the daemon must stay up, and its state (ListMachines, Describe,
 * claims.json) must be the same afterwards. Then thousands of claims: conflicting ones that must all fail
 * with GroupOwned, and a thousand device-less claims and releases that must leave the state as it was.
 * Finally invalid UTF-8 and an embedded NUL, which sd-bus refuses to send: written as raw D-Bus messages on
 * a connection of our own; the bus daemon must drop them (and us) before vfiomapd sees them.
 *
 * --as-user: run by an unprivileged user; every call must still be answered and nothing may change, and
 * the mutating calls with valid arguments must be AccessDenied.
 *
 * Prints TAP, and "# figure: ..." lines that docs/RELIABILITY.md quotes. */

#include "tap.h"
#include "util.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-bus.h>
#include <time.h>

#define DEST "org.vfiomap1"
#define MB (1024U * 1024U)
/* libvfiomap/vmspec.h, VMSPEC_INPUT_MAX: a spec one byte larger must be refused for its size. */
#define SPEC_MAX (4U * MB)

static sd_bus *bus;
static pid_t daemon_pid;
static bool as_user;

/* Figures. */
static unsigned n_calls, n_returns, n_errors, n_unanswered;
static char **seen_names;
static unsigned *seen_counts;
static size_t n_seen;

static void count_error(const char *name) {
        for (size_t i = 0; i < n_seen; i++)
                if (streq(seen_names[i], name)) {
                        seen_counts[i]++;
                        return;
                }
        if (strv_extend(&seen_names, name) < 0)
                abort();
        seen_counts = realloc(seen_counts, sizeof(unsigned) * (n_seen + 1));
        if (!seen_counts)
                abort();
        seen_counts[n_seen++] = 1;
}

static bool daemon_alive(void) {
        /* A user may not signal root's process, but is told that it exists. */
        return kill(daemon_pid, 0) == 0 || errno == EPERM;
}

/* Errors that mean the daemon did not answer: it crashed, hung or dropped the call. */
static bool error_is_unanswered(const char *name) {
        return streq(name, SD_BUS_ERROR_NO_REPLY) || streq(name, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
                streq(name, SD_BUS_ERROR_NAME_HAS_NO_OWNER) || streq(name, SD_BUS_ERROR_DISCONNECTED) ||
                streq(name, SD_BUS_ERROR_TIMEOUT) || streq(name, SD_BUS_ERROR_NO_MEMORY);
}

/* Sends m and classifies the answer. Returns the error name (static storage of the last call) or NULL for a
 * method return. */
static const char *call(sd_bus_message *m) {
        static char last[256];
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int k;

        n_calls++;
        k = sd_bus_call(bus, m, 60 * 1000000ULL, &e, &reply);
        sd_bus_message_unref(reply);
        if (k >= 0) {
                n_returns++;
                sd_bus_error_free(&e);
                return NULL;
        }
        n_errors++;
        (void) snprintf(last, sizeof(last), "%s", e.name ?: "(no error name)");
        if (!e.name || error_is_unanswered(e.name)) {
                n_unanswered++;
                printf("# unanswered: %s %s: %s\n",
                       sd_bus_message_get_member(m),
                       last,
                       e.message ?: strerror(-k));
        }
        count_error(last);
        sd_bus_error_free(&e);
        return last;
}

static sd_bus_message *new_call(const char *path, const char *iface, const char *member) {
        sd_bus_message *m = NULL;

        if (sd_bus_message_new_method_call(bus, &m, DEST, path, iface, member) < 0)
                abort();
        return m;
}

/* ---- introspection ---- */

typedef struct Method {
        char *path, *iface, *name, *sig;
} Method;

static Method *methods;
static size_t n_methods;

static void add_methods(const char *path) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *xml;
        xmlDoc *doc;

        if (sd_bus_call_method(
                    bus, DEST, path, "org.freedesktop.DBus.Introspectable", "Introspect", &e, &reply, "") <
                    0 ||
            sd_bus_message_read(reply, "s", &xml) < 0) {
                printf("# cannot introspect %s: %s\n", path, e.message ?: "?");
                return;
        }
        doc = xmlReadMemory(xml, (int) strlen(xml), "introspect.xml", NULL, XML_PARSE_NONET);
        if (!doc)
                return;
        for (xmlNode *i = xmlDocGetRootElement(doc)->children; i; i = i->next) {
                xmlChar *iname;

                if (i->type != XML_ELEMENT_NODE || xmlStrcmp(i->name, BAD_CAST "interface") != 0)
                        continue;
                iname = xmlGetProp(i, BAD_CAST "name");
                /* Ours; and Properties.Set, which must refuse every write. */
                if (!startswith((const char *) iname, "org.vfiomap1.") &&
                    !streq((const char *) iname, "org.freedesktop.DBus.Properties")) {
                        xmlFree(iname);
                        continue;
                }
                for (xmlNode *n = i->children; n; n = n->next) {
                        char sig[64] = "";
                        xmlChar *mname;

                        if (n->type != XML_ELEMENT_NODE || xmlStrcmp(n->name, BAD_CAST "method") != 0)
                                continue;
                        mname = xmlGetProp(n, BAD_CAST "name");
                        for (xmlNode *a = n->children; a; a = a->next) {
                                xmlChar *type, *dir;
                                if (a->type != XML_ELEMENT_NODE || xmlStrcmp(a->name, BAD_CAST "arg") != 0)
                                        continue;
                                type = xmlGetProp(a, BAD_CAST "type");
                                dir = xmlGetProp(a, BAD_CAST "direction");
                                if (!dir || xmlStrcmp(dir, BAD_CAST "in") == 0)
                                        strncat(sig, (const char *) type, sizeof(sig) - strlen(sig) - 1);
                                xmlFree(type);
                                xmlFree(dir);
                        }
                        methods = realloc(methods, sizeof(Method) * (n_methods + 1));
                        if (!methods)
                                abort();
                        methods[n_methods++] = (Method){
                                .path = strdup(path),
                                .iface = strdup((const char *) iname),
                                .name = strdup((const char *) mname),
                                .sig = strdup(sig),
                        };
                        xmlFree(mname);
                }
                xmlFree(iname);
        }
        xmlFreeDoc(doc);
}

/* ---- hostile values ---- */

static char *repeat(char c, size_t n) {
        char *s = malloc(n + 1);

        if (!s)
                abort();
        memset(s, c, n);
        s[n] = 0;
        return s;
}

static char *json_spec(const char *name, const char *device) {
        char *s = NULL;

        if (asprintf_safe(
                    &s,
                    "{\"name\": \"%s\", \"machine\": \"pc-q35-8.2\", \"memory\": \"8G\", \"hostdevs\": "
                    "[{\"address\": \"%s\"}]}",
                    name,
                    device) < 0)
                abort();
        return s;
}

/* Specs and strings no call may accept in a way that changes anything. */
static char **hostile_strings(void) {
        char **l = NULL;
        char *s;

        (void) strv_extend(&l, "");
        (void) strv_extend(&l, "x");
        (void) strv_consume(&l, repeat('A', MB + 1));
        (void) strv_consume(&l, repeat(' ', SPEC_MAX + 1));
        /* 1 MiB of nesting: a recursive parser would run out of stack. */
        s = repeat('[', MB);
        (void) strv_consume(&l, s);
        s = repeat('{', MB);
        (void) strv_consume(&l, s);
        (void) strv_extend(&l, "../../../../etc/passwd");
        (void) strv_extend(&l, "/sys/bus/pci/devices/0000:00:1f.6/driver/unbind");
        (void) strv_extend(&l, "0000:01:00.0/../../../../../etc");
        (void) strv_extend(&l, "0000:01:00.0/");
        (void) strv_extend(&l, "0000:01:00.0\n");
        (void) strv_extend(&l, " 0000:01:00.0");
        (void) strv_extend(&l, "0000:01:00.0\t0000:01:00.1");
        (void) strv_extend(&l, "win11/../other");
        (void) strv_extend(&l, ".");
        (void) strv_extend(&l, "..");
        (void) strv_extend(&l, "%s%s%s%s%n%n");
        (void) strv_extend(&l, "\x01\x02\x1b[31mred\x7f");
        (void) strv_extend(
                &l,
                "\xe2\x80\xae"
                "11niw");                           /* U+202E RIGHT-TO-LEFT OVERRIDE */
        (void) strv_extend(&l, "\xc2\x80\xc2\x9f"); /* C1 controls */
        (void) strv_extend(&l, "\xf0\x9f\x92\xa3");
        (void) strv_consume(&l, repeat('a', 256)); /* one over CLAIM_NAME_MAX */
        (void) strv_extend(&l, "nosuchmachine");
        (void) strv_extend(&l, "0000:ff:1f.7"); /* a valid address of no device */
        (void) strv_extend(&l, "fffff:ff:1f.7");
        (void) strv_extend(&l, "0000:00:20.0"); /* slot out of range */
        (void) strv_extend(&l, "vfio-pci");
        (void) strv_extend(&l, "../../../../../../bin/sh");
        /* Specs: unknown device, a group owned by win11, a device whose group has a blocker. */
        (void) strv_consume(&l, json_spec("x", "0000:ff:1f.7"));
        (void) strv_consume(&l, json_spec("x", "0000:01:00.0"));
        (void) strv_consume(&l, json_spec("x", "0000:00:00.0")); /* in no IOMMU group */
        (void) strv_consume(&l, json_spec("../../x", "0000:1f:00.0"));
        (void) strv_extend(
                &l, "{\"name\": \"x\", \"machine\": \"pc-q35-8.2\", \"memory\": \"99999999999999T\"}");
        (void) strv_extend(&l, "{\"name\": \"x\", \"machine\": \"pc-q35-8.2\", \"memory\": \"-1\"}");
        (void) strv_extend(&l, "{\"name\": 5}");
        (void) strv_extend(&l, "null");
        (void) strv_extend(&l, "<domain/>");
        /* Too many hostdevs (VMSPEC_HOSTDEVS_MAX is 256). */
        {
                size_t len = 0;
                char *buf = NULL;
                FILE *f = open_memstream(&buf, &len);
                fputs("{\"name\": \"x\", \"machine\": \"pc-q35-8.2\", \"memory\": \"1G\", \"hostdevs\": [",
                      f);
                for (unsigned i = 0; i < 4000; i++)
                        fprintf(f,
                                "%s\"0000:%02x:%02x.%x\"",
                                i ? ", " : "",
                                (i >> 8) & 0xff,
                                (i >> 3) & 0x1f,
                                i & 7);
                fputs("]}", f);
                fclose(f);
                (void) strv_consume(&l, buf);
        }
        /* Billion laughs and an external entity: the XML parser must neither expand nor fetch. */
        (void) strv_extend(
                &l,
                "<?xml version=\"1.0\"?><!DOCTYPE domain [<!ENTITY a \"aaaaaaaaaa\">"
                "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">"
                "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\"><!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">"
                "<!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\"><!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">"
                "]><domain type='kvm'><name>&g;</name><memory>1</memory></domain>");
        (void) strv_extend(
                &l,
                "<?xml version=\"1.0\"?><!DOCTYPE domain [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
                "<domain type='kvm'><name>&x;</name><memory unit='GiB'>1</memory><os><type "
                "machine='pc-q35-8.2'>hvm</type></os></domain>");
        return l;
}

static const uint32_t hostile_uints[] = { 0, 1, 2, 3, 4, 0x7fffffffU, 0x80000000U, 0xffffffffU };

/* Appends one argument of type t: the hostile value when it is the position under attack, else a filler
 * that is valid in type and harmless in value. */
static void append_arg(sd_bus_message *m, char t, bool attacked, const char *s, uint32_t u) {
        /* The claimed machine gets calls past its lookup; Claim and Release another one, so that a filler
         * can never release win11 or claim under its name. */
        const char *member = sd_bus_message_get_member(m);
        const char *filler = streq(member, "Claim") || streq(member, "Release") ? "x" : "win11";
        int k;

        switch (t) {
        case 's': k = sd_bus_message_append(m, "s", attacked ? s : filler); break;
        case 'o': k = sd_bus_message_append(m, "o", "/org/vfiomap1/nothing"); break;
        case 'u': k = sd_bus_message_append(m, "u", attacked ? u : 0U); break;
        case 'b': k = sd_bus_message_append(m, "b", 0); break;
        case 'v': k = sd_bus_message_append(m, "v", "s", attacked ? s : "x"); break;
        default: k = -EINVAL;
        }
        if (k < 0)
                abort();
}

static bool sig_is_simple(const char *sig) {
        return strspn(sig, "soubv") == strlen(sig);
}

typedef struct Stats {
        unsigned calls, unanswered_before;
} Stats;

static void attack_method(const Method *me, char **strings) {
        unsigned calls_before = n_calls, unanswered_before = n_unanswered;
        sd_bus_message *m;
        size_t n = strlen(me->sig);

        /* Wrong types: nothing, an int, one argument too many, an array, a variant. */
        m = new_call(me->path, me->iface, me->name);
        (void) call(m);
        sd_bus_message_unref(m);
        m = new_call(me->path, me->iface, me->name);
        (void) sd_bus_message_append(m, "i", -1);
        (void) call(m);
        sd_bus_message_unref(m);
        if (sig_is_simple(me->sig)) {
                m = new_call(me->path, me->iface, me->name);
                for (size_t i = 0; i < n; i++)
                        append_arg(m, me->sig[i], false, NULL, 0);
                (void) sd_bus_message_append(m, "s", "extra");
                (void) call(m);
                sd_bus_message_unref(m);
        }
        m = new_call(me->path, me->iface, me->name);
        (void) sd_bus_message_append(m, "as", 2, "0000:01:00.0", "win11");
        (void) call(m);
        sd_bus_message_unref(m);
        m = new_call(me->path, me->iface, me->name);
        (void) sd_bus_message_append(m, "v", "s", "win11");
        (void) call(m);
        sd_bus_message_unref(m);

        /* Hostile values, one position at a time. */
        if (sig_is_simple(me->sig))
                for (size_t pos = 0; pos < n; pos++) {
                        char t = me->sig[pos];

                        if (t == 's' || t == 'v')
                                STRV_FOREACH (s, strings) {
                                        m = new_call(me->path, me->iface, me->name);
                                        for (size_t i = 0; i < n; i++)
                                                append_arg(m, me->sig[i], i == pos, *s, 0);
                                        (void) call(m);
                                        sd_bus_message_unref(m);
                                }
                        else if (t == 'u')
                                for (size_t j = 0; j < ELEMENTSOF(hostile_uints); j++) {
                                        m = new_call(me->path, me->iface, me->name);
                                        for (size_t i = 0; i < n; i++)
                                                append_arg(m, me->sig[i], i == pos, NULL, hostile_uints[j]);
                                        (void) call(m);
                                        sd_bus_message_unref(m);
                                }
                }

        ok(n_unanswered == unanswered_before && daemon_alive(),
           "%s.%s(%s) on %s: %u hostile calls, all answered",
           me->iface,
           me->name,
           me->sig,
           me->path,
           n_calls - calls_before);
}

/* ---- state ---- */

static char *state_snapshot(const char *claims_file) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *r1 = NULL, *r2 = NULL;
        _cleanup_free_ char *file = NULL;
        const char *describe = NULL;
        char *s = NULL;
        FILE *f;
        size_t l = 0;

        if (sd_bus_call_method(bus, DEST, "/org/vfiomap1", "org.vfiomap1.Manager", "Describe", &e, &r1, "") <
                    0 ||
            sd_bus_message_read(r1, "s", &describe) < 0)
                return NULL;
        f = fopen(claims_file, "re");
        if (f) {
                file = malloc(64 * MB);
                if (file) {
                        l = fread(file, 1, 64 * MB - 1, f);
                        file[l] = 0;
                }
                fclose(f);
        }
        if (asprintf_safe(&s, "%s\n---\n%s", describe, file ?: "(no file)") < 0)
                return NULL;
        return s;
}

/* ---- raw messages: what sd-bus will not send ---- */

typedef struct Buf {
        uint8_t *p;
        size_t n, allocated;
} Buf;

static void buf_put(Buf *b, const void *p, size_t n) {
        if (n == 0)
                return; /* p may be NULL then, which memcpy() does not allow */
        if (b->n + n > b->allocated) {
                b->allocated = (b->n + n) * 2;
                b->p = realloc(b->p, b->allocated);
                if (!b->p)
                        abort();
        }
        memcpy(b->p + b->n, p, n);
        b->n += n;
}

static void buf_align(Buf *b, size_t a) {
        static const uint8_t zero[8];
        buf_put(b, zero, (a - b->n % a) % a);
}

static void buf_u32(Buf *b, uint32_t v) {
        buf_align(b, 4);
        buf_put(b, &v, 4); /* the message says 'l': little endian, this machine's order */
}

/* A string of the wire format, taking len bytes as they are: no validation, which is the point. */
static void buf_string(Buf *b, const char *s, size_t len) {
        buf_u32(b, (uint32_t) len);
        buf_put(b, s, len);
        buf_put(b, "", 1);
}

static void buf_field(Buf *b, uint8_t code, char type, const char *value) {
        uint8_t sig[3] = { 1, (uint8_t) type, 0 };

        buf_align(b, 8);
        buf_put(b, &code, 1);
        buf_put(b, sig, 3);
        if (type == 'g') {
                uint8_t l = (uint8_t) strlen(value);
                buf_put(b, &l, 1);
                buf_put(b, value, l + 1);
        } else
                buf_string(b, value, strlen(value));
}

/* A method call as the specification lays it out: header, header fields, padding, body. */
static Buf raw_call(
        uint32_t serial,
        const char *dest,
        const char *path,
        const char *iface,
        const char *member,
        const char *sig,
        const Buf *body) {
        Buf b = {}, fields = {};
        uint8_t head[4] = { 'l', 1, 0, 1 };

        buf_field(&fields, 1, 'o', path);
        buf_field(&fields, 2, 's', iface);
        buf_field(&fields, 3, 's', member);
        buf_field(&fields, 6, 's', dest);
        if (sig)
                buf_field(&fields, 8, 'g', sig);
        buf_put(&b, head, 4);
        buf_u32(&b, body ? (uint32_t) body->n : 0);
        buf_u32(&b, serial);
        buf_u32(&b, (uint32_t) fields.n);
        buf_put(&b, fields.p, fields.n);
        buf_align(&b, 8);
        if (body)
                buf_put(&b, body->p, body->n);
        free(fields.p);
        return b;
}

/* Connects to the bus by hand (AUTH EXTERNAL, Hello) and sends a Claim whose first string holds the given
 * bytes. Returns true when the bus daemon closed the connection instead of delivering the call (vfiomapd
 * never answers then, and never sees it). */
static bool raw_claim_dropped(const char *name, size_t name_len) {
        const char *address = getenv("DBUS_SYSTEM_BUS_ADDRESS");
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char line[512], uid[32], hex[64] = "";
        Buf hello, claim, body = {};
        bool closed = false, answered = false;
        int fd;
        ssize_t l;

        if (!address || !startswith(address, "unix:path="))
                return false;
        (void) snprintf(
                sa.sun_path, sizeof(sa.sun_path), "%.*s", (int) strcspn(address + 10, ","), address + 10);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return false;
        (void) snprintf(uid, sizeof(uid), "%u", (unsigned) geteuid());
        for (const char *p = uid; *p; p++)
                (void) snprintf(hex + strlen(hex), sizeof(hex) - strlen(hex), "%02x", (unsigned) *p);
        (void) snprintf(line, sizeof(line), "AUTH EXTERNAL %s\r\n", hex);
        if (write(fd, "", 1) != 1 || write(fd, line, strlen(line)) < 0)
                goto out;
        l = read(fd, line, sizeof(line) - 1);
        if (l <= 0 || !startswith(line, "OK "))
                goto out;
        if (write(fd, "BEGIN\r\n", 7) != 7)
                goto out;

        hello = raw_call(
                1,
                "org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus",
                "Hello",
                NULL,
                NULL);
        buf_string(&body, name, name_len);
        buf_string(&body, "{}", 2);
        claim = raw_call(2, DEST, "/org/vfiomap1", "org.vfiomap1.Manager", "Claim", "ss", &body);
        if (write(fd, hello.p, hello.n) != (ssize_t) hello.n ||
            write(fd, claim.p, claim.n) != (ssize_t) claim.n)
                closed = true; /* dropped while we were still writing */
        free(hello.p);
        free(claim.p);
        free(body.p);

        /* Read until the bus closes us; a reply to serial 2 from vfiomapd would mean it was delivered. */
        for (unsigned i = 0; !closed && i < 50; i++) {
                struct timeval tv = { .tv_sec = 0, .tv_usec = 100000 };
                uint8_t in[4096];

                (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
                l = read(fd, in, sizeof(in));
                if (l == 0 || (l < 0 && errno == ECONNRESET))
                        closed = true;
                else if (l > 0 && memmem(in, (size_t) l, "org.vfiomap1.Error", 18))
                        answered = true;
        }
out:
        close(fd);
        return closed && !answered;
}

/* ---- main ---- */

static const char *claims_file;

int main(int argc, char *argv[]) {
        _cleanup_strv_free_ char **strings = NULL;
        _cleanup_free_ char *before = NULL, *after = NULL;
        _cleanup_free_ char *gpu_spec_owned = NULL;
        struct timespec t0, t1;
        int k;

        if (argc < 3)
                return fprintf(stderr, "usage: %s DAEMON_PID CLAIMS_FILE [--as-user]\n", argv[0]), 2;
        daemon_pid = atoi(argv[1]);
        claims_file = argv[2];
        as_user = argc > 3 && streq(argv[3], "--as-user");

        k = sd_bus_open_system(&bus);
        if (k < 0)
                return printf("Bail out! cannot connect to the bus: %s\n", strerror(-k)), 1;

        before = state_snapshot(claims_file);
        ok(before, "Describe and claims.json read before the attack");

        /* The objects: the manager, one device, one group, the claimed machine, and ones that do not exist.
         */
        add_methods("/org/vfiomap1");
        add_methods("/org/vfiomap1/device/_30000_3a01_3a00_2e0");
        add_methods("/org/vfiomap1/group/1");
        add_methods("/org/vfiomap1/machine/win11");
        ok(n_methods >= 10, "introspection found %zu methods to attack", n_methods);

        strings = hostile_strings();
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (size_t i = 0; i < n_methods; i++)
                attack_method(methods + i, strings);

        /* Objects that do not exist, and a path-like suffix below ours. */
        {
                static const char *const paths[] = {
                        "/org/vfiomap1/device/_30000_3aff_3a1f_2e7",
                        "/org/vfiomap1/group/4294967295",
                        "/org/vfiomap1/group/01",
                        "/org/vfiomap1/machine/nosuch",
                        "/org/vfiomap1/machine/win11/x",
                        "/org/vfiomap1/device/_2e_2e",
                };
                unsigned before_unanswered = n_unanswered, bad = 0;

                for (size_t i = 0; i < ELEMENTSOF(paths); i++)
                        for (size_t j = 0; j < n_methods; j++) {
                                sd_bus_message *m = new_call(paths[i], methods[j].iface, methods[j].name);
                                const char *name;
                                for (size_t a = 0;
                                     a < strlen(methods[j].sig) && sig_is_simple(methods[j].sig);
                                     a++)
                                        append_arg(m, methods[j].sig[a], false, NULL, 0);
                                name = call(m);
                                sd_bus_message_unref(m);
                                /* Properties are on every object sd-bus knows; ours must not be. */
                                if (!name && !streq(methods[j].iface, "org.freedesktop.DBus.Properties"))
                                        bad++,
                                                printf("# %s.%s on %s succeeded\n",
                                                       methods[j].iface,
                                                       methods[j].name,
                                                       paths[i]);
                        }
                ok(n_unanswered == before_unanswered && bad == 0 && daemon_alive(),
                   "every method on objects that do not exist: refused");
        }

        clock_gettime(CLOCK_MONOTONIC, &t1);
        printf("# figure: hostile calls took %.1f s\n",
               (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9);

        /* Thousands of claims on a group win11 owns: each one GroupOwned (or AccessDenied for a user). */
        gpu_spec_owned = json_spec("thief", "0000:01:00.0");
        {
                unsigned wrong = 0;
                for (unsigned i = 0; i < 2000; i++) {
                        sd_bus_message *m = new_call("/org/vfiomap1", "org.vfiomap1.Manager", "Claim");
                        const char *name;
                        (void) sd_bus_message_append(m, "ss", "thief", gpu_spec_owned);
                        name = call(m);
                        sd_bus_message_unref(m);
                        if (!name ||
                            !streq(name,
                                   as_user ? SD_BUS_ERROR_ACCESS_DENIED : "org.vfiomap1.Error.GroupOwned"))
                                wrong++;
                }
                ok(wrong == 0 && daemon_alive(),
                   "2000 claims of an owned group: all %s",
                   as_user ? "AccessDenied" : "GroupOwned");
        }

        clock_gettime(CLOCK_MONOTONIC, &t1);
        printf("# figure: the owned-group claims done at %.1f s\n",
               (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9);

        /* Device-less claims are valid: HOSTILE_CLAIMS of them (300 by default: each is a file write and two
         * fsync()s), then their releases. As a user: all AccessDenied. */
        {
                const char *e_n = getenv("HOSTILE_CLAIMS");
                unsigned failed = 0, denied = 0, n_claims = e_n ? (unsigned) atoi(e_n) : 300;

                for (unsigned i = 0; i < n_claims; i++) {
                        char name[32], spec[128];
                        sd_bus_message *m = new_call("/org/vfiomap1", "org.vfiomap1.Manager", "Claim");
                        const char *e;
                        (void) snprintf(name, sizeof(name), "storm-%05u", i);
                        (void) snprintf(
                                spec,
                                sizeof(spec),
                                "{\"name\": \"%s\", \"machine\": \"pc-q35-8.2\", \"memory\": \"1G\"}",
                                name);
                        (void) sd_bus_message_append(m, "ss", name, spec);
                        e = call(m);
                        sd_bus_message_unref(m);
                        if (e && streq(e, SD_BUS_ERROR_ACCESS_DENIED))
                                denied++;
                        else if (e)
                                failed++, printf("# claim %s: %s\n", name, e);
                }
                if (as_user)
                        ok(denied == n_claims,
                           "%u valid claims by an unprivileged user: all AccessDenied",
                           n_claims);
                else
                        ok(failed == 0, "%u device-less claims accepted", n_claims);
                for (unsigned i = 0; i < n_claims; i++) {
                        char name[32];
                        sd_bus_message *m = new_call("/org/vfiomap1", "org.vfiomap1.Manager", "Release");
                        const char *e;
                        (void) snprintf(name, sizeof(name), "storm-%05u", i);
                        (void) sd_bus_message_append(m, "s", name);
                        e = call(m);
                        sd_bus_message_unref(m);
                        if (e && !(as_user && streq(e, SD_BUS_ERROR_ACCESS_DENIED)))
                                failed++, printf("# release %s: %s\n", name, e);
                }
                ok(failed == 0 && daemon_alive(), "and released again");
        }
        if (as_user) {
                sd_bus_message *m = new_call("/org/vfiomap1", "org.vfiomap1.Manager", "Release");
                const char *e;
                (void) sd_bus_message_append(m, "s", "win11");
                e = call(m);
                sd_bus_message_unref(m);
                is_str(e, SD_BUS_ERROR_ACCESS_DENIED, "Release(win11) by a user: AccessDenied");
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);

        /* What sd-bus refuses to send. */
        ok(raw_claim_dropped("bad\xff\xfe", 5), "invalid UTF-8 in a string: the bus daemon drops it");
        ok(raw_claim_dropped("a\0b", 3), "a NUL inside a string: the bus daemon drops it");
        ok(raw_claim_dropped("\xc0\xaf", 2), "an overlong UTF-8 '/': the bus daemon drops it");
        ok(daemon_alive(), "vfiomapd is still running");

        after = state_snapshot(claims_file);
        ok(after && streq(before, after), "the state is unchanged: Describe and claims.json");
        if (after && !streq(before, after))
                printf("# before:\n# %.2000s\n# after:\n# %.2000s\n", before, after);

        printf("# figure: %u calls (%u returns, %u errors), %u unanswered, in %.1f s\n",
               n_calls,
               n_returns,
               n_errors,
               n_unanswered,
               (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9);
        for (size_t i = 0; i < n_seen; i++)
                printf("# figure: error %s: %u\n", seen_names[i], seen_counts[i]);
        ok(n_unanswered == 0, "%u calls, every one answered", n_calls);
        sd_bus_flush_close_unref(bus);
        /* Everything freed: the sanitizer run checks this program for leaks too. */
        for (size_t i = 0; i < n_methods; i++) {
                free(methods[i].path);
                free(methods[i].iface);
                free(methods[i].name);
                free(methods[i].sig);
        }
        free(methods);
        strv_free(seen_names);
        free(seen_counts);
        xmlCleanupParser();
        return tap_done();
}
