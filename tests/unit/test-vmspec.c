/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The VM description parsers: what they read from real domain XML and JSON specs, and that every bad input
 * is refused with a message naming the element, attribute or key at fault. */

#include <inttypes.h>

#include "tap.h"
#include "util.h"
#include "vmspec.h"

#define GiB (UINT64_C(1) << 30)
#define MiB (UINT64_C(1) << 20)

static const char good_xml[] =
        "<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n"
        "  <name>win11</name>\n"
        "  <uuid>2b1c9bd9-5a2e-4a4f-b2bb-3f3a7f0b9a11</uuid>\n"
        "  <maxMemory slots='16' unit='KiB'>67108864</maxMemory>\n"
        "  <memory unit='GiB'>32</memory>\n"
        "  <currentMemory unit='MiB'>16384</currentMemory>\n"
        "  <os firmware='efi'>\n"
        "    <type arch='x86_64' machine='pc-q35-8.2'>hvm</type>\n"
        "  </os>\n"
        "  <cpu mode='host-passthrough' check='none' migratable='on'>\n"
        "    <topology sockets='1' dies='1' cores='8' threads='2'/>\n"
        "    <maxphysaddr mode='passthrough' limit='39'/>\n"
        "  </cpu>\n"
        "  <devices>\n"
        "    <controller type='usb' index='0' model='qemu-xhci'/>\n"
        "    <controller type='pci' index='0' model='pcie-root'>\n"
        "      <pcihole64 unit='GiB'>64</pcihole64>\n"
        "    </controller>\n"
        "    <hostdev mode='subsystem' type='pci' managed='yes'>\n"
        "      <source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source>\n"
        "      <address type='pci' domain='0x0000' bus='0x05' slot='0x00' function='0x0'/>\n"
        "    </hostdev>\n"
        "    <hostdev mode='subsystem' type='usb' managed='yes'>\n"
        "      <source><vendor id='0x046d'/><product id='0xc52b'/></source>\n"
        "    </hostdev>\n"
        "    <interface type='hostdev' managed='yes'>\n"
        "      <source><address type='pci' domain='0x0000' bus='0x3b' slot='0x02' function='0x1'/></source>\n"
        "    </interface>\n"
        "    <interface type='network'><source network='default'/></interface>\n"
        "    <iommu model='intel'><driver intremap='on' caching_mode='on' aw_bits='39'/></iommu>\n"
        "  </devices>\n"
        "  <qemu:commandline>\n"
        "    <qemu:arg value='-machine'/>\n"
        "    <qemu:arg value='max-ram-below-4g=2G'/>\n"
        "  </qemu:commandline>\n"
        "</domain>\n";

static void test_good_xml(void) {
        _cleanup_(vmspec_freep) VmSpec *s = NULL;
        _cleanup_free_ char *error = NULL;

        ok(vmspec_parse(good_xml, strlen(good_xml), &s, &error) == 0, "a full domain XML parses");
        if (!s) {
                printf("# %s\n", strna(error));
                return;
        }
        is_str(s->name, "win11", "name");
        is_str(s->arch, "x86_64", "arch");
        is_int(s->machine.family, MACHINE_Q35, "machine family");
        ok(s->machine.major == 8 && s->machine.minor == 2, "machine version 8.2");
        is_u64(s->memory, 32 * GiB, "<memory unit='GiB'>");
        is_u64(s->current_memory, 16384 * MiB, "<currentMemory unit='MiB'>");
        is_u64(s->max_memory, 64 * GiB, "<maxMemory> in KiB");
        is_int(s->memory_slots, 16, "<maxMemory slots>");
        is_int(s->cpu_mode, CPU_MODE_HOST_PASSTHROUGH, "cpu mode");
        ok(s->host_phys_bits && s->phys_bits_limit == 39 && s->phys_bits == -1, "<maxphysaddr mode='passthrough' limit>");
        ok(s->has_pci_hole64_size && s->pci_hole64_size == 64 * GiB, "<pcihole64 unit='GiB'>");
        ok(s->viommu == VIOMMU_INTEL && s->viommu_aw_bits == 39, "<iommu model='intel'><driver aw_bits>");
        ok(s->has_max_ram_below_4g && s->max_ram_below_4g == 2 * GiB, "-machine max-ram-below-4g in qemu:commandline");
        is_int(s->n_hostdevs, 2, "PCI hostdevs and interface hostdevs, not USB");
        if (s->n_hostdevs == 2) {
                is_str(s->hostdevs[0].address, "0000:01:00.0", "hostdev source address, not the guest address");
                is_str(s->hostdevs[1].address, "0000:3b:02.1", "interface type='hostdev'");
        }
}

