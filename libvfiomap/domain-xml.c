/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "domain-xml.h"

#include "util.h"
#include "vmspec.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlsave.h>

static inline void xml_doc_freep(xmlDoc **d) {
        if (*d)
                xmlFreeDoc(*d);
}

static inline void xml_charp_freep(xmlChar **s) {
        if (*s)
                xmlFree(*s);
}

static int fail(char **ret_error, int error, const char *format, ...) _printf_(3, 4);
static int fail(char **ret_error, int error, const char *format, ...) {
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
        return error;
}

/* The flags of vmspec.c's parser: no network, no DTD, no entities. */
static int parse(
        const char *buf,
        size_t len,
        bool noblanks,
        const char *what,
        xmlDoc **ret,
        char **ret_error) {
        xmlParserCtxt *ctxt;
        xmlDoc *doc;

        if (len > VMSPEC_INPUT_MAX)
                return fail(ret_error, -EFBIG, "%s is larger than %u bytes", what, VMSPEC_INPUT_MAX);
        ctxt = xmlNewParserCtxt();
        if (!ctxt) {
                /* Out of memory, or no libxml2 at all: the programs load it on first use (libxml-dlopen.c),
                 * which then reports why as a module error. */
                const xmlError *e = xmlGetLastError();

                if (e && e->code == XML_MODULE_OPEN && e->message)
                        return fail(ret_error, -ELIBACC, "%s", e->message);
                return -ENOMEM;
        }
        doc = xmlCtxtReadMemory(
                ctxt,
                buf,
                (int) len,
                what,
                NULL,
                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                        (noblanks ? XML_PARSE_NOBLANKS : 0));
        if (!doc) {
                const xmlError *e = xmlCtxtGetLastError(ctxt);
                _cleanup_free_ char *msg = e && e->message ? strdup(e->message) : NULL;
                int line = e ? e->line : 0;

                xmlFreeParserCtxt(ctxt);
                if (msg)
                        strstrip_trailing(msg);
                return fail(
                        ret_error,
                        -EINVAL,
                        "%s is not well-formed: line %d: %s",
                        what,
                        line,
                        msg ?: "parse error");
        }
        xmlFreeParserCtxt(ctxt);
        if (doc->intSubset || doc->extSubset) {
                xmlFreeDoc(doc);
                return fail(ret_error, -EINVAL, "%s has a DOCTYPE, which libvirt never writes", what);
        }
        *ret = doc;
        return 0;
}

static bool is_element(const xmlNode *n, const char *name) {
        return n && n->type == XML_ELEMENT_NODE && (!name || xmlStrEqual(n->name, (const xmlChar *) name));
}

static xmlNode *child(const xmlNode *n, const char *name) {
        for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
                if (is_element(c, name))
                        return c;
        return NULL;
}

static char *attr(const xmlNode *n, const char *name) {
        xmlChar *v = n ? xmlGetProp(n, (const xmlChar *) name) : NULL;
        char *s;

        if (!v)
                return NULL;
        s = strdup((const char *) v);
        xmlFree(v);
        return s;
}

static int domain_root(const char *xml, size_t len, bool noblanks, xmlDoc **ret, char **ret_error) {
        _cleanup_(xml_doc_freep) xmlDoc *doc = NULL;
        int k;

        k = parse(xml, len, noblanks, "the domain XML", &doc, ret_error);
        if (k < 0)
                return k;
        if (!is_element(xmlDocGetRootElement(doc), "domain"))
                return fail(ret_error, -EINVAL, "the root element is not <domain>");
        *ret = TAKE_PTR(doc);
        return 0;
}

/* The <address> below <source> of a VFIO device node, as "dddd:bb:ss.f"; 0 when n is no VFIO PCI device. */
static int vfio_device_address(const xmlNode *n, char ret[static PCI_ADDRESS_MAX]) {
        _cleanup_free_ char *type = attr(n, "type"), *mode = NULL, *at = NULL;
        _cleanup_free_ char *domain = NULL, *bus = NULL, *slot = NULL, *function = NULL;
        const xmlNode *address;
        uint64_t d = 0, b, s, f;
        PciAddress a;

        if (is_element(n, "hostdev")) {
                mode = attr(n, "mode");
                if (!streq_ptr(type, "pci") || (mode && !streq(mode, "subsystem")))
                        return 0;
        } else if (!is_element(n, "interface") || !streq_ptr(type, "hostdev"))
                return 0;

        address = child(child(n, "source"), "address");
        if (!address)
                return -EINVAL;
        at = attr(address, "type");
        if (at && !streq(at, "pci"))
                return 0;
        domain = attr(address, "domain");
        bus = attr(address, "bus");
        slot = attr(address, "slot");
        function = attr(address, "function");
        /* libvirt reads these with virStrToLong_*(..., 0, ...): decimal, 0x hex or 0 octal. */
        if ((domain && (safe_atou64_base(domain, 0, &d) < 0 || d > 0xffff)) || !bus ||
            safe_atou64_base(bus, 0, &b) < 0 || b > 0xff || !slot || safe_atou64_base(slot, 0, &s) < 0 ||
            s > 0x1f || !function || safe_atou64_base(function, 0, &f) < 0 || f > 7)
                return -EINVAL;
        a = (PciAddress){
                .domain = (uint32_t) d, .bus = (uint8_t) b, .slot = (uint8_t) s, .function = (uint8_t) f
        };
        pci_address_format(&a, ret);
        return 1;
}

