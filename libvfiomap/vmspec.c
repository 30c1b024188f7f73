/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdarg.h>

#include "iommufd.h"
#include "util.h"
#include "vmspec.h"

#define QEMU_NS_URI "http://libvirt.org/schemas/domain/qemu/1.0"

static const char *const machine_family_table[_MACHINE_FAMILY_MAX] = {
        [MACHINE_Q35] = "q35",
        [MACHINE_I440FX] = "i440fx",
        [MACHINE_VIRT] = "virt",
};

const char *machine_family_to_string(MachineFamily f) {
        return f >= 0 && f < _MACHINE_FAMILY_MAX ? machine_family_table[f] : NULL;
}

static const char *const cpu_mode_table[_CPU_MODE_MAX] = {
        [CPU_MODE_DEFAULT] = "default",
        [CPU_MODE_HOST_PASSTHROUGH] = "host-passthrough",
        [CPU_MODE_HOST_MODEL] = "host-model",
        [CPU_MODE_MAXIMUM] = "maximum",
        [CPU_MODE_CUSTOM] = "custom",
};

const char *cpu_mode_to_string(CpuMode m) {
        return m >= 0 && m < _CPU_MODE_MAX ? cpu_mode_table[m] : NULL;
}

CpuMode cpu_mode_from_string(const char *s) {
        for (size_t i = 0; s && i < _CPU_MODE_MAX; i++)
                if (streq(s, cpu_mode_table[i]))
                        return (CpuMode) i;
        return _CPU_MODE_INVALID;
}

static const char *const vm_accel_table[_VM_ACCEL_MAX] = {
        [VM_ACCEL_KVM] = "kvm",
        [VM_ACCEL_TCG] = "qemu",
        [VM_ACCEL_HVF] = "hvf",
};

const char *vm_accel_to_string(VmAccel a) {
        return a >= 0 && a < _VM_ACCEL_MAX ? vm_accel_table[a] : NULL;
}

VmAccel vm_accel_from_string(const char *s) {
        for (size_t i = 0; s && i < _VM_ACCEL_MAX; i++)
                if (vm_accel_table[i] && streq(s, vm_accel_table[i]))
                        return (VmAccel) i;
        return _VM_ACCEL_INVALID;
}

static const char *const viommu_model_table[_VIOMMU_MODEL_MAX] = {
        [VIOMMU_NONE] = "none",
        [VIOMMU_INTEL] = "intel",
        [VIOMMU_SMMUV3] = "smmuv3",
        [VIOMMU_VIRTIO] = "virtio",
        [VIOMMU_AMD] = "amd",
};

const char *viommu_model_to_string(ViommuModel m) {
        return m >= 0 && m < _VIOMMU_MODEL_MAX ? viommu_model_table[m] : NULL;
}

ViommuModel viommu_model_from_string(const char *s) {
        for (size_t i = 0; s && i < _VIOMMU_MODEL_MAX; i++)
                if (streq(s, viommu_model_table[i]))
                        return (ViommuModel) i;
        return _VIOMMU_MODEL_INVALID;
}

/* libvirt's names (src/conf/domain_conf.c, virDomainControllerModelPCI). */
static const char *const pci_controller_model_table[_PCI_CONTROLLER_MODEL_MAX] = {
        [PCI_CONTROLLER_PCI_ROOT] = "pci-root",
        [PCI_CONTROLLER_PCIE_ROOT] = "pcie-root",
        [PCI_CONTROLLER_PCI_BRIDGE] = "pci-bridge",
        [PCI_CONTROLLER_DMI_TO_PCI_BRIDGE] = "dmi-to-pci-bridge",
        [PCI_CONTROLLER_PCIE_ROOT_PORT] = "pcie-root-port",
        [PCI_CONTROLLER_PCIE_SWITCH_UPSTREAM_PORT] = "pcie-switch-upstream-port",
        [PCI_CONTROLLER_PCIE_SWITCH_DOWNSTREAM_PORT] = "pcie-switch-downstream-port",
        [PCI_CONTROLLER_PCI_EXPANDER_BUS] = "pci-expander-bus",
        [PCI_CONTROLLER_PCIE_EXPANDER_BUS] = "pcie-expander-bus",
        [PCI_CONTROLLER_PCIE_TO_PCI_BRIDGE] = "pcie-to-pci-bridge",
        [PCI_CONTROLLER_OTHER] = "other",
};

const char *pci_controller_model_to_string(PciControllerModel m) {
        return m >= 0 && m < _PCI_CONTROLLER_MODEL_MAX ? pci_controller_model_table[m] : NULL;
}

PciControllerModel pci_controller_model_from_string(const char *s) {
        for (size_t i = 0; s && i < _PCI_CONTROLLER_MODEL_MAX; i++)
                if (streq(s, pci_controller_model_table[i]))
                        return (PciControllerModel) i;
        return _PCI_CONTROLLER_MODEL_INVALID;
}

VmSpec *vmspec_free(VmSpec *s) {
        if (!s)
                return NULL;
        free(s->name);
        free(s->arch);
        free(s->machine.name);
        free(s->cpu_model);
        free(s->cpu_vendor);
        for (size_t i = 0; s->hostdevs && i < s->n_hostdevs; i++)
                free(s->hostdevs[i].rom_file);
        free(s->hostdevs);
        free(s->controllers);
        free(s);
        return NULL;
}

static VmSpec *vmspec_new(void) {
        VmSpec *s = calloc(1, sizeof(VmSpec));
        if (!s)
                return NULL;
        s->phys_bits = -1;
        s->phys_bits_limit = -1;
        s->viommu_aw_bits = -1;
        s->iommufd = -1;
        s->machine.family = _MACHINE_FAMILY_INVALID;
        s->machine.major = s->machine.minor = -1;
        return s;
}

