/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libxml2 functions domain-xml.c and vmspec.c call, loaded with dlopen() on first use instead of linked
 * into vfiomapctl and vfiomapd.
 *
 * Why: libxml2 pulls in ICU (libicuuc and its 30 MiB libicudata), libstdc++, libm, liblzma and libz. Linked,
 * the dynamic loader maps and relocates all of them before main() of every vfiomapctl run, and they are
 * ~2.2 MiB of the daemon's RSS at 4,000 PCI functions (docs/BENCHMARKS.md, figure 6), though only a domain
 * XML needs them: the daemon's libvirt reconciliation, a domain XML given to layout or ComputeLayout, apply,
 * and the hook at prepare and release (its other phases return before reading the XML).
 *
 * The pattern of libvirt-dlopen.c: each function keeps libxml2's own name and prototype (checked against
 * the headers at compile time), so the core library is written as if linked, and its tests and fuzzers do
 * link the real libxml2. When the library cannot be loaded, xmlNewParserCtxt() fails as on a failed
 * allocation (NULL) and xmlGetLastError() says why, as a module error (XML_MODULE_OPEN); every other call
 * needs a document first. Built into both programs, not into libvfiomap.a: the library keeps no global
 * state. */

#include <dlfcn.h>
#include <libxml/entities.h>
#include <libxml/globals.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlsave.h>
#include <libxml/xmlstring.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#define LIBXML_SONAME "libxml2.so.2"

#define SYMBOLS(X) \
        X(xmlAddChild) \
        X(xmlBufferContent) \
        X(xmlBufferCreate) \
        X(xmlBufferFree) \
        X(xmlCtxtGetLastError) \
        X(xmlCtxtReadMemory) \
        X(xmlDocCopyNode) \
        X(xmlDocGetRootElement) \
        X(xmlEncodeSpecialChars) \
        X(xmlFreeDoc) \
        X(xmlFreeNode) \
        X(xmlFreeNsList) \
        X(xmlFreeParserCtxt) \
        X(xmlGetLastError) \
        X(xmlGetNoNsProp) \
        X(xmlGetProp) \
        X(xmlInitParser) \
        X(xmlNewChild) \
        X(xmlNewNs) \
        X(xmlNewParserCtxt) \
        X(xmlNodeGetContent) \
        X(xmlNodeSetContent) \
        X(xmlSaveClose) \
        X(xmlSaveDoc) \
        X(xmlSaveToBuffer) \
        X(xmlSearchNsByHref) \
        X(xmlSetProp) \
        X(xmlStrEqual)

#define DECLARE(name) static __typeof__(name) *sym_##name;
SYMBOLS(DECLARE)

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool loaded;
static char load_error[256];
static xmlError load_failure = {
        .domain = XML_FROM_MODULE,
        .code = XML_MODULE_OPEN,
        .message = load_error,
        .level = XML_ERR_FATAL,
};

/* xmlFree is a variable, not a function, where allocation is not per thread (LIBXML_THREAD_ALLOC_ENABLED
 * unset, as in Debian's and Fedora's builds): xmlFree(p) calls through it. Its value in libxml2 is free()
 * (globals.c) unless someone calls xmlMemSetup(), which neither vfiomap nor libvirt does; so it is the same
 * here, and valid before the library is loaded, when there is nothing of its to free anyway. */
#ifdef xmlFree
#error "xmlFree is a macro here (LIBXML_THREAD_ALLOC_ENABLED): forward __xmlFree() instead"
#endif
xmlFreeFunc xmlFree = free;