/* issue 13: the guest topology, the firmware and OVMF's window as read from the XML. */
static void test_guest_xml(void) {
        static const char xml[] =
                "<domain xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><name>g</name><memory>4</memory>"
                "<os><type arch='x86_64' machine='q35'>hvm</type><loader type='rom'>/x/OVMF_CODE.fd</loader></os>"
                "<devices><controller type='pci' model='pcie-root'/>"
                "<controller type='pci' index='2' model='pcie-to-pci-bridge'><address type='pci' bus='0x01' "
                "slot='0' function='0'/></controller>"
                "<controller type='pci' model='pcie-root-port'/>"
                "<controller type='pci' index='1' model='ioh4242'/>"
                "<hostdev mode='subsystem' type='pci'><source><address bus='1' slot='0' function='0'/></source>"
                "<address type='pci' domain='0x0000' bus='0x02' slot='0x01' function='0x0'/></hostdev>"
                "<hostdev mode='subsystem' type='pci'><source><address bus='1' slot='0' function='1'/></source>"
                "<address type='pci' domain='0' bus='0' slot='0' function='0'/></hostdev>"
                "<interface type='hostdev'><source><address type='pci' bus='3' slot='0' function='0'/></source>"
                "<address type='pci' bus='2' slot='2'/></interface>"
                "</devices><qemu:commandline><qemu:arg value='-fw_cfg'/>"
                "<qemu:arg value='name=opt/ovmf/X-PciMmio64Mb,string=131072'/></qemu:commandline></domain>";
        _cleanup_(vmspec_freep) VmSpec *s = NULL;
        _cleanup_free_ char *error = NULL;

        if (vmspec_parse(xml, strlen(xml), &s, &error) < 0) {
                ok(false, "guest XML parses: %s", strna(error));
                return;
        }
        ok(s->efi, "an OVMF loader means UEFI");
        ok(s->ovmf_mmio64_size == UINT64_C(128) << 30, "X-PciMmio64Mb=131072 is 128 GiB");
        is_int((int) s->n_controllers, 3, "root, bridge and the unknown model; the root port without index is left out");
        is_int(s->controllers[0].model, PCI_CONTROLLER_PCIE_ROOT, "  pcie-root, index 0 by default");
        is_int(s->controllers[1].model, PCI_CONTROLLER_PCIE_TO_PCI_BRIDGE, "  the bridge");
        ok(s->controllers[1].address.set && s->controllers[1].address.bus == 1, "  on bus 1");
        is_int(s->controllers[2].model, PCI_CONTROLLER_OTHER, "  an unknown model is kept as other");
        ok(s->hostdevs[0].guest.set && s->hostdevs[0].guest.bus == 2 && s->hostdevs[0].guest.slot == 1,
           "hostdev 0 at 02:01.0");
        ok(!s->hostdevs[1].guest.set, "an all-zero address is left to libvirt");
        ok(s->hostdevs[2].interface && s->hostdevs[2].guest.set && s->hostdevs[2].guest.slot == 2,
           "the interface's own address");
}

static void test_memory_limits_xml(void) {
        static const char xml[] =
                "<domain><name>m</name><memory unit='GiB'>8</memory><maxMemory slots='4' unit='GiB'>64</maxMemory>"
                "<memtune><hard_limit unit='GiB'>9</hard_limit></memtune>"
                "<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>"
                "<memory model='virtio-mem'><target><size unit='GiB'>16</size><block unit='MiB'>2</block>"
                "<requested unit='MiB'>3</requested></target></memory>"
                "<memory model='virtio-mem'><target><size unit='GiB'>8</size><block unit='MiB'>8</block>"
                "</target></memory>"
                "<memory model='dimm'><target><size unit='GiB'>1</size></target></memory>"
                "</devices></domain>";
        static const char unlimited[] =
                "<domain><name>m</name><memory unit='GiB'>8</memory>"
                "<memtune><hard_limit unit='KiB'>9007199254740991</hard_limit></memtune>"
                "<os><type arch='x86_64' machine='q35'>hvm</type></os></domain>";
        _cleanup_(vmspec_freep) VmSpec *s = NULL, *u = NULL;
        _cleanup_free_ char *error = NULL;

        if (vmspec_parse(xml, strlen(xml), &s, &error) < 0) {
                ok(false, "memory limits XML parses: %s", strna(error));
                return;
        }
        ok(s->has_hard_limit && s->hard_limit == 9 * GiB, "hard_limit 9 GiB");
        ok(s->virtio_mem_blocks == 8192 + 1024, "virtio-mem blocks add up over devices (%" PRIu64 ")",
           s->virtio_mem_blocks);
        ok(s->virtio_mem_requested_blocks == 2, "3 MiB requested in 2 MiB blocks plug 2");
        ok(s->virtio_mem_size == 24 * GiB, "virtio-mem sizes add up");
        is_int((int) s->n_dimms, 1, "one DIMM");
        ok(vmspec_parse(unlimited, strlen(unlimited), &u, &error) == 0 && !u->has_hard_limit,
           "libvirt's 'unlimited' hard_limit is no limit");
}