static int fail(char **ret_error, int r, const char *format, ...) _printf_(3, 4);
static int fail(char **ret_error, int r, const char *format, ...) {
        va_list ap;

        if (ret_error && !*ret_error) {
                va_start(ap, format);
                if (vasprintf(ret_error, format, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return r;
}

/* ---- machine types and CPU models ---- */

static int parse_version(const char *s, int *ret_major, int *ret_minor) {
        unsigned major, minor;
        int n = -1;

        /* "7.2" or "2.12"; QEMU never had a patch level in machine type names. */
        if (!s || !isdigit((unsigned char) s[0]))
                return -EINVAL;
        if (sscanf(s, "%3u.%3u%n", &major, &minor, &n) != 2 || n < 0 || s[n] != 0)
                return -EINVAL;
        *ret_major = (int) major;
        *ret_minor = (int) minor;
        return 0;
}

int machine_type_parse(const char *name, MachineType *ret) {
        static const struct {
                const char *prefix;
                MachineFamily family;
        } versioned[] = {
                /* hw/i386/pc_q35.c DEFINE_Q35_MACHINE, hw/i386/pc_piix.c DEFINE_I440FX_MACHINE and the old
                 * "pc-X.Y" names of QEMU <= 1.x, hw/arm/virt.c DEFINE_VIRT_MACHINE */
                { "pc-q35-", MACHINE_Q35 },
                { "pc-i440fx-", MACHINE_I440FX },
                { "pc-", MACHINE_I440FX },
                { "virt-", MACHINE_VIRT },
        };
        MachineType m = { .major = -1, .minor = -1, .family = _MACHINE_FAMILY_INVALID };

        if (isempty(name))
                return -EINVAL;
        if (streq(name, "q35"))
                m.family = MACHINE_Q35;
        else if (streq(name, "pc"))
                m.family = MACHINE_I440FX;
        else if (streq(name, "virt"))
                m.family = MACHINE_VIRT;
        else
                for (size_t i = 0; i < ELEMENTSOF(versioned); i++) {
                        const char *v = startswith(name, versioned[i].prefix);
                        if (!v)
                                continue;
                        if (parse_version(v, &m.major, &m.minor) >= 0) {
                                m.family = versioned[i].family;
                                break;
                        }
                        /* RHEL's "pc-q35-rhel9.4.0": its compat properties follow RHEL's own backports,
                         * which vfiomap cannot know; treat it like the newest upstream type. */
                        if (startswith(v, "rhel") && strlen(v) > 4 && isdigit((unsigned char) v[4])) {
                                m.family = versioned[i].family;
                                m.downstream = true;
                                break;
                        }
                }
        if (m.family < 0)
                return -EINVAL;

        m.name = strdup(name);
        if (!m.name)
                return -ENOMEM;
        *ret = m;
        return 0;
}

bool machine_type_at_least(const MachineType *m, int major, int minor) {
        if (m->major < 0)
                return true;
        return m->major > major || (m->major == major && m->minor >= minor);
}

const char *cpu_model_vendor(const char *model) {
        /* target/i386/cpu.c, builtin_x86_defs[]: the .vendor of each model. Versioned aliases
         * ("EPYC-Rome-v4") share their base model's vendor, so prefixes are enough. */
        static const char *const amd[] = {
                "qemu64", "phenom", "athlon", "Opteron_G", "EPYC",
        };
        static const char *const intel[] = {
                "qemu32", "kvm64", "kvm32", "coreduo", "core2duo", "486", "pentium", "n270", "Conroe",
                "Penryn", "Nehalem", "Westmere", "SandyBridge", "IvyBridge", "Haswell", "Broadwell",
                "Skylake", "Cascadelake", "Cooperlake", "Icelake", "SapphireRapids", "GraniteRapids",
                "SierraForest", "ClearwaterForest", "Denverton", "Snowridge", "KnightsMill",
        };

        if (isempty(model))
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(amd); i++)
                if (startswith(model, amd[i]))
                        return "AuthenticAMD";
        if (startswith(model, "Dhyana"))
                return "HygonGenuine";
        if (startswith(model, "YongFeng"))
                return "CentaurHauls";
        for (size_t i = 0; i < ELEMENTSOF(intel); i++)
                if (startswith(model, intel[i]))
                        return "GenuineIntel";
        return NULL;
}

/* ---- sizes ---- */

int parse_libvirt_size(const char *value, const char *unit, uint64_t *ret) {
        uint64_t v, scale = 1024, base;
        const char *u = unit;
        int r;

        /* src/util/virutil.c, virScaleInteger() with the default scale of <memory>, KiB */
        r = safe_atou64_base(value, 10, &v);
        if (r < 0)
                return r;
        if (!isempty(u)) {
                if (strcasecmp(u, "b") == 0 || strcasecmp(u, "byte") == 0 || strcasecmp(u, "bytes") == 0)
                        scale = 1;
                else {
                        if (u[1] == 0 || strcasecmp(u + 1, "iB") == 0)
                                base = 1024;
                        else if (tolower((unsigned char) u[1]) == 'b' && u[2] == 0)
                                base = 1000;
                        else
                                return -EINVAL;
                        scale = 1;
                        switch (tolower((unsigned char) u[0])) {
                        case 'e': scale *= base; /* fall through */
                        case 'p': scale *= base; /* fall through */
                        case 't': scale *= base; /* fall through */
                        case 'g': scale *= base; /* fall through */
                        case 'm': scale *= base; /* fall through */
                        case 'k': scale *= base; break;
                        default: return -EINVAL;
                        }
                }
        }
        if (v > UINT64_MAX / scale)
                return -ERANGE;
        *ret = v * scale;
        return 0;
}

int parse_qemu_size(const char *s, uint64_t *ret) {
        static const char suffixes[] = "BKMGTPE";
        char *end = NULL;
        uint64_t mult = 1, v;
        double d;

        /* util/cutils.c, do_strtosz(): an integer (hex allowed) or a decimal fraction, an optional binary
         * suffix, default unit bytes. */
        if (isempty(s) || isspace((unsigned char) s[0]) || s[0] == '-' || s[0] == '+')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 0);
        if (errno != 0)
                return -errno;
        if (*end == '.') {
                if (startswith(s, "0x") || startswith(s, "0X"))
                        return -EINVAL;
                errno = 0;
                d = strtod(s, &end);
                if (errno != 0 || d < 0)
                        return -EINVAL;
        } else
                d = -1;
        if (*end) {
                const char *p = strchr(suffixes, toupper((unsigned char) *end));
                if (!p || end[1] != 0)
                        return -EINVAL;
                for (size_t i = 0; i < (size_t) (p - suffixes); i++)
                        mult *= 1024;
        }
        if (d >= 0) {
                long double x = (long double) d * mult;
                if (x >= 18446744073709551616.0L)
                        return -ERANGE;
                *ret = (uint64_t) x;
                return 0;
        }
        if (v > UINT64_MAX / mult)
                return -ERANGE;
        *ret = v * mult;
        return 0;
}

/* Machine options from a QEMU command line fragment, as libvirt's <qemu:commandline> passes them: "-machine"
 * (or "-M") followed by "key=value,..." (QEMU merges repeated -machine options). Only the keys the layout
 * depends on are read; others are left to QEMU. */
static int spec_apply_machine_options(VmSpec *s, const char *opts, char **ret_error) {
        _cleanup_free_ char *copy = strdup(opts);
        char *saveptr = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *kv = strtok_r(copy, ",", &saveptr); kv; kv = strtok_r(NULL, ",", &saveptr)) {
                char *eq = strchr(kv, '=');
                uint64_t v;

                if (!eq)
                        continue; /* the machine type itself, or a boolean flag */
                *eq = 0;
                if (!streq(kv, "max-ram-below-4g"))
                        continue;
                if (parse_qemu_size(eq + 1, &v) < 0)
                        return fail(ret_error, -EINVAL,
                                    "<qemu:commandline>: -machine max-ram-below-4g=%s is not a size", eq + 1);
                /* hw/i386/pc.c, pc_machine_set_max_ram_below_4g(): larger than 4G is refused */
                if (v > UINT64_C(4) << 30)
                        return fail(ret_error, -EINVAL,
                                    "<qemu:commandline>: -machine max-ram-below-4g=%s exceeds 4G, which QEMU "
                                    "refuses", eq + 1);
                s->has_max_ram_below_4g = true;
                s->max_ram_below_4g = v;
        }
        return 0;
}

static int spec_add_hostdev(VmSpec *s, const PciAddress *a, bool hotplug, bool managed, char **ret_error) {
        VmHostdev *n;
        char buf[PCI_ADDRESS_MAX];

        pci_address_format(a, buf);
        for (size_t i = 0; i < s->n_hostdevs; i++)
                if (streq(s->hostdevs[i].address, buf))
                        return fail(ret_error, -EINVAL, "hostdev %s is listed twice", buf);
        if (s->n_hostdevs >= VMSPEC_HOSTDEVS_MAX)
                return fail(ret_error, -E2BIG, "more than %u hostdevs", VMSPEC_HOSTDEVS_MAX);
        n = realloc(s->hostdevs, (s->n_hostdevs + 1) * sizeof(VmHostdev));
        if (!n)
                return -ENOMEM;
        s->hostdevs = n;
        n[s->n_hostdevs] = (VmHostdev) { .hotplug = hotplug, .managed = managed, .rom_bar = -1, .rom_enabled = -1,
                                         .iommufd = -1 };
        memcpy(n[s->n_hostdevs].address, buf, sizeof(buf));
        s->n_hostdevs++;
        return 0;
}

static int spec_add_controller(VmSpec *s, unsigned index, PciControllerModel model, const VmGuestAddress *a,
                               char **ret_error) {
        VmController *n;

        /* libvirt refuses the domain too: "Multiple 'pci' controllers with index 'N'". */
        for (size_t i = 0; i < s->n_controllers; i++)
                if (s->controllers[i].index == index)
                        return fail(ret_error, -EINVAL, "PCI controller index %u is listed twice", index);
        if (s->n_controllers >= VMSPEC_CONTROLLERS_MAX)
                return fail(ret_error, -E2BIG, "more than %u PCI controllers", VMSPEC_CONTROLLERS_MAX);
        n = realloc(s->controllers, (s->n_controllers + 1) * sizeof(VmController));
        if (!n)
                return -ENOMEM;
        s->controllers = n;
        n[s->n_controllers++] = (VmController) { .index = index, .model = model, .address = *a };
        return 0;
}

/* One virtio-mem device: its blocks count as DMA mappings (dma-limits.c). */
static int spec_add_virtio_mem(VmSpec *s, uint64_t sz, uint64_t bl, uint64_t rq, const char *where,
                               char **ret_error) {
        /* libvirt and QEMU demand a power-of-two block that divides the size. */
        if (bl == 0 || (bl & (bl - 1)) != 0 || sz % bl != 0 || rq > sz || sz > VMSPEC_SIZE_MAX)
                return fail(ret_error, -EINVAL,
                            "%s: block %" PRIu64 " must be a power of two dividing size %" PRIu64
                            ", and requested %" PRIu64 " at most the size", where, bl, sz, rq);
        s->virtio_mem_blocks += sz / bl;
        s->virtio_mem_requested_blocks += (rq + bl - 1) / bl;
        s->virtio_mem_size += sz;
        if (s->virtio_mem_size > VMSPEC_SIZE_MAX)
                return fail(ret_error, -EINVAL, "the virtio-mem devices exceed 4 PiB together");
        return 0;
}

