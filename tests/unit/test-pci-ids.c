/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* pci_ids_lookup() on pci.ids texts written here: the format as pci.ids(5) and pciutils' names-parse.c
 * read it, and the bad inputs a file from outside may hold. */

#include <inttypes.h>

#include "pci-ids.h"
#include "tap.h"
#include "util.h"

#define LOOKUP(text, names) pci_ids_lookup(text, strlen(text), names, ELEMENTSOF(names))

static void test_format(void) {
        static const char text[] =
                "#\n#\tList of PCI ID's\n#\n"
                "10de  NVIDIA Corporation\n"
                "\t1aef  GA102 High Definition Audio Controller\n"
                "\t2206  GA102 [GeForce RTX 3080]\n"
                "\t\t1043 87af  TUF RTX 3080\n"
                "\n"
                "8086  Intel Corporation\n"
                "\t4680  AlderLake-S GT1\n"
                "\t7ae0  Alder Lake-S PCH USB 3.2 Gen 2x2 XHCI Controller\n"
                "# a comment between devices\n"
                "\t7ae2\tAlder Lake-S PCH SATA Controller [AHCI Mode]   \n"
                "C 03  Display controller\n"
                "\t00  VGA compatible controller\n"
                "\t\t01  8514 controller\n";
        PciIdsName n[] = {
                { 0x8086, 0x4680 }, { 0x10de, 0x2206 }, { 0x8086, 0x7ae2 }, { 0x8086, 0xffff },
                { 0x1234, 0x0000 }, { 0x10de, 0x1043 }, { 0x8086, 0x4680 },
        };

        is_int(LOOKUP(text, n), 0, "format: nothing malformed");
        is_str(n[0].vendor_name, "Intel Corporation", "format: vendor name");
        is_str(n[0].device_name, "AlderLake-S GT1", "format: device name");
        is_str(n[1].device_name, "GA102 [GeForce RTX 3080]", "format: another vendor's device");
        is_str(n[2].device_name, "Alder Lake-S PCH SATA Controller [AHCI Mode]",
               "format: a tab before the name, trailing blanks cut");
        ok(n[3].vendor_name && !n[3].device_name, "format: a device pci.ids does not list has no name");
        ok(!n[4].vendor_name && !n[4].device_name, "format: an unknown vendor has no name");
        is_str(n[5].device_name, NULL, "format: a subsystem line is no device line");
        is_str(n[6].device_name, "AlderLake-S GT1", "format: the same id asked twice gets both names");
        pci_ids_names_done(n, ELEMENTSOF(n));
        ok(!n[0].vendor_name && !n[0].device_name, "format: done frees and clears");
}

static void test_bad_inputs(void) {
        static const char malformed[] =
                "\t4680  device before any vendor\n"
                "8086\n"               /* no name */
                "zz86  bad hex\n"
                "80861 five digits\n"
                "8086  Intel\n"
                "\t46 short id\n"
                "\t4680\n"             /* no name */
                "\t4680  AlderLake-S GT1\r\n"
                "10de  \n"             /* blank name */
                "\t2206  device of a vendor line that was malformed\n";
        PciIdsName n[] = { { 0x8086, 0x4680 }, { 0x10de, 0x2206 } };
        PciIdsName dup[] = { { 0x8086, 0x4680 } };
        PciIdsName cls[] = { { 0x8086, 0x0000 }, { 0x0003, 0x0000 } };
        PciIdsName enc[] = { { 0x10de, 0x2206 } };
        PciIdsName longn[] = { { 0x8086, 0x4680 } };
        PciIdsName none[] = { { 0x8086, 0x4680 } };
        char big[1024];
        int k;

        k = LOOKUP(malformed, n);
        is_int(k, 8, "bad: every malformed line counted, devices without a vendor line above them too");
        is_str(n[0].vendor_name, "Intel", "bad: good lines among bad ones still read");
        is_str(n[0].device_name, "AlderLake-S GT1", "bad: CRLF line ends");
        ok(!n[1].vendor_name && !n[1].device_name,
           "bad: no name for a vendor line without one, nor for the devices below it");
        pci_ids_names_done(n, ELEMENTSOF(n));

        is_int(LOOKUP("8086  First\n\t4680  First device\n8086  Second\n\t4680  Second device\n", dup), 0,
               "duplicates: not malformed");
        ok(streq_ptr(dup[0].vendor_name, "First") && streq_ptr(dup[0].device_name, "First device"),
           "duplicates: the first wins");
        pci_ids_names_done(dup, ELEMENTSOF(dup));

        /* "C 03" is no vendor 0x0003 (C is a hex digit: the blank after it decides), and the class
         * section's "\t00" lines are no devices. */
        is_int(LOOKUP("C 03  Display controller\n\t00  VGA\n\t\t00  VGA controller\n0003  Three\n", cls), 0,
               "classes: not malformed");
        ok(!cls[0].vendor_name && streq_ptr(cls[1].vendor_name, "Three") && !cls[1].device_name,
           "classes: neither vendors nor devices; a vendor line ends the section");
        pci_ids_names_done(cls, ELEMENTSOF(cls));

        is_int(LOOKUP("10de  NV\xff" "IDIA \xc3\xa9\x01\x7f \xe0\x80\x80 \xed\xa0\x80 \xf4\x90\x80\x80|\n"
                      "\t2206  GA102 \xe2\x82\xac\n", enc), 0, "encoding: not malformed");
        is_str(enc[0].vendor_name, "NV?IDIA \xc3\xa9?? ??? ??? ????|",
               "encoding: valid UTF-8 kept, control bytes, overlong forms, surrogates and code points above "
               "U+10FFFF replaced byte by byte");
        is_str(enc[0].device_name, "GA102 \xe2\x82\xac", "encoding: a three-byte character kept");
        pci_ids_names_done(enc, ELEMENTSOF(enc));

        /* 190 ASCII bytes, then two-byte characters: the cut falls on a character boundary. */
        strcpy(big, "8086  ");
        memset(big + 6, 'x', 190);
        big[196] = 0;
        for (int i = 0; i < 10; i++)
                strcat(big, "\xc3\xa9");
        strcat(big, "\n\t4680  short\n");
        is_int(LOOKUP(big, longn), 0, "long: not malformed");
        ok(longn[0].vendor_name && strlen(longn[0].vendor_name) == PCI_IDS_NAME_MAX,
           "long: cut to PCI_IDS_NAME_MAX bytes");
        ok(longn[0].vendor_name &&
                   memcmp(longn[0].vendor_name + 190, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 10) == 0,
           "long: whole characters only");
        pci_ids_names_done(longn, ELEMENTSOF(longn));

        /* A NUL byte in the middle of a line is a control character, not the end of the file. */
        is_int(pci_ids_lookup("8086  In\0tel\n\t4680  GT1\n", 24, none, 1), 0, "NUL: not malformed");
        ok(streq_ptr(none[0].vendor_name, "In?tel") && streq_ptr(none[0].device_name, "GT1"),
           "NUL: replaced, and the lines after it read");
        pci_ids_names_done(none, ELEMENTSOF(none));

        is_int(pci_ids_lookup("", 0, none, 1), 0, "empty file: nothing");
        ok(!none[0].vendor_name, "empty file: no names");
        is_int(pci_ids_lookup("8086  Intel\n", 12, NULL, 0), 0, "no ids asked: nothing to do");
}

int main(void) {
        test_format();
        test_bad_inputs();
        return tap_done();
}