static void test_defaults(void) {
        static const char xml[] = "<domain><name>d</name><memory>1048576</memory>"
                                  "<os><type machine='pc-i440fx-2.12'>hvm</type></os><cpu><topology sockets='1'/>"
                                  "</cpu></domain>";
        static const char xml_model[] = "<domain><name>d</name><memory unit='b'>1000</memory>"
                                        "<os><type arch='aarch64' machine='virt'>hvm</type></os>"
                                        "<cpu><model>EPYC</model></cpu></domain>";
        _cleanup_(vmspec_freep) VmSpec *s = NULL, *t = NULL;
        _cleanup_free_ char *error = NULL;

        ok(vmspec_parse_domain_xml(xml, strlen(xml), &s, &error) == 0, "a minimal domain parses");
        if (s) {
                is_u64(s->memory, GiB, "memory defaults to KiB");
                is_u64(s->current_memory, GiB, "currentMemory defaults to memory");
                is_int(s->cpu_mode, CPU_MODE_DEFAULT, "<cpu> with only a topology keeps QEMU's default model");
                is_str(s->arch, "x86_64", "arch defaults from the machine family");
                ok(!s->has_pci_hole64_size && !s->has_max_ram_below_4g && s->viommu == VIOMMU_NONE, "no knobs set");
        }
        ok(vmspec_parse_domain_xml(xml_model, strlen(xml_model), &t, &error) == 0, "virt with a model parses");
        if (t) {
                is_u64(t->memory, 1024, "libvirt rounds memory up to whole KiB");
                is_int(t->cpu_mode, CPU_MODE_CUSTOM, "a <model> without mode is custom");
                is_int(t->machine.family, MACHINE_VIRT, "virt");
                ok(t->machine.major < 0, "an alias has no version");
        }
}

/* <domain type=> and the JSON "type": the accelerator decides a named model's vCPU vendor (layout.c). */
#define X86_OS "<os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>"
static void test_accel(void) {
        static const struct {
                const char *spec;
                VmAccel accel;
        } cases[] = {
                { "<domain type='kvm'><name>d</name><memory>1</memory>" X86_OS "</domain>", VM_ACCEL_KVM },
                { "<domain type='qemu'><name>d</name><memory>1</memory>" X86_OS "</domain>", VM_ACCEL_TCG },
                { "<domain type='hvf'><name>d</name><memory>1</memory>" X86_OS "</domain>", VM_ACCEL_HVF },
                { "<domain type='test'><name>d</name><memory>1</memory>" X86_OS "</domain>", VM_ACCEL_OTHER },
                { "<domain><name>d</name><memory>1</memory>" X86_OS "</domain>", VM_ACCEL_KVM },
                { "{\"machine\": \"q35\", \"memory\": 4096}", VM_ACCEL_KVM },
                { "{\"machine\": \"q35\", \"memory\": 4096, \"type\": \"qemu\"}", VM_ACCEL_TCG },
                { "{\"machine\": \"q35\", \"memory\": 4096, \"type\": \"hvf\"}", VM_ACCEL_HVF },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(vmspec_freep) VmSpec *s = NULL;
                _cleanup_free_ char *error = NULL;
                int r = vmspec_parse(cases[i].spec, strlen(cases[i].spec), &s, &error);

                ok(r == 0 && s->accel == cases[i].accel, "accelerator %d of %s (%s)", (int) cases[i].accel,
                   cases[i].spec, strna(error));
        }
        is_str(vm_accel_to_string(VM_ACCEL_TCG), "qemu", "TCG is libvirt's type='qemu'");
        ok(!vm_accel_to_string(VM_ACCEL_OTHER), "other types have no name of their own");
}

static void test_units(void) {
        uint64_t v = 0;

        ok(parse_libvirt_size("3", "GiB", &v) == 0 && v == 3 * GiB, "GiB");
        ok(parse_libvirt_size("3", "g", &v) == 0 && v == 3 * GiB, "g (case-insensitive, binary)");
        ok(parse_libvirt_size("3", "GB", &v) == 0 && v == 3000000000, "GB is decimal");
        ok(parse_libvirt_size("5", "bytes", &v) == 0 && v == 5, "bytes");
        ok(parse_libvirt_size("7", NULL, &v) == 0 && v == 7 * 1024, "no unit: KiB");
        ok(parse_libvirt_size("2", "TiB", &v) == 0 && v == 2 * 1024 * GiB, "TiB");
        ok(parse_libvirt_size("16", "EiB", &v) == -ERANGE, "16 EiB overflows");
        ok(parse_libvirt_size("1", "XB", &v) == -EINVAL, "unknown unit");
        ok(parse_libvirt_size("1", "KiBB", &v) == -EINVAL, "trailing unit garbage");
        ok(parse_libvirt_size("-1", "KiB", &v) < 0, "negative");
        ok(parse_libvirt_size("1.5", "GiB", &v) < 0, "libvirt has no fractions");

        ok(parse_qemu_size("2G", &v) == 0 && v == 2 * GiB, "qemu 2G");
        ok(parse_qemu_size("2048M", &v) == 0 && v == 2 * GiB, "qemu 2048M");
        ok(parse_qemu_size("0x80000000", &v) == 0 && v == 2 * GiB, "qemu hex");
        ok(parse_qemu_size("1.5G", &v) == 0 && v == 3 * GiB / 2, "qemu fraction");
        ok(parse_qemu_size("4096", &v) == 0 && v == 4096, "qemu bytes");
        ok(parse_qemu_size("2X", &v) == -EINVAL, "qemu unknown suffix");
        ok(parse_qemu_size("-1G", &v) == -EINVAL, "qemu negative");
        ok(parse_qemu_size("", &v) == -EINVAL, "qemu empty");
        ok(parse_qemu_size("16E", &v) == -ERANGE, "qemu overflow");
}