/* Checks that hold for both formats. */
static int spec_validate(VmSpec *s, char **ret_error) {
        if (s->memory == 0)
                return fail(ret_error, -EINVAL, "the memory size is 0");
        /* 4 PiB: the x86 and arm64 physical address limit (52 bits). Bounding every size here keeps the
         * layout arithmetic far from overflow. */
        if (s->memory > VMSPEC_SIZE_MAX || s->max_memory > VMSPEC_SIZE_MAX || s->pci_hole64_size > VMSPEC_SIZE_MAX)
                return fail(ret_error, -EINVAL, "a memory or hole size exceeds 4 PiB (52 address bits)");
        if (s->current_memory == 0)
                s->current_memory = s->memory;
        if (s->current_memory > s->memory)
                return fail(ret_error, -EINVAL, "currentMemory (%" PRIu64 " bytes) exceeds memory (%" PRIu64
                            " bytes)", s->current_memory, s->memory);
        if (s->max_memory != 0 && s->max_memory < s->memory)
                return fail(ret_error, -EINVAL, "maxMemory (%" PRIu64 " bytes) is below memory (%" PRIu64
                            " bytes)", s->max_memory, s->memory);
        if (s->memory_slots > 256)
                return fail(ret_error, -EINVAL, "maxMemory slots=%u is above QEMU's limit of 256",
                            s->memory_slots);
        if (s->phys_bits >= 0 && (s->phys_bits < 32 || s->phys_bits > 52))
                return fail(ret_error, -EINVAL, "guest phys-bits %d is outside 32..52", s->phys_bits);
        if (s->phys_bits_limit >= 0 && (s->phys_bits_limit < 32 || s->phys_bits_limit > 52))
                return fail(ret_error, -EINVAL, "guest phys-bits limit %d is outside 32..52", s->phys_bits_limit);
        if (s->viommu_aw_bits >= 0 && s->viommu == VIOMMU_NONE)
                return fail(ret_error, -EINVAL, "aw_bits is set without a vIOMMU");
        if (s->viommu_aw_bits >= 0 && (s->viommu_aw_bits < 32 || s->viommu_aw_bits > 64))
                return fail(ret_error, -EINVAL, "vIOMMU aw_bits %d is outside 32..64", s->viommu_aw_bits);

        /* The architecture and the machine family must agree, or the layout would be computed for the
         * wrong board. */
        if (s->arch) {
                bool x86 = streq(s->arch, "x86_64") || streq(s->arch, "i686");
                bool arm = streq(s->arch, "aarch64");
                if (!x86 && !arm)
                        return fail(ret_error, -EINVAL, "architecture '%s' is not supported (x86_64, i686, "
                                    "aarch64)", s->arch);
                if (x86 != (s->machine.family != MACHINE_VIRT))
                        return fail(ret_error, -EINVAL, "machine type '%s' does not exist for architecture '%s'",
                                    s->machine.name, s->arch);
        } else {
                s->arch = strdup(s->machine.family == MACHINE_VIRT ? "aarch64" : "x86_64");
                if (!s->arch)
                        return -ENOMEM;
        }
        return 0;
}

/* ---- libvirt domain XML ---- */

static void xml_freep(xmlChar **p) {
        if (*p)
                xmlFree(*p);
}
#define _cleanup_xml_free_ _cleanup_(xml_freep)

static void xml_doc_freep(xmlDoc **p) {
        if (*p)
                xmlFreeDoc(*p);
}

static void xml_ctxt_freep(xmlParserCtxt **p) {
        if (*p)
                xmlFreeParserCtxt(*p);
}

static bool xml_is(const xmlNode *n, const char *name) {
        return n && n->type == XML_ELEMENT_NODE && !n->ns && xmlStrEqual(n->name, (const xmlChar *) name);
}

static bool xml_is_qemu(const xmlNode *n, const char *name) {
        return n && n->type == XML_ELEMENT_NODE && n->ns &&
               xmlStrEqual(n->ns->href, (const xmlChar *) QEMU_NS_URI) &&
               xmlStrEqual(n->name, (const xmlChar *) name);
}

/* The only child element called name; -EINVAL when there are several (libvirt's schema allows one). */
static int xml_child(const xmlNode *parent, const char *name, const char *where, xmlNode **ret,
                     char **ret_error) {
        xmlNode *found = NULL;

        for (xmlNode *c = parent->children; c; c = c->next) {
                if (!xml_is(c, name))
                        continue;
                if (found)
                        return fail(ret_error, -EINVAL, "%s<%s> appears more than once", where, name);
                found = c;
        }
        *ret = found;
        return 0;
}

static char *xml_text(const xmlNode *n) {
        _cleanup_xml_free_ xmlChar *c = xmlNodeGetContent(n);
        const char *b, *e;

        if (!c)
                return strdup("");
        b = (const char *) c;
        while (isspace((unsigned char) *b))
                b++;
        e = b + strlen(b);
        while (e > b && isspace((unsigned char) e[-1]))
                e--;
        return strndup(b, e - b);
}

static char *xml_attr(const xmlNode *n, const char *name) {
        _cleanup_xml_free_ xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *) name);
        return v ? strdup((const char *) v) : NULL;
}

/* <memory unit='KiB'>N</memory> and friends. libvirt keeps memory in KiB, rounding up
 * (src/conf/domain_conf.c, virDomainParseMemory), and that is what it hands QEMU. */
static int xml_memory(const xmlNode *n, const char *name, uint64_t *ret, char **ret_error) {
        _cleanup_free_ char *text = xml_text(n), *unit = xml_attr(n, "unit");
        uint64_t v;
        int r;

        if (!text)
                return -ENOMEM;
        r = parse_libvirt_size(text, unit, &v);
        if (r == -ERANGE)
                return fail(ret_error, -EINVAL, "<%s>%s</%s> overflows", name, text, name);
        if (r < 0)
                return fail(ret_error, -EINVAL, "<%s unit='%s'>%s</%s> is not a size (units: b, KiB, MiB, GiB, TiB, "
                            "KB, MB, GB, TB...)", name, strempty_dash(unit), text, name);
        if (v % 1024 != 0) {
                if (v > UINT64_MAX - 1024)
                        return fail(ret_error, -EINVAL, "<%s>%s</%s> overflows", name, text, name);
                v += 1024 - v % 1024;
        }
        *ret = v;
        return 0;
}

static int xml_uint_attr(const xmlNode *n, const char *attr, const char *where, uint64_t max, bool required,
                         uint64_t *ret, char **ret_error) {
        _cleanup_free_ char *v = xml_attr(n, attr);
        uint64_t x;

        if (!v) {
                if (required)
                        return fail(ret_error, -EINVAL, "%s: attribute %s is missing", where, attr);
                return 0;
        }
        /* libvirt reads these with virStrToLong_*(..., 0, ...): decimal, 0x hex or 0 octal. */
        if (safe_atou64_base(v, 0, &x) < 0 || x > max)
                return fail(ret_error, -EINVAL, "%s: %s='%s' is not a number in 0..%" PRIu64, where, attr, v, max);
        *ret = x;
        return 1;
}

/* The managed= attribute of <hostdev> or <interface type='hostdev'>. libvirt reads it as a tristate and
 * only "yes" makes it detach the device (virDomainHostdevDefParseXMLSubsys() in src/conf/domain_conf.c):
 * omitted means no, as formatdomain.rst says ("If managed is omitted or 'no', the user is responsible to
 * call virsh nodedev-detach before starting the guest"). */
static int xml_managed(const xmlNode *n, const char *where, bool *ret, char **ret_error) {
        _cleanup_free_ char *v = xml_attr(n, "managed");

        if (!v || streq(v, "no"))
                *ret = false;
        else if (streq(v, "yes"))
                *ret = true;
        else
                return fail(ret_error, -EINVAL, "%s: managed='%s' is neither 'yes' nor 'no'", where, v);
        return 0;
}

/* <domain><iommufd enabled= fdgroup=> (libvirt 12.1+; iommufd.c checks the value) */
static int xml_parse_iommufd(const xmlNode *root, VmSpec *s, char **ret_error) {
        xmlNode *n = NULL;
        int r;

        r = xml_child(root, "iommufd", "", &n, ret_error);
        if (r < 0 || !n)
                return r;
        _cleanup_free_ char *enabled = xml_attr(n, "enabled");
        if (!enabled)
                return fail(ret_error, -EINVAL, "<iommufd> has no enabled=");
        return iommufd_attr_parse(enabled, "<iommufd enabled=>", &s->iommufd, ret_error);
}

/* <driver iommufd=> of the hostdev just added */
static int xml_hostdev_iommufd(const xmlNode *d, VmSpec *s, char **ret_error) {
        xmlNode *driver = NULL;
        int r;

        r = xml_child(d, "driver", "<hostdev>", &driver, ret_error);
        if (r < 0 || !driver)
                return r;
        _cleanup_free_ char *v = xml_attr(driver, "iommufd");
        if (!v)
                return 0;
        return iommufd_attr_parse(v, "<hostdev><driver iommufd=>", &s->hostdevs[s->n_hostdevs - 1].iommufd, ret_error);
}