static void load(void) {
        void *dl;

        /* RTLD_NODELETE: libxml2 keeps per-thread state (pthread keys) for the life of the process; it is
         * never unloaded. */
        dl = dlopen(LIBXML_SONAME, RTLD_NOW | RTLD_NODELETE);
        if (!dl) {
                (void) snprintf(load_error, sizeof(load_error), "libxml2 is not available: %s", dlerror());
                return;
        }
#define RESOLVE(name) \
        sym_##name = (__typeof__(sym_##name)) dlsym(dl, #name); \
        if (!sym_##name) { \
                (void) snprintf(load_error, sizeof(load_error), "%s lacks %s", LIBXML_SONAME, #name); \
                return; \
        }
        SYMBOLS(RESOLVE)

        /* libxml2 2.9 initializes its globals and locks lazily, from whichever thread parses first, and asks
         * threaded programs to call xmlInitParser() once before (parser.c): the daemon parses on its bus
         * thread while libvirt's event thread runs. pthread_once() makes this that once. */
        sym_xmlInitParser();
        loaded = true;
}

static bool libxml_loaded(void) {
        (void) pthread_once(&once, load);
        return loaded;
}

#define FORWARD(ret, fail, name, params, args) \
        ret name params { \
                if (!libxml_loaded()) \
                        return fail; \
                return sym_##name args; \
        }
#define FORWARD_VOID(name, params, args) \
        void name params { \
                if (libxml_loaded()) \
                        sym_##name args; \
        }

FORWARD(xmlNodePtr, NULL, xmlAddChild, (xmlNodePtr parent, xmlNodePtr cur), (parent, cur))
FORWARD(const xmlChar *, NULL, xmlBufferContent, (const xmlBuffer *buf), (buf))
FORWARD(xmlBufferPtr, NULL, xmlBufferCreate, (void), ())
FORWARD_VOID(xmlBufferFree, (xmlBufferPtr buf), (buf))
FORWARD(xmlErrorPtr, NULL, xmlCtxtGetLastError, (void *ctx), (ctx))
FORWARD(xmlDocPtr,
        NULL,
        xmlCtxtReadMemory,
        (xmlParserCtxtPtr ctxt,
         const char *buffer,
         int size,
         const char *URL,
         const char *encoding,
         int options),
        (ctxt, buffer, size, URL, encoding, options))
FORWARD(xmlNodePtr,
        NULL,
        xmlDocCopyNode,
        (xmlNodePtr node, xmlDocPtr doc, int recursive),
        (node, doc, recursive))
FORWARD(xmlNodePtr, NULL, xmlDocGetRootElement, (const xmlDoc *doc), (doc))
FORWARD(xmlChar *, NULL, xmlEncodeSpecialChars, (const xmlDoc *doc, const xmlChar *input), (doc, input))
FORWARD_VOID(xmlFreeDoc, (xmlDocPtr cur), (cur))
FORWARD_VOID(xmlFreeNode, (xmlNodePtr cur), (cur))
FORWARD_VOID(xmlFreeNsList, (xmlNsPtr cur), (cur))
FORWARD_VOID(xmlFreeParserCtxt, (xmlParserCtxtPtr ctxt), (ctxt))
FORWARD(xmlErrorPtr, &load_failure, xmlGetLastError, (void), ())
FORWARD(xmlChar *, NULL, xmlGetNoNsProp, (const xmlNode *node, const xmlChar *name), (node, name))
FORWARD(xmlChar *, NULL, xmlGetProp, (const xmlNode *node, const xmlChar *name), (node, name))
FORWARD(xmlNodePtr,
        NULL,
        xmlNewChild,
        (xmlNodePtr parent, xmlNsPtr ns, const xmlChar *name, const xmlChar *content),
        (parent, ns, name, content))
FORWARD(xmlNsPtr,
        NULL,
        xmlNewNs,
        (xmlNodePtr node, const xmlChar *href, const xmlChar *prefix),
        (node, href, prefix))
FORWARD(xmlParserCtxtPtr, NULL, xmlNewParserCtxt, (void), ())
FORWARD(xmlChar *, NULL, xmlNodeGetContent, (const xmlNode *cur), (cur))
FORWARD_VOID(xmlNodeSetContent, (xmlNodePtr cur, const xmlChar *content), (cur, content))
FORWARD(int, -1, xmlSaveClose, (xmlSaveCtxtPtr ctxt), (ctxt))
FORWARD(long, -1, xmlSaveDoc, (xmlSaveCtxtPtr ctxt, xmlDocPtr doc), (ctxt, doc))
FORWARD(xmlSaveCtxtPtr,
        NULL,
        xmlSaveToBuffer,
        (xmlBufferPtr buffer, const char *encoding, int options),
        (buffer, encoding, options))
FORWARD(xmlNsPtr,
        NULL,
        xmlSearchNsByHref,
        (xmlDocPtr doc, xmlNodePtr node, const xmlChar *href),
        (doc, node, href))
FORWARD(xmlAttrPtr,
        NULL,
        xmlSetProp,
        (xmlNodePtr node, const xmlChar *name, const xmlChar *value),
        (node, name, value))
FORWARD(int, 0, xmlStrEqual, (const xmlChar *str1, const xmlChar *str2), (str1, str2))
