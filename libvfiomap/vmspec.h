/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the layout engine needs to know about one VM, read from a libvirt domain XML (`virsh dumpxml NAME`)
 * or from the small JSON spec of ../proto/vm-spec.md. Both are parsed strictly: an element or key the
 * layout depends on that cannot be understood is an error naming it, never a silent default, because a
 * guessed machine type or memory size would produce a confidently wrong layout.
 *
 * Everything is pure: buffers in, a VmSpec or a negative errno plus a message out. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rom.h"
#include "sysfs-parse.h"

/* Bounds on untrusted input (a hook gets the XML on stdin, the daemon over the bus). A real domain XML is a
 * few KiB; libvirt itself caps hostdevs far below this. */
#define VMSPEC_INPUT_MAX (4U * 1024U * 1024U)
#define VMSPEC_HOSTDEVS_MAX 256U
/* PCI controllers: libvirt's index is the guest bus number, 0..255 (virDomainControllerDef, PCI buses). */
#define VMSPEC_CONTROLLERS_MAX 256U
/* No size (memory, hole) may exceed 2^52, the widest physical address space of x86 and arm64. */
#define VMSPEC_SIZE_MAX (UINT64_C(1) << 52)

typedef enum MachineFamily {
        MACHINE_Q35,    /* pc-q35-X.Y, q35 */
        MACHINE_I440FX, /* pc-i440fx-X.Y, pc-X.Y, pc */
        MACHINE_VIRT,   /* ARM virt-X.Y, virt */
        _MACHINE_FAMILY_MAX,
        _MACHINE_FAMILY_INVALID = -EINVAL,
} MachineFamily;

const char *machine_family_to_string(MachineFamily f);

typedef struct MachineType {
        MachineFamily family;
        char *name;     /* as given: "pc-q35-7.2", "q35", "pc-q35-rhel9.4.0" */
        /* The QEMU version of a versioned machine type. -1 for an alias ("q35", "pc", "virt"), which QEMU
         * resolves to its newest version, and for downstream names whose rules vfiomap cannot know. */
        int major, minor;
        bool downstream; /* a distribution's machine type ("rhel"): treated like the newest upstream one */
} MachineType;

/* 1 when the machine type is at least major.minor (an alias is the newest, so always), 0 otherwise. */
bool machine_type_at_least(const MachineType *m, int major, int minor);

typedef enum CpuMode {
        CPU_MODE_DEFAULT,          /* no <cpu>: QEMU's default model, qemu64 on x86 */
        CPU_MODE_HOST_PASSTHROUGH, /* -cpu host */
        CPU_MODE_HOST_MODEL,       /* a named model close to the host's, same vendor */
        CPU_MODE_MAXIMUM,          /* -cpu max */
        CPU_MODE_CUSTOM,           /* a named model */
        _CPU_MODE_MAX,
        _CPU_MODE_INVALID = -EINVAL,
} CpuMode;

const char *cpu_mode_to_string(CpuMode m);
CpuMode cpu_mode_from_string(const char *s);

/* How QEMU runs the guest: libvirt's <domain type=>. It decides the vCPU vendor of named models: under KVM
 * and HVF QEMU replaces a model's vendor with the host's (target/i386/host-cpu.c, host_cpu_instance_init(),
 * called by kvm_cpu_instance_init() and hvf_cpu_instance_init() for every model, qemu64 included), TCG
 * keeps the model's. */
typedef enum VmAccel {
        VM_ACCEL_KVM,   /* type='kvm', and the JSON spec's default */
        VM_ACCEL_TCG,   /* type='qemu': QEMU's emulator */
        VM_ACCEL_HVF,   /* type='hvf': macOS Hypervisor.framework */
        VM_ACCEL_OTHER, /* a type of another libvirt driver ('test', 'xen'): no QEMU vendor rule known */
        _VM_ACCEL_MAX,
        _VM_ACCEL_INVALID = -EINVAL,
} VmAccel;

/* libvirt's names: "kvm", "qemu", "hvf" (VM_ACCEL_OTHER has none). */
const char *vm_accel_to_string(VmAccel a);
VmAccel vm_accel_from_string(const char *s);