/* <rom> of the hostdev just added (rom.c checks the values). */
static int xml_hostdev_rom(const xmlNode *d, VmSpec *s, char **ret_error) {
        xmlNode *rom = NULL;
        int r;

        r = xml_child(d, "rom", "<hostdev>", &rom, ret_error);
        if (r < 0 || !rom)
                return r;
        _cleanup_free_ char *bar = xml_attr(rom, "bar"), *file = xml_attr(rom, "file"), *enabled = xml_attr(rom, "enabled");
        return hostdev_rom_parse(bar, file, enabled, s->hostdevs + s->n_hostdevs - 1, ret_error);
}

static int xml_pci_address(const xmlNode *source, const char *where, bool managed, VmSpec *s,
                           char **ret_error) {
        xmlNode *addr = NULL;
        uint64_t domain = 0, bus = 0, slot = 0, function = 0;
        PciAddress a;
        int r;

        r = xml_child(source, "address", where, &addr, ret_error);
        if (r < 0)
                return r;
        if (!addr)
                return fail(ret_error, -EINVAL, "%s<source> has no <address>", where);
        r = xml_uint_attr(addr, "domain", where, 0xffff, false, &domain, ret_error);
        if (r >= 0)
                r = xml_uint_attr(addr, "bus", where, 0xff, true, &bus, ret_error);
        if (r >= 0)
                r = xml_uint_attr(addr, "slot", where, 0x1f, true, &slot, ret_error);
        if (r >= 0)
                r = xml_uint_attr(addr, "function", where, 0x7, true, &function, ret_error);
        if (r < 0)
                return r;
        a = (PciAddress) { .domain = (uint32_t) domain, .bus = (uint8_t) bus, .slot = (uint8_t) slot,
                           .function = (uint8_t) function };
        return spec_add_hostdev(s, &a, false, managed, ret_error);
}

/* A device's or controller's own <address type='pci'> (a direct child, unlike <source><address>). libvirt
 * reads every attribute as optional with 0 as default, and an address that is all zeros means "assign one"
 * (virDeviceInfoPCIAddressIsWanted() in src/conf/device_conf.c), so that is kept unset. Other address types
 * (ccw, virtio-mmio, spapr-vio) do not sit on a PCI bus. Guest PCI domains other than 0 exist only with
 * zPCI and pSeries, which vfiomap does not model. */
static int xml_guest_address(const xmlNode *n, const char *where, VmGuestAddress *ret, char **ret_error) {
        _cleanup_free_ char *type = NULL;
        uint64_t domain = 0, bus = 0, slot = 0, function = 0;
        xmlNode *addr = NULL;
        int r;

        *ret = (VmGuestAddress) {};
        r = xml_child(n, "address", where, &addr, ret_error);
        if (r < 0 || !addr)
                return r;
        type = xml_attr(addr, "type");
        if (!streq_ptr(type, "pci"))
                return 0;
        r = xml_uint_attr(addr, "domain", where, 0, false, &domain, ret_error);
        if (r >= 0)
                r = xml_uint_attr(addr, "bus", where, 0xff, false, &bus, ret_error);
        if (r >= 0)
                r = xml_uint_attr(addr, "slot", where, 0x1f, false, &slot, ret_error);
        if (r >= 0)
                r = xml_uint_attr(addr, "function", where, 0x7, false, &function, ret_error);
        if (r < 0)
                return r;
        if (bus == 0 && slot == 0 && function == 0)
                return 0;
        *ret = (VmGuestAddress) { .set = true, .bus = (uint8_t) bus, .slot = (uint8_t) slot,
                                  .function = (uint8_t) function };
        return 0;
}

/* <controller type='pci'>: the buses of the guest topology. The index is the bus number devices name in
 * their <address bus=>. libvirt fills in a missing index with the lowest free one when it defines the
 * domain; the root (pcie-root, pci-root) is always 0. A non-root controller without an index cannot be
 * referred to reliably and is left out. */
static int xml_parse_pci_controller(const xmlNode *d, VmSpec *s, char **ret_error) {
        _cleanup_free_ char *model_name = xml_attr(d, "model");
        PciControllerModel model = pci_controller_model_from_string(model_name);
        VmGuestAddress a;
        uint64_t index = 0;
        int r;

        if (model < 0)
                model = PCI_CONTROLLER_OTHER;
        r = xml_uint_attr(d, "index", "<controller type='pci'>", 255, false, &index, ret_error);
        if (r < 0)
                return r;
        if (r == 0 && model != PCI_CONTROLLER_PCIE_ROOT && model != PCI_CONTROLLER_PCI_ROOT)
                return 0;
        if ((model == PCI_CONTROLLER_PCIE_ROOT || model == PCI_CONTROLLER_PCI_ROOT) != (index == 0))
                return fail(ret_error, -EINVAL, "<controller type='pci' index='%" PRIu64 "' model='%s'>: "
                            "libvirt demands index 0 for the root bus and only for it", index,
                            strna(model_name));
        r = xml_guest_address(d, "<controller type='pci'>", &a, ret_error);
        if (r < 0)
                return r;
        return spec_add_controller(s, (unsigned) index, model, &a, ret_error);
}

/* <domain type=>. libvirt always writes it; a hand-written document without it is taken as KVM, what VFIO
 * guests run on. The types of other libvirt drivers ('test', 'xen') parse, with no QEMU vendor rule. */
static int xml_parse_type(const xmlNode *root, VmSpec *s, char **ret_error) {
        _cleanup_free_ char *type = xml_attr(root, "type");
        VmAccel a;

        if (!type) {
                s->accel = VM_ACCEL_KVM;
                return 0;
        }
        if (isempty(type))
                return fail(ret_error, -EINVAL, "<domain type=''> is empty");
        a = vm_accel_from_string(type);
        s->accel = a < 0 ? VM_ACCEL_OTHER : a;
        return 0;
}

/* UEFI or SeaBIOS: <os firmware='efi'> (libvirt 5.2+ autoselection) or a <loader> that is a pflash image
 * or names OVMF/edk2 (what hand-made VFIO domains use). The 64-bit MMIO window of the guest is OVMF's
 * choice with UEFI (bar-window.c). */
static int xml_parse_firmware(const xmlNode *os, VmSpec *s, char **ret_error) {
        _cleanup_free_ char *fw = xml_attr(os, "firmware");
        xmlNode *loader = NULL;
        int r;

        if (fw && !streq(fw, "efi") && !streq(fw, "bios"))
                return fail(ret_error, -EINVAL, "<os firmware='%s'> is neither 'efi' nor 'bios'", fw);
        s->efi = streq_ptr(fw, "efi");
        r = xml_child(os, "loader", "<os>", &loader, ret_error);
        if (r < 0)
                return r;
        if (loader && !s->efi) {
                _cleanup_free_ char *type = xml_attr(loader, "type"), *path = xml_text(loader);

                if (!path)
                        return -ENOMEM;
                s->efi = streq_ptr(type, "pflash") || strcasestr(path, "ovmf") || strcasestr(path, "edk2") ||
                         strcasestr(path, "aavmf");
        }
        return 0;
}

static int xml_parse_os(const xmlNode *root, VmSpec *s, char **ret_error) {
        _cleanup_free_ char *machine = NULL;
        xmlNode *os = NULL, *type = NULL;
        int r;

        r = xml_child(root, "os", "", &os, ret_error);
        if (r < 0)
                return r;
        if (os)
                r = xml_child(os, "type", "<os>", &type, ret_error);
        if (r < 0)
                return r;
        if (!type)
                return fail(ret_error, -EINVAL, "<os><type> is missing: the layout depends on the machine type "
                            "(use the XML of `virsh dumpxml`, which always names it)");
        r = xml_parse_firmware(os, s, ret_error);
        if (r < 0)
                return r;
        s->arch = xml_attr(type, "arch");
        machine = xml_attr(type, "machine");
        if (!machine)
                return fail(ret_error, -EINVAL, "<os><type machine=...> is missing: the layout depends on the "
                            "machine type (use the XML of `virsh dumpxml`, which always names it)");
        r = machine_type_parse(machine, &s->machine);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return fail(ret_error, r, "<os><type machine='%s'> is not a machine type vfiomap models "
                            "(pc-q35-X.Y, q35, pc-i440fx-X.Y, pc, virt-X.Y, virt)", machine);
        return 0;
}

