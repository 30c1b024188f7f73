/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The guest's vIOMMU DMA address spaces from a domain XML, as QEMU's pci_device_get_iommu_bus_devfn()
 * forms them: express buses pass the requester ID through, a pcie-to-pci-bridge masks it to (its bus,
 * 00.0), other conventional bridges to their own (bus, devfn). */

#include "guest-topology.h"
#include "tap.h"
#include "util.h"
#include "vmspec.h"

#define DOM(devices) \
        "<domain><name>t</name><memory unit='GiB'>4</memory>" \
        "<os><type arch='x86_64' machine='pc-q35-9.1'>hvm</type></os><devices>" \
        "<controller type='pci' index='0' model='pcie-root'/>" devices \
        "<iommu model='intel'/></devices></domain>"
#define CTRL(index, model, bus, slot, function) \
        "<controller type='pci' index='" index "' model='" model "'><address type='pci' bus='" bus \
        "' slot='" slot "' function='" function "'/></controller>"
#define HOSTDEV(host_fn, bus, slot, function) \
        "<hostdev mode='subsystem' type='pci'><source><address bus='1' slot='0' function='" host_fn \
        "'/></source><address type='pci' bus='" bus "' slot='" slot "' function='" function "'/></hostdev>"
#define HOSTDEV_UNADDRESSED(host_fn) \
        "<hostdev mode='subsystem' type='pci'><source><address bus='1' slot='0' function='" host_fn \
        "'/></source></hostdev>"

static int spaces_of(const char *xml, VmSpec **ret_spec, GuestDmaSpace ret[static 8]) {
        _cleanup_free_ char *error = NULL;
        int r;

        r = vmspec_parse_domain_xml(xml, strlen(xml), ret_spec, &error);
        if (r < 0) {
                printf("# %s\n", strna(error));
                return r;
        }
        if ((*ret_spec)->n_hostdevs > 8)
                return -E2BIG;
        return guest_dma_spaces(*ret_spec, ret);
}