typedef enum ViommuModel {
        VIOMMU_NONE,
        VIOMMU_INTEL,
        VIOMMU_SMMUV3,
        VIOMMU_VIRTIO,
        VIOMMU_AMD,
        _VIOMMU_MODEL_MAX,
        _VIOMMU_MODEL_INVALID = -EINVAL,
} ViommuModel;

const char *viommu_model_to_string(ViommuModel m);
ViommuModel viommu_model_from_string(const char *s);

/* Where a device sits in the guest: libvirt's <address type='pci' bus= slot= function=>, whose bus is the
 * index of the <controller type='pci'> that provides the bus. */
typedef struct VmGuestAddress {
        bool set;                      /* false: libvirt assigns it when the domain is defined */
        uint8_t bus, slot, function;
} VmGuestAddress;

/* libvirt's <controller type='pci' model=>: what the guest topology (guest-topology.h) needs to know. */
typedef enum PciControllerModel {
        PCI_CONTROLLER_PCI_ROOT,           /* i440fx's root bus, conventional */
        PCI_CONTROLLER_PCIE_ROOT,          /* q35's and virt's root complex */
        PCI_CONTROLLER_PCI_BRIDGE,         /* pci-bridge: conventional bus behind a conventional bridge */
        PCI_CONTROLLER_DMI_TO_PCI_BRIDGE,  /* i82801b11-bridge: conventional bus, bridge on the root bus */
        PCI_CONTROLLER_PCIE_ROOT_PORT,     /* ioh3420 / pcie-root-port: one PCIe link */
        PCI_CONTROLLER_PCIE_SWITCH_UPSTREAM_PORT,
        PCI_CONTROLLER_PCIE_SWITCH_DOWNSTREAM_PORT,
        PCI_CONTROLLER_PCI_EXPANDER_BUS,   /* pxb: a conventional extra root bus behind a device on bus 0 */
        PCI_CONTROLLER_PCIE_EXPANDER_BUS,  /* pxb-pcie: a PCIe extra root bus */
        PCI_CONTROLLER_PCIE_TO_PCI_BRIDGE, /* pcie-pci-bridge: conventional bus, PCIe-to-PCI bridge */
        PCI_CONTROLLER_OTHER,              /* a model this version does not know */
        _PCI_CONTROLLER_MODEL_MAX,
        _PCI_CONTROLLER_MODEL_INVALID = -EINVAL,
} PciControllerModel;

/* libvirt's model names ("pcie-root-port"); "other" for PCI_CONTROLLER_OTHER. */
const char *pci_controller_model_to_string(PciControllerModel m);
PciControllerModel pci_controller_model_from_string(const char *s);

typedef struct VmController {
        unsigned index;                /* <controller index=>: the number of the bus it provides */
        PciControllerModel model;
        VmGuestAddress address;        /* where the controller itself sits (unset for the root buses) */
} VmController;

typedef struct VmHostdev {
        char address[PCI_ADDRESS_MAX]; /* normalised "dddd:bb:ss.f" */
        VmGuestAddress guest;          /* the hostdev's own <address type='pci'> */
        bool interface;                /* XML: an <interface type='hostdev'>, not a <hostdev> */
        bool hotplug;                  /* JSON only: the device will be hot-added to a running guest */
        bool managed;                  /* libvirt detaches it from its host driver at start (managed='yes');
                                        * false: it must be on vfio-pci already (see vm-spec.md) */
        /* <rom bar= file= enabled=> (rom.h): -1 when absent, else 1 on/yes, 0 off/no */
        int rom_bar, rom_enabled;
        char *rom_file;                /* NULL when absent */
        RomFileState rom_file_state;   /* vmspec_probe_rom_files() */
        int iommufd;                   /* <driver iommufd=> (iommufd.h): 1 yes, 0 no, -1 absent */
} VmHostdev;

