/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* test-introspect PROTO_XML OBJECT_PATH: compares one interface of proto/ with what the running vfiomapd
 * introspects at OBJECT_PATH (on $DBUS_SYSTEM_BUS_ADDRESS): every method, signal and property with its
 * arguments (name, type, direction, order), property type, access and change annotation, both ways. Also
 * checks that proto/ documents every member and argument. Prints TAP; run by test-daemon.sh. */

#include "tap.h"
#include "util.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <systemd/sd-bus.h>

/* One member flattened to a line: "method Claim(in s machine, in s spec, out s layout)",
 * "property NDevices u read true". */
static int describe_members(xmlNode *iface, char ***ret, bool check_docs) {
        _cleanup_strv_free_ char **l = NULL;

        for (xmlNode *n = iface->children; n; n = n->next) {
                _cleanup_free_ char *line = NULL;
                bool documented = false;
                xmlChar *name;

                if (n->type != XML_ELEMENT_NODE || xmlStrcmp(n->name, BAD_CAST "annotation") == 0)
                        continue;
                name = xmlGetProp(n, BAD_CAST "name");
                if (xmlStrcmp(n->name, BAD_CAST "property") == 0) {
                        xmlChar *type = xmlGetProp(n, BAD_CAST "type"),
                                *access = xmlGetProp(n, BAD_CAST "access");
                        const char *emits = "true"; /* the D-Bus default when the annotation is absent */
                        xmlChar *emits_value = NULL;

                        for (xmlNode *a = n->children; a; a = a->next) {
                                xmlChar *an;
                                if (a->type != XML_ELEMENT_NODE)
                                        continue;
                                an = xmlGetProp(a, BAD_CAST "name");
                                if (an &&
                                    xmlStrcmp(
                                            an,
                                            BAD_CAST "org.freedesktop.DBus.Property."
                                                     "EmitsChangedSignal") == 0) {
                                        emits_value = xmlGetProp(a, BAD_CAST "value");
                                        emits = (const char *) emits_value;
                                }
                                if (an && xmlStrcmp(an, BAD_CAST "org.freedesktop.DBus.Description") == 0)
                                        documented = true;
                                xmlFree(an);
                        }
                        (void) asprintf_safe(&line, "property %s %s %s %s", name, type, access, emits);
                        xmlFree(type);
                        xmlFree(access);
                        xmlFree(emits_value);
                } else {
                        size_t len = 0;
                        char *buf = NULL;
                        FILE *f = open_memstream(&buf, &len);

                        fprintf(f, "%s %s(", n->name, name);
                        bool first = true;
                        for (xmlNode *a = n->children; a; a = a->next) {
                                xmlChar *an, *at, *ad;
                                if (a->type != XML_ELEMENT_NODE)
                                        continue;
                                an = xmlGetProp(a, BAD_CAST "name");
                                if (xmlStrcmp(a->name, BAD_CAST "annotation") == 0) {
                                        if (an &&
                                            xmlStrcmp(an, BAD_CAST "org.freedesktop.DBus.Description") == 0)
                                                documented = true;
                                        xmlFree(an);
                                        continue;
                                }
                                at = xmlGetProp(a, BAD_CAST "type");
                                ad = xmlGetProp(a, BAD_CAST "direction");
                                /* Signal arguments carry no direction; method arguments default to "in". */
                                fprintf(f,
                                        "%s%s %s %s",
                                        first ? "" : ", ",
                                        ad ? (const char *) ad
                                                : xmlStrcmp(n->name, BAD_CAST "signal") == 0 ? "out"
                                                                                             : "in",
                                        at,
                                        an);
                                first = false;
                                if (check_docs) {
                                        bool arg_doc = false;
                                        for (xmlNode *d = a->children; d; d = d->next)
                                                if (d->type == XML_ELEMENT_NODE &&
                                                    xmlStrcmp(d->name, BAD_CAST "annotation") == 0)
                                                        arg_doc = true;
                                        ok(arg_doc, "proto documents argument %s of %s", an, name);
                                }
                                xmlFree(an);
                                xmlFree(at);
                                xmlFree(ad);
                        }
                        fprintf(f, ")");
                        fclose(f);
                        line = buf;
                }
                if (check_docs)
                        ok(documented, "proto documents %s %s", n->name, name);
                xmlFree(name);
                if (!line || strv_consume(&l, TAKE_PTR(line)) < 0)
                        return -ENOMEM;
        }
        strv_sort(l);
        *ret = TAKE_PTR(l);
        return 0;
}

static xmlNode *find_interface(xmlDoc *doc, const char *name) {
        xmlNode *root = xmlDocGetRootElement(doc);

        for (xmlNode *n = root ? root->children : NULL; n; n = n->next) {
                xmlChar *nm;
                bool match;
                if (n->type != XML_ELEMENT_NODE || xmlStrcmp(n->name, BAD_CAST "interface") != 0)
                        continue;
                nm = xmlGetProp(n, BAD_CAST "name");
                match = nm && streq((const char *) nm, name);
                xmlFree(nm);
                if (match)
                        return n;
        }
        return NULL;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_strv_free_ char **want = NULL, **got = NULL;
        xmlDoc *proto, *live;
        xmlNode *pi, *li;
        xmlChar *iface_name;
        const char *xml;
        int k;

        if (argc != 3) {
                fprintf(stderr, "usage: %s PROTO_XML OBJECT_PATH\n", argv[0]);
                return 2;
        }
        proto = xmlReadFile(argv[1], NULL, XML_PARSE_NONET);
        if (!ok(proto, "%s parses", argv[1]))
                return tap_done();
        /* One interface per proto file: the first element below <node>. */
        pi = xmlDocGetRootElement(proto) ? xmlDocGetRootElement(proto)->children : NULL;
        while (pi && pi->type != XML_ELEMENT_NODE)
                pi = pi->next;
        if (!ok(pi, "%s holds an interface", argv[1]))
                return tap_done();
        iface_name = xmlGetProp(pi, BAD_CAST "name");

        k = sd_bus_open_system(&bus);
        if (!ok(k >= 0, "connect to the bus"))
                return tap_done();
        k = sd_bus_call_method(
                bus,
                "org.vfiomap1",
                argv[2],
                "org.freedesktop.DBus.Introspectable",
                "Introspect",
                &error,
                &reply,
                NULL);
        if (!ok(k >= 0, "introspect %s", argv[2])) {
                printf("# %s\n", error.message ?: "");
                return tap_done();
        }
        k = sd_bus_message_read(reply, "s", &xml);
        live = k >= 0 ? xmlReadMemory(xml, (int) strlen(xml), "live.xml", NULL, XML_PARSE_NONET) : NULL;
        li = live ? find_interface(live, (const char *) iface_name) : NULL;
        if (!ok(li, "%s exports %s", argv[2], iface_name))
                return tap_done();

        if (describe_members(pi, &want, true) < 0 || describe_members(li, &got, false) < 0)
                return EXIT_FAILURE;
        STRV_FOREACH (w, want)
                ok(strv_contains(got, *w), "daemon has %s", *w);
        STRV_FOREACH (g, got)
                ok(strv_contains(want, *g), "proto has %s", *g);

        xmlFree(iface_name);
        xmlFreeDoc(proto);
        xmlFreeDoc(live);
        return tap_done();
}
