/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* pci.ids, as pciutils' lib/names-parse.c reads it: "vvvv  Vendor" at the start of a line, "\tdddd  Device"
 * below it, "\t\tssss ssss  Subsystem" below that, and from the first "C cc  Class" line on the class
 * section ("\tss  Subclass", "\t\tpp  Programming interface"). Ids are four hex digits; pciutils accepts
 * any blank run before the name, and so do we.
 *
 * One pass over the text with the wanted ids sorted, rather than an index of the whole file: a host has
 * tens of distinct ids, pci.ids some 36,000 lines, and the client needs the names once. */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pci-ids.h"
#include "util.h"

static int hex_digit(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* "vvvv" followed by a blank and a non-empty name: the id and where the name starts. */
static bool parse_id_and_name(const char *l, size_t len, uint16_t *ret_id, const char **ret_name,
                              size_t *ret_name_len) {
        unsigned v = 0;
        size_t i;

        if (len < 6)
                return false;
        for (i = 0; i < 4; i++) {
                int d = hex_digit(l[i]);
                if (d < 0)
                        return false;
                v = v << 4 | (unsigned) d;
        }
        if (l[4] != ' ' && l[4] != '\t')
                return false;
        for (i = 5; i < len && (l[i] == ' ' || l[i] == '\t'); i++)
                ;
        while (len > i && (l[len - 1] == ' ' || l[len - 1] == '\t'))
                len--;
        if (i >= len)
                return false;
        *ret_id = (uint16_t) v;
        *ret_name = l + i;
        *ret_name_len = len - i;
        return true;
}

/* The length of the valid UTF-8 sequence at s (at most n bytes), 0 when there is none (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF). */
static size_t utf8_sequence(const unsigned char *s, size_t n) {
        size_t len;
        unsigned char lo = 0x80, hi = 0xbf;

        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                len = 2;
        else if (s[0] >= 0xe0 && s[0] <= 0xef) {
                len = 3;
                if (s[0] == 0xe0)
                        lo = 0xa0;
                else if (s[0] == 0xed)
                        hi = 0x9f;
        } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
                len = 4;
                if (s[0] == 0xf0)
                        lo = 0x90;
                else if (s[0] == 0xf4)
                        hi = 0x8f;
        } else
                return 0;
        if (n < len || s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 2; i < len; i++)
                if (s[i] < 0x80 || s[i] > 0xbf)
                        return 0;
        return len;
}

/* A printable, valid UTF-8 copy of the name, cut to PCI_IDS_NAME_MAX bytes at a character boundary. */
static char *name_dup(const char *name, size_t len) {
        const unsigned char *s = (const unsigned char *) name;
        char *out = malloc(PCI_IDS_NAME_MAX + 1);
        size_t o = 0;

        if (!out)
                return NULL;
        for (size_t i = 0; i < len && o < PCI_IDS_NAME_MAX;) {
                size_t sl;

                if (s[i] < 0x80) {
                        out[o++] = s[i] < 0x20 || s[i] == 0x7f ? '?' : (char) s[i];
                        i++;
                        continue;
                }
                sl = utf8_sequence(s + i, len - i);
                if (sl == 0) {
                        out[o++] = '?';
                        i++;
                        continue;
                }
                if (o + sl > PCI_IDS_NAME_MAX)
                        break;
                memcpy(out + o, s + i, sl);
                o += sl;
                i += sl;
        }
        out[o] = 0;
        return out;
}

typedef struct Wanted {
        PciIdsName **sorted; /* by vendor, then device */
        size_t n;
} Wanted;

static int name_compare(const void *a, const void *b) {
        const PciIdsName *x = *(PciIdsName *const *) a, *y = *(PciIdsName *const *) b;

        if (x->vendor != y->vendor)
                return x->vendor < y->vendor ? -1 : 1;
        return x->device < y->device ? -1 : x->device > y->device;
}

/* The first entry of the vendor, n when none is wanted. */
static size_t wanted_vendor(const Wanted *w, uint16_t vendor) {
        size_t lo = 0, hi = w->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (w->sorted[mid]->vendor < vendor)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < w->n && w->sorted[lo]->vendor == vendor ? lo : w->n;
}

int pci_ids_lookup(const char *buf, size_t size, PciIdsName *names, size_t n) {
        _cleanup_free_ PciIdsName **sorted = NULL;
        Wanted w = { .n = n };
        size_t vendor_first = n; /* the wanted entries of the current vendor start here; n: none */
        bool in_classes = false, have_vendor = false;
        int bad = 0;

        if (n == 0)
                return 0;
        sorted = calloc(n, sizeof(PciIdsName *));
        if (!sorted)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                sorted[i] = names + i;
        qsort(sorted, n, sizeof(PciIdsName *), name_compare);
        w.sorted = sorted;

        for (size_t off = 0; off < size;) {
                const char *l = buf + off, *nl = memchr(l, '\n', size - off);
                size_t len = nl ? (size_t) (nl - l) : size - off;
                const char *name;
                size_t name_len;
                uint16_t id;

                off += len + 1;
                if (len > 0 && l[len - 1] == '\r')
                        len--;
                if (len == 0 || l[0] == '#')
                        continue;

                if (l[0] == 'C' && len > 1 && l[1] == ' ') {
                        /* The class section: its indented lines are subclasses, not devices. */
                        in_classes = true;
                        have_vendor = false;
                        vendor_first = n;
                        continue;
                }
                if (l[0] != '\t') {
                        if (!parse_id_and_name(l, len, &id, &name, &name_len)) {
                                bad++;
                                vendor_first = n;
                                in_classes = have_vendor = false;
                                continue;
                        }
                        in_classes = false;
                        have_vendor = true;
                        vendor_first = wanted_vendor(&w, id);
                        for (size_t i = vendor_first; i < n && sorted[i]->vendor == id; i++)
                                if (!sorted[i]->vendor_name) {
                                        sorted[i]->vendor_name = name_dup(name, name_len);
                                        if (!sorted[i]->vendor_name)
                                                return -ENOMEM;
                                }
                        continue;
                }
                /* Subsystems ("\t\t") and the class section name nothing we show. */
                if (in_classes || (len > 1 && l[1] == '\t'))
                        continue;
                /* A device line needs the vendor line above it (pciutils refuses the file otherwise). */
                if (!have_vendor || !parse_id_and_name(l + 1, len - 1, &id, &name, &name_len)) {
                        bad++;
                        continue;
                }
                for (size_t i = vendor_first; i < n && sorted[i]->vendor == sorted[vendor_first]->vendor;
                     i++)
                        if (sorted[i]->device == id && !sorted[i]->device_name) {
                                sorted[i]->device_name = name_dup(name, name_len);
                                if (!sorted[i]->device_name)
                                        return -ENOMEM;
                        }
        }
        return bad;
}

void pci_ids_names_done(PciIdsName *names, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(names[i].vendor_name);
                free(names[i].device_name);
                names[i].vendor_name = names[i].device_name = NULL;
        }
}