static void test_machine_types(void) {
        static const struct {
                const char *name;
                int family, major, minor;
        } good[] = {
                { "pc-q35-7.2", MACHINE_Q35, 7, 2 },    { "q35", MACHINE_Q35, -1, -1 },
                { "pc-i440fx-2.12", MACHINE_I440FX, 2, 12 }, { "pc-1.7", MACHINE_I440FX, 1, 7 },
                { "pc", MACHINE_I440FX, -1, -1 },       { "virt-8.2", MACHINE_VIRT, 8, 2 },
                { "pc-q35-rhel9.4.0", MACHINE_Q35, -1, -1 },
        };
        static const char *const bad[] = { "microvm", "pc-q35-", "pc-q35-7", "pc-q35-7.2.1", "isapc", "", "virt-x" };

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                MachineType m = {};
                ok(machine_type_parse(good[i].name, &m) == 0 && (int) m.family == good[i].family &&
                           m.major == good[i].major && m.minor == good[i].minor,
                   "machine type %s", good[i].name);
                free(m.name);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                MachineType m = {};
                ok(machine_type_parse(bad[i], &m) == -EINVAL, "machine type '%s' refused", bad[i]);
        }
        {
                MachineType m = { .major = 7, .minor = 1 };
                ok(machine_type_at_least(&m, 7, 1) && !machine_type_at_least(&m, 7, 2) &&
                           machine_type_at_least(&m, 6, 9),
                   "machine_type_at_least");
        }

        is_str(cpu_model_vendor("EPYC-Rome-v2"), "AuthenticAMD", "EPYC-Rome-v2 is AMD");
        is_str(cpu_model_vendor("qemu64"), "AuthenticAMD", "qemu64 reports AuthenticAMD");
        is_str(cpu_model_vendor("Skylake-Server-v4"), "GenuineIntel", "Skylake is Intel");
        is_str(cpu_model_vendor("Dhyana"), "HygonGenuine", "Dhyana is Hygon");
        is_str(cpu_model_vendor("SomethingNew"), NULL, "unknown models have no vendor");
}

/* managed= as libvirt reads it: only "yes" makes libvirt detach the device; omitted is "no". JSON specs
 * are not libvirt's and default to managed. */
static void test_managed(void) {
        static const char xml[] =
                "<domain><name>m</name><memory unit='GiB'>4</memory>"
                "<os><type arch='x86_64' machine='pc-q35-8.2'>hvm</type></os><devices>"
                "<hostdev mode='subsystem' type='pci' managed='yes'><source>"
                "<address domain='0' bus='1' slot='0' function='0'/></source></hostdev>"
                "<hostdev mode='subsystem' type='pci' managed='no'><source>"
                "<address domain='0' bus='2' slot='0' function='0'/></source></hostdev>"
                "<hostdev mode='subsystem' type='pci'><source>"
                "<address domain='0' bus='3' slot='0' function='0'/></source></hostdev>"
                "<interface type='hostdev' managed='yes'><source>"
                "<address type='pci' domain='0' bus='4' slot='0' function='1'/></source></interface>"
                "<interface type='hostdev'><source>"
                "<address type='pci' domain='0' bus='4' slot='0' function='2'/></source></interface>"
                "</devices></domain>";
        static const char json[] =
                "{\"machine\": \"q35\", \"memory\": \"4G\", \"hostdevs\": [\"01:00.0\", "
                "{\"address\": \"02:00.0\", \"managed\": false}, {\"address\": \"03:00.0\", \"managed\": true}]}";
        _cleanup_(vmspec_freep) VmSpec *s = NULL, *j = NULL;
        _cleanup_free_ char *error = NULL;

        ok(vmspec_parse(xml, strlen(xml), &s, &error) == 0, "managed: the XML parses");
        if (!s || s->n_hostdevs != 5) {
                printf("# %s\n", strna(error));
                return;
        }
        ok(s->hostdevs[0].managed, "managed='yes'");
        ok(!s->hostdevs[1].managed, "managed='no'");
        ok(!s->hostdevs[2].managed, "managed omitted is 'no', as libvirt reads it");
        ok(s->hostdevs[3].managed, "<interface type='hostdev' managed='yes'>");
        ok(!s->hostdevs[4].managed, "<interface type='hostdev'> without managed");

        ok(vmspec_parse(json, strlen(json), &j, &error) == 0, "managed: the JSON parses");
        if (!j || j->n_hostdevs != 3)
                return;
        ok(j->hostdevs[0].managed && !j->hostdevs[1].managed && j->hostdevs[2].managed,
           "JSON: managed by default, \"managed\": false and true");
}

