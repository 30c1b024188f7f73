/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* domain-xml.h: the VFIO devices of a domain XML (what the qemu hook decides on), the device behind an
 * alias (what DEVICE_ADDED names), the layout's snippets merged into a domain (vfiomapctl apply), and the
 * diff that shows it. */

#include "domain-xml.h"
#include "tap.h"
#include "util.h"

static const char domain[] =
        "<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n"
        "  <name>win11</name>\n"
        "  <memory unit='KiB'>33554432</memory>\n"
        "  <currentMemory unit='KiB'>33554432</currentMemory>\n"
        "  <os>\n"
        "    <type arch='x86_64' machine='pc-q35-6.2'>hvm</type>\n"
        "  </os>\n"
        "  <cpu mode='host-passthrough' check='none'/>\n"
        "  <devices>\n"
        "    <controller type='usb' index='0' model='qemu-xhci'/>\n"
        "    <controller type='pci' index='0' model='pcie-root'/>\n"
        "    <controller type='pci' index='1' model='pcie-root-port'/>\n"
        "    <hostdev mode='subsystem' type='pci' managed='yes'>\n"
        "      <source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source>\n"
        "      <alias name='hostdev0'/>\n"
        "    </hostdev>\n"
        "    <hostdev mode='subsystem' type='usb'><source><vendor id='0x046d'/></source></hostdev>\n"
        "    <interface type='hostdev'>\n"
        "      <source><address type='pci' domain='0' bus='2' slot='0' function='3'/></source>\n"
        "      <alias name='ua-vf'/>\n"
        "    </interface>\n"
        "    <disk type='file' device='disk'><alias name='virtio-disk0'/></disk>\n"
        "  </devices>\n"
        "  <qemu:commandline>\n"
        "    <qemu:arg value='-machine'/>\n"
        "    <qemu:arg value='max-ram-below-4g=3G'/>\n"
        "  </qemu:commandline>\n"
        "</domain>\n";

static void test_hostdevs(void) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *error = NULL;
        char a[PCI_ADDRESS_MAX];
        const char *none = "<domain type='qemu'><name>x</name><devices><disk/></devices></domain>";

        is_int(domain_xml_pci_hostdevs(domain, strlen(domain), &l, NULL),
               2,
               "two VFIO devices (USB is not one)");
        is_str(l ? l[0] : NULL, "0000:01:00.0", "<hostdev type='pci'>");
        is_str(l ? l[1] : NULL, "0000:02:00.3", "<interface type='hostdev'>, decimal attributes");
        strv_free(TAKE_PTR(l));
        is_int(domain_xml_pci_hostdevs(none, strlen(none), &l, NULL), 0, "a domain without any");
        ok(!l, "... and no list");
        ok(domain_xml_pci_hostdevs("<node/>", 7, &l, &error) == -EINVAL && error,
           "not a domain: %s",
           strna(error));
        ok(domain_xml_pci_hostdevs("<domain>", 8, &l, NULL) == -EINVAL, "not well-formed");

        is_int(domain_xml_hostdev_by_alias(domain, strlen(domain), "hostdev0", a), 1, "alias hostdev0");
        is_str(a, "0000:01:00.0", "... is 01:00.0");
        is_int(domain_xml_hostdev_by_alias(domain, strlen(domain), "ua-vf", a), 1, "alias ua-vf");
        is_str(a, "0000:02:00.3", "... is the VF");
        is_int(domain_xml_hostdev_by_alias(domain, strlen(domain), "virtio-disk0", a),
               0,
               "a disk is no VFIO device");
        is_int(domain_xml_hostdev_by_alias(domain, strlen(domain), "nothing", a), 0, "an unknown alias");
}

static bool contains(const char *haystack, const char *needle) {
        bool b = haystack && strstr(haystack, needle);
        if (!b)
                printf("#   \"%s\" not found\n", needle);
        return b;
}