int domain_xml_pci_hostdevs(const char *xml, size_t len, char ***ret, char **ret_error) {
        _cleanup_(xml_doc_freep) xmlDoc *doc = NULL;
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0;
        int k;

        k = domain_root(xml, len, false, &doc, ret_error);
        if (k < 0)
                return k;
        for (xmlNode *d = child(child(xmlDocGetRootElement(doc), "devices"), NULL); d; d = d->next) {
                char address[PCI_ADDRESS_MAX];

                k = vfio_device_address(d, address);
                if (k < 0)
                        return fail(
                                ret_error,
                                k,
                                "a <%s> for a PCI device has no valid <source><address>",
                                (const char *) d->name);
                if (k == 0)
                        continue;
                if (strv_extend(&l, address) < 0)
                        return -ENOMEM;
                n++;
        }
        *ret = TAKE_PTR(l);
        return (int) n;
}

int domain_xml_hostdev_by_alias(
        const char *xml,
        size_t len,
        const char *alias,
        char ret[static PCI_ADDRESS_MAX]) {
        _cleanup_(xml_doc_freep) xmlDoc *doc = NULL;
        int k;

        k = domain_root(xml, len, false, &doc, NULL);
        if (k < 0)
                return k;
        for (xmlNode *d = child(child(xmlDocGetRootElement(doc), "devices"), NULL); d; d = d->next) {
                _cleanup_free_ char *name = attr(child(d, "alias"), "name");

                if (!streq_ptr(name, alias))
                        continue;
                k = vfio_device_address(d, ret);
                return k < 0 ? 0 : k;
        }
        return 0;
}

/* ---- apply ---- */