static const struct {
        const char *name;
        const char *xml;
        bool same;        /* hostdevs 0 and 1 share an address space */
        bool known;       /* both are known */
        int bus0, devfn0; /* the requester ID of hostdev 0, -1 to skip */
} cases[] = {
        { "two root ports: one each",
          DOM(CTRL("1", "pcie-root-port", "0", "2", "0") CTRL("2", "pcie-root-port", "0", "2", "1")
                      HOSTDEV("0", "1", "0", "0") HOSTDEV("1", "2", "0", "0")),
          false,
          true,
          1,
          0 },
        { "one root port, two functions: one each",
          DOM(CTRL("1", "pcie-root-port", "0", "2", "0") HOSTDEV("0", "1", "0", "0")
                      HOSTDEV("1", "1", "0", "1")),
          false,
          true,
          1,
          0 },
        { "directly on pcie-root: one each",
          DOM(HOSTDEV("0", "0", "5", "0") HOSTDEV("1", "0", "5", "1")),
          false,
          true,
          0,
          5 << 3 },
        { "pcie-to-pci-bridge: aliased to (bridge bus, 00.0)",
          DOM(CTRL("1", "pcie-root-port", "0", "2", "0") CTRL("2", "pcie-to-pci-bridge", "1", "0", "0")
                      HOSTDEV("0", "2", "1", "0") HOSTDEV("1", "2", "2", "0")),
          true,
          true,
          2,
          0 },
        { "pci-bridge behind dmi-to-pci-bridge: the outermost bridge's own ID",
          DOM(CTRL("1", "dmi-to-pci-bridge", "0", "0x1e", "0") CTRL("2", "pci-bridge", "1", "1", "0")
                      HOSTDEV("0", "2", "1", "0") HOSTDEV("1", "2", "2", "0")),
          true,
          true,
          0,
          0x1e << 3 },
        { "pci-bridge on pcie-to-pci-bridge vs a device on the pcie-to-pci-bridge",
          DOM(CTRL("1", "pcie-to-pci-bridge", "0", "3", "0") CTRL("2", "pci-bridge", "1", "1", "0")
                      HOSTDEV("0", "2", "1", "0") HOSTDEV("1", "1", "2", "0")),
          true,
          true,
          1,
          0 },
        { "switch downstream ports: one each",
          DOM(CTRL("1", "pcie-root-port", "0", "2", "0")
                      CTRL("2", "pcie-switch-upstream-port", "1", "0", "0")
                              CTRL("3", "pcie-switch-downstream-port", "2", "0", "0")
                                      CTRL("4", "pcie-switch-downstream-port", "2", "1", "0")
                                              HOSTDEV("0", "3", "0", "0") HOSTDEV("1", "4", "0", "0")),
          false,
          true,
          3,
          0 },
        { "two pcie-to-pci-bridges: one each",
          DOM(CTRL("1", "pcie-to-pci-bridge", "0", "3", "0") CTRL("2", "pcie-to-pci-bridge", "0", "4", "0")
                      HOSTDEV("0", "1", "1", "0") HOSTDEV("1", "2", "1", "0")),
          false,
          true,
          1,
          0 },
        { "pci-expander-bus: the expander's own ID",
          DOM(CTRL("1", "pci-expander-bus", "0", "6", "0") HOSTDEV("0", "1", "1", "0")
                      HOSTDEV("1", "1", "2", "0")),
          true,
          true,
          0,
          6 << 3 },
        { "pcie-expander-bus and root ports: one each",
          DOM(CTRL("1", "pcie-expander-bus", "0", "6", "0") CTRL("2", "pcie-root-port", "1", "0", "0")
                      HOSTDEV("0", "2", "0", "0") HOSTDEV("1", "2", "0", "1")),
          false,
          true,
          2,
          0 },
        { "no addresses: libvirt gives each a root port",
          DOM(HOSTDEV_UNADDRESSED("0") HOSTDEV_UNADDRESSED("1")),
          false,
          true,
          -1,
          -1 },
        { "unplaced pcie-to-pci-bridge: still one",
          DOM("<controller type='pci' index='1' model='pcie-to-pci-bridge'/>" HOSTDEV("0", "1", "1", "0")
                      HOSTDEV("1", "1", "2", "0")),
          true,
          true,
          1,
          0 },
        { "unplaced pci-bridge: one, position unknown",
          DOM("<controller type='pci' index='1' model='pci-bridge'/>" HOSTDEV("0", "1", "1", "0")
                      HOSTDEV("1", "1", "2", "0")),
          true,
          true,
          -1,
          -1 },
        { "a bus no controller provides: unknown",
          DOM(HOSTDEV("0", "7", "0", "0") HOSTDEV("1", "7", "0", "1")),
          false,
          false,
          -1,
          -1 },
        { "an unknown controller model: unknown",
          DOM(CTRL("1", "spaceship-port", "0", "2", "0") HOSTDEV("0", "1", "0", "0")
                      HOSTDEV("1", "1", "0", "1")),
          false,
          false,
          -1,
          -1 },
        { "a loop of controllers: unknown",
          DOM(CTRL("1", "pci-bridge", "2", "1", "0") CTRL("2", "pci-bridge", "1", "1", "0")
                      HOSTDEV("0", "1", "3", "0") HOSTDEV("1", "2", "3", "0")),
          false,
          false,
          -1,
          -1 },
};

static void test_cases(void) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(vmspec_freep) VmSpec *s = NULL;
                GuestDmaSpace sp[8] = {};

                if (spaces_of(cases[i].xml, &s, sp) < 0 || s->n_hostdevs != 2) {
                        ok(false, "%s: parses", cases[i].name);
                        continue;
                }
                ok(sp[0].known == cases[i].known && sp[1].known == cases[i].known,
                   "%s: known=%d",
                   cases[i].name,
                   cases[i].known);
                ok((sp[0].key == sp[1].key) == cases[i].same,
                   "%s: %s",
                   cases[i].name,
                   cases[i].same ? "one address space" : "two address spaces");
                if (cases[i].bus0 >= 0)
                        ok(sp[0].bus == cases[i].bus0 && sp[0].devfn == cases[i].devfn0,
                           "%s: requester ID %02x:%02x.%x (got %02x:%02x.%x)",
                           cases[i].name,
                           cases[i].bus0,
                           cases[i].devfn0 >> 3,
                           cases[i].devfn0 & 7,
                           sp[0].bus,
                           sp[0].devfn >> 3,
                           sp[0].devfn & 7);
        }
}

static void test_free_index(void) {
        _cleanup_(vmspec_freep) VmSpec *s = NULL;
        GuestDmaSpace sp[8];

        if (spaces_of(
                    DOM(CTRL("1", "pcie-root-port", "0", "2", "0")
                                CTRL("3", "pcie-root-port", "0", "2", "1")),
                    &s,
                    sp) < 0) {
                ok(false, "free index: parses");
                return;
        }
        is_int(guest_free_controller_index(s), 2, "the first free controller index");
}

int main(void) {
        test_cases();
        test_free_index();
        return tap_done();
}