static void test_good_json(void) {
        static const char json[] =
                "\xef\xbb\xbf  {\n"
                "  \"name\": \"spec\",\n"
                "  \"machine\": \"pc-q35-9.2\",\n"
                "  \"memory\": \"1024GiB\",\n"
                "  \"max_memory\": 2199023255552,\n"
                "  \"memory_slots\": 8,\n"
                "  \"cpu\": { \"mode\": \"custom\", \"model\": \"EPYC-Genoa\", \"phys_bits\": 48 },\n"
                "  \"iommu\": { \"model\": \"virtio\" },\n"
                "  \"pci_hole64_size\": \"128G\",\n"
                "  \"max_ram_below_4g\": \"2GiB\",\n"
                "  \"hostdevs\": [ \"0000:41:00.0\", { \"address\": \"41:00.1\", \"hotplug\": true } ]\n"
                "}\n";
        _cleanup_(vmspec_freep) VmSpec *s = NULL;
        _cleanup_free_ char *error = NULL;

        ok(vmspec_parse(json, strlen(json), &s, &error) == 0, "a full JSON spec parses (with BOM and blanks)");
        if (!s) {
                printf("# %s\n", strna(error));
                return;
        }
        is_u64(s->memory, 1024 * GiB, "memory string");
        is_u64(s->max_memory, 2048 * GiB, "max_memory number");
        ok(s->cpu_mode == CPU_MODE_CUSTOM && streq_ptr(s->cpu_model, "EPYC-Genoa") && s->phys_bits == 48, "cpu");
        is_int(s->viommu, VIOMMU_VIRTIO, "iommu");
        ok(s->has_pci_hole64_size && s->pci_hole64_size == 128 * GiB, "pci_hole64_size");
        ok(s->has_max_ram_below_4g && s->max_ram_below_4g == 2 * GiB, "max_ram_below_4g");
        is_int(s->n_hostdevs, 2, "hostdevs");
        if (s->n_hostdevs == 2)
                ok(streq(s->hostdevs[1].address, "0000:41:00.1") && s->hostdevs[1].hotplug && !s->hostdevs[0].hotplug,
                   "hostdev object with hotplug, domain added");
}

typedef struct BadCase {
        const char *input;
        int error;
        const char *message; /* a substring the error message must contain */
} BadCase;

#define DOM(body) "<domain><name>x</name><memory unit='GiB'>4</memory>" body "</domain>"
#define OS "<os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>"
#define HOSTDEV(addr) "<hostdev mode='subsystem' type='pci'><source><address " addr "/></source></hostdev>"