typedef struct VmSpec {
        char *name;
        char *arch;                    /* "x86_64", "i686", "aarch64" */
        VmAccel accel;                 /* <domain type=> */
        MachineType machine;

        uint64_t memory;               /* bytes: <memory>, everything QEMU allocates at start */
        uint64_t current_memory;       /* <currentMemory>: a balloon target, does not move anything */
        uint64_t max_memory;           /* <maxMemory>: the hotplug ceiling, 0 when absent */
        unsigned memory_slots;         /* <maxMemory slots=> */

        CpuMode cpu_mode;
        char *cpu_model;               /* <cpu><model>, NULL when none */
        char *cpu_vendor;              /* JSON "cpu": {"vendor"} override, NULL otherwise */
        int phys_bits;                 /* <maxphysaddr mode='emulate' bits=>, -1 when not set */
        int phys_bits_limit;           /* <maxphysaddr mode='passthrough' limit=>, -1 when not set */
        bool host_phys_bits;           /* <maxphysaddr mode='passthrough'> */

        ViommuModel viommu;
        int viommu_aw_bits;            /* <iommu><driver aw_bits=>, -1 for QEMU's default */

        bool has_pci_hole64_size;
        uint64_t pci_hole64_size;      /* <pcihole64>, bytes */
        bool has_max_ram_below_4g;
        uint64_t max_ram_below_4g;     /* -machine max-ram-below-4g= in <qemu:commandline> */

        /* What pins guest memory and how many DMA mappings it takes (dma-limits.c). */
        bool has_hard_limit;
        uint64_t hard_limit;           /* <memtune><hard_limit>, bytes */
        uint64_t virtio_mem_blocks;    /* <memory model='virtio-mem'>: the sum of <size>/<block> */
        uint64_t virtio_mem_requested_blocks; /* ... of <requested>/<block>: plugged at start */
        uint64_t virtio_mem_size;      /* the sum of their <size> */
        unsigned n_dimms;              /* <memory model='dimm'> (and nvdimm): a RAM section each */

        bool efi;                      /* <os firmware='efi'> or an OVMF/AAVMF <loader>: UEFI, not SeaBIOS */
        uint64_t ovmf_mmio64_size;     /* -fw_cfg name=opt/ovmf/X-PciMmio64Mb,string=N, bytes; 0 if unset */

        VmHostdev *hostdevs;
        size_t n_hostdevs;
        VmController *controllers;     /* <controller type='pci'>, in document order, indexes unique */
        size_t n_controllers;

        int iommufd;                   /* <iommufd enabled=> (iommufd.h): 1 yes, 0 no, -1 absent */
} VmSpec;

VmSpec *vmspec_free(VmSpec *s);
static inline void vmspec_freep(VmSpec **s) {
        if (*s)
                (void) vmspec_free(*s);
}

/* Auto-detects the format from the first non-blank byte ('<' XML, '{' JSON). On failure returns a negative
 * errno (-EINVAL for bad content, -EFBIG beyond VMSPEC_INPUT_MAX, -E2BIG beyond VMSPEC_HOSTDEVS_MAX,
 * -ENOMEM, -ELIBACC for XML when libxml2 cannot be loaded: libxml-dlopen.c) and, when ret_error is not NULL,
 * a malloc'd message naming the element or key at fault, or why libxml2 is missing. */
int vmspec_parse(const char *buf, size_t len, VmSpec **ret, char **ret_error);
int vmspec_parse_domain_xml(const char *buf, size_t len, VmSpec **ret, char **ret_error);
int vmspec_parse_json(const char *buf, size_t len, VmSpec **ret, char **ret_error);

/* Parses a machine type name; -EINVAL for families vfiomap does not model (microvm, isapc...). */
int machine_type_parse(const char *name, MachineType *ret);

/* "AuthenticAMD", "GenuineIntel", "HygonGenuine", "CentaurHauls" for a QEMU x86 CPU model name (versioned
 * names like "EPYC-Rome-v2" included), NULL when the model is unknown. */
const char *cpu_model_vendor(const char *model);

/* A size as libvirt reads it: value and unit ("KiB" by default; b, k/KiB, KB, M/MiB, MB ... E/EiB, EB;
 * case-insensitive like virScaleInteger()). -EINVAL for an unknown unit, -ERANGE on overflow. */
int parse_libvirt_size(const char *value, const char *unit, uint64_t *ret);
/* A size as QEMU reads a size property (qemu_strtosz: "2G", "2048M", "0x80000000", "1.5G"; bytes without
 * a suffix). */
int parse_qemu_size(const char *s, uint64_t *ret);