static void test_apply(void) {
        /* The snippets as the layout engine words them (libvfiomap/layout.c). */
        Recommendation recs[] = {
                { .action = (char *) "set-pcihole64",
                  .libvirt = (char *) "<controller type='pci' index='0' model='pcie-root'>\n"
                                      "  <pcihole64 unit='KiB'>20971520</pcihole64>\n</controller>" },
                { .action = (char *) "isolate-peer", .summary = (char *) "move the device" },
                { .action = (char *) "set-maxphysaddr",
                  .libvirt = (char *) "<cpu mode='host-passthrough'>\n"
                                      "  <maxphysaddr mode='passthrough' limit='39'/>\n</cpu>" },
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
        };
        _cleanup_free_ char *before = NULL, *after = NULL, *error = NULL, *diff = NULL;
        _cleanup_strv_free_ char **applied = NULL;
        const char *plain = "<domain type='qemu'><name>p</name><memory unit='KiB'>1024</memory></domain>";
        Recommendation bare = {
                .action = (char *) "set-maxphysaddr",
                .libvirt = (char *) "<cpu>\n  <maxphysaddr mode='emulate' bits='39'/>\n</cpu>"
        };
        Recommendation broken = { .action = (char *) "x", .libvirt = (char *) "<cpu>" };

        is_int(domain_xml_apply(
                       domain, strlen(domain), recs, ELEMENTSOF(recs), &before, &after, &applied, &error),
               6,
               "six of seven recommendations carry XML");
        is_str(applied ? applied[0] : NULL, "set-pcihole64", "applied in order");
        ok(contains(
                   after,
                   "<controller type=\"pci\" index=\"0\" model=\"pcie-root\">\n"
                   "      <pcihole64 unit=\"KiB\">20971520</pcihole64>\n"
                   "    </controller>"),
           "pcihole64 goes into the existing pcie-root controller, inside <devices>");
        ok(contains(after, "<controller type=\"pci\" index=\"1\" model=\"pcie-root-port\"/>"),
           "the other controllers are left alone");
        ok(contains(
                   after,
                   "<cpu mode=\"host-passthrough\" check=\"none\">\n"
                   "    <maxphysaddr mode=\"passthrough\" limit=\"39\"/>\n  </cpu>"),
           "maxphysaddr goes into the existing <cpu>, whose attributes stay");
        ok(contains(
                   after,
                   "<iommu model=\"intel\">\n      <driver aw_bits=\"39\"/>\n    </iommu>\n  </devices>"),
           "a missing <iommu> is appended to <devices>");
        ok(contains(
                   after,
                   "<memory unit=\"GiB\">30</memory>\n  <currentMemory unit=\"GiB\">30</currentMemory>"),
           "memory: unit and value replaced");
        ok(contains(
                   after,
                   "<qemu:arg value=\"-machine\"/>\n    <qemu:arg value=\"max-ram-below-4g=2G\"/>\n"
                   "  </qemu:commandline>"),
           "max-ram-below-4g: the existing pair's value replaced, not a second pair");
        ok(after && !strstr(after, "max-ram-below-4g=3G"), "the old value is gone");
        ok(contains(after, "<domain xmlns:qemu=\"" DOMAIN_XML_QEMU_NS "\" type=\"kvm\">"),
           "a <domain> snippet contributes no attributes");
        ok(contains(after, "<type arch=\"x86_64\" machine=\"pc-q35-7.1\">hvm</type>"),
           "machine type in <os>");

        ok(text_diff_unified(before, after, "a", "b", &diff) >= 0, "diff");
        ok(contains(diff, "--- a\n+++ b\n"), "diff headers");
        ok(contains(
                   diff,
                   "-  <memory unit=\"KiB\">33554432</memory>\n"
                   "-  <currentMemory unit=\"KiB\">33554432</currentMemory>\n"
                   "+  <memory unit=\"GiB\">30</memory>\n"),
           "removals before additions");
        ok(contains(
                   diff,
                   "-    <qemu:arg value=\"max-ram-below-4g=3G\"/>\n"
                   "+    <qemu:arg value=\"max-ram-below-4g=2G\"/>\n"),
           "the changed argument");
        free(TAKE_PTR(diff));
        ok(text_diff_unified(before, before, "a", "b", &diff) >= 0 && diff && !*diff, "no change, no diff");
        free(TAKE_PTR(before));
        free(TAKE_PTR(after));
        strv_free(TAKE_PTR(applied));

        /* A domain without <cpu>, <devices> or the qemu namespace. */
        is_int(domain_xml_apply(plain, strlen(plain), recs + 3, 4, &before, &after, &applied, &error),
               4,
               "a bare domain");
        ok(contains(after, "<domain xmlns:qemu=\"" DOMAIN_XML_QEMU_NS "\" type=\"qemu\">"),
           "the qemu namespace is declared on <domain>");
        ok(contains(after, "  <qemu:commandline>\n    <qemu:arg value=\"-machine\"/>"),
           "... and not again on <qemu:commandline>");
        ok(contains(after, "<devices>\n    <iommu model=\"intel\">"), "<devices> is created for <iommu>");
        free(TAKE_PTR(before));
        free(TAKE_PTR(after));
        strv_free(TAKE_PTR(applied));
        is_int(domain_xml_apply(plain, strlen(plain), &bare, 1, &before, &after, &applied, &error),
               1,
               "new <cpu>");
        ok(contains(after, "<cpu>\n    <maxphysaddr mode=\"emulate\" bits=\"39\"/>\n  </cpu>"),
           "appended whole");
        free(TAKE_PTR(before));
        free(TAKE_PTR(after));
        strv_free(TAKE_PTR(applied));

        ok(domain_xml_apply(plain, strlen(plain), &broken, 1, &before, &after, &applied, &error) ==
                           -EINVAL &&
                   error,
           "a malformed snippet is refused: %s",
           strna(error));
}