static int xml_parse_cpu(const xmlNode *root, VmSpec *s, char **ret_error) {
        _cleanup_free_ char *mode = NULL;
        xmlNode *cpu = NULL, *model = NULL, *mpa = NULL;
        int r;

        r = xml_child(root, "cpu", "", &cpu, ret_error);
        if (r < 0 || !cpu)
                return r; /* no <cpu>: QEMU's default model */

        r = xml_child(cpu, "model", "<cpu>", &model, ret_error);
        if (r < 0)
                return r;
        if (model) {
                s->cpu_model = xml_text(model);
                if (!s->cpu_model)
                        return -ENOMEM;
                if (isempty(s->cpu_model)) {
                        free(s->cpu_model);
                        s->cpu_model = NULL;
                }
        }

        mode = xml_attr(cpu, "mode");
        if (mode) {
                s->cpu_mode = cpu_mode_from_string(mode);
                if (s->cpu_mode < 0 || s->cpu_mode == CPU_MODE_DEFAULT)
                        return fail(ret_error, -EINVAL, "<cpu mode='%s'> is not one of custom, host-model, "
                                    "host-passthrough, maximum", mode);
        } else
                /* libvirt's default mode is custom; a <cpu> with only <topology> or <numa> names no model
                 * and QEMU keeps its default. */
                s->cpu_mode = s->cpu_model ? CPU_MODE_CUSTOM : CPU_MODE_DEFAULT;
        if (s->cpu_mode == CPU_MODE_CUSTOM && !s->cpu_model)
                s->cpu_mode = CPU_MODE_DEFAULT;

        r = xml_child(cpu, "maxphysaddr", "<cpu>", &mpa, ret_error);
        if (r < 0)
                return r;
        if (mpa) {
                _cleanup_free_ char *m = xml_attr(mpa, "mode");
                uint64_t v = 0;

                /* src/conf/cpu_conf.c, virCPUDefParseXML(): mode passthrough (with an optional limit) or
                 * emulate (with bits). */
                if (streq_ptr(m, "passthrough")) {
                        s->host_phys_bits = true;
                        r = xml_uint_attr(mpa, "limit", "<cpu><maxphysaddr>", 255, false, &v, ret_error);
                        if (r < 0)
                                return r;
                        if (r > 0)
                                s->phys_bits_limit = (int) v;
                } else if (streq_ptr(m, "emulate")) {
                        r = xml_uint_attr(mpa, "bits", "<cpu><maxphysaddr mode='emulate'>", 255, true, &v,
                                          ret_error);
                        if (r < 0)
                                return r;
                        s->phys_bits = (int) v;
                } else
                        return fail(ret_error, -EINVAL, "<cpu><maxphysaddr mode='%s'> is not passthrough or "
                                    "emulate", strna(m));
        }
        return 0;
}

/* <memtune><hard_limit>: libvirt sets RLIMIT_MEMLOCK to it for VFIO guests (dma-limits.c). */
static int xml_parse_memtune(const xmlNode *root, VmSpec *s, char **ret_error) {
        xmlNode *memtune = NULL, *hard = NULL;
        int r;

        r = xml_child(root, "memtune", "", &memtune, ret_error);
        if (r < 0 || !memtune)
                return r;
        r = xml_child(memtune, "hard_limit", "<memtune>", &hard, ret_error);
        if (r < 0 || !hard)
                return r;
        r = xml_memory(hard, "hard_limit", &s->hard_limit, ret_error);
        if (r < 0)
                return r;
        /* libvirt's VIR_DOMAIN_MEMORY_PARAM_UNLIMITED, 2^53 - 1 KiB (9007199254740991): no limit. */
        s->has_hard_limit = s->hard_limit < VMSPEC_SIZE_MAX;
        return 0;
}

/* <devices><memory model='virtio-mem'>: QEMU maps every plugged block of it into each VFIO container
 * separately (vfio_ram_discard_notify_populate(), hw/vfio), so it counts in blocks. */
static int xml_parse_memory_device(const xmlNode *d, VmSpec *s, char **ret_error) {
        _cleanup_free_ char *model = xml_attr(d, "model");
        xmlNode *target = NULL, *size = NULL, *block = NULL, *requested = NULL;
        uint64_t sz = 0, bl = 0, rq = 0;
        int r;

        if (!streq_ptr(model, "virtio-mem")) {
                if (streq_ptr(model, "dimm") || streq_ptr(model, "nvdimm"))
                        s->n_dimms++;
                return 0;
        }
        r = xml_child(d, "target", "<memory model='virtio-mem'>", &target, ret_error);
        if (r >= 0 && target)
                r = xml_child(target, "size", "<memory model='virtio-mem'><target>", &size, ret_error);
        if (r >= 0 && target)
                r = xml_child(target, "block", "<memory model='virtio-mem'><target>", &block, ret_error);
        if (r >= 0 && target)
                r = xml_child(target, "requested", "<memory model='virtio-mem'><target>", &requested,
                              ret_error);
        if (r < 0)
                return r;
        if (!size || !block)
                return fail(ret_error, -EINVAL,
                            "<memory model='virtio-mem'><target> needs <size> and <block>");
        r = xml_memory(size, "size", &sz, ret_error);
        if (r >= 0)
                r = xml_memory(block, "block", &bl, ret_error);
        if (r >= 0 && requested)
                r = xml_memory(requested, "requested", &rq, ret_error);
        if (r < 0)
                return r;
        return spec_add_virtio_mem(s, sz, bl, rq, "<memory model='virtio-mem'>", ret_error);
}

static int xml_parse_devices(const xmlNode *root, VmSpec *s, char **ret_error) {
        xmlNode *devices = NULL;
        bool seen_iommu = false;
        int r;

        r = xml_child(root, "devices", "", &devices, ret_error);
        if (r < 0 || !devices)
                return r;

        for (xmlNode *d = devices->children; d; d = d->next) {
                if (xml_is(d, "hostdev")) {
                        _cleanup_free_ char *mode = xml_attr(d, "mode"), *type = xml_attr(d, "type");
                        xmlNode *source = NULL;
                        bool managed;

                        /* Only PCI subsystem hostdevs go through VFIO-PCI; USB, SCSI and mdev ones do not
                         * touch the guest physical layout in this way. */
                        if (!streq_ptr(type, "pci") || (mode && !streq(mode, "subsystem")))
                                continue;
                        r = xml_managed(d, "<hostdev type='pci'>", &managed, ret_error);
                        if (r < 0)
                                return r;
                        r = xml_child(d, "source", "<hostdev type='pci'>", &source, ret_error);
                        if (r < 0)
                                return r;
                        if (!source)
                                return fail(ret_error, -EINVAL, "<hostdev type='pci'> has no <source>");
                        r = xml_pci_address(source, "<hostdev type='pci'>", managed, s, ret_error);
                        if (r >= 0)
                                r = xml_guest_address(d, "<hostdev type='pci'>",
                                                      &s->hostdevs[s->n_hostdevs - 1].guest, ret_error);
                        if (r < 0)
                                return r;
                        r = xml_hostdev_rom(d, s, ret_error);
                        if (r < 0)
                                return r;
                        r = xml_hostdev_iommufd(d, s, ret_error);
                        if (r < 0)
                                return r;
                } else if (xml_is(d, "interface")) {
                        _cleanup_free_ char *type = xml_attr(d, "type");
                        xmlNode *source = NULL, *addr = NULL;
                        bool managed;

                        /* <interface type='hostdev'> is an SR-IOV VF assigned through VFIO as well. */
                        if (!streq_ptr(type, "hostdev"))
                                continue;
                        r = xml_managed(d, "<interface type='hostdev'>", &managed, ret_error);
                        if (r < 0)
                                return r;
                        r = xml_child(d, "source", "<interface type='hostdev'>", &source, ret_error);
                        if (r < 0)
                                return r;
                        if (source)
                                r = xml_child(source, "address", "<interface type='hostdev'><source>", &addr,
                                              ret_error);
                        if (r < 0)
                                return r;
                        if (addr) {
                                _cleanup_free_ char *at = xml_attr(addr, "type");
                                if (at && !streq(at, "pci"))
                                        continue;
                        }
                        if (!source)
                                return fail(ret_error, -EINVAL, "<interface type='hostdev'> has no <source>");
                        r = xml_pci_address(source, "<interface type='hostdev'>", managed, s, ret_error);
                        if (r >= 0)
                                r = xml_guest_address(d, "<interface type='hostdev'>",
                                                      &s->hostdevs[s->n_hostdevs - 1].guest, ret_error);
                        if (r < 0)
                                return r;
                        s->hostdevs[s->n_hostdevs - 1].interface = true;
                } else if (xml_is(d, "memory")) {
                        r = xml_parse_memory_device(d, s, ret_error);
                        if (r < 0)
                                return r;
                        r = xml_hostdev_rom(d, s, ret_error);
                        if (r < 0)
                                return r;
                } else if (xml_is(d, "iommu")) {
                        _cleanup_free_ char *model = xml_attr(d, "model");
                        xmlNode *driver = NULL;
                        uint64_t v = 0;

                        if (seen_iommu)
                                return fail(ret_error, -EINVAL, "<devices><iommu> appears more than once");
                        seen_iommu = true;
                        s->viommu = viommu_model_from_string(model);
                        if (s->viommu <= VIOMMU_NONE)
                                return fail(ret_error, -EINVAL, "<iommu model='%s'> is not intel, smmuv3, "
                                            "virtio or amd", strna(model));
                        r = xml_child(d, "driver", "<iommu>", &driver, ret_error);
                        if (r < 0)
                                return r;
                        if (driver) {
                                r = xml_uint_attr(driver, "aw_bits", "<iommu><driver>", 255, false, &v, ret_error);
                                if (r < 0)
                                        return r;
                                if (r > 0)
                                        s->viommu_aw_bits = (int) v;
                        }
                } else if (xml_is(d, "controller")) {
                        _cleanup_free_ char *type = xml_attr(d, "type"), *model = xml_attr(d, "model");
                        xmlNode *hole = NULL;

                        if (!streq_ptr(type, "pci"))
                                continue;
                        r = xml_parse_pci_controller(d, s, ret_error);
                        if (r < 0)
                                return r;
                        /* docs/formatdomain.rst: pcihole64 belongs to the root bus controller, pcie-root
                         * on q35 and pci-root on i440fx. */
                        if (!(streq_ptr(model, "pcie-root") || streq_ptr(model, "pci-root")))
                                continue;
                        r = xml_child(d, "pcihole64", "<controller model='pcie-root'>", &hole, ret_error);
                        if (r < 0)
                                return r;
                        if (hole) {
                                r = xml_memory(hole, "pcihole64", &s->pci_hole64_size, ret_error);
                                if (r < 0)
                                        return r;
                                s->has_pci_hole64_size = true;
                        }
                }
        }
        return 0;
}