static const BadCase bad[] = {
        { "<domain><name>x</name>", -EINVAL, "not well-formed" },
        { "<vm/>", -EINVAL, "not <domain>" },
        { "<!DOCTYPE domain [<!ENTITY a 'b'>]><domain/>", -EINVAL, "DOCTYPE" },
        { "<domain><memory>1</memory>" OS "</domain>", -EINVAL, "<name> is missing" },
        { "<domain><name>x</name>" OS "</domain>", -EINVAL, "<memory> is missing" },
        { "<domain><name>x</name><memory unit='XB'>4</memory>" OS "</domain>", -EINVAL, "<memory unit='XB'>" },
        { "<domain><name>x</name><memory>4</memory><memory>5</memory>" OS "</domain>", -EINVAL,
          "<memory> appears more than once" },
        { "<domain><name>x</name><memory>0</memory>" OS "</domain>", -EINVAL, "memory size is 0" },
        { DOM("<currentMemory unit='GiB'>8</currentMemory>" OS), -EINVAL, "currentMemory" },
        { DOM("<maxMemory unit='GiB'>8</maxMemory>" OS), -EINVAL, "attribute slots is missing" },
        { DOM(""), -EINVAL, "<os><type> is missing" },
        { DOM("<os><type arch='x86_64'>hvm</type></os>"), -EINVAL, "<os><type machine=...> is missing" },
        { DOM("<os><type arch='x86_64' machine='microvm'>hvm</type></os>"), -EINVAL, "'microvm'" },
        { DOM("<os><type arch='aarch64' machine='pc-q35-7.2'>hvm</type></os>"), -EINVAL,
          "does not exist for architecture" },
        { DOM("<os><type arch='s390x' machine='virt'>hvm</type></os>"), -EINVAL, "'s390x' is not supported" },
        { "<domain type=''><name>x</name><memory>4</memory>" OS "</domain>", -EINVAL, "<domain type=''>" },
        { DOM(OS "<cpu mode='bogus'/>"), -EINVAL, "<cpu mode='bogus'>" },
        { DOM(OS "<cpu><maxphysaddr mode='x'/></cpu>"), -EINVAL, "<cpu><maxphysaddr mode='x'>" },
        { DOM(OS "<cpu><maxphysaddr mode='emulate'/></cpu>"), -EINVAL, "attribute bits is missing" },
        { DOM(OS "<cpu><maxphysaddr mode='emulate' bits='99'/></cpu>"), -EINVAL, "phys-bits 99" },
        { DOM(OS "<devices>" HOSTDEV("domain='0' bus='0x100' slot='0' function='0'") "</devices>"), -EINVAL,
          "bus='0x100'" },
        { DOM(OS "<devices>" HOSTDEV("bus='1' function='0'") "</devices>"), -EINVAL, "attribute slot is missing" },
        { DOM(OS "<devices>" HOSTDEV("bus='1' slot='0x20' function='0'") "</devices>"), -EINVAL, "slot='0x20'" },
        { DOM(OS "<devices>" HOSTDEV("bus='1' slot='zero' function='0'") "</devices>"), -EINVAL, "slot='zero'" },
        { DOM(OS "<devices>" HOSTDEV("bus='1' slot='0' function='0'") HOSTDEV("bus='0x1' slot='0' function='0'")
                  "</devices>"),
          -EINVAL, "0000:01:00.0 is listed twice" },
        { DOM(OS "<devices><hostdev mode='subsystem' type='pci'/></devices>"), -EINVAL, "has no <source>" },
        { DOM(OS "<devices><hostdev mode='subsystem' type='pci' managed='true'><source><address bus='1' "
                 "slot='0' function='0'/></source></hostdev></devices>"),
          -EINVAL, "managed='true' is neither 'yes' nor 'no'" },
        { DOM(OS "<devices><interface type='hostdev' managed=''><source><address type='pci' bus='1' "
                 "slot='0' function='0'/></source></interface></devices>"),
          -EINVAL, "<interface type='hostdev'>: managed='' is neither" },
        /* Mapping and locked-memory limits (dma-limits.c) */
        { DOM(OS "<memtune><hard_limit unit='QiB'>4</hard_limit></memtune>"), -EINVAL, "<hard_limit unit='QiB'>" },
        { DOM(OS "<memtune><hard_limit>1</hard_limit><hard_limit>2</hard_limit></memtune>"), -EINVAL,
          "<memtune><hard_limit> appears more than once" },
        { DOM(OS "<devices><memory model='virtio-mem'><target><size unit='GiB'>4</size></target></memory></devices>"),
          -EINVAL, "needs <size> and <block>" },
        { DOM(OS "<devices><memory model='virtio-mem'/></devices>"), -EINVAL, "needs <size> and <block>" },
        { DOM(OS "<devices><memory model='virtio-mem'><target><size unit='MiB'>12</size><block unit='MiB'>3</block>"
                 "</target></memory></devices>"), -EINVAL, "must be a power of two" },
        { DOM(OS "<devices><memory model='virtio-mem'><target><size unit='MiB'>12</size><block unit='MiB'>8</block>"
                 "</target></memory></devices>"), -EINVAL, "must be a power of two dividing size" },
        { DOM(OS "<devices><memory model='virtio-mem'><target><size unit='MiB'>16</size><block unit='MiB'>2</block>"
                 "<requested unit='MiB'>32</requested></target></memory></devices>"), -EINVAL, "at most the size" },
        { DOM(OS "<devices><memory model='virtio-mem'><target><size unit='MiB'>16</size><block unit='MiB'>0</block>"
                 "</target></memory></devices>"), -EINVAL, "must be a power of two" },
        /* Firmware and OVMF's window (bar-window.c) */
        { DOM("<os firmware='uefi'><type arch='x86_64' machine='q35'>hvm</type></os>"), -EINVAL,
          "<os firmware='uefi'> is neither" },
        { DOM("<os><type arch='x86_64' machine='q35'>hvm</type><loader/><loader/></os>"), -EINVAL,
          "<os><loader> appears more than once" },
        { "<domain xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><name>x</name><memory>4</memory>" OS
          "<qemu:commandline><qemu:arg value='-fw_cfg'/><qemu:arg value='name=opt/ovmf/X-PciMmio64Mb,string=lots'/>"
          "</qemu:commandline></domain>",
          -EINVAL, "X-PciMmio64Mb,string=lots is not a size" },
        { "<domain xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><name>x</name><memory>4</memory>" OS
          "<qemu:commandline><qemu:arg value='-fw_cfg'/><qemu:arg value='name=opt/ovmf/X-PciMmio64Mb,string=0'/>"
          "</qemu:commandline></domain>",
          -EINVAL, "X-PciMmio64Mb,string=0 is not a size" },
        /* The guest topology (guest-topology.c) */
        { DOM(OS "<devices><controller type='pci' index='1' model='pcie-root-port'/>"
              "<controller type='pci' index='1' model='pcie-to-pci-bridge'/></devices>"), -EINVAL,
          "index 1 is listed twice" },
        { DOM(OS "<devices><controller type='pci' index='256' model='pcie-root-port'/></devices>"), -EINVAL,
          "index='256'" },
        { DOM(OS "<devices><controller type='pci' index='x' model='pcie-root-port'/></devices>"), -EINVAL,
          "index='x'" },
        { DOM(OS "<devices><controller type='pci' index='3' model='pcie-root'/></devices>"), -EINVAL,
          "index 0 for the root bus" },
        { DOM(OS "<devices><controller type='pci' index='0' model='pcie-root-port'/></devices>"), -EINVAL,
          "index 0 for the root bus" },
        { DOM(OS "<devices><controller type='pci' index='1' model='pcie-root-port'><address type='pci' "
              "bus='0' slot='0x20'/></controller></devices>"), -EINVAL, "slot='0x20'" },
        { DOM(OS "<devices><hostdev mode='subsystem' type='pci'><source><address bus='1' slot='0' function='0'/>"
              "</source><address type='pci' bus='0x100' slot='1'/></hostdev></devices>"), -EINVAL, "bus='0x100'" },
        { DOM(OS "<devices><hostdev mode='subsystem' type='pci'><source><address bus='1' slot='0' function='0'/>"
              "</source><address type='pci' domain='1' bus='1' slot='1'/></hostdev></devices>"), -EINVAL,
          "domain='1'" },
        { DOM(OS "<devices><hostdev mode='subsystem' type='pci'><source><address bus='1' slot='0' function='0'/>"
              "</source><address type='pci' bus='1' function='9'/></hostdev></devices>"), -EINVAL, "function='9'" },
        { DOM(OS "<devices><hostdev mode='subsystem' type='pci'><source><address bus='1' slot='0' function='0'/>"
              "</source><address type='pci' bus='1'/><address type='pci' bus='2'/></hostdev></devices>"), -EINVAL,
          "<address> appears more than once" },
        { DOM(OS "<devices><iommu model='foo'/></devices>"), -EINVAL, "<iommu model='foo'>" },
        { DOM(OS "<devices><iommu model='intel'/><iommu model='intel'/></devices>"), -EINVAL, "more than once" },
        { DOM(OS "<devices><controller type='pci' model='pcie-root'><pcihole64 unit='QiB'>1</pcihole64>"
                 "</controller></devices>"),
          -EINVAL, "<pcihole64 unit='QiB'>" },
        { "<domain xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><name>x</name><memory>4</memory>" OS
          "<qemu:commandline><qemu:arg value='-machine'/><qemu:arg value='max-ram-below-4g=5G'/>"
          "</qemu:commandline></domain>",
          -EINVAL, "exceeds 4G" },
        { "<domain xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><name>x</name><memory>4</memory>" OS
          "<qemu:commandline><qemu:arg value='-M'/><qemu:arg value='q35,max-ram-below-4g=lots'/>"
          "</qemu:commandline></domain>",
          -EINVAL, "max-ram-below-4g=lots is not a size" },
        { "<domain xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><name>x</name><memory>4</memory>" OS
          "<qemu:commandline><qemu:arg value='-machine'/></qemu:commandline></domain>",
          -EINVAL, "ends with -machine" },

        { "{", -EINVAL, "not valid JSON" },
        { "{} x", -EINVAL, "at offset 3" },
        { "{\"memory\": \"4GiB\"}", -EINVAL, "\"machine\" is missing" },
        { "{\"machine\": \"q35\"}", -EINVAL, "\"memory\" is missing" },
        { "{\"machine\": \"q35\", \"memory\": \"4GiB\", \"colour\": 1}", -EINVAL, "unknown key \"colour\"" },
        { "{\"machine\": 35, \"memory\": \"4GiB\"}", -EINVAL, "\"machine\" must be a string" },
        { "{\"machine\": \"q35\", \"memory\": -4}", -EINVAL, "cannot be negative" },
        { "{\"machine\": \"q35\", \"memory\": \"4 GiB\"}", -EINVAL, "\"4 GiB\" is not a size" },
        { "{\"machine\": \"q35\", \"memory\": \"GiB\"}", -EINVAL, "is not a size" },
        { "{\"machine\": \"q35\", \"memory\": true}", -EINVAL, "\"memory\" must be a number" },
        { "{\"machine\": \"q35\", \"memory\": 4096, \"cpu\": {\"mode\": \"fast\"}}", -EINVAL, "\"fast\"" },
        { "{\"machine\": \"q35\", \"memory\": 4096, \"cpu\": {\"vendor\": \"Intel\"}}", -EINVAL, "CPUID vendor" },
        { "{\"machine\": \"q35\", \"memory\": 4096, \"type\": \"tcg\"}", -EINVAL, "\"tcg\" is not a libvirt" },
        { "{\"machine\": \"q35\", \"memory\": 4096, \"type\": 1}", -EINVAL, "\"type\" must be a string" },
        { "{\"machine\": \"q35\", \"memory\": 4096, \"cpu\": {\"mode\": \"custom\"}}", -EINVAL, "needs \"cpu.model\"" },
        { "{\"machine\": \"q35\", \"memory\": 4096, \"cpu\": {\"phys_bits\": 20}}", -EINVAL, "outside 32..52" },
        { "{\"machine\": \"q35\", \"memory\": 4096, \"hostdevs\": [\"01:00\"]}", -EINVAL, "\"01:00\" is not a PCI" },
        { "{\"machine\": \"q35\", \"memory\": 4096, \"hostdevs\": [{\"hotplug\": true}]}", -EINVAL, "no \"address\"" },
        { "{\"machine\": \"q35\", \"memory\": 4096, \"hostdevs\": \"01:00.0\"}", -EINVAL, "must be an array" },
        { "{\"machine\": \"q35\", \"memory\": 4096, \"hostdevs\": [{\"address\": \"01:00.0\", \"managed\": \"no\"}]}",
          -EINVAL, "\"hostdevs[0].managed\" must be true or false" },
        { "{\"machine\": \"q35\", \"memory\": 4096, \"iommu\": {\"aw_bits\": 48}}", -EINVAL, "without a vIOMMU" },
        { "{\"machine\": \"q35\", \"memory\": 4096, \"max_memory\": 8192}", -EINVAL, "needs \"memory_slots\"" },
        { "{\"machine\": \"q35\", \"memory\": \"8EiB\"}", -EINVAL, "exceeds 4 PiB" },
        { "{\"machine\": \"q35\", \"memory\": 4096, \"max_ram_below_4g\": \"5GiB\"}", -EINVAL, "exceeds 4 GiB" },
        { "{\"machine\": \"q35\", \"memory\": 4096, \"firmware\": \"uefi\"}", -EINVAL, "not \"efi\" or \"bios\"" },
        { "{\"machine\": \"q35\", \"memory\": 4096, \"firmware\": 1}", -EINVAL, "\"firmware\" must be a string" },
        { "{\"machine\": \"q35\", \"memory\": 4096, \"ovmf_mmio64_size\": 0}", -EINVAL, "1 MiB .. 4 PiB" },
        { "{\"machine\": \"q35\", \"memory\": 4096, \"hard_limit\": 0}", -EINVAL, "\"hard_limit\" must be" },
        { "{\"machine\": \"q35\", \"memory\": 4096, \"virtio_mem\": {}}", -EINVAL, "\"virtio_mem\" must be an array" },
        { "{\"machine\": \"q35\", \"memory\": 4096, \"virtio_mem\": [1]}", -EINVAL, "\"virtio_mem[0]\" must be an object" },
        { "{\"machine\": \"q35\", \"memory\": 4096, \"virtio_mem\": [{\"size\": \"1GiB\"}]}", -EINVAL,
          "\"virtio_mem[0]\": block 0 must be a power of two" },
        { "{\"machine\": \"q35\", \"memory\": 4096, \"virtio_mem\": [{\"size\": \"1GiB\", \"block\": \"3MiB\"}]}",
          -EINVAL, "must be a power of two dividing" },
        { "{\"machine\": \"q35\", \"memory\": 4096, \"virtio_mem\": [{\"size\": \"1GiB\", \"block\": \"2MiB\", "
          "\"requested\": \"2GiB\"}]}", -EINVAL, "at most the size" },
        { "{\"machine\": \"q35\", \"memory\": 4096, \"virtio_mem\": [{\"size\": \"1GiB\", \"node\": 0}]}", -EINVAL,
          "unknown key \"node\"" },
        { "[1, 2]", -EINVAL, "neither" },
        { "", -EINVAL, "neither" },
        { "hello", -EINVAL, "neither" },
};

