/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* domain-xml.h on arbitrary bytes: the VFIO devices of a domain XML (the qemu hook reads them from
 * whatever XML libvirt gives it, before any other check), the device behind an alias, and apply's merge
 * of every snippet the layout engine writes into it, then the diff of the result. Input: a domain XML,
 * optionally followed by a NUL and one more snippet, which is merged too. */

#include "domain-xml.h"
#include "fuzz.h"
#include "util.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Recommendation recs[] = {
                { .action = (char *) "set-pcihole64",
                  .libvirt = (char *) "<controller type='pci' index='0' model='pcie-root'>\n"
                                      "  <pcihole64 unit='KiB'>20971520</pcihole64>\n</controller>" },
                { .action = (char *) "set-maxphysaddr",
                  .libvirt = (char *) "<cpu>\n  <maxphysaddr mode='emulate' bits='39'/>\n</cpu>" },
                { .action = (char *) "set-viommu-aw-bits",
                  .libvirt = (char *) "<iommu model='intel'>\n  <driver aw_bits='39'/>\n</iommu>" },
                { .action = (char *) "reduce-memory",
                  .libvirt = (char *) "<memory unit='GiB'>30</memory>\n"
                                      "<currentMemory unit='GiB'>30</currentMemory>" },
                { .action = (char *) "set-max-ram-below-4g",
                  .libvirt = (char *) "<domain type='kvm' xmlns:qemu='" DOMAIN_XML_QEMU_NS "'>\n"
                                      "  <qemu:commandline>\n    <qemu:arg value='-machine'/>\n"
                                      "    <qemu:arg value='max-ram-below-4g=2G'/>\n  </qemu:commandline>\n"
                                      "</domain>" },
                { .action = (char *) "relocate-above-1tib",
                  .libvirt =
                          (char *) "<os>\n  <type arch='x86_64' machine='pc-q35-7.1'>hvm</type>\n</os>\n" },
                { .action = (char *) "fuzzed" },
        };
        _cleanup_free_ char *buf = NULL, *before = NULL, *after = NULL, *error = NULL, *diff = NULL;
        _cleanup_strv_free_ char **devices = NULL, **applied = NULL;
        char address[PCI_ADDRESS_MAX];
        size_t len;
        int n;

        /* NUL-terminated copies: the snippet is a C string. */
        buf = malloc(size + 1);
        if (!buf)
                return 0;
        memcpy(buf, data, size);
        buf[size] = 0;
        len = strlen(buf);
        if (len < size)
                recs[ELEMENTSOF(recs) - 1].libvirt = buf + len + 1;

        n = domain_xml_pci_hostdevs(buf, len, &devices, &error);
        FUZZ_CHECK(n < 0 ? !devices : (size_t) n == strv_length(devices));
        STRV_FOREACH (d, devices)
                FUZZ_CHECK(pci_address_is_valid(*d));
        free(TAKE_PTR(error));
        if (domain_xml_hostdev_by_alias(buf, len, "hostdev0", address) > 0)
                FUZZ_CHECK(pci_address_is_valid(address));

        n = domain_xml_apply(buf, len, recs, ELEMENTSOF(recs), &before, &after, &applied, &error);
        if (n < 0) {
                FUZZ_CHECK(n != -EINVAL || error);
                return 0;
        }
        FUZZ_CHECK((size_t) n == strv_length(applied));
        (void) text_diff_unified(before, after, "a", "b", &diff);
        return 0;
}