/* OVMF's classic 64-bit MMIO window size, from -fw_cfg name=opt/ovmf/X-PciMmio64Mb,string=N
 * (OvmfPkg/Library/PlatformInitLib/MemDetect.c, PlatformGetFirstNonAddress()). Other -fw_cfg items are
 * left to QEMU. */
static int spec_apply_fw_cfg(VmSpec *s, const char *opts, char **ret_error) {
        static const char prefix[] = "name=opt/ovmf/X-PciMmio64Mb,string=";
        uint64_t mb;

        if (!startswith(opts, prefix))
                return 0;
        if (safe_atou64_base(opts + strlen(prefix), 10, &mb) < 0 || mb == 0 || mb > (VMSPEC_SIZE_MAX >> 20))
                return fail(ret_error, -EINVAL,
                            "<qemu:commandline>: -fw_cfg %s is not a size in MiB up to 4 PiB", opts);
        s->ovmf_mmio64_size = mb << 20;
        return 0;
}

static int xml_parse_qemu_commandline(const xmlNode *root, VmSpec *s, char **ret_error) {
        for (xmlNode *cl = root->children; cl; cl = cl->next) {
                bool want_machine = false, want_fw_cfg = false;

                if (!xml_is_qemu(cl, "commandline"))
                        continue;
                for (xmlNode *a = cl->children; a; a = a->next) {
                        _cleanup_free_ char *v = NULL;
                        int r;

                        if (!xml_is_qemu(a, "arg"))
                                continue;
                        v = xml_attr(a, "value");
                        if (!v)
                                return fail(ret_error, -EINVAL, "<qemu:arg> has no value attribute");
                        if (want_machine) {
                                r = spec_apply_machine_options(s, v, ret_error);
                                if (r < 0)
                                        return r;
                                want_machine = false;
                        } else if (want_fw_cfg) {
                                r = spec_apply_fw_cfg(s, v, ret_error);
                                if (r < 0)
                                        return r;
                                want_fw_cfg = false;
                        } else {
                                want_machine = streq(v, "-machine") || streq(v, "-M");
                                want_fw_cfg = streq(v, "-fw_cfg");
                        }
                }
                if (want_machine)
                        return fail(ret_error, -EINVAL, "<qemu:commandline> ends with -machine and no value");
        }
        return 0;
}

int vmspec_parse_domain_xml(const char *buf, size_t len, VmSpec **ret, char **ret_error) {
        _cleanup_(xml_ctxt_freep) xmlParserCtxt *ctxt = NULL;
        _cleanup_(xml_doc_freep) xmlDoc *doc = NULL;
        _cleanup_(vmspec_freep) VmSpec *s = NULL;
        xmlNode *root, *n = NULL;
        int r;

        if (len > VMSPEC_INPUT_MAX)
                return fail(ret_error, -EFBIG, "the domain XML is larger than %u bytes", VMSPEC_INPUT_MAX);

        ctxt = xmlNewParserCtxt();
        if (!ctxt) {
                /* Out of memory, or no libxml2 at all: the programs load it on first use (libxml-dlopen.c),
                 * which then reports why as a module error. */
                const xmlError *e = xmlGetLastError();

                if (e && e->code == XML_MODULE_OPEN && e->message)
                        return fail(ret_error, -ELIBACC, "%s", e->message);
                return -ENOMEM;
        }
        /* No network, no DTD loading, no entity substitution: the document comes from whoever can call the
         * hook or the bus method, and a domain XML never needs any of those. */
        doc = xmlCtxtReadMemory(ctxt, buf, (int) len, "domain.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        if (!doc) {
                const xmlError *e = xmlCtxtGetLastError(ctxt);
                _cleanup_free_ char *msg = e && e->message ? strdup(e->message) : NULL;
                if (msg)
                        strstrip_trailing(msg);
                return fail(ret_error, -EINVAL, "the domain XML is not well-formed: line %d: %s", e ? e->line : 0,
                            msg ?: "parse error");
        }
        if (doc->intSubset || doc->extSubset)
                return fail(ret_error, -EINVAL, "the domain XML has a DOCTYPE, which libvirt never writes; "
                            "refusing it");
        root = xmlDocGetRootElement(doc);
        if (!xml_is(root, "domain"))
                return fail(ret_error, -EINVAL, "the root element is <%s>, not <domain>",
                            root ? (const char *) root->name : "(none)");

        s = vmspec_new();
        if (!s)
                return -ENOMEM;

        r = xml_parse_type(root, s, ret_error);
        if (r < 0)
                return r;

        r = xml_child(root, "name", "", &n, ret_error);
        if (r < 0)
                return r;
        if (!n)
                return fail(ret_error, -EINVAL, "<name> is missing");
        s->name = xml_text(n);
        if (!s->name)
                return -ENOMEM;
        if (isempty(s->name))
                return fail(ret_error, -EINVAL, "<name> is empty");

        r = xml_child(root, "memory", "", &n, ret_error);
        if (r < 0)
                return r;
        if (!n)
                return fail(ret_error, -EINVAL, "<memory> is missing");
        r = xml_memory(n, "memory", &s->memory, ret_error);
        if (r < 0)
                return r;

        r = xml_child(root, "currentMemory", "", &n, ret_error);
        if (r >= 0 && n)
                r = xml_memory(n, "currentMemory", &s->current_memory, ret_error);
        if (r < 0)
                return r;

        r = xml_child(root, "maxMemory", "", &n, ret_error);
        if (r >= 0 && n) {
                uint64_t slots = 0;
                r = xml_memory(n, "maxMemory", &s->max_memory, ret_error);
                if (r >= 0)
                        r = xml_uint_attr(n, "slots", "<maxMemory>", 256, true, &slots, ret_error);
                s->memory_slots = (unsigned) slots;
        }
        if (r < 0)
                return r;

        r = xml_parse_os(root, s, ret_error);
        if (r >= 0)
                r = xml_parse_cpu(root, s, ret_error);
        if (r >= 0)
                r = xml_parse_devices(root, s, ret_error);
        if (r >= 0)
                r = xml_parse_memtune(root, s, ret_error);
        if (r >= 0)
                r = xml_parse_iommufd(root, s, ret_error);
        if (r >= 0)
                r = xml_parse_qemu_commandline(root, s, ret_error);
        if (r >= 0)
                r = spec_validate(s, ret_error);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}

/* ---- JSON spec (../proto/vm-spec.md) ---- */