static void test_bad(void) {
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_(vmspec_freep) VmSpec *s = NULL;
                _cleanup_free_ char *error = NULL;
                int r = vmspec_parse(bad[i].input, strlen(bad[i].input), &s, &error);

                if (!ok(r == bad[i].error && !s && error && strstr(error, bad[i].message), "refused: %s",
                        bad[i].message))
                        printf("#   r=%d error=%s\n", r, strna(error));
        }
}

static void test_limits(void) {
        _cleanup_free_ char *big = NULL, *many = NULL, *deep = NULL, *error = NULL;
        _cleanup_(vmspec_freep) VmSpec *s = NULL;
        size_t len = 0;
        FILE *f;

        big = malloc(VMSPEC_INPUT_MAX + 2);
        if (!big)
                tap_skip_all("out of memory");
        memset(big, ' ', VMSPEC_INPUT_MAX + 1);
        big[0] = '{';
        big[VMSPEC_INPUT_MAX + 1] = 0;
        ok(vmspec_parse(big, VMSPEC_INPUT_MAX + 1, &s, &error) == -EFBIG && error, "input above the limit: EFBIG");

        f = open_memstream(&many, &len);
        fputs("{\"machine\":\"q35\",\"memory\":4096,\"hostdevs\":[", f);
        for (unsigned i = 0; i <= VMSPEC_HOSTDEVS_MAX; i++)
                fprintf(f, "%s\"0000:%02x:%02x.%u\"", i ? "," : "", i / 32, i % 32, 0);
        fputs("]}", f);
        fclose(f);
        free(error);
        error = NULL;
        ok(vmspec_parse(many, len, &s, &error) == -E2BIG && error, "more than %u hostdevs: E2BIG",
           VMSPEC_HOSTDEVS_MAX);

        f = open_memstream(&deep, &len);
        fputs("{\"machine\":\"q35\",\"memory\":4096,\"cpu\":", f);
        for (unsigned i = 0; i < 100; i++)
                fputs("[", f);
        fclose(f);
        free(error);
        error = NULL;
        ok(vmspec_parse(deep, len, &s, &error) == -EINVAL && error, "deep nesting is refused");
}

int main(void) {
        test_good_xml();
        test_defaults();
        test_guest_xml();
        test_memory_limits_xml();
        test_accel();
        test_units();
        test_machine_types();
        test_managed();
        test_good_json();
        test_bad();
        test_limits();
        return tap_done();
}