static int serialize(xmlDoc *doc, char **ret) {
        xmlBuffer *buf = xmlBufferCreate();
        xmlSaveCtxt *save;
        char *s;

        if (!buf)
                return -ENOMEM;
        save = xmlSaveToBuffer(buf, "UTF-8", XML_SAVE_FORMAT | XML_SAVE_NO_DECL);
        if (!save) {
                xmlBufferFree(buf);
                return -ENOMEM;
        }
        if (xmlSaveDoc(save, doc) < 0) {
                (void) xmlSaveClose(save);
                xmlBufferFree(buf);
                return -ENOMEM;
        }
        (void) xmlSaveClose(save);
        s = strdup((const char *) xmlBufferContent(buf));
        xmlBufferFree(buf);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static bool same_name(const xmlNode *a, const xmlNode *b) {
        const xmlChar *na = a->ns ? a->ns->href : NULL, *nb = b->ns ? b->ns->href : NULL;

        return a->type == XML_ELEMENT_NODE && b->type == XML_ELEMENT_NODE && xmlStrEqual(a->name, b->name) &&
                ((!na && !nb) || (na && nb && xmlStrEqual(na, nb)));
}

static bool same_attr(const xmlNode *a, const xmlNode *b, const char *name, const char *dflt) {
        _cleanup_free_ char *x = attr(a, name), *y = attr(b, name);
        return streq_ptr(x ?: dflt, y ?: dflt);
}

/* The element of target's children that want stands for. */
static xmlNode *find_match(xmlNode *target, const xmlNode *want) {
        char want_host[PCI_ADDRESS_MAX] = "", host[PCI_ADDRESS_MAX];

        /* A VFIO device (a snippet that moves it to another guest address) is the one with the same host
         * address below <source>: a domain has many <hostdev>s. */
        if (vfio_device_address(want, want_host) <= 0)
                want_host[0] = 0;
        for (xmlNode *c = target->children; c; c = c->next) {
                if (!same_name(c, want))
                        continue;
                if (want_host[0] && (vfio_device_address(c, host) <= 0 || !streq(host, want_host)))
                        continue;
                /* A domain has many controllers; libvirt tells them apart by type and index. */
                if (is_element(want, "controller") &&
                    (!same_attr(c, want, "type", NULL) || !same_attr(c, want, "index", "0")))
                        continue;
                return c;
        }
        return NULL;
}

static bool has_element_children(const xmlNode *n) {
        return child(n, NULL);
}

/* Points the copied subtree at the namespaces declared on the domain root (declaring them there when
 * missing), so that a copied <qemu:commandline> does not carry its own xmlns:qemu. */
static int adopt_namespaces(xmlNode *root, xmlNode *n) {
        for (; n; n = n->next) {
                if (n->type != XML_ELEMENT_NODE)
                        continue;
                /* Children first: their ns pointers may point at this node's declarations, freed below. */
                if (adopt_namespaces(root, n->children) < 0)
                        return -ENOMEM;
                if (n->ns && n->ns->href) {
                        xmlNs *ns = xmlSearchNsByHref(root->doc, root, n->ns->href);
                        if (!ns)
                                ns = xmlNewNs(root, n->ns->href, n->ns->prefix);
                        if (!ns)
                                return -ENOMEM;
                        n->ns = ns;
                }
                if (n->nsDef) {
                        /* Every reference in the subtree points at root's declarations now. */
                        xmlFreeNsList(n->nsDef);
                        n->nsDef = NULL;
                }
        }
        return 0;
}

static int append_copy(xmlNode *root, xmlNode *target, const xmlNode *want) {
        xmlNode *copy = xmlDocCopyNode((xmlNode *) want, target->doc, 1);

        if (!copy)
                return -ENOMEM;
        if (!xmlAddChild(target, copy)) {
                xmlFreeNode(copy);
                return -ENOMEM;
        }
        copy->next = NULL; /* adopt_namespaces() walks siblings; this copy has none of its own */
        return adopt_namespaces(root, copy);
}

/* "-machine max-ram-below-4g=2G": the pair's identity is the option and the key before "=". */
static bool arg_pair_matches(
        const xmlNode *opt,
        const xmlNode *value,
        const char *want_opt,
        const char *want_value) {
        _cleanup_free_ char *o = attr(opt, "value"), *v = attr(value, "value");
        const char *eq = strchr(want_value, '=');

        if (!o || !v || !streq(o, want_opt) || !eq)
                return false;
        return strncmp(v, want_value, (size_t) (eq - want_value + 1)) == 0;
}

static int merge_commandline(xmlNode *root, xmlNode *target, const xmlNode *want) {
        for (const xmlNode *a = child(want, "arg"); a; a = a->next) {
                _cleanup_free_ char *opt = NULL, *value = NULL;
                const xmlNode *b;
                bool done = false;
                int k;

                if (!is_element(a, "arg"))
                        continue;
                opt = attr(a, "value");
                for (b = a->next; b && !is_element(b, "arg"); b = b->next)
                        ;
                value = b ? attr(b, "value") : NULL;
                if (opt && value && opt[0] == '-' && value[0] != '-' && strchr(value, '=')) {
                        for (xmlNode *c = child(target, "arg"); c && !done; c = c->next) {
                                xmlNode *d;
                                if (!is_element(c, "arg"))
                                        continue;
                                for (d = c->next; d && !is_element(d, "arg"); d = d->next)
                                        ;
                                if (d && arg_pair_matches(c, d, opt, value)) {
                                        if (!xmlSetProp(
                                                    d, (const xmlChar *) "value", (const xmlChar *) value))
                                                return -ENOMEM;
                                        done = true;
                                }
                        }
                        if (!done) {
                                k = append_copy(root, target, a);
                                if (k >= 0)
                                        k = append_copy(root, target, b);
                                if (k < 0)
                                        return k;
                        }
                        a = b;
                        continue;
                }
                k = append_copy(root, target, a);
                if (k < 0)
                        return k;
        }
        return 0;
}

static int merge_element(xmlNode *root, xmlNode *target, const xmlNode *want);

static int merge_children(xmlNode *root, xmlNode *target, const xmlNode *want) {
        for (const xmlNode *c = want->children; c; c = c->next) {
                int k;

                if (c->type != XML_ELEMENT_NODE)
                        continue;
                k = merge_element(root, target, c);
                if (k < 0)
                        return k;
        }
        return 0;
}

static int merge_element(xmlNode *root, xmlNode *target, const xmlNode *want) {
        xmlNode *match = find_match(target, want);

        if (!match)
                return append_copy(root, target, want);

        for (const xmlAttr *a = want->properties; a; a = a->next) {
                _cleanup_(xml_charp_freep) xmlChar *v = xmlNodeGetContent((const xmlNode *) a);
                if (!xmlSetProp(match, a->name, v ?: (const xmlChar *) ""))
                        return -ENOMEM;
        }
        if (xmlStrEqual(want->name, (const xmlChar *) "commandline") && want->ns &&
            xmlStrEqual(want->ns->href, (const xmlChar *) DOMAIN_XML_QEMU_NS))
                return merge_commandline(root, match, want);
        if (has_element_children(want))
                return merge_children(root, match, want);
        if (want->children) {
                _cleanup_(xml_charp_freep) xmlChar *text = xmlNodeGetContent(want);
                _cleanup_(xml_charp_freep) xmlChar *escaped = NULL;

                if (!text)
                        return -ENOMEM;
                escaped = xmlEncodeSpecialChars(match->doc, text);
                if (!escaped)
                        return -ENOMEM;
                xmlNodeSetContent(match, escaped);
        }
        return 0;
}

/* Where a snippet's top-level element goes: device elements (<controller>, <iommu>, <hostdev>,
 * <interface>) into <devices> (created when missing), the rest directly below <domain>. */
static int snippet_target(xmlNode *root, const xmlNode *e, xmlNode **ret) {
        xmlNode *devices;

        if (!is_element(e, "controller") && !is_element(e, "iommu") && !is_element(e, "hostdev") &&
            !is_element(e, "interface")) {
                *ret = root;
                return 0;
        }
        devices = child(root, "devices");
        if (!devices) {
                devices = xmlNewChild(root, NULL, (const xmlChar *) "devices", NULL);
                if (!devices)
                        return -ENOMEM;
        }
        *ret = devices;
        return 0;
}

static int apply_snippet(xmlNode *root, const char *snippet, char **ret_error) {
        _cleanup_(xml_doc_freep) xmlDoc *doc = NULL;
        _cleanup_free_ char *wrapped = NULL;
        xmlNode *top;
        int k;

        /* The wrapper declares the qemu namespace for snippets that use it without a <domain> around. */
        if (asprintf_safe(
                    &wrapped,
                    "<vfiomap-snippet xmlns:qemu='" DOMAIN_XML_QEMU_NS "'>%s</vfiomap-snippet>",
                    snippet) < 0)
                return -ENOMEM;
        k = parse(wrapped, strlen(wrapped), true, "a recommendation's libvirt snippet", &doc, ret_error);
        if (k < 0)
                return k;
        top = xmlDocGetRootElement(doc);
        for (xmlNode *e = top->children; e; e = e->next) {
                if (e->type != XML_ELEMENT_NODE)
                        continue;
                xmlNode *target;

                if (is_element(e, "domain"))
                        k = merge_children(root, root, e);
                else {
                        k = snippet_target(root, e, &target);
                        if (k >= 0)
                                k = merge_element(root, target, e);
                }
                if (k < 0)
                        return k;
        }
        return 0;
}

int domain_xml_apply(
        const char *xml,
        size_t len,
        const Recommendation *recommendations,
        size_t n_recommendations,
        char **ret_before,
        char **ret_after,
        char ***ret_applied,
        char **ret_error) {
        _cleanup_(xml_doc_freep) xmlDoc *doc = NULL;
        _cleanup_free_ char *before = NULL, *after = NULL;
        _cleanup_strv_free_ char **applied = NULL;
        size_t n = 0;
        int k;

        /* Without the blank text nodes the serialiser indents every element itself, so old and new
         * elements line up and a line diff shows only what changed. */
        k = domain_root(xml, len, true, &doc, ret_error);
        if (k < 0)
                return k;
        k = serialize(doc, &before);
        if (k < 0)
                return k;
        for (size_t i = 0; i < n_recommendations; i++) {
                const Recommendation *r = recommendations + i;

                if (!r->libvirt)
                        continue;
                k = apply_snippet(xmlDocGetRootElement(doc), r->libvirt, ret_error);
                if (k < 0)
                        return k;
                if (strv_extend(&applied, r->action) < 0)
                        return -ENOMEM;
                n++;
        }
        k = serialize(doc, &after);
        if (k < 0)
                return k;
        *ret_before = TAKE_PTR(before);
        *ret_after = TAKE_PTR(after);
        *ret_applied = TAKE_PTR(applied);
        return (int) n;
}

/* ---- diff ---- */

static char **split_lines(const char *s, size_t *ret_n) {
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0;

        while (*s) {
                const char *e = strchrnul(s, '\n');
                char *line = strndup(s, (size_t) (e - s));

                if (!line || strv_consume(&l, line) < 0)
                        return NULL;
                n++;
                s = *e ? e + 1 : e;
        }
        if (!l) {
                l = calloc(1, sizeof(char *));
                if (!l)
                        return NULL;
        }
        *ret_n = n;
        return TAKE_PTR(l);
}

typedef struct DiffOp {
        char kind;   /* ' ', '-', '+' */
        size_t a, b; /* line indexes before the op (0-based) */
} DiffOp;

static int append(char **buf, size_t *len, size_t *allocated, const char *format, ...) _printf_(4, 5);
static int append(char **buf, size_t *len, size_t *allocated, const char *format, ...) {
        va_list ap;
        int n;

        va_start(ap, format);
        n = vsnprintf(NULL, 0, format, ap);
        va_end(ap);
        if (n < 0)
                return -EINVAL;
        if (!greedy_realloc((void **) buf, allocated, *len + (size_t) n + 1, 1))
                return -ENOMEM;
        va_start(ap, format);
        (void) vsnprintf(*buf + *len, (size_t) n + 1, format, ap);
        va_end(ap);
        *len += (size_t) n;
        return 0;
}

int text_diff_unified(const char *a, const char *b, const char *label_a, const char *label_b, char **ret) {
        _cleanup_strv_free_ char **la = NULL, **lb = NULL;
        _cleanup_free_ unsigned *lcs = NULL;
        _cleanup_free_ DiffOp *ops = NULL;
        _cleanup_free_ char *out = NULL;
        size_t na = 0, nb = 0, n_ops = 0, len = 0, allocated = 0, i, j;
        const size_t context = 3;

        la = split_lines(a, &na);
        lb = split_lines(b, &nb);
        if (!la || !lb)
                return -ENOMEM;
        if (na > 100000 || nb > 100000 || (na + 1) * (nb + 1) > 64U * 1024U * 1024U)
                return -E2BIG;

        /* Longest common subsequence table from the end: lcs[i][j] for la[i..], lb[j..]. */
        lcs = calloc((na + 1) * (nb + 1), sizeof(unsigned));
        ops = calloc(na + nb + 1, sizeof(DiffOp));
        if (!lcs || !ops)
                return -ENOMEM;
#define L(x, y) lcs[(x) * (nb + 1) + (y)]
        for (i = na; i-- > 0;)
                for (j = nb; j-- > 0;)
                        L(i, j) = streq(la[i], lb[j]) ? L(i + 1, j + 1) + 1 : MAX(L(i + 1, j), L(i, j + 1));
        for (i = 0, j = 0; i < na || j < nb;) {
                if (i < na && j < nb && streq(la[i], lb[j])) {
                        ops[n_ops++] = (DiffOp){ ' ', i++, j++ };
                } else if (i < na && (j >= nb || L(i + 1, j) >= L(i, j + 1))) {
                        /* Removals before additions, as diff -u prints a changed line. */
                        ops[n_ops++] = (DiffOp){ '-', i++, j };
                } else
                        ops[n_ops++] = (DiffOp){ '+', i, j++ };
        }
#undef L

        out = strdup("");
        if (!out)
                return -ENOMEM;
        allocated = 1;
        for (size_t k = 0; k < n_ops;) {
                size_t start, end, a0, b0, a_len = 0, b_len = 0;

                if (ops[k].kind == ' ') {
                        k++;
                        continue;
                }
                /* A hunk: this change, the changes within 2*context lines after it, and context around. */
                start = k >= context ? k - context : 0;
                end = k;
                for (size_t x = k; x < n_ops; x++)
                        if (ops[x].kind != ' ')
                                end = x;
                        else if (x - end > 2 * context)
                                break;
                end = MIN(end + context + 1, n_ops);
                for (size_t x = start; x < end; x++) {
                        a_len += ops[x].kind != '+';
                        b_len += ops[x].kind != '-';
                }
                a0 = ops[start].a;
                b0 = ops[start].b;
                if (len == 0 && (append(&out, &len, &allocated, "--- %s\n+++ %s\n", label_a, label_b) < 0))
                        return -ENOMEM;
                if (append(&out,
                           &len,
                           &allocated,
                           "@@ -%zu,%zu +%zu,%zu @@\n",
                           a_len ? a0 + 1 : a0,
                           a_len,
                           b_len ? b0 + 1 : b0,
                           b_len) < 0)
                        return -ENOMEM;
                for (size_t x = start; x < end; x++)
                        if (append(&out,
                                   &len,
                                   &allocated,
                                   "%c%s\n",
                                   ops[x].kind,
                                   ops[x].kind == '+' ? lb[ops[x].b] : la[ops[x].a]) < 0)
                                return -ENOMEM;
                k = end;
        }
        *ret = TAKE_PTR(out);
        return 0;
}