static int json_size(json_object *v, const char *key, uint64_t *ret, char **ret_error) {
        if (json_object_is_type(v, json_type_int)) {
                int64_t i = json_object_get_int64(v);
                /* json-c saturates at INT64_MAX: read it back as unsigned to tell. */
                if (i < 0)
                        return fail(ret_error, -EINVAL, "\"%s\": a size cannot be negative", key);
                *ret = json_object_get_uint64(v);
                return 0;
        }
        if (json_object_is_type(v, json_type_string)) {
                const char *s = json_object_get_string(v);
                char num[32];
                size_t l = strspn(s, "0123456789");

                /* "64G", "64GiB", "512MiB", "1024": libvirt's units after a decimal number */
                if (l == 0 || l >= sizeof(num))
                        return fail(ret_error, -EINVAL, "\"%s\": \"%s\" is not a size like \"64GiB\"", key, s);
                memcpy(num, s, l);
                num[l] = 0;
                if (parse_libvirt_size(num, s[l] ? s + l : "b", ret) < 0)
                        return fail(ret_error, -EINVAL, "\"%s\": \"%s\" is not a size like \"64GiB\"", key, s);
                return 0;
        }
        return fail(ret_error, -EINVAL, "\"%s\" must be a number of bytes or a string like \"64GiB\"", key);
}

static int json_int(json_object *v, const char *key, int min, int max, int *ret, char **ret_error) {
        int64_t i;

        if (!json_object_is_type(v, json_type_int))
                return fail(ret_error, -EINVAL, "\"%s\" must be an integer", key);
        i = json_object_get_int64(v);
        if (i < min || i > max)
                return fail(ret_error, -EINVAL, "\"%s\": %" PRIi64 " is outside %d..%d", key, i, min, max);
        *ret = (int) i;
        return 0;
}

static int json_string(json_object *v, const char *key, const char **ret, char **ret_error) {
        if (!json_object_is_type(v, json_type_string))
                return fail(ret_error, -EINVAL, "\"%s\" must be a string", key);
        *ret = json_object_get_string(v);
        return 0;
}

static int json_parse_cpu(json_object *cpu, VmSpec *s, char **ret_error) {
        if (!json_object_is_type(cpu, json_type_object))
                return fail(ret_error, -EINVAL, "\"cpu\" must be an object");
        json_object_object_foreach(cpu, key, v) {
                const char *str = NULL;
                int r;

                if (streq(key, "mode")) {
                        r = json_string(v, "cpu.mode", &str, ret_error);
                        if (r < 0)
                                return r;
                        s->cpu_mode = cpu_mode_from_string(str);
                        if (s->cpu_mode < 0)
                                return fail(ret_error, -EINVAL, "\"cpu.mode\": \"%s\" is not default, custom, "
                                            "host-model, host-passthrough or maximum", str);
                } else if (streq(key, "model") || streq(key, "vendor")) {
                        r = json_string(v, streq(key, "model") ? "cpu.model" : "cpu.vendor", &str, ret_error);
                        if (r < 0)
                                return r;
                        if (streq(key, "vendor") && !streq(str, "GenuineIntel") && !streq(str, "AuthenticAMD") &&
                            !streq(str, "HygonGenuine") && !streq(str, "CentaurHauls"))
                                return fail(ret_error, -EINVAL, "\"cpu.vendor\": \"%s\" is not a CPUID vendor "
                                            "string (GenuineIntel, AuthenticAMD...)", str);
                        free(streq(key, "model") ? s->cpu_model : s->cpu_vendor);
                        if (streq(key, "model"))
                                s->cpu_model = strdup(str);
                        else
                                s->cpu_vendor = strdup(str);
                        if (!(streq(key, "model") ? s->cpu_model : s->cpu_vendor))
                                return -ENOMEM;
                } else if (streq(key, "phys_bits")) {
                        r = json_int(v, "cpu.phys_bits", 32, 52, &s->phys_bits, ret_error);
                        if (r < 0)
                                return r;
                } else if (streq(key, "host_phys_bits")) {
                        if (!json_object_is_type(v, json_type_boolean))
                                return fail(ret_error, -EINVAL, "\"cpu.host_phys_bits\" must be true or false");
                        s->host_phys_bits = json_object_get_boolean(v);
                } else if (streq(key, "phys_bits_limit")) {
                        r = json_int(v, "cpu.phys_bits_limit", 32, 52, &s->phys_bits_limit, ret_error);
                        if (r < 0)
                                return r;
                        s->host_phys_bits = true;
                } else
                        return fail(ret_error, -EINVAL, "\"cpu\": unknown key \"%s\"", key);
        }
        if (s->cpu_mode == CPU_MODE_CUSTOM && !s->cpu_model)
                return fail(ret_error, -EINVAL, "\"cpu.mode\": custom needs \"cpu.model\"");
        if (s->cpu_model && s->cpu_mode == CPU_MODE_DEFAULT)
                s->cpu_mode = CPU_MODE_CUSTOM;
        if (s->phys_bits >= 0 && s->host_phys_bits)
                return fail(ret_error, -EINVAL, "\"cpu\": phys_bits and host_phys_bits/phys_bits_limit exclude "
                            "each other");
        return 0;
}