/* share-address-space (check-viommu.c): the hostdevs move to the new bridge, each in place, none is added. */
static void test_apply_hostdev_move(void) {
        static const char xml[] =
                "<domain type='kvm'><name>x</name><devices>\n"
                "<controller type='pci' index='1' model='pcie-root-port'/>\n"
                "<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x01' "
                "slot='0x00' function='0x0'/></source><address type='pci' bus='0x01' slot='0x00' "
                "function='0x0'/></hostdev>\n"
                "<hostdev mode='subsystem' type='pci' managed='yes'><source><address bus='1' slot='0' "
                "function='1'/></source><alias name='hostdev1'/></hostdev>\n"
                "<interface type='hostdev' managed='yes'><source><address type='pci' bus='5' slot='0' "
                "function='0'/></source></interface>\n"
                "</devices></domain>";
        Recommendation rec = {
                .action = (char *) "share-address-space",
                .summary = (char *) "s",
                .libvirt = (char *) "<controller type='pci' index='2' model='pcie-to-pci-bridge'/>\n"
                                    "<hostdev mode='subsystem' type='pci' managed='yes'>\n"
                                    "  <source><address domain='0x0000' bus='0x01' slot='0x00' function='0x1'/></source>\n"
                                    "  <address type='pci' domain='0x0000' bus='0x02' slot='0x02' function='0x0'/>\n"
                                    "</hostdev>\n"
                                    "<hostdev mode='subsystem' type='pci' managed='yes'>\n"
                                    "  <source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source>\n"
                                    "  <address type='pci' domain='0x0000' bus='0x02' slot='0x01' function='0x0'/>\n"
                                    "</hostdev>\n",
        };
        _cleanup_free_ char *before = NULL, *after = NULL, *error = NULL;
        _cleanup_strv_free_ char **applied = NULL;
        _cleanup_strv_free_ char **hostdevs = NULL;

        is_int(domain_xml_apply(xml, strlen(xml), &rec, 1, &before, &after, &applied, &error), 1,
               "hostdev move: applied");
        if (error)
                printf("# %s\n", error);
        if (!after)
                return;
        ok(contains(after, "<controller type=\"pci\" index=\"2\" model=\"pcie-to-pci-bridge\"/>"),
           "the bridge is added to <devices>");
        ok(contains(after, "function=\"0x0\"/>\n      </source>\n      <address type=\"pci\" bus=\"0x02\" "
                           "slot=\"0x01\" function=\"0x0\" domain=\"0x0000\"/>"),
           "01:00.0 moves to the bridge's slot 1 in place");
        ok(contains(after, "<alias name=\"hostdev1\"/>\n      <address type=\"pci\" domain=\"0x0000\" "
                           "bus=\"0x02\" slot=\"0x02\" function=\"0x0\"/>"),
           "01:00.1 gets its first guest address, its alias kept");
        is_int(domain_xml_pci_hostdevs(after, strlen(after), &hostdevs, &error), 3, "no device is added or lost");
        ok(contains(after, "<interface type=\"hostdev\" managed=\"yes\">"), "the interface is left alone");
}

int main(void) {
        test_hostdevs();
        test_apply();
        test_apply_hostdev_move();
        return tap_done();
}
