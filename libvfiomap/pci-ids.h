/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Vendor and device names from pci.ids, the PCI ID database lspci reads (hwdata's or Debian's pci.ids
 * package: /usr/share/misc/pci.ids or /usr/share/hwdata/pci.ids; format in pci.ids(5) and the file's own
 * header). A name is a label for people, never a fact the model relies on.
 *
 * The file is outside input: every line is checked, and one that is not a comment, a vendor, a device, a
 * subsystem or a class line is skipped and counted. */

#include <stddef.h>
#include <stdint.h>

/* Longest name kept, in bytes; longer ones are cut (the longest in pci.ids today is about 120). */
#define PCI_IDS_NAME_MAX 200

typedef struct PciIdsName {
        uint16_t vendor, device; /* asked for */
        char *vendor_name;       /* NULL when pci.ids does not name the vendor */
        char *device_name;       /* NULL when it does not name the device */
} PciIdsName;

/* Fills in the names of names[0..n) from the text of a pci.ids file (buf, size bytes, need not end in NUL)
 * in one pass over it. Where pci.ids lists an id twice, the first wins. Names are cut to
 * PCI_IDS_NAME_MAX bytes, control characters and bytes that are not UTF-8 become '?'. Returns the number
 * of malformed lines skipped, or -ENOMEM (names then hold what was found so far). */
int pci_ids_lookup(const char *buf, size_t size, PciIdsName *names, size_t n);

/* Frees the names pci_ids_lookup() filled in. */
void pci_ids_names_done(PciIdsName *names, size_t n);
