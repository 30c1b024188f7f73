/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "claims.h"

#include "json-util.h"
#include "sysfs-parse.h"

#include <inttypes.h>
#include <stdarg.h>

void claim_record_done(ClaimRecord *r) {
        if (!r)
                return;
        free(r->machine);
        free(r->groups);
        strv_free(r->devices);
        free(r->spec);
        free(r->layout);
        *r = (ClaimRecord){};
}

void claim_records_free(ClaimRecord *records, size_t n) {
        for (size_t i = 0; i < n; i++)
                claim_record_done(records + i);
        free(records);
}

static bool utf8_is_valid_no_cc(const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        while (*p) {
                unsigned n;
                uint32_t c;

                if (*p < 0x80) {
                        if (*p < 0x20 || *p == 0x7f)
                                return false;
                        p++;
                        continue;
                }
                if ((*p & 0xe0) == 0xc0)
                        n = 1, c = *p & 0x1f;
                else if ((*p & 0xf0) == 0xe0)
                        n = 2, c = *p & 0x0f;
                else if ((*p & 0xf8) == 0xf0)
                        n = 3, c = *p & 0x07;
                else
                        return false;
                p++;
                for (unsigned i = 0; i < n; i++, p++) {
                        if ((*p & 0xc0) != 0x80)
                                return false;
                        c = (c << 6) | (*p & 0x3f);
                }
                /* Overlong forms, surrogates and C1 controls. */
                if ((n == 1 && c < 0x80) || (n == 2 && c < 0x800) ||
                    (n == 3 && (c < 0x10000 || c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff) ||
                    (c >= 0x80 && c < 0xa0))
                        return false;
        }
        return true;
}

int claim_name_is_valid(const char *name) {
        size_t l;

        if (!name)
                return false;
        l = strlen(name);
        return l > 0 && l <= CLAIM_NAME_MAX && !strchr(name, '/') && utf8_is_valid_no_cc(name);
}

static _printf_(2, 3) int fail(char **ret_error, const char *format, ...) {
        va_list ap;

        if (ret_error) {
                char *s = NULL;
                va_start(ap, format);
                if (vasprintf(&s, format, ap) < 0)
                        s = NULL;
                va_end(ap);
                free(*ret_error);
                *ret_error = s;
        }
        return -EINVAL;
}

static int uint_compare(const void *a, const void *b) {
        unsigned x = *(const unsigned *) a, y = *(const unsigned *) b;
        return x < y ? -1 : x > y;
}

static int record_parse(json_object *o, size_t index, ClaimRecord *r, char **ret_error) {
        json_object *groups, *devices, *at;
        const char *name, *spec, *layout;
        int64_t t;

        if (!json_object_is_type(o, json_type_object))
                return fail(ret_error, "machines[%zu] is not an object", index);

        name = jstr(o, "machine");
        if (!claim_name_is_valid(name))
                return fail(
                        ret_error, "machines[%zu].machine is missing or not a valid machine name", index);
        at = jget(o, "claimed_at");
        if (!json_object_is_type(at, json_type_int) || (t = json_object_get_int64(at)) < 0)
                return fail(ret_error, "machine %s: claimed_at is not a non-negative integer", name);
        spec = jstr(o, "spec");
        layout = jstr(o, "layout");
        if (!spec || !layout)
                return fail(ret_error, "machine %s: spec and layout must be strings", name);

        groups = jget(o, "groups");
        devices = jget(o, "devices");
        if (!json_object_is_type(groups, json_type_array) || !json_object_is_type(devices, json_type_array))
                return fail(ret_error, "machine %s: groups and devices must be arrays", name);

        r->machine = strdup(name);
        r->spec = strdup(spec);
        r->layout = strdup(layout);
        if (!r->machine || !r->spec || !r->layout)
                return -ENOMEM;
        r->claimed_at = (uint64_t) t;

        if (jlen(groups) > 0) {
                r->groups = calloc(jlen(groups), sizeof(unsigned));
                if (!r->groups)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < jlen(groups); i++) {
                json_object *g = jidx(groups, i);
                int64_t v;

                if (!json_object_is_type(g, json_type_int) || (v = json_object_get_int64(g)) < 0 ||
                    v > INT32_MAX)
                        return fail(ret_error, "machine %s: groups[%zu] is not a group number", name, i);
                r->groups[r->n_groups++] = (unsigned) v;
        }
        /* qsort() of NULL is undefined even for 0 elements (C11 7.22.5), and a machine may hold no group. */
        if (r->n_groups > 0)
                qsort(r->groups, r->n_groups, sizeof(unsigned), uint_compare);
        for (size_t i = 1; i < r->n_groups; i++)
                if (r->groups[i] == r->groups[i - 1])
                        return fail(ret_error, "machine %s: group %u is listed twice", name, r->groups[i]);

        for (size_t i = 0; i < jlen(devices); i++) {
                json_object *d = jidx(devices, i);
                char buf[PCI_ADDRESS_MAX];
                PciAddress a;

                if (!json_object_is_type(d, json_type_string) ||
                    pci_address_parse(json_object_get_string(d), &a) < 0)
                        return fail(ret_error, "machine %s: devices[%zu] is not a PCI address", name, i);
                pci_address_format(&a, buf);
                if (strv_extend(&r->devices, buf) < 0)
                        return -ENOMEM;
        }
        strv_sort(r->devices);
        return 0;
}

typedef struct RecordList {
        ClaimRecord *records;
        size_t n;
} RecordList;

static void record_list_done(RecordList *l) {
        claim_records_free(l->records, l->n);
}

static int check_consistency(const RecordList *l, char **ret_error) {
        /* This is what the daemon's ownership rests on: one owner per machine name and per group. */
        for (size_t i = 0; i < l->n; i++)
                for (size_t j = i + 1; j < l->n; j++) {
                        const ClaimRecord *a = l->records + i, *b = l->records + j;

                        if (streq(a->machine, b->machine))
                                return fail(ret_error, "machine %s is listed twice", a->machine);
                        for (size_t k = 0; k < a->n_groups && b->n_groups > 0; k++)
                                if (bsearch(a->groups + k,
                                            b->groups,
                                            b->n_groups,
                                            sizeof(unsigned),
                                            uint_compare))
                                        return fail(
                                                ret_error,
                                                "group %u is claimed by both %s and %s",
                                                a->groups[k],
                                                a->machine,
                                                b->machine);
                }
        return 0;
}

static int parse_document(const char *buf, size_t len, json_object **ret, char **ret_error) {
        json_tokener *tok;
        json_object *root;
        enum json_tokener_error e;
        size_t end;

        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        root = json_tokener_parse_ex(tok, buf, (int) len);
        e = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        if (e != json_tokener_success || !root) {
                json_object_put(root);
                return fail(
                        ret_error,
                        "not a JSON document: %s",
                        e == json_tokener_success ? "incomplete document" : json_tokener_error_desc(e));
        }
        /* Only white space may follow the document. */
        for (size_t i = end; i < len; i++)
                if (!strchr(" \t\r\n", buf[i])) {
                        json_object_put(root);
                        return fail(ret_error, "trailing data after the JSON document");
                }
        *ret = root;
        return 0;
}

int claims_parse(const char *buf, size_t len, ClaimRecord **ret, size_t *ret_n, char **ret_error) {
        _cleanup_(json_object_putp) json_object *root = NULL;
        _cleanup_(record_list_done) RecordList l = {};
        json_object *machines, *version;
        int k;

        if (ret_error)
                *ret_error = NULL;
        if (len > CLAIMS_INPUT_MAX)
                return -EFBIG;
        if (memchr(buf, 0, len))
                return fail(ret_error, "the document contains a NUL byte");
        k = parse_document(buf, len, &root, ret_error);
        if (k < 0)
                return k;

        if (!json_object_is_type(root, json_type_object))
                return fail(ret_error, "the document is not a JSON object");
        version = jget(root, "version");
        if (!json_object_is_type(version, json_type_int) ||
            json_object_get_int64(version) != CLAIMS_FORMAT_VERSION)
                return fail(ret_error, "unsupported version (expected %d)", CLAIMS_FORMAT_VERSION);
        machines = jget(root, "machines");
        if (!json_object_is_type(machines, json_type_array))
                return fail(ret_error, "machines is not an array");
        if (jlen(machines) > CLAIMS_MACHINES_MAX)
                return -E2BIG;

        if (jlen(machines) > 0) {
                l.records = calloc(jlen(machines), sizeof(ClaimRecord));
                if (!l.records)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < jlen(machines); i++) {
                k = record_parse(jidx(machines, i), i, l.records + l.n++, ret_error);
                if (k < 0)
                        return k;
        }
        k = check_consistency(&l, ret_error);
        if (k < 0)
                return k;

        *ret = TAKE_PTR(l.records);
        *ret_n = l.n;
        l.n = 0;
        return 0;
}

int claims_serialize(const ClaimRecord *records, size_t n, char **ret) {
        _cleanup_(json_object_putp) json_object *root = json_object_new_object();
        json_object *machines = json_object_new_array();
        const char *s;

        if (!root || !machines) {
                json_object_put(machines);
                return -ENOMEM;
        }
        (void) json_object_object_add(root, "version", json_object_new_int(CLAIMS_FORMAT_VERSION));
        (void) json_object_object_add(root, "machines", machines);
        for (size_t i = 0; i < n; i++) {
                const ClaimRecord *r = records + i;
                json_object *o = json_object_new_object(), *g = json_object_new_array(),
                            *d = json_object_new_array();

                if (!o || !g || !d) {
                        json_object_put(o);
                        json_object_put(g);
                        json_object_put(d);
                        return -ENOMEM;
                }
                (void) json_object_object_add(o, "machine", json_object_new_string(r->machine));
                (void) json_object_object_add(
                        o, "claimed_at", json_object_new_int64((int64_t) r->claimed_at));
                for (size_t j = 0; j < r->n_groups; j++)
                        (void) json_object_array_add(g, json_object_new_int64(r->groups[j]));
                (void) json_object_object_add(o, "groups", g);
                STRV_FOREACH (a, r->devices)
                        (void) json_object_array_add(d, json_object_new_string(*a));
                (void) json_object_object_add(o, "devices", d);
                (void) json_object_object_add(o, "spec", json_object_new_string(r->spec ?: ""));
                (void) json_object_object_add(o, "layout", json_object_new_string(r->layout ?: ""));
                (void) json_object_array_add(machines, o);
        }

        s = json_object_to_json_string_ext(
                root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}