static int json_parse_hostdevs(json_object *list, VmSpec *s, char **ret_error) {
        size_t n;

        if (!json_object_is_type(list, json_type_array))
                return fail(ret_error, -EINVAL, "\"hostdevs\" must be an array");
        n = json_object_array_length(list);
        if (n > VMSPEC_HOSTDEVS_MAX)
                return fail(ret_error, -E2BIG, "\"hostdevs\" has more than %u entries", VMSPEC_HOSTDEVS_MAX);
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(list, i);
                const char *address = NULL;
                bool hotplug = false, managed = true;
                PciAddress a;
                int r;

                if (json_object_is_type(e, json_type_string))
                        address = json_object_get_string(e);
                else if (json_object_is_type(e, json_type_object)) {
                        json_object_object_foreach(e, key, val) {
                                if (streq(key, "address")) {
                                        if (!json_object_is_type(val, json_type_string))
                                                return fail(ret_error, -EINVAL,
                                                            "\"hostdevs[%zu].address\" must be a string", i);
                                        address = json_object_get_string(val);
                                } else if (streq(key, "hotplug")) {
                                        if (!json_object_is_type(val, json_type_boolean))
                                                return fail(ret_error, -EINVAL,
                                                            "\"hostdevs[%zu].hotplug\" must be true or false", i);
                                        hotplug = json_object_get_boolean(val);
                                } else if (streq(key, "managed")) {
                                        if (!json_object_is_type(val, json_type_boolean))
                                                return fail(ret_error, -EINVAL,
                                                            "\"hostdevs[%zu].managed\" must be true or false", i);
                                        managed = json_object_get_boolean(val);
                                } else
                                        return fail(ret_error, -EINVAL, "\"hostdevs[%zu]\": unknown key \"%s\"",
                                                    i, key);
                        }
                } else
                        return fail(ret_error, -EINVAL,
                                    "\"hostdevs[%zu]\" must be a PCI address string or an object", i);
                if (!address)
                        return fail(ret_error, -EINVAL, "\"hostdevs[%zu]\" has no \"address\"", i);
                if (pci_address_parse_user(address, &a) < 0)
                        return fail(ret_error, -EINVAL, "\"hostdevs[%zu]\": " PCI_ADDRESS_USER_ERROR, i, address);
                r = spec_add_hostdev(s, &a, hotplug, managed, ret_error);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* "virtio_mem": [{"size": ..., "block": ..., "requested": ...}] */
static int json_parse_virtio_mem(json_object *list, VmSpec *s, char **ret_error) {
        size_t n;

        if (!json_object_is_type(list, json_type_array))
                return fail(ret_error, -EINVAL, "\"virtio_mem\" must be an array");
        n = json_object_array_length(list);
        if (n > VMSPEC_HOSTDEVS_MAX)
                return fail(ret_error, -E2BIG, "\"virtio_mem\" has more than %u entries",
                            VMSPEC_HOSTDEVS_MAX);
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(list, i);
                uint64_t sz = 0, bl = 0, rq = 0;
                char where[48];
                int r;

                snprintf(where, sizeof where, "\"virtio_mem[%zu]\"", i);
                if (!json_object_is_type(e, json_type_object))
                        return fail(ret_error, -EINVAL, "%s must be an object", where);
                json_object_object_foreach(e, key, val) {
                        if (streq(key, "size"))
                                r = json_size(val, "virtio_mem.size", &sz, ret_error);
                        else if (streq(key, "block"))
                                r = json_size(val, "virtio_mem.block", &bl, ret_error);
                        else if (streq(key, "requested"))
                                r = json_size(val, "virtio_mem.requested", &rq, ret_error);
                        else
                                return fail(ret_error, -EINVAL, "%s: unknown key \"%s\"", where, key);
                        if (r < 0)
                                return r;
                }
                r = spec_add_virtio_mem(s, sz, bl, rq, where, ret_error);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int json_parse_iommu(json_object *o, VmSpec *s, char **ret_error) {
        if (!json_object_is_type(o, json_type_object))
                return fail(ret_error, -EINVAL, "\"iommu\" must be an object");
        json_object_object_foreach(o, key, v) {
                const char *str = NULL;
                int r;

                if (streq(key, "model")) {
                        r = json_string(v, "iommu.model", &str, ret_error);
                        if (r < 0)
                                return r;
                        s->viommu = viommu_model_from_string(str);
                        if (s->viommu < 0)
                                return fail(ret_error, -EINVAL, "\"iommu.model\": \"%s\" is not none, intel, "
                                            "smmuv3, virtio or amd", str);
                } else if (streq(key, "aw_bits")) {
                        r = json_int(v, "iommu.aw_bits", 32, 64, &s->viommu_aw_bits, ret_error);
                        if (r < 0)
                                return r;
                } else
                        return fail(ret_error, -EINVAL, "\"iommu\": unknown key \"%s\"", key);
        }
        return 0;
}

static void json_tokener_freep(json_tokener **t) {
        if (*t)
                json_tokener_free(*t);
}

static void json_object_putp(json_object **j) {
        if (*j)
                json_object_put(*j);
}

int vmspec_parse_json(const char *buf, size_t len, VmSpec **ret, char **ret_error) {
        _cleanup_(json_tokener_freep) json_tokener *tok = NULL;
        _cleanup_(json_object_putp) json_object *root = NULL;
        _cleanup_(vmspec_freep) VmSpec *s = NULL;
        bool have_machine = false, have_memory = false;
        size_t rest;
        int r;

        if (len > VMSPEC_INPUT_MAX)
                return fail(ret_error, -EFBIG, "the VM spec is larger than %u bytes", VMSPEC_INPUT_MAX);
        if (memchr(buf, 0, len))
                return fail(ret_error, -EINVAL, "the VM spec contains a NUL byte");

        /* A spec nests three levels; 16 bounds the parser's recursion on hostile input. */
        tok = json_tokener_new_ex(16);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        root = json_tokener_parse_ex(tok, buf, (int) len);
        if (!root || json_tokener_get_error(tok) != json_tokener_success)
                return fail(ret_error, -EINVAL, "the VM spec is not valid JSON: %s at offset %zu",
                            json_tokener_error_desc(json_tokener_get_error(tok)),
                            json_tokener_get_parse_end(tok));
        rest = json_tokener_get_parse_end(tok);
        for (; rest < len; rest++)
                if (!isspace((unsigned char) buf[rest]))
                        return fail(ret_error, -EINVAL, "the VM spec has trailing data at offset %zu", rest);
        if (!json_object_is_type(root, json_type_object))
                return fail(ret_error, -EINVAL, "the VM spec must be a JSON object");

        s = vmspec_new();
        if (!s)
                return -ENOMEM;

        json_object_object_foreach(root, key, v) {
                const char *str = NULL;

                if (streq(key, "name") || streq(key, "arch")) {
                        r = json_string(v, key, &str, ret_error);
                        if (r < 0)
                                return r;
                        if (isempty(str))
                                return fail(ret_error, -EINVAL, "\"%s\" is empty", key);
                        if (streq(key, "name")) {
                                free(s->name);
                                s->name = strdup(str);
                        } else {
                                free(s->arch);
                                s->arch = strdup(str);
                        }
                        if (!(streq(key, "name") ? s->name : s->arch))
                                return -ENOMEM;
                } else if (streq(key, "type")) {
                        VmAccel a;
                        r = json_string(v, key, &str, ret_error);
                        if (r < 0)
                                return r;
                        a = vm_accel_from_string(str);
                        if (a < 0)
                                return fail(ret_error, -EINVAL, "\"type\": \"%s\" is not a libvirt QEMU domain "
                                            "type (kvm, qemu, hvf)", str);
                        s->accel = a;
                } else if (streq(key, "machine")) {
                        r = json_string(v, key, &str, ret_error);
                        if (r < 0)
                                return r;
                        r = machine_type_parse(str, &s->machine);
                        if (r == -ENOMEM)
                                return r;
                        if (r < 0)
                                return fail(ret_error, r, "\"machine\": \"%s\" is not a machine type vfiomap "
                                            "models (pc-q35-X.Y, q35, pc-i440fx-X.Y, pc, virt-X.Y, virt)", str);
                        have_machine = true;
                } else if (streq(key, "memory")) {
                        r = json_size(v, key, &s->memory, ret_error);
                        if (r < 0)
                                return r;
                        have_memory = true;
                } else if (streq(key, "current_memory")) {
                        r = json_size(v, key, &s->current_memory, ret_error);
                        if (r < 0)
                                return r;
                } else if (streq(key, "max_memory")) {
                        r = json_size(v, key, &s->max_memory, ret_error);
                        if (r < 0)
                                return r;
                } else if (streq(key, "memory_slots")) {
                        int slots;
                        r = json_int(v, key, 0, 256, &slots, ret_error);
                        if (r < 0)
                                return r;
                        s->memory_slots = (unsigned) slots;
                } else if (streq(key, "cpu")) {
                        r = json_parse_cpu(v, s, ret_error);
                        if (r < 0)
                                return r;
                } else if (streq(key, "iommu")) {
                        r = json_parse_iommu(v, s, ret_error);
                        if (r < 0)
                                return r;
                } else if (streq(key, "pci_hole64_size")) {
                        r = json_size(v, key, &s->pci_hole64_size, ret_error);
                        if (r < 0)
                                return r;
                        s->has_pci_hole64_size = true;
                } else if (streq(key, "max_ram_below_4g")) {
                        r = json_size(v, key, &s->max_ram_below_4g, ret_error);
                        if (r < 0)
                                return r;
                        if (s->max_ram_below_4g > UINT64_C(4) << 30)
                                return fail(ret_error, -EINVAL, "\"max_ram_below_4g\" exceeds 4 GiB, which QEMU "
                                            "refuses");
                        s->has_max_ram_below_4g = true;
                } else if (streq(key, "hostdevs")) {
                        r = json_parse_hostdevs(v, s, ret_error);
                        if (r < 0)
                                return r;
                } else if (streq(key, "hard_limit")) {
                        r = json_size(v, key, &s->hard_limit, ret_error);
                        if (r < 0)
                                return r;
                        if (s->hard_limit == 0 || s->hard_limit > VMSPEC_SIZE_MAX)
                                return fail(ret_error, -EINVAL, "\"hard_limit\" must be 1 byte .. 4 PiB");
                        s->has_hard_limit = true;
                } else if (streq(key, "virtio_mem")) {
                        r = json_parse_virtio_mem(v, s, ret_error);
                        if (r < 0)
                                return r;
                } else if (streq(key, "firmware")) {
                        const char *fw = NULL;
                        r = json_string(v, key, &fw, ret_error);
                        if (r < 0)
                                return r;
                        if (!streq(fw, "efi") && !streq(fw, "bios"))
                                return fail(ret_error, -EINVAL,
                                            "\"firmware\" is \"%s\", not \"efi\" or \"bios\"", fw);
                        s->efi = streq(fw, "efi");
                } else if (streq(key, "ovmf_mmio64_size")) {
                        r = json_size(v, key, &s->ovmf_mmio64_size, ret_error);
                        if (r < 0)
                                return r;
                        if (s->ovmf_mmio64_size == 0 || s->ovmf_mmio64_size > VMSPEC_SIZE_MAX)
                                return fail(ret_error, -EINVAL,
                                            "\"ovmf_mmio64_size\" must be 1 MiB .. 4 PiB");
                } else
                        return fail(ret_error, -EINVAL, "unknown key \"%s\" (see proto/vm-spec.md)", key);
        }

        if (!have_machine)
                return fail(ret_error, -EINVAL, "\"machine\" is missing");
        if (!have_memory)
                return fail(ret_error, -EINVAL, "\"memory\" is missing");
        if (s->max_memory != 0 && s->memory_slots == 0)
                return fail(ret_error, -EINVAL, "\"max_memory\" needs \"memory_slots\" (as <maxMemory slots=>)");
        if (!s->name) {
                s->name = strdup("vm");
                if (!s->name)
                        return -ENOMEM;
        }
        r = spec_validate(s, ret_error);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}

int vmspec_parse(const char *buf, size_t len, VmSpec **ret, char **ret_error) {
        size_t i = 0;

        if (len > VMSPEC_INPUT_MAX)
                return fail(ret_error, -EFBIG, "the VM description is larger than %u bytes", VMSPEC_INPUT_MAX);
        /* Skip a UTF-8 byte order mark and blanks. */
        if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
                i = 3;
        while (i < len && isspace((unsigned char) buf[i]))
                i++;
        if (i < len && buf[i] == '<')
                return vmspec_parse_domain_xml(buf, len, ret, ret_error);
        if (i < len && buf[i] == '{')
                return vmspec_parse_json(buf + i, len - i, ret, ret_error);
        return fail(ret_error, -EINVAL, "the VM description is neither a libvirt domain XML nor a JSON spec");
}
