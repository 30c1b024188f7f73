/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * mkhost: builds a host tree (sysfs, procfs and /dev as the kernel lays them out) from a compact text
 * description, so that every test and benchmark of vfiomap can point --root at a realistic host without
 * the hardware. tests/hosts/README.md is the complete reference, with the list of bundled samples.
 *
 *   mkhost DESCRIPTION DIR               build DESCRIPTION (tests/hosts/NAME.host) into DIR
 *   mkhost --generate N --shape S DIR    a deterministic host of N PCI functions; S is mixed, sriov
 *                                        or gpu-switch (for benchmarks)
 *
 * DIR must not exist or must be empty. The output is a pure function of the input: building the same
 * description twice gives identical trees, which is what tests/hosts/check-samples.sh relies on.
 *
 * The description format:
 *   - One statement per line. "#" starts a comment outside quotes, blank lines are ignored, indentation
 *     is cosmetic. Tokens are separated by blanks; "double quotes" keep blanks and know \n \t \" \\.
 *   - A statement ending in <<WORD takes the lines that follow, up to a line holding only WORD, verbatim.
 *   - Numbers are decimal or 0x-hex; sizes may end in K, M, G or T (powers of 1024). A RANGE is
 *     START-END (END inclusive, as the kernel prints ranges) or START+SIZE.
 *   - PCI addresses are dddd:bb:ss.f, or bb:ss.f in domain 0000.
 *
 *   host KEY=VALUE...            iov=yes|no config=full|64 resource=real|zeroed iomem=generate|zeroed|none
 *                                group-type=TYPE|none vfio-container=yes|no numa=N
 *   cpu x86 KEY=VALUE...         vendor= family= model= stepping= name= mhz= microcode= cache= cores=
 *                                siblings= cpuid-level= bogomips= phys-bits= virt-bits= count= flags=
 *   cpu arm64 KEY=VALUE...       implementer= part= variant= revision= bogomips= count= features=
 *   cpuinfo <<EOF                /proc/cpuinfo verbatim instead of "cpu"
 *   unsafe-interrupts Y|N        writes vfio_iommu_type1's allow_unsafe_interrupts parameter
 *   dma-entry-limit N            writes vfio_iommu_type1's dma_entry_limit parameter
 *   unit NAME intel|amd|arm [KEY=VALUE...] [default]
 *                                intel: cap= ecap= (hex) version= address= (hex); amd: cap= (hex)
 *                                features=EFR|EFR2:EFR (hex); parent=BDF|PATH places the unit below a
 *                                PCI device or sys/devices/PATH instead of sys/devices/virtual;
 *                                "default": serves every grouped device that names no unit
 *   rootbus DDDD:BB [name=STRING] [mem=RANGE]...    host bridge windows, for /proc/iomem
 *   device BDF VVVV:DDDD KEY=VALUE...
 *                                class= (required) sub=VVVV:DDDD rev= parent=BDF pcie=TYPE bus=SEC-SUB
 *                                driver= override= group= iommu= numa= irq= config=4096|256|64
 *                                acs=CAP:CTL caps=none claim=NAME|- width=N speed=1-6 (PCIe link)
 *                                rebar=N:SIZES (Resizable BAR for BAR N, which must be declared; SIZES is
 *                                the capability register's bits 4-31 in hex: bit k = 1 MiB << k)
 *                                reset=flr,af-flr,pm (FLR in DevCap, an AF capability with TP and FLR,
 *                                PMCSR without No_Soft_Reset; default none of them)
 *                                TYPE: endpoint legacy-endpoint root-port upstream downstream pcie-pci
 *                                pci-pcie rc-integrated rc-ec none (conventional PCI)
 *     bar N KIND RANGE           KIND: io mem32 mem64 pref32 pref64; resource lines 0-5
 *     rom RANGE [enabled]        resource line 6
 *     iovbar N KIND RANGE        SR-IOV BAR N (resource line 7+N): the range of all VFs together
 *     window io|mem|pref|pref32 RANGE
 *     res LINE START END FLAGS   a raw resource line (LINE in the CONFIG_PCI_IOV numbering)
 *     sriov total=N num=N offset=N stride=N vf-device=DDDD [vf-group=N] [vf-driver=NAME:FIRST-LAST,...]
 *                                (these apply to the device declared last)
 *   group N [type=TYPE|none]     a group's "type" file (default: host group-type, DMA)
 *   resv GROUP|* TYPE RANGE      a reserved region of one group or of every group
 *   iomem RANGE NAME | iomem <<EOF    extra /proc/iomem resources, or the whole file verbatim
 *   process PID [comm=NAME] fd=N:TARGET...    /proc/PID/fd/N symlinks (TARGET as the kernel shows it)
 *   file PATH STRING | file PATH <<EOF | remove PATH | truncate PATH BYTES | symlink PATH TARGET
 *                                edits applied in order after the tree is built, for bad-input
 *                                fixtures; PATH is relative to DIR, a leading @BDF stands for the
 *                                device's directory
 */

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "util.h"

#define PCI_NAME_MAX 24 /* "dddd:bb:ss.f", with room for what the compiler cannot rule out */

/* Resource lines in the CONFIG_PCI_IOV numbering (include/linux/pci.h): 0-5 BARs, 6 ROM, 7-12 SR-IOV
 * BARs, 13-16 bridge resources (I/O, memory, prefetchable memory, unused). */
#define RES_LINES 17
#define RES_ROM 6
#define RES_IOV 7
#define RES_WINDOW 13

/* include/linux/ioport.h */
#define IORESOURCE_IO UINT64_C(0x00000100)
#define IORESOURCE_MEM UINT64_C(0x00000200)
#define IORESOURCE_PREFETCH UINT64_C(0x00002000)
#define IORESOURCE_READONLY UINT64_C(0x00004000)
#define IORESOURCE_SIZEALIGN UINT64_C(0x00040000)
#define IORESOURCE_MEM_64 UINT64_C(0x00100000)
#define IORESOURCE_WINDOW UINT64_C(0x00200000)

/* What drivers/pci/probe.c leaves in the flags of each kind of BAR and window: the resource type plus
 * the low bits of the BAR or base register (I/O space bit, 64-bit type, prefetchable). */
#define FLAGS_BAR_IO UINT64_C(0x40101)
#define FLAGS_BAR_MEM32 UINT64_C(0x40200)
#define FLAGS_BAR_PREF32 UINT64_C(0x42208)
#define FLAGS_BAR_MEM64 UINT64_C(0x140204)
#define FLAGS_BAR_PREF64 UINT64_C(0x14220c)
#define FLAGS_ROM UINT64_C(0x46200)
#define FLAGS_WINDOW_IO UINT64_C(0x200101)
#define FLAGS_WINDOW_MEM UINT64_C(0x200200)
#define FLAGS_WINDOW_PREF64 UINT64_C(0x302201)
#define FLAGS_WINDOW_PREF32 UINT64_C(0x202200)

/* PCI_EXP_TYPE_* (include/uapi/linux/pci_regs.h); -1 is conventional PCI, without the capability. */
#define PCIE_NONE (-1)
enum {
        PCIE_ENDPOINT = 0x0,
        PCIE_LEGACY_ENDPOINT = 0x1,
        PCIE_ROOT_PORT = 0x4,
        PCIE_UPSTREAM = 0x5,
        PCIE_DOWNSTREAM = 0x6,
        PCIE_PCIE_TO_PCI = 0x7,
        PCIE_PCI_TO_PCIE = 0x8,
        PCIE_RC_INTEGRATED = 0x9,
        PCIE_RC_EC = 0xa,
};

static const struct {
        const char *name;
        int type;
} pcie_types[] = {
        { "endpoint", PCIE_ENDPOINT },       { "legacy-endpoint", PCIE_LEGACY_ENDPOINT },
        { "root-port", PCIE_ROOT_PORT },     { "upstream", PCIE_UPSTREAM },
        { "downstream", PCIE_DOWNSTREAM },   { "pcie-pci", PCIE_PCIE_TO_PCI },
        { "pci-pcie", PCIE_PCI_TO_PCIE },    { "rc-integrated", PCIE_RC_INTEGRATED },
        { "rc-ec", PCIE_RC_EC },             { "none", PCIE_NONE },
};

static const struct {
        const char *name;
        uint64_t flags;
} bar_kinds[] = {
        { "io", FLAGS_BAR_IO },       { "mem32", FLAGS_BAR_MEM32 }, { "pref32", FLAGS_BAR_PREF32 },
        { "mem64", FLAGS_BAR_MEM64 }, { "pref64", FLAGS_BAR_PREF64 },
};

/* ---- the model ---- */

typedef struct Res {
        uint64_t start, end, flags;
} Res;

typedef struct VfDriver {
        unsigned first, last;
        char *name;
} VfDriver;

typedef struct Dev {
        unsigned line; /* of the description, for messages; 0 when generated */
        uint32_t domain;
        unsigned bus, slot, fn;
        char name[PCI_NAME_MAX];
        uint16_t vendor, device, sub_vendor, sub_device;
        uint32_t class;
        uint8_t revision;
        int parent; /* index of the upstream bridge, -1 on a root bus */
        int pcie;   /* PCI_EXP_TYPE_*, PCIE_NONE */
        bool bridge;
        unsigned secondary, subordinate;
        char *driver, *override, *iommu, *claim;
        int group; /* -1: none */
        int numa, irq;
        unsigned link_width, link_speed; /* PCIe link, 0: a default by class */
        size_t config_size; /* 0: the default for the device kind */
        bool no_caps;
        bool acs;
        uint16_t acs_cap, acs_ctl;
        bool rebar;
        unsigned rebar_bar;
        uint32_t rebar_sizes;
        bool reset_flr, reset_af_flr, reset_pm;
        Res res[RES_LINES];

        /* SR-IOV physical function */
        bool sriov;
        unsigned total_vfs, num_vfs, vf_offset, vf_stride;
        uint16_t vf_device;
        int vf_group; /* group of VF 0, the next VFs count up; -1: none */
        VfDriver *vf_drivers;
        size_t n_vf_drivers, allocated_vf_drivers;

        /* SR-IOV virtual function */
        int physfn; /* -1 otherwise */
        unsigned vf_index;

        /* computed by model_finish() */
        bool multifunction;
        char *path; /* "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0" */
} Dev;

typedef enum UnitKind {
        UNIT_INTEL,
        UNIT_AMD,
        UNIT_ARM,
} UnitKind;

typedef struct Unit {
        unsigned line;
        char *name;
        UnitKind kind;
        uint64_t cap, ecap, address, efr, efr2;
        bool has_efr2;
        char *version;
        char *parent;
        bool is_default;
        char *path; /* computed */
} Unit;

typedef struct RootBus {
        uint32_t domain;
        unsigned bus;
        char *name;
        Res mem[8];
        size_t n_mem;
} RootBus;

typedef struct IomemExtra {
        uint64_t start, end;
        char *name;
} IomemExtra;

typedef struct Resv {
        int group; /* -1: every group */
        uint64_t start, end;
        char *type;
} Resv;

typedef struct GroupDef {
        unsigned number;
        char *type; /* NULL: no "type" file */
} GroupDef;

typedef struct ProcFd {
        unsigned fd;
        char *target;
} ProcFd;

typedef struct Proc {
        unsigned pid;
        char *comm;
        ProcFd *fds;
        size_t n_fds, allocated_fds;
} Proc;

typedef enum OpKind {
        OP_FILE,
        OP_REMOVE,
        OP_TRUNCATE,
        OP_SYMLINK,
} OpKind;

typedef struct PostOp {
        unsigned line;
        OpKind kind;
        char *path;
        char *data; /* file contents, symlink target */
        uint64_t size;
} PostOp;

typedef enum IomemMode {
        IOMEM_GENERATE,
        IOMEM_ZEROED,
        IOMEM_NONE,
} IomemMode;

typedef struct Cpu {
        bool set, arm;
        char *vendor, *name, *flags, *mhz, *bogomips, *microcode;
        unsigned family, model, stepping, count, cache_kb, cores, siblings, cpuid_level, phys_bits,
                virt_bits;
        unsigned implementer, part, variant, revision;
} Cpu;

typedef struct Model {
        const char *source; /* for messages */
        bool iov, config64, resource_zeroed, vfio_container;
        IomemMode iomem_mode;
        char *group_type; /* NULL: kernels before 5.11, no "type" file */
        int unsafe_interrupts; /* -1: no parameter file, 0: N, 1: Y */
        long long dma_entry_limit; /* -1: no parameter file */
        int numa;              /* numa_node of every device that does not say */
        Cpu cpu;
        char *cpuinfo_text, *iomem_text;

        Dev *devs;
        size_t n_devs, allocated_devs;
        Unit *units;
        size_t n_units, allocated_units;
        RootBus *rootbuses;
        size_t n_rootbuses, allocated_rootbuses;
        IomemExtra *iomem;
        size_t n_iomem, allocated_iomem;
        Resv *resv;
        size_t n_resv, allocated_resv;
        GroupDef *groups;
        size_t n_groups, allocated_groups;
        Proc *procs;
        size_t n_procs, allocated_procs;
        PostOp *ops;
        size_t n_ops, allocated_ops;
} Model;

static int oom(void) {
        fprintf(stderr, "mkhost: out of memory\n");
        return -ENOMEM;
}

static int model_init(Model *m, const char *source) {
        *m = (Model) {
                .source = source,
                .iov = true,
                .iomem_mode = IOMEM_GENERATE,
                .unsafe_interrupts = -1,
                .dma_entry_limit = -1,
                .numa = -1,
                .group_type = strdup("DMA"),
        };
        return m->group_type ? 0 : oom();
}

static void model_done(Model *m) {
        for (size_t i = 0; i < m->n_devs; i++) {
                Dev *d = m->devs + i;
                free(d->driver);
                free(d->override);
                free(d->iommu);
                free(d->claim);
                free(d->path);
                for (size_t j = 0; j < d->n_vf_drivers; j++)
                        free(d->vf_drivers[j].name);
                free(d->vf_drivers);
        }
        free(m->devs);
        for (size_t i = 0; i < m->n_units; i++) {
                free(m->units[i].name);
                free(m->units[i].version);
                free(m->units[i].parent);
                free(m->units[i].path);
        }
        free(m->units);
        for (size_t i = 0; i < m->n_rootbuses; i++)
                free(m->rootbuses[i].name);
        free(m->rootbuses);
        for (size_t i = 0; i < m->n_iomem; i++)
                free(m->iomem[i].name);
        free(m->iomem);
        for (size_t i = 0; i < m->n_resv; i++)
                free(m->resv[i].type);
        free(m->resv);
        for (size_t i = 0; i < m->n_groups; i++)
                free(m->groups[i].type);
        free(m->groups);
        for (size_t i = 0; i < m->n_procs; i++) {
                free(m->procs[i].comm);
                for (size_t j = 0; j < m->procs[i].n_fds; j++)
                        free(m->procs[i].fds[j].target);
                free(m->procs[i].fds);
        }
        free(m->procs);
        for (size_t i = 0; i < m->n_ops; i++) {
                free(m->ops[i].path);
                free(m->ops[i].data);
        }
        free(m->ops);
        free(m->group_type);
        free(m->cpuinfo_text);
        free(m->iomem_text);
        free(m->cpu.vendor);
        free(m->cpu.name);
        free(m->cpu.flags);
        free(m->cpu.mhz);
        free(m->cpu.bogomips);
        free(m->cpu.microcode);
}

/* Appends a zeroed element to one of the model's arrays, returns it or NULL. */
#define APPEND(array, n, allocated)                                                                     \
        ({                                                                                              \
                typeof(array) _r_ = NULL;                                                               \
                if (GREEDY_REALLOC(array, allocated, (n) + 1)) {                                        \
                        _r_ = (array) + (n)++;                                                          \
                        memset(_r_, 0, sizeof(*_r_));                                                   \
                }                                                                                       \
                _r_;                                                                                    \
        })

static Dev *model_add_dev(Model *m) {
        Dev *d = APPEND(m->devs, m->n_devs, m->allocated_devs);
        if (!d)
                return NULL;
        d->parent = -1;
        d->pcie = PCIE_ENDPOINT;
        d->group = -1;
        d->numa = -1;
        d->irq = -1;
        d->vf_group = -1;
        d->physfn = -1;
        return d;
}

static int model_add_resv(Model *m, int group, uint64_t start, uint64_t end, const char *type) {
        Resv *x = APPEND(m->resv, m->n_resv, m->allocated_resv);

        if (!x || !(x->type = strdup(type)))
                return oom();
        x->group = group;
        x->start = start;
        x->end = end;
        return 0;
}

static int model_find_dev(const Model *m, uint32_t domain, unsigned bus, unsigned slot, unsigned fn) {
        for (size_t i = 0; i < m->n_devs; i++) {
                const Dev *d = m->devs + i;
                if (d->domain == domain && d->bus == bus && d->slot == slot && d->fn == fn)
                        return (int) i;
        }
        return -1;
}

static Unit *model_find_unit(const Model *m, const char *name) {
        for (size_t i = 0; i < m->n_units; i++)
                if (streq(m->units[i].name, name))
                        return m->units + i;
        return NULL;
}

static GroupDef *model_find_group(const Model *m, unsigned number) {
        for (size_t i = 0; i < m->n_groups; i++)
                if (m->groups[i].number == number)
                        return m->groups + i;
        return NULL;
}

static void dev_set_name(Dev *d) {
        (void) snprintf(d->name, sizeof(d->name), "%04" PRIx32 ":%02x:%02x.%x", d->domain, d->bus, d->slot,
                        d->fn);
}

static bool res_used(const Res *r) {
        return r->start != 0 || r->end != 0 || r->flags != 0;
}

static bool driver_is_vfio(const char *driver) {
        /* vfio-pci and its variant drivers (mlx5_vfio_pci, hisi_acc_vfio_pci, ...) */
        return driver && strstr(driver, "vfio");
}

/* ---- lexical helpers ---- */

typedef struct Parser {
        Model *m;
        const char *file;
        unsigned line;
        int cur_dev; /* index of the device declared last, -1 before the first */
} Parser;

static int syntax(const Parser *p, const char *format, ...) _printf_(2, 3);
static int syntax(const Parser *p, const char *format, ...) {
        va_list ap;

        fprintf(stderr, "%s:%u: ", p->file, p->line);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
        return -EINVAL;
}

/* Decimal or 0x-hex, nothing else: a leading 0 does not mean octal here. With sizes, a K, M, G or T suffix
 * multiplies by a power of 1024. */
static int parse_number(const char *s, bool size, uint64_t *ret) {
        unsigned shift = 0;
        char *end = NULL;
        unsigned long long v;
        int base = 10;

        if (isempty(s) || !isxdigit((unsigned char) s[0]))
                return -EINVAL;
        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
                base = 16;
                s += 2;
                if (!isxdigit((unsigned char) s[0]))
                        return -EINVAL;
        } else if (!isdigit((unsigned char) s[0]))
                return -EINVAL;

        errno = 0;
        v = strtoull(s, &end, base);
        if (errno != 0)
                return -errno;
        if (size && *end && !end[1]) {
                const char *units = "KMGT", *u = strchr(units, *end);
                if (u) {
                        shift = 10 * (unsigned) (u - units + 1);
                        end++;
                }
        }
        if (*end)
                return -EINVAL;
        if (shift > 0 && v > (UINT64_MAX >> shift))
                return -ERANGE;
        *ret = (uint64_t) v << shift;
        return 0;
}

static int parse_unsigned(const char *s, unsigned max, unsigned *ret) {
        uint64_t v;
        int r = parse_number(s, false, &v);
        if (r < 0)
                return r;
        if (v > max)
                return -ERANGE;
        *ret = (unsigned) v;
        return 0;
}

static int parse_hex(const char *s, uint64_t *ret) {
        char *end = NULL;
        unsigned long long v;

        if (startswith(s, "0x"))
                s += 2;
        if (isempty(s) || !isxdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 16);
        if (errno != 0)
                return -errno;
        if (*end)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* START-END or START+SIZE */
static int parse_range(const char *s, uint64_t *ret_start, uint64_t *ret_end) {
        _cleanup_free_ char *a = strdup(s);
        uint64_t start, x;
        char *sep;
        int r;

        if (!a)
                return -ENOMEM;
        sep = strpbrk(a + 1, "-+");
        if (!sep)
                return -EINVAL;
        char op = *sep;
        *sep = 0;
        r = parse_number(a, false, &start);
        if (r < 0)
                return r;
        r = parse_number(sep + 1, op == '+', &x);
        if (r < 0)
                return r;
        if (op == '+') {
                if (x == 0 || x - 1 > UINT64_MAX - start)
                        return -ERANGE;
                x = start + x - 1;
        }
        if (x < start)
                return -ERANGE;
        *ret_start = start;
        *ret_end = x;
        return 0;
}

static int parse_bdf(const char *s, uint32_t *ret_domain, unsigned *ret_bus, unsigned *ret_slot,
                     unsigned *ret_fn) {
        unsigned domain = 0, bus, slot, fn;
        int n = -1;

        if (sscanf(s, "%x:%x:%x.%x%n", &domain, &bus, &slot, &fn, &n) == 4 && n == (int) strlen(s) &&
            strchr(s, ':') - s <= 5)
                ;
        else if (
                n = -1,
                domain = 0,
                sscanf(s, "%x:%x.%x%n", &bus, &slot, &fn, &n) == 3 && n == (int) strlen(s))
                ;
        else
                return -EINVAL;
        if (domain > 0xffff || bus > 0xff || slot > 0x1f || fn > 7)
                return -ERANGE;
        *ret_domain = domain;
        *ret_bus = bus;
        *ret_slot = slot;
        *ret_fn = fn;
        return 0;
}

/* "VVVV:DDDD" */
static int parse_id_pair(const char *s, uint16_t *ret_a, uint16_t *ret_b) {
        unsigned a, b;
        int n = -1;

        if (sscanf(s, "%4x:%4x%n", &a, &b, &n) != 2 || n != (int) strlen(s))
                return -EINVAL;
        *ret_a = (uint16_t) a;
        *ret_b = (uint16_t) b;
        return 0;
}

static int parse_bool(const char *s) {
        if (streq(s, "yes") || streq(s, "y") || streq(s, "Y") || streq(s, "1") || streq(s, "true"))
                return 1;
        if (streq(s, "no") || streq(s, "n") || streq(s, "N") || streq(s, "0") || streq(s, "false"))
                return 0;
        return -EINVAL;
}

/* "key=value" → value, when the token has that key. */
static const char *kv(const char *token, const char *key) {
        const char *v = startswith(token, key);
        return v && *v == '=' ? v + 1 : NULL;
}

/* Splits a line into tokens. Quotes group blanks and take escapes; "#" outside quotes ends the line. */
static int tokenize(const Parser *p, const char *line, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *buf = malloc(strlen(line) + 1);
        const char *s = line;
        int r;

        if (!buf)
                return -ENOMEM;
        for (;;) {
                size_t n = 0;
                bool quoted = false, any = false;

                while (*s == ' ' || *s == '\t')
                        s++;
                if (!*s || *s == '#')
                        break;
                while (*s && (quoted || (*s != ' ' && *s != '\t' && *s != '#'))) {
                        any = true;
                        if (*s == '"') {
                                quoted = !quoted;
                                s++;
                                continue;
                        }
                        if (quoted && *s == '\\') {
                                s++;
                                switch (*s) {
                                case 'n':
                                        buf[n++] = '\n';
                                        break;
                                case 't':
                                        buf[n++] = '\t';
                                        break;
                                case '\\':
                                case '"':
                                        buf[n++] = *s;
                                        break;
                                default:
                                        return syntax(p, "unknown escape \\%c", *s ? *s : ' ');
                                }
                                s++;
                                continue;
                        }
                        buf[n++] = *s++;
                }
                if (quoted)
                        return syntax(p, "unterminated quote");
                if (any) {
                        buf[n] = 0;
                        r = strv_extend(&l, buf);
                        if (r < 0)
                                return r;
                }
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* Paths given to the edits: relative, no "..", no empty components. "@BDF/rest" is kept for later. */
static bool path_is_safe(const char *path) {
        if (isempty(path) || path[0] == '/')
                return false;
        for (const char *c = path; *c;) {
                size_t l = strcspn(c, "/");
                if (l == 0 || (l == 2 && strncmp(c, "..", 2) == 0) || (l == 1 && c[0] == '.'))
                        return false;
                c += l;
                if (*c == '/')
                        c++;
        }
        return true;
}

/* ---- statements ---- */

static int parse_host(Parser *p, char **t) {
        Model *m = p->m;
        const char *v;
        int b;

        STRV_FOREACH(i, t + 1) {
                if ((v = kv(*i, "iov"))) {
                        if ((b = parse_bool(v)) < 0)
                                return syntax(p, "bad iov=%s", v);
                        m->iov = b;
                } else if ((v = kv(*i, "config"))) {
                        if (!streq(v, "full") && !streq(v, "64"))
                                return syntax(p, "config= takes full or 64");
                        m->config64 = streq(v, "64");
                } else if ((v = kv(*i, "resource"))) {
                        if (!streq(v, "real") && !streq(v, "zeroed"))
                                return syntax(p, "resource= takes real or zeroed");
                        m->resource_zeroed = streq(v, "zeroed");
                } else if ((v = kv(*i, "iomem"))) {
                        if (streq(v, "generate"))
                                m->iomem_mode = IOMEM_GENERATE;
                        else if (streq(v, "zeroed"))
                                m->iomem_mode = IOMEM_ZEROED;
                        else if (streq(v, "none"))
                                m->iomem_mode = IOMEM_NONE;
                        else
                                return syntax(p, "iomem= takes generate, zeroed or none");
                } else if ((v = kv(*i, "group-type"))) {
                        free(m->group_type);
                        m->group_type = streq(v, "none") ? NULL : strdup(v);
                        if (!streq(v, "none") && !m->group_type)
                                return -ENOMEM;
                } else if ((v = kv(*i, "vfio-container"))) {
                        if ((b = parse_bool(v)) < 0)
                                return syntax(p, "bad vfio-container=%s", v);
                        m->vfio_container = b;
                } else if ((v = kv(*i, "numa"))) {
                        unsigned u;
                        if (parse_unsigned(v, 1023, &u) < 0)
                                return syntax(p, "bad numa=%s", v);
                        m->numa = (int) u;
                } else
                        return syntax(p, "unknown host option '%s'", *i);
        }
        return 0;
}

static int set_string(char **field, const char *v) {
        char *s = strdup(v);
        if (!s)
                return -ENOMEM;
        free(*field);
        *field = s;
        return 0;
}

static int parse_cpu(Parser *p, char **t) {
        Cpu *c = &p->m->cpu;
        const char *v;
        int r = 0;

        if (!t[1] || (!streq(t[1], "x86") && !streq(t[1], "arm64")))
                return syntax(p, "cpu takes x86 or arm64 first");
        c->set = true;
        c->arm = streq(t[1], "arm64");
        c->count = 1;
        STRV_FOREACH(i, t + 2) {
                if ((v = kv(*i, "vendor")))
                        r = set_string(&c->vendor, v);
                else if ((v = kv(*i, "name")))
                        r = set_string(&c->name, v);
                else if ((v = kv(*i, "flags")) || (v = kv(*i, "features")))
                        r = set_string(&c->flags, v);
                else if ((v = kv(*i, "mhz")))
                        r = set_string(&c->mhz, v);
                else if ((v = kv(*i, "bogomips")))
                        r = set_string(&c->bogomips, v);
                else if ((v = kv(*i, "microcode")))
                        r = set_string(&c->microcode, v);
                else if ((v = kv(*i, "family")))
                        r = parse_unsigned(v, 0xffff, &c->family);
                else if ((v = kv(*i, "model")))
                        r = parse_unsigned(v, 0xffff, &c->model);
                else if ((v = kv(*i, "stepping")))
                        r = parse_unsigned(v, 0xffff, &c->stepping);
                else if ((v = kv(*i, "count")))
                        r = parse_unsigned(v, 4096, &c->count);
                else if ((v = kv(*i, "cache")))
                        r = parse_unsigned(v, UINT32_MAX, &c->cache_kb);
                else if ((v = kv(*i, "cores")))
                        r = parse_unsigned(v, 4096, &c->cores);
                else if ((v = kv(*i, "siblings")))
                        r = parse_unsigned(v, 4096, &c->siblings);
                else if ((v = kv(*i, "cpuid-level")))
                        r = parse_unsigned(v, 0xffff, &c->cpuid_level);
                else if ((v = kv(*i, "phys-bits")))
                        r = parse_unsigned(v, 64, &c->phys_bits);
                else if ((v = kv(*i, "virt-bits")))
                        r = parse_unsigned(v, 64, &c->virt_bits);
                else if ((v = kv(*i, "implementer")))
                        r = parse_unsigned(v, 0xff, &c->implementer);
                else if ((v = kv(*i, "part")))
                        r = parse_unsigned(v, 0xfff, &c->part);
                else if ((v = kv(*i, "variant")))
                        r = parse_unsigned(v, 0xf, &c->variant);
                else if ((v = kv(*i, "revision")))
                        r = parse_unsigned(v, 0xf, &c->revision);
                else
                        return syntax(p, "unknown cpu option '%s'", *i);
                if (r < 0)
                        return r == -ENOMEM ? oom() : syntax(p, "bad value in '%s'", *i);
        }
        if (c->count == 0)
                return syntax(p, "count must be at least 1");
        return 0;
}

static int parse_unit(Parser *p, char **t) {
        Model *m = p->m;
        const char *v;
        Unit *u;
        int r = 0;

        if (strv_length(t) < 3)
                return syntax(p, "unit needs a name and a kind (intel, amd, arm)");
        if (model_find_unit(m, t[1]))
                return syntax(p, "unit %s declared twice", t[1]);
        if (!path_is_safe(t[1]) || strchr(t[1], '/'))
                return syntax(p, "bad unit name '%s'", t[1]);
        u = APPEND(m->units, m->n_units, m->allocated_units);
        if (!u)
                return oom();
        u->line = p->line;
        u->name = strdup(t[1]);
        if (!u->name)
                return oom();
        if (streq(t[2], "intel"))
                u->kind = UNIT_INTEL;
        else if (streq(t[2], "amd"))
                u->kind = UNIT_AMD;
        else if (streq(t[2], "arm"))
                u->kind = UNIT_ARM;
        else
                return syntax(p, "unknown unit kind '%s'", t[2]);

        STRV_FOREACH(i, t + 3) {
                if (streq(*i, "default")) {
                        for (size_t j = 0; j + 1 < m->n_units; j++)
                                if (m->units[j].is_default)
                                        return syntax(p, "two default units");
                        u->is_default = true;
                } else if ((v = kv(*i, "parent"))) {
                        if (!path_is_safe(v))
                                return syntax(p, "bad parent '%s'", v);
                        r = set_string(&u->parent, v);
                } else if (u->kind == UNIT_INTEL && (v = kv(*i, "cap")))
                        r = parse_hex(v, &u->cap);
                else if (u->kind == UNIT_INTEL && (v = kv(*i, "ecap")))
                        r = parse_hex(v, &u->ecap);
                else if (u->kind == UNIT_INTEL && (v = kv(*i, "address")))
                        r = parse_hex(v, &u->address);
                else if (u->kind == UNIT_INTEL && (v = kv(*i, "version")))
                        r = set_string(&u->version, v);
                else if (u->kind == UNIT_AMD && (v = kv(*i, "cap")))
                        r = parse_hex(v, &u->cap);
                else if (u->kind == UNIT_AMD && (v = kv(*i, "features"))) {
                        _cleanup_free_ char *a = strdup(v);
                        char *colon;

                        if (!a)
                                return oom();
                        colon = strchr(a, ':');
                        if (colon) {
                                *colon = 0;
                                r = parse_hex(a, &u->efr2);
                                if (r >= 0)
                                        r = parse_hex(colon + 1, &u->efr);
                                u->has_efr2 = true;
                        } else
                                r = parse_hex(a, &u->efr);
                } else
                        return syntax(p, "unknown option '%s' for a unit of this kind", *i);
                if (r < 0)
                        return r == -ENOMEM ? oom() : syntax(p, "bad value in '%s'", *i);
        }
        if (u->kind == UNIT_INTEL && !u->version && set_string(&u->version, "1:0") < 0)
                return oom();
        return 0;
}

static int parse_rootbus(Parser *p, char **t) {
        Model *m = p->m;
        unsigned domain, bus;
        RootBus *rb;
        const char *v;
        int n = -1;

        if (!t[1] || sscanf(t[1], "%4x:%2x%n", &domain, &bus, &n) != 2 || n != (int) strlen(t[1]))
                return syntax(p, "rootbus takes DDDD:BB");
        for (size_t i = 0; i < m->n_rootbuses; i++)
                if (m->rootbuses[i].domain == domain && m->rootbuses[i].bus == bus)
                        return syntax(p, "rootbus %s declared twice", t[1]);
        rb = APPEND(m->rootbuses, m->n_rootbuses, m->allocated_rootbuses);
        if (!rb)
                return oom();
        rb->domain = domain;
        rb->bus = bus;
        STRV_FOREACH(i, t + 2) {
                if ((v = kv(*i, "name"))) {
                        if (set_string(&rb->name, v) < 0)
                                return oom();
                } else if ((v = kv(*i, "mem"))) {
                        if (rb->n_mem >= ELEMENTSOF(rb->mem))
                                return syntax(p, "too many windows");
                        Res *w = rb->mem + rb->n_mem++;
                        if (parse_range(v, &w->start, &w->end) < 0)
                                return syntax(p, "bad range '%s'", v);
                        w->flags = IORESOURCE_MEM | IORESOURCE_WINDOW;
                } else
                        return syntax(p, "unknown rootbus option '%s'", *i);
        }
        if (!rb->name && asprintf_safe(&rb->name, "PCI Bus %04x:%02x", domain, bus) < 0)
                return oom();
        return 0;
}

static int parse_device(Parser *p, char **t) {
        Model *m = p->m;
        bool have_class = false;
        const char *v;
        Dev *d = NULL;
        int r = 0;

        if (strv_length(t) < 3)
                return syntax(p, "device needs an address and VENDOR:DEVICE");
        d = model_add_dev(m);
        if (!d)
                return oom();
        p->cur_dev = (int) m->n_devs - 1;
        d->line = p->line;
        d->numa = m->numa;
        if (parse_bdf(t[1], &d->domain, &d->bus, &d->slot, &d->fn) < 0)
                return syntax(p, "bad PCI address '%s'", t[1]);
        dev_set_name(d);
        if (model_find_dev(m, d->domain, d->bus, d->slot, d->fn) != p->cur_dev)
                return syntax(p, "device %s declared twice", d->name);
        if (parse_id_pair(t[2], &d->vendor, &d->device) < 0)
                return syntax(p, "bad VENDOR:DEVICE '%s'", t[2]);

        STRV_FOREACH(i, t + 3) {
                unsigned u = 0;

                if ((v = kv(*i, "class"))) {
                        uint64_t c;
                        r = parse_hex(v, &c);
                        if (r >= 0 && c > 0xffffff)
                                r = -ERANGE;
                        d->class = (uint32_t) c;
                        have_class = true;
                } else if ((v = kv(*i, "sub")))
                        r = parse_id_pair(v, &d->sub_vendor, &d->sub_device);
                else if ((v = kv(*i, "rev"))) {
                        r = parse_unsigned(v, 0xff, &u);
                        d->revision = (uint8_t) u;
                } else if ((v = kv(*i, "parent"))) {
                        uint32_t dom;
                        unsigned bus, slot, fn;

                        r = parse_bdf(v, &dom, &bus, &slot, &fn);
                        if (r >= 0) {
                                d->parent = model_find_dev(m, dom, bus, slot, fn);
                                if (d->parent < 0)
                                        return syntax(p, "parent %s is not declared (yet)", v);
                                d = m->devs + p->cur_dev;
                        }
                } else if ((v = kv(*i, "pcie"))) {
                        r = -EINVAL;
                        for (size_t j = 0; j < ELEMENTSOF(pcie_types); j++)
                                if (streq(v, pcie_types[j].name)) {
                                        d->pcie = pcie_types[j].type;
                                        r = 0;
                                }
                } else if ((v = kv(*i, "bus"))) {
                        unsigned sec, sub;
                        int n = -1;
                        if (sscanf(v, "%2x-%2x%n", &sec, &sub, &n) != 2 || n != (int) strlen(v) || sec > sub)
                                return syntax(p, "bus= takes SEC-SUB in hex, e.g. bus=01-04");
                        d->bridge = true;
                        d->secondary = sec;
                        d->subordinate = sub;
                } else if ((v = kv(*i, "driver")))
                        r = set_string(&d->driver, v);
                else if ((v = kv(*i, "override")))
                        r = set_string(&d->override, v);
                else if ((v = kv(*i, "iommu")))
                        r = set_string(&d->iommu, v);
                else if ((v = kv(*i, "claim")))
                        r = set_string(&d->claim, v);
                else if ((v = kv(*i, "group"))) {
                        r = parse_unsigned(v, INT32_MAX, &u);
                        d->group = (int) u;
                } else if ((v = kv(*i, "numa"))) {
                        r = parse_unsigned(v, 1023, &u);
                        d->numa = (int) u;
                } else if ((v = kv(*i, "irq"))) {
                        r = parse_unsigned(v, INT32_MAX, &u);
                        d->irq = (int) u;
                } else if ((v = kv(*i, "width")))
                        r = parse_unsigned(v, 32, &d->link_width);
                else if ((v = kv(*i, "speed")))
                        r = parse_unsigned(v, 6, &d->link_speed);
                else if ((v = kv(*i, "config"))) {
                        r = parse_unsigned(v, 4096, &u);
                        if (r >= 0 && u != 4096 && u != 256 && u != 64)
                                r = -EINVAL;
                        d->config_size = u;
                } else if ((v = kv(*i, "acs"))) {
                        unsigned cap, ctl;
                        int n = -1;
                        if (sscanf(v, "%x:%x%n", &cap, &ctl, &n) != 2 || n != (int) strlen(v) ||
                            cap > 0xffff || ctl > 0xffff)
                                return syntax(p, "acs= takes CAP:CTL in hex, e.g. acs=0x001f:0x001d");
                        d->acs = true;
                        d->acs_cap = (uint16_t) cap;
                        d->acs_ctl = (uint16_t) ctl;
                } else if ((v = kv(*i, "rebar"))) {
                        unsigned bar, sizes;
                        int n = -1;
                        if (sscanf(v, "%u:%x%n", &bar, &sizes, &n) != 2 || n != (int) strlen(v) || bar > 5 ||
                            sizes == 0 || sizes > 0x0fffffff)
                                return syntax(p, "rebar= takes BAR:SIZES, e.g. rebar=0:0x3ff00 (256 MiB .. 128 GiB)");
                        d->rebar = true;
                        d->rebar_bar = bar;
                        d->rebar_sizes = sizes;
                } else if ((v = kv(*i, "reset"))) {
                        _cleanup_free_ char *copy = strdup(v);
                        char *save = NULL;
                        if (!copy)
                                return oom();
                        for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save))
                                if (streq(w, "flr"))
                                        d->reset_flr = true;
                                else if (streq(w, "af-flr"))
                                        d->reset_af_flr = true;
                                else if (streq(w, "pm"))
                                        d->reset_pm = true;
                                else
                                        return syntax(p, "reset= takes flr, af-flr, pm separated by commas");
                } else if ((v = kv(*i, "caps"))) {
                        if (!streq(v, "none"))
                                return syntax(p, "caps= only takes none");
                        d->no_caps = true;
                } else
                        return syntax(p, "unknown device option '%s'", *i);
                if (r < 0)
                        return r == -ENOMEM ? oom() : syntax(p, "bad value in '%s'", *i);
        }

        if (!have_class)
                return syntax(p, "device %s has no class=", d->name);
        if (d->bridge != ((d->class >> 8) == 0x0604 || (d->class >> 8) == 0x0609))
                return syntax(
                        p,
                        "a PCI bridge (class 0x0604xx/0x0609xx) needs bus=SEC-SUB, nothing else takes it");
        if (d->bridge && (d->pcie == PCIE_ENDPOINT || d->pcie == PCIE_LEGACY_ENDPOINT ||
                          d->pcie == PCIE_RC_INTEGRATED || d->pcie == PCIE_RC_EC))
                return syntax(p, "bridge %s needs pcie=root-port, upstream, downstream, pcie-pci or none",
                              d->name);
        if (d->pcie == PCIE_NONE && d->acs)
                return syntax(p, "ACS is a PCI Express extended capability: not with pcie=none");
        if (d->config_size == 0)
                d->config_size = d->pcie == PCIE_NONE ? 256 : 4096;
        if (d->acs && d->config_size < 4096)
                return syntax(p, "ACS lives in extended config space: it needs config=4096");
        if (d->rebar && (d->pcie == PCIE_NONE || d->config_size < 4096))
                return syntax(p, "Resizable BAR is a PCI Express extended capability: it needs config=4096");
        return 0;
}

static int dev_resource(Parser *p, Dev **ret) {
        if (p->cur_dev < 0)
                return syntax(p, "this statement belongs after a device statement");
        *ret = p->m->devs + p->cur_dev;
        return 0;
}

static int parse_bar(Parser *p, char **t, bool iov) {
        uint64_t flags = 0;
        unsigned n;
        Dev *d = NULL;
        Res *res;
        int r;

        r = dev_resource(p, &d);
        if (r < 0)
                return r;
        if (strv_length(t) != 4)
                return syntax(p, "%s takes N KIND RANGE", t[0]);
        if (parse_unsigned(t[1], 5, &n) < 0)
                return syntax(p, "BAR number must be 0-5");
        for (size_t j = 0; j < ELEMENTSOF(bar_kinds); j++)
                if (streq(t[2], bar_kinds[j].name))
                        flags = bar_kinds[j].flags;
        if (flags == 0)
                return syntax(p, "unknown BAR kind '%s' (io, mem32, mem64, pref32, pref64)", t[2]);
        if (iov && (flags & IORESOURCE_IO))
                return syntax(p, "SR-IOV BARs are memory BARs");
        res = d->res + (iov ? RES_IOV : 0);
        if (res_used(res + n))
                return syntax(p, "BAR %u given twice, or taken by the upper half of a 64-bit BAR", n);
        if (parse_range(t[3], &res[n].start, &res[n].end) < 0)
                return syntax(p, "bad range '%s'", t[3]);
        res[n].flags = flags;
        if (flags & IORESOURCE_MEM_64) {
                if (n == 5 || res_used(res + n + 1))
                        return syntax(p, "a 64-bit BAR takes two registers: BAR %u is not free", n + 1);
        } else if (res[n].end > UINT32_MAX)
                return syntax(p, "a 32-bit BAR cannot sit above 4 GiB");
        if (n > 0 && (res[n - 1].flags & IORESOURCE_MEM_64))
                return syntax(p, "BAR %u is the upper half of 64-bit BAR %u", n, n - 1);
        return 0;
}

static int parse_rom(Parser *p, char **t) {
        Dev *d = NULL;
        int r;

        r = dev_resource(p, &d);
        if (r < 0)
                return r;
        if (!t[1] || (t[2] && (!streq(t[2], "enabled") || t[3])))
                return syntax(p, "rom takes RANGE [enabled]");
        if (parse_range(t[1], &d->res[RES_ROM].start, &d->res[RES_ROM].end) < 0)
                return syntax(p, "bad range '%s'", t[1]);
        d->res[RES_ROM].flags = FLAGS_ROM | (t[2] ? 1 : 0);
        return 0;
}

static int parse_window(Parser *p, char **t) {
        unsigned idx;
        uint64_t flags;
        Dev *d = NULL;
        int r;

        r = dev_resource(p, &d);
        if (r < 0)
                return r;
        if (!d->bridge)
                return syntax(p, "%s is not a bridge: no windows", d->name);
        if (strv_length(t) != 3)
                return syntax(p, "window takes io|mem|pref|pref32 RANGE");
        if (streq(t[1], "io")) {
                idx = 0;
                flags = FLAGS_WINDOW_IO;
        } else if (streq(t[1], "mem")) {
                idx = 1;
                flags = FLAGS_WINDOW_MEM;
        } else if (streq(t[1], "pref")) {
                idx = 2;
                flags = FLAGS_WINDOW_PREF64;
        } else if (streq(t[1], "pref32")) {
                idx = 2;
                flags = FLAGS_WINDOW_PREF32;
        } else
                return syntax(p, "unknown window kind '%s'", t[1]);
        Res *w = d->res + RES_WINDOW + idx;
        if (res_used(w))
                return syntax(p, "window %s given twice", t[1]);
        if (parse_range(t[2], &w->start, &w->end) < 0)
                return syntax(p, "bad range '%s'", t[2]);
        w->flags = flags;
        /* The bridge registers have 4 KiB I/O and 1 MiB memory granularity (PCI-to-PCI bridge spec). */
        uint64_t gran = idx == 0 ? 0x1000 : 0x100000;
        if ((w->start & (gran - 1)) || ((w->end + 1) & (gran - 1)))
                return syntax(p, "a bridge window is aligned to %s", idx == 0 ? "4 KiB" : "1 MiB");
        if (idx == 1 && w->end > UINT32_MAX)
                return syntax(p, "the non-prefetchable window is 32-bit");
        return 0;
}

static int parse_res(Parser *p, char **t) {
        unsigned line;
        Dev *d = NULL;
        int r;

        r = dev_resource(p, &d);
        if (r < 0)
                return r;
        if (strv_length(t) != 5 || parse_unsigned(t[1], RES_LINES - 1, &line) < 0)
                return syntax(p, "res takes LINE (0-16) START END FLAGS");
        Res *x = d->res + line;
        if (parse_number(t[2], false, &x->start) < 0 || parse_number(t[3], false, &x->end) < 0 ||
            parse_number(t[4], false, &x->flags) < 0)
                return syntax(p, "bad number");
        return 0;
}

static int parse_sriov(Parser *p, char **t) {
        const char *v;
        unsigned u = 0;
        Dev *d = NULL;
        int r = 0;

        r = dev_resource(p, &d);
        if (r < 0)
                return r;
        if (d->sriov)
                return syntax(p, "sriov given twice for %s", d->name);
        if (!p->m->iov)
                return syntax(p, "SR-IOV needs the CONFIG_PCI_IOV layout (host iov=yes)");
        d->sriov = true;
        d->vf_stride = 1;
        STRV_FOREACH(i, t + 1) {
                if ((v = kv(*i, "total")))
                        r = parse_unsigned(v, 0xffff, &d->total_vfs);
                else if ((v = kv(*i, "num")))
                        r = parse_unsigned(v, 0xffff, &d->num_vfs);
                else if ((v = kv(*i, "offset")))
                        r = parse_unsigned(v, 0xffff, &d->vf_offset);
                else if ((v = kv(*i, "stride")))
                        r = parse_unsigned(v, 0xffff, &d->vf_stride);
                else if ((v = kv(*i, "vf-device"))) {
                        uint64_t x;
                        r = parse_hex(v, &x);
                        if (r >= 0 && x > 0xffff)
                                r = -ERANGE;
                        d->vf_device = (uint16_t) x;
                } else if ((v = kv(*i, "vf-group"))) {
                        r = parse_unsigned(v, INT32_MAX, &u);
                        d->vf_group = (int) u;
                } else if ((v = kv(*i, "vf-driver"))) {
                        _cleanup_free_ char *a = strdup(v);
                        char *state = NULL;

                        if (!a)
                                return oom();
                        for (char *item = strtok_r(a, ",", &state); item;
                             item = strtok_r(NULL, ",", &state)) {
                                char *colon = strrchr(item, ':');
                                unsigned first, last;
                                int n = -1;
                                VfDriver *vd;

                                if (!colon || sscanf(colon + 1, "%u-%u%n", &first, &last, &n) != 2 ||
                                    n != (int) strlen(colon + 1) || first > last)
                                        return syntax(p, "vf-driver takes NAME:FIRST-LAST,...");
                                *colon = 0;
                                vd = APPEND(d->vf_drivers, d->n_vf_drivers, d->allocated_vf_drivers);
                                if (!vd || !(vd->name = strdup(item)))
                                        return oom();
                                vd->first = first;
                                vd->last = last;
                        }
                } else
                        return syntax(p, "unknown sriov option '%s'", *i);
                if (r < 0)
                        return r == -ENOMEM ? oom() : syntax(p, "bad value in '%s'", *i);
        }
        if (d->total_vfs == 0 || d->num_vfs > d->total_vfs || d->vf_offset == 0 || d->vf_stride == 0 ||
            d->vf_device == 0)
                return syntax(p, "sriov needs total>0, num<=total, offset>0, stride>0 and vf-device");
        return 0;
}

static int parse_group(Parser *p, char **t) {
        Model *m = p->m;
        unsigned n;
        const char *v;
        GroupDef *g;

        if (!t[1] || parse_unsigned(t[1], INT32_MAX, &n) < 0)
                return syntax(p, "group takes a number");
        if (model_find_group(m, n))
                return syntax(p, "group %u declared twice", n);
        g = APPEND(m->groups, m->n_groups, m->allocated_groups);
        if (!g)
                return oom();
        g->number = n;
        if (m->group_type && !(g->type = strdup(m->group_type)))
                return oom();
        STRV_FOREACH(i, t + 2) {
                if ((v = kv(*i, "type"))) {
                        free(g->type);
                        g->type = streq(v, "none") ? NULL : strdup(v);
                        if (!streq(v, "none") && !g->type)
                                return oom();
                } else
                        return syntax(p, "unknown group option '%s'", *i);
        }
        return 0;
}

static int parse_resv(Parser *p, char **t) {
        static const char *const types[] = { "direct", "direct-relaxable", "reserved", "msi" };
        Model *m = p->m;
        bool known = false;
        Resv *x;
        unsigned n = 0;

        if (strv_length(t) != 4)
                return syntax(p, "resv takes GROUP|* TYPE RANGE");
        if (!streq(t[1], "*") && parse_unsigned(t[1], INT32_MAX, &n) < 0)
                return syntax(p, "bad group '%s'", t[1]);
        for (size_t i = 0; i < ELEMENTSOF(types); i++)
                known = known || streq(t[2], types[i]);
        if (!known)
                return syntax(p, "unknown region type '%s' (direct, direct-relaxable, reserved, msi)", t[2]);
        x = APPEND(m->resv, m->n_resv, m->allocated_resv);
        if (!x || !(x->type = strdup(t[2])))
                return oom();
        x->group = streq(t[1], "*") ? -1 : (int) n;
        if (parse_range(t[3], &x->start, &x->end) < 0)
                return syntax(p, "bad range '%s'", t[3]);
        return 0;
}

static int parse_iomem(Parser *p, char **t, const char *heredoc) {
        Model *m = p->m;
        IomemExtra *e;

        if (heredoc) {
                if (m->iomem_text)
                        return syntax(p, "iomem given verbatim twice");
                return set_string(&m->iomem_text, heredoc) < 0 ? oom() : 0;
        }
        if (strv_length(t) != 3)
                return syntax(p, "iomem takes RANGE NAME (quote names with blanks) or <<EOF");
        e = APPEND(m->iomem, m->n_iomem, m->allocated_iomem);
        if (!e || !(e->name = strdup(t[2])))
                return oom();
        if (parse_range(t[1], &e->start, &e->end) < 0)
                return syntax(p, "bad range '%s'", t[1]);
        return 0;
}

static int parse_process(Parser *p, char **t) {
        Model *m = p->m;
        const char *v;
        Proc *pr;

        if (!t[1])
                return syntax(p, "process takes a PID");
        pr = APPEND(m->procs, m->n_procs, m->allocated_procs);
        if (!pr)
                return oom();
        if (parse_unsigned(t[1], 4194304, &pr->pid) < 0 || pr->pid == 0)
                return syntax(p, "bad PID '%s'", t[1]);
        for (size_t i = 0; i + 1 < m->n_procs; i++)
                if (m->procs[i].pid == pr->pid)
                        return syntax(p, "process %u declared twice", pr->pid);
        STRV_FOREACH(i, t + 2) {
                if ((v = kv(*i, "comm"))) {
                        if (set_string(&pr->comm, v) < 0)
                                return oom();
                } else if ((v = kv(*i, "fd"))) {
                        const char *colon = strchr(v, ':');
                        _cleanup_free_ char *num = colon ? strndup(v, colon - v) : NULL;
                        ProcFd *f;

                        if (!colon || !num)
                                return syntax(p, "fd= takes N:TARGET");
                        f = APPEND(pr->fds, pr->n_fds, pr->allocated_fds);
                        if (!f || !(f->target = strdup(colon + 1)))
                                return oom();
                        if (parse_unsigned(num, 1 << 20, &f->fd) < 0 || isempty(f->target))
                                return syntax(p, "fd= takes N:TARGET");
                } else
                        return syntax(p, "unknown process option '%s'", *i);
        }
        return 0;
}

static int parse_edit(Parser *p, char **t, const char *heredoc) {
        Model *m = p->m;
        PostOp *op;
        size_t n = strv_length(t);

        if (n < 2 || !path_is_safe(t[1]))
                return syntax(p, "%s needs a relative PATH without '..'", t[0]);
        op = APPEND(m->ops, m->n_ops, m->allocated_ops);
        if (!op || !(op->path = strdup(t[1])))
                return oom();
        op->line = p->line;
        if (streq(t[0], "file")) {
                op->kind = OP_FILE;
                if (heredoc ? n != 2 : n != 3)
                        return syntax(p, "file takes PATH STRING or PATH <<EOF");
                if (!(op->data = strdup(heredoc ?: t[2])))
                        return oom();
        } else if (streq(t[0], "remove")) {
                op->kind = OP_REMOVE;
                if (n != 2)
                        return syntax(p, "remove takes PATH");
        } else if (streq(t[0], "truncate")) {
                op->kind = OP_TRUNCATE;
                if (n != 3 || parse_number(t[2], false, &op->size) < 0)
                        return syntax(p, "truncate takes PATH BYTES");
        } else {
                op->kind = OP_SYMLINK;
                if (n != 3)
                        return syntax(p, "symlink takes PATH TARGET");
                if (!(op->data = strdup(t[2])))
                        return oom();
        }
        return 0;
}

static int parse_statement(Parser *p, char **t, const char *heredoc) {
        Model *m = p->m;
        const char *k = t[0];
        bool takes_heredoc = streq(k, "iomem") || streq(k, "file") || streq(k, "cpuinfo");

        if (heredoc && !takes_heredoc)
                return syntax(p, "%s does not take a <<WORD block", k);
        if (streq(k, "host"))
                return parse_host(p, t);
        if (streq(k, "cpu"))
                return parse_cpu(p, t);
        if (streq(k, "cpuinfo")) {
                if (!heredoc || t[1])
                        return syntax(p, "cpuinfo takes <<WORD");
                return set_string(&m->cpuinfo_text, heredoc) < 0 ? oom() : 0;
        }
        if (streq(k, "unsafe-interrupts")) {
                int b = t[1] && !t[2] ? parse_bool(t[1]) : -EINVAL;
                if (b < 0)
                        return syntax(p, "unsafe-interrupts takes Y or N");
                m->unsafe_interrupts = b;
                return 0;
        }
        if (streq(k, "dma-entry-limit")) {
                unsigned v;
                int n = -1;
                if (!t[1] || t[2] || sscanf(t[1], "%u%n", &v, &n) != 1 || n != (int) strlen(t[1]))
                        return syntax(p, "dma-entry-limit takes a number");
                m->dma_entry_limit = v;
                return 0;
        }
        if (streq(k, "unit"))
                return parse_unit(p, t);
        if (streq(k, "rootbus"))
                return parse_rootbus(p, t);
        if (streq(k, "device"))
                return parse_device(p, t);
        if (streq(k, "bar"))
                return parse_bar(p, t, false);
        if (streq(k, "iovbar"))
                return parse_bar(p, t, true);
        if (streq(k, "rom"))
                return parse_rom(p, t);
        if (streq(k, "window"))
                return parse_window(p, t);
        if (streq(k, "res"))
                return parse_res(p, t);
        if (streq(k, "sriov"))
                return parse_sriov(p, t);
        if (streq(k, "group"))
                return parse_group(p, t);
        if (streq(k, "resv"))
                return parse_resv(p, t);
        if (streq(k, "iomem"))
                return parse_iomem(p, t, heredoc);
        if (streq(k, "process"))
                return parse_process(p, t);
        if (streq(k, "file") || streq(k, "remove") || streq(k, "truncate") || streq(k, "symlink"))
                return parse_edit(p, t, heredoc);
        return syntax(p, "unknown statement '%s'", k);
}

static int read_text(const char *file, char **ret) {
        _cleanup_fclose_ FILE *f = fopen(file, "re");
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, allocated = 0, n;

        if (!f) {
                fprintf(stderr, "mkhost: cannot open %s: %m\n", file);
                return -errno;
        }
        do {
                if (!GREEDY_REALLOC(buf, allocated, size + 4096 + 1))
                        return oom();
                n = fread(buf + size, 1, allocated - size - 1, f);
                size += n;
        } while (n > 0);
        if (ferror(f)) {
                fprintf(stderr, "mkhost: cannot read %s\n", file);
                return -EIO;
        }
        if (memchr(buf, 0, size)) {
                fprintf(stderr, "mkhost: %s is not text\n", file);
                return -EINVAL;
        }
        buf[size] = 0;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* Takes the next line out of *s (NUL-terminating it in place), NULL at the end. */
static char *next_line(char **s) {
        char *line = *s, *nl;

        if (!*line)
                return NULL;
        nl = strchr(line, '\n');
        if (nl) {
                *nl = 0;
                *s = nl + 1;
        } else
                *s = line + strlen(line);
        return line;
}

static int parse_description(Model *m, const char *file) {
        _cleanup_free_ char *buf = NULL;
        Parser p = { .m = m, .file = file, .cur_dev = -1 };
        unsigned lineno = 0;
        char *s, *line;
        int r;

        r = read_text(file, &buf);
        if (r < 0)
                return r;
        s = buf;
        while ((line = next_line(&s))) {
                _cleanup_strv_free_ char **t = NULL;
                _cleanup_free_ char *heredoc = NULL;
                size_t n;

                p.line = ++lineno;
                r = tokenize(&p, line, &t);
                if (r < 0)
                        return r;
                n = strv_length(t);
                if (n == 0)
                        continue;
                if (startswith(t[n - 1], "<<")) {
                        const char *word = t[n - 1] + 2;
                        size_t size = 0, allocated = 0;
                        bool done = false;

                        if (isempty(word))
                                return syntax(&p, "<< needs a terminating word, e.g. <<EOF");
                        if (!GREEDY_REALLOC(heredoc, allocated, 1))
                                return oom();
                        heredoc[0] = 0;
                        while ((line = next_line(&s))) {
                                size_t l = strlen(line);

                                lineno++;
                                if (streq(line, word)) {
                                        done = true;
                                        break;
                                }
                                if (!GREEDY_REALLOC(heredoc, allocated, size + l + 2))
                                        return oom();
                                memcpy(heredoc + size, line, l);
                                size += l;
                                heredoc[size++] = '\n';
                                heredoc[size] = 0;
                        }
                        if (!done)
                                return syntax(&p, "no line '%s' ends this block", word);
                        free(t[n - 1]);
                        t[n - 1] = NULL;
                }
                r = parse_statement(&p, t, heredoc);
                if (r < 0)
                        return r;
        }
        if (m->iomem_text && (m->n_iomem > 0 || m->iomem_mode != IOMEM_GENERATE)) {
                fprintf(stderr, "%s: a verbatim iomem block excludes iomem lines and host iomem=\n", file);
                return -EINVAL;
        }
        if (m->cpuinfo_text && m->cpu.set) {
                fprintf(stderr, "%s: cpu and cpuinfo exclude each other\n", file);
                return -EINVAL;
        }
        return 0;
}

/* ---- checking the model and deriving what the description leaves implicit ---- */

static int model_error(const Model *m, unsigned line, const char *format, ...) _printf_(3, 4);
static int model_error(const Model *m, unsigned line, const char *format, ...) {
        va_list ap;

        if (line > 0)
                fprintf(stderr, "%s:%u: ", m->source, line);
        else
                fprintf(stderr, "mkhost: %s: ", m->source);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
        return -EINVAL;
}

static int routing_id(const Dev *d) {
        return (int) (d->bus << 8 | d->slot << 3 | d->fn);
}

/* Creates the VFs of every enabled PF, the way drivers/pci/iov.c does: routing ID = PF + offset + k *
 * stride, BAR k of VF i = SR-IOV BAR k + i * (its size / TotalVFs). */
static int model_add_vfs(Model *m) {
        size_t n = m->n_devs;

        for (size_t i = 0; i < n; i++) {
                if (!m->devs[i].sriov)
                        continue;
                for (unsigned k = 0; k < m->devs[i].num_vfs; k++) {
                        const Dev *pf = m->devs + i;
                        int rid = routing_id(pf) + (int) (pf->vf_offset + k * pf->vf_stride);
                        Dev *vf;

                        if ((rid >> 8) != (int) pf->bus)
                                return model_error(
                                        m,
                                        pf->line,
                                        "VF %u of %s would sit on another bus; mkhost keeps VFs on the PF's",
                                        k,
                                        pf->name);
                        if (model_find_dev(m, pf->domain, (unsigned) rid >> 8, (rid >> 3) & 0x1f, rid & 7) >=
                            0)
                                return model_error(
                                        m,
                                        pf->line,
                                        "VF %u of %s collides with another device",
                                        k,
                                        pf->name);
                        vf = model_add_dev(m);
                        if (!vf)
                                return oom();
                        pf = m->devs + i;
                        vf->line = pf->line;
                        vf->domain = pf->domain;
                        vf->bus = (unsigned) rid >> 8;
                        vf->slot = (rid >> 3) & 0x1f;
                        vf->fn = rid & 7;
                        dev_set_name(vf);
                        vf->vendor = pf->vendor;
                        vf->device = pf->vf_device;
                        vf->sub_vendor = pf->sub_vendor;
                        vf->sub_device = pf->sub_device;
                        vf->class = pf->class;
                        vf->revision = pf->revision;
                        vf->parent = pf->parent;
                        vf->pcie = PCIE_ENDPOINT;
                        vf->config_size = 4096;
                        vf->numa = pf->numa;
                        vf->irq = 0; /* VFs have no INTx */
                        vf->physfn = (int) i;
                        vf->vf_index = k;
                        vf->group = pf->vf_group >= 0 ? pf->vf_group + (int) k : -1;
                        if (pf->iommu && !(vf->iommu = strdup(pf->iommu)))
                                return oom();
                        for (size_t j = 0; j < pf->n_vf_drivers; j++)
                                if (k >= pf->vf_drivers[j].first && k <= pf->vf_drivers[j].last) {
                                        free(vf->driver);
                                        if (!(vf->driver = strdup(pf->vf_drivers[j].name)))
                                                return oom();
                                }
                        for (unsigned b = 0; b < 6; b++) {
                                const Res *iov = pf->res + RES_IOV + b;
                                uint64_t size;

                                if (!res_used(iov))
                                        continue;
                                size = iov->end - iov->start + 1;
                                if (size % pf->total_vfs != 0 || iov->end == UINT64_MAX)
                                        return model_error(
                                                m,
                                                pf->line,
                                                "SR-IOV BAR %u of %s is not TotalVFs (%u) equal parts",
                                                b,
                                                pf->name,
                                                pf->total_vfs);
                                size /= pf->total_vfs;
                                vf->res[b] = (Res) {
                                        .start = iov->start + k * size,
                                        .end = iov->start + (k + 1) * size - 1,
                                        .flags = iov->flags,
                                };
                        }
                }
        }
        return 0;
}

static bool window_holds(const Res *w, const Res *r) {
        return res_used(w) && w->start <= r->start && r->end <= w->end;
}

/* A BAR or window of a device must sit inside a window of its bridge, or of its host bridge. */
static bool dev_range_fits(const Model *m, const Dev *d, const Res *r) {
        bool io = r->flags & IORESOURCE_IO, pref = r->flags & IORESOURCE_PREFETCH;

        if (d->parent < 0) {
                if (io)
                        return true;
                for (size_t i = 0; i < m->n_rootbuses; i++) {
                        const RootBus *rb = m->rootbuses + i;
                        if (rb->domain != d->domain || rb->bus != d->bus)
                                continue;
                        if (rb->n_mem == 0)
                                return true; /* no windows described: nothing to check against */
                        for (size_t j = 0; j < rb->n_mem; j++)
                                if (window_holds(rb->mem + j, r))
                                        return true;
                }
                return false;
        }
        const Dev *b = m->devs + d->parent;
        if (io)
                return window_holds(b->res + RES_WINDOW, r);
        if (pref && window_holds(b->res + RES_WINDOW + 2, r))
                return true;
        /* a prefetchable BAR may also live in the non-prefetchable window, if it is below 4 GiB */
        return window_holds(b->res + RES_WINDOW + 1, r);
}

static int model_check_ranges(const Model *m, const Dev *d) {
        static const char *const what[RES_LINES] = {
                "BAR 0",        "BAR 1",        "BAR 2",         "BAR 3",
                "BAR 4",        "BAR 5",        "ROM",           "SR-IOV BAR 0",
                "SR-IOV BAR 1", "SR-IOV BAR 2", "SR-IOV BAR 3",  "SR-IOV BAR 4",
                "SR-IOV BAR 5", "I/O window",   "memory window", "prefetchable window",
                "resource 16",
        };

        if (d->physfn >= 0)
                return 0; /* carved out of the PF's SR-IOV BARs, checked there */
        for (unsigned i = 0; i < RES_LINES; i++) {
                const Res *r = d->res + i;
                if (r->start == 0 && r->end == 0)
                        continue;
                if (!(r->flags & (IORESOURCE_IO | IORESOURCE_MEM)))
                        continue;
                if (!dev_range_fits(m, d, r))
                        return model_error(
                                m,
                                d->line,
                                "%s %s 0x%" PRIx64 "-0x%" PRIx64 " lies outside the windows above it",
                                d->name,
                                what[i],
                                r->start,
                                r->end);
        }
        return 0;
}

static int unit_compute_path(Model *m, Unit *u) {
        uint32_t dom;
        unsigned bus, slot, fn;
        int r;

        if (!u->parent)
                r = asprintf_safe(&u->path, "sys/devices/virtual/iommu/%s", u->name);
        else if (parse_bdf(u->parent, &dom, &bus, &slot, &fn) >= 0) {
                int i = model_find_dev(m, dom, bus, slot, fn);
                if (i < 0)
                        return model_error(
                                m, u->line, "parent %s of unit %s is not a device", u->parent, u->name);
                if (m->devs[i].iommu)
                        return model_error(
                                m,
                                u->line,
                                "%s holds unit %s: it cannot also be served by a unit",
                                m->devs[i].name,
                                u->name);
                r = asprintf_safe(&u->path, "%s/iommu/%s", m->devs[i].path, u->name);
        } else
                r = asprintf_safe(&u->path, "sys/devices/%s/iommu/%s", u->parent, u->name);
        return r < 0 ? oom() : 0;
}

static int u64_compare(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

/* No two functions at one address (VFs and generated hosts included); low bits: index, for the message. */
static int model_check_unique(const Model *m) {
        _cleanup_free_ uint64_t *keys = calloc(m->n_devs ?: 1, sizeof(uint64_t));

        if (!keys)
                return oom();
        for (size_t i = 0; i < m->n_devs; i++) {
                const Dev *d = m->devs + i;
                keys[i] = ((uint64_t) d->domain << 48 | (uint64_t) routing_id(d) << 32) | i;
        }
        qsort(keys, m->n_devs, sizeof(uint64_t), u64_compare);
        for (size_t i = 1; i < m->n_devs; i++)
                if (keys[i] >> 32 == keys[i - 1] >> 32) {
                        const Dev *d = m->devs + (keys[i] & UINT32_MAX);
                        return model_error(m, d->line, "two functions at %s", d->name);
                }
        return 0;
}

static int model_finish(Model *m) {
        const Unit *def = NULL;
        int r;

        r = model_add_vfs(m);
        if (r < 0)
                return r;
        r = model_check_unique(m);
        if (r < 0)
                return r;

        /* Topology: a device sits on its bridge's secondary bus, or on a root bus no bridge claims. */
        for (size_t i = 0; i < m->n_devs; i++) {
                Dev *d = m->devs + i;

                if (d->parent >= 0) {
                        const Dev *b = m->devs + d->parent;
                        if (!b->bridge || b->domain != d->domain || b->secondary != d->bus)
                                return model_error(
                                        m,
                                        d->line,
                                        "%s is not on the secondary bus of its parent %s",
                                        d->name,
                                        b->name);
                        r = asprintf_safe(&d->path, "%s/%s", b->path, d->name);
                } else {
                        for (size_t j = 0; j < m->n_devs; j++) {
                                const Dev *b = m->devs + j;
                                if (b->bridge && b->domain == d->domain && b->secondary <= d->bus &&
                                    d->bus <= b->subordinate)
                                        return model_error(
                                                m,
                                                d->line,
                                                "%s is behind bridge %s: give it parent=",
                                                d->name,
                                                b->name);
                        }
                        r = asprintf_safe(
                                &d->path,
                                "sys/devices/pci%04" PRIx32 ":%02x/%s",
                                d->domain,
                                d->bus,
                                d->name);
                }
                if (r < 0)
                        return oom();
                if (d->bridge && (d->secondary <= d->bus ||
                                  (d->parent >= 0 && d->subordinate > m->devs[d->parent].subordinate)))
                        return model_error(m, d->line, "bus numbers of bridge %s do not nest", d->name);
        }

        /* The header type's multifunction bit: other functions in the slot (VFs never count). */
        for (size_t i = 0; i < m->n_devs; i++) {
                Dev *d = m->devs + i;
                if (d->physfn >= 0)
                        continue;
                for (size_t j = 0; j < m->n_devs && !d->multifunction; j++) {
                        const Dev *o = m->devs + j;
                        if (j != i && o->physfn < 0 && o->domain == d->domain && o->bus == d->bus &&
                            o->slot == d->slot)
                                d->multifunction = true;
                }
        }

        /* Root buses: implicit ones for every root bus a device sits on. */
        for (size_t i = 0; i < m->n_devs; i++) {
                const Dev *d = m->devs + i;
                bool found = false;
                RootBus *rb;

                if (d->parent >= 0)
                        continue;
                for (size_t j = 0; j < m->n_rootbuses && !found; j++)
                        found = m->rootbuses[j].domain == d->domain && m->rootbuses[j].bus == d->bus;
                if (found)
                        continue;
                rb = APPEND(m->rootbuses, m->n_rootbuses, m->allocated_rootbuses);
                if (!rb)
                        return oom();
                rb->domain = d->domain;
                rb->bus = d->bus;
                if (asprintf_safe(&rb->name, "PCI Bus %04" PRIx32 ":%02x", d->domain, d->bus) < 0)
                        return oom();
        }

        /* Groups: every group a device names exists, every declared group has members. */
        for (size_t i = 0; i < m->n_devs; i++) {
                GroupDef *g;
                if (m->devs[i].group < 0 || model_find_group(m, (unsigned) m->devs[i].group))
                        continue;
                g = APPEND(m->groups, m->n_groups, m->allocated_groups);
                if (!g)
                        return oom();
                g->number = (unsigned) m->devs[i].group;
                if (m->group_type && !(g->type = strdup(m->group_type)))
                        return oom();
        }
        for (size_t i = 0; i < m->n_groups; i++) {
                bool used = false;
                for (size_t j = 0; j < m->n_devs && !used; j++)
                        used = m->devs[j].group == (int) m->groups[i].number;
                if (!used)
                        return model_error(m, 0, "group %u has no devices", m->groups[i].number);
        }
        for (size_t i = 0; i < m->n_resv; i++)
                if (m->resv[i].group >= 0 && !model_find_group(m, (unsigned) m->resv[i].group))
                        return model_error(m, 0, "reserved region for group %d, which has no devices",
                                           m->resv[i].group);

        /* Units: explicit, or the default one for every grouped device. */
        for (size_t i = 0; i < m->n_units; i++)
                if (m->units[i].is_default)
                        def = m->units + i;
        for (size_t i = 0; i < m->n_devs; i++) {
                Dev *d = m->devs + i;
                if (d->iommu && !model_find_unit(m, d->iommu))
                        return model_error(m, d->line, "%s names unknown unit %s", d->name, d->iommu);
                if (d->iommu && d->group < 0)
                        return model_error(m, d->line, "%s has a unit but no group", d->name);
                if (!d->iommu && d->group >= 0 && def && !(d->iommu = strdup(def->name)))
                        return oom();
        }
        for (size_t i = 0; i < m->n_units; i++) {
                r = unit_compute_path(m, m->units + i);
                if (r < 0)
                        return r;
        }

        for (size_t i = 0; i < m->n_devs; i++) {
                r = model_check_ranges(m, m->devs + i);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- writing the tree ---- */

typedef struct Tree {
        int fd;
        const char *dir;
        char *last_dir; /* the directory tree_mkdir_p() made sure of last */
} Tree;

static int tree_error(Tree *t, const char *path, int r) {
        fprintf(stderr, "mkhost: %s/%s: %s\n", t->dir, path, strerror(-r));
        return r;
}

/* Creates a directory and its missing parents: the leaf first, since it usually has its parent already. */
static int tree_mkdir_chain(Tree *t, char *dir) {
        char *slash;
        int r;

        if (mkdirat(t->fd, dir, 0755) >= 0 || errno == EEXIST)
                return 0;
        if (errno != ENOENT || !(slash = strrchr(dir, '/')))
                return tree_error(t, dir, -errno);
        *slash = 0;
        r = tree_mkdir_chain(t, dir);
        *slash = '/';
        if (r < 0)
                return r;
        if (mkdirat(t->fd, dir, 0755) < 0 && errno != EEXIST)
                return tree_error(t, dir, -errno);
        return 0;
}

/* Creates every directory leading to path's last component (and that one too when whole). Files arrive
 * grouped by directory, so remembering the last directory saves most of the system calls. */
static int tree_mkdir_p(Tree *t, const char *path, bool whole) {
        const char *slash = whole ? path + strlen(path) : strrchr(path, '/');
        _cleanup_free_ char *dir = NULL;
        int r;

        if (!slash || slash == path)
                return 0;
        dir = strndup(path, (size_t) (slash - path));
        if (!dir)
                return oom();
        if (t->last_dir && streq(t->last_dir, dir))
                return 0;
        r = tree_mkdir_chain(t, dir);
        if (r < 0)
                return r;
        free(t->last_dir);
        t->last_dir = TAKE_PTR(dir);
        return 0;
}

static int tree_write(Tree *t, const char *path, const void *data, size_t size) {
        _cleanup_close_ int fd = -EBADF;
        const uint8_t *b = data;
        int r;

        r = tree_mkdir_p(t, path, false);
        if (r < 0)
                return r;
        fd = openat(t->fd, path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return tree_error(t, path, -errno);
        while (size > 0) {
                ssize_t n = write(fd, b, size);
                if (n < 0)
                        return tree_error(t, path, -errno);
                b += n;
                size -= (size_t) n;
        }
        return 0;
}

static int tree_printf(Tree *t, const char *path, const char *format, ...) _printf_(3, 4);
static int tree_printf(Tree *t, const char *path, const char *format, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        if (r < 0)
                return oom();
        return tree_write(t, path, s, (size_t) r);
}

static int tree_symlink(Tree *t, const char *path, const char *target) {
        int r = tree_mkdir_p(t, path, false);
        if (r < 0)
                return r;
        if (symlinkat(target, t->fd, path) < 0)
                return tree_error(t, path, -errno);
        return 0;
}

/* The relative target the kernel's sysfs would show for a link at path pointing to to (both relative to the
 * root of the tree): "../" up to the common ancestor, then down. */
static char *relative_target(const char *path, const char *to) {
        const char *a = path, *b = to;
        size_t ups = 0, len;
        char *s, *w;

        /* skip the common leading directories */
        for (;;) {
                size_t la = strcspn(a, "/"), lb = strcspn(b, "/");
                if (!a[la] || !b[lb] || la != lb || strncmp(a, b, la) != 0)
                        break;
                a += la + 1;
                b += lb + 1;
        }
        for (const char *c = a; *c; c++)
                if (*c == '/')
                        ups++;
        len = ups * 3 + strlen(b) + 1;
        s = malloc(len);
        if (!s)
                return NULL;
        w = s;
        for (size_t i = 0; i < ups; i++, w += 3)
                memcpy(w, "../", 3);
        strcpy(w, b);
        return s;
}

static int tree_link(Tree *t, const char *path, const char *to) {
        _cleanup_free_ char *target = relative_target(path, to);
        if (!target)
                return oom();
        return tree_symlink(t, path, target);
}

#define PATHF(var, ...)                                                                                 \
        do {                                                                                            \
                if (asprintf_safe(&(var), __VA_ARGS__) < 0)                                            \
                        return oom();                                                                   \
        } while (0)

/* ---- config space ---- */

static void put16(uint8_t *b, size_t off, uint16_t v) {
        b[off] = v & 0xff;
        b[off + 1] = v >> 8;
}

static void put32(uint8_t *b, size_t off, uint32_t v) {
        put16(b, off, v & 0xffff);
        put16(b, off + 2, v >> 16);
}

/* BAR registers as the firmware left them: address bits plus the I/O, 64-bit and prefetchable bits. */
static void put_bars(uint8_t *cfg, size_t off, const Res *res, unsigned n) {
        for (unsigned i = 0; i < n; i++) {
                const Res *r = res + i;
                if (!res_used(r) || !(r->flags & (IORESOURCE_IO | IORESOURCE_MEM)))
                        continue;
                if (r->flags & IORESOURCE_IO) {
                        put32(cfg, off + 4 * i, (uint32_t) (r->start & ~UINT64_C(3)) | 1);
                        continue;
                }
                put32(cfg, off + 4 * i,
                      (uint32_t) (r->start & 0xfffffff0) | (r->flags & IORESOURCE_MEM_64 ? 0x4 : 0) |
                              (r->flags & IORESOURCE_PREFETCH ? 0x8 : 0));
                if ((r->flags & IORESOURCE_MEM_64) && i + 1 < n)
                        put32(cfg, off + 4 * (i + 1), (uint32_t) (r->start >> 32));
        }
}

static unsigned pcie_link_width(const Dev *d) {
        if (d->link_width > 0)
                return d->link_width;
        switch (d->class >> 16) {
        case 0x03: /* display */
                return 16;
        case 0x06: /* bridges */
                return d->pcie == PCIE_PCIE_TO_PCI ? 1 : 4;
        default:
                return 4;
        }
}

/* Extended capabilities start at 0x100 and chain through bits 31:20 of each header. */
typedef struct ExtCap {
        uint16_t id;
        uint8_t version;
        size_t size;
} ExtCap;

static size_t build_config(const Model *m, const Dev *d, uint8_t cfg[static 4096]) {
        bool vf = d->physfn >= 0, io = false, mem = false;
        uint16_t cmd = 0;
        size_t size = m->config64 ? 64 : d->config_size;

        memset(cfg, 0, 4096);
        /* A VF's Vendor and Device ID registers read 0xffff (SR-IOV spec 3.4.1.1); the kernel takes the ids
         * from the PF, so only sysfs' vendor and device files carry them. */
        put16(cfg, 0x00, vf ? 0xffff : d->vendor);
        put16(cfg, 0x02, vf ? 0xffff : d->device);
        for (unsigned i = 0; i <= RES_ROM; i++) {
                io = io || (d->res[i].flags & IORESOURCE_IO);
                mem = mem || (d->res[i].flags & IORESOURCE_MEM);
        }
        if (d->bridge)
                cmd = 0x0007;
        else {
                if (io)
                        cmd |= 0x0001;
                if (mem && !vf) /* a VF's memory space enable lives in the PF's SR-IOV control */
                        cmd |= 0x0002;
                if (d->driver && !driver_is_vfio(d->driver) && !streq(d->driver, "pci-stub"))
                        cmd |= 0x0004;
        }
        put16(cfg, 0x04, cmd);
        put16(cfg, 0x06, d->no_caps ? 0x0000 : 0x0010);
        cfg[0x08] = d->revision;
        cfg[0x09] = d->class & 0xff;
        cfg[0x0a] = (d->class >> 8) & 0xff;
        cfg[0x0b] = (d->class >> 16) & 0xff;
        cfg[0x0e] = (d->bridge ? 0x01 : 0x00) | (d->multifunction ? 0x80 : 0x00);

        if (!d->bridge) {
                if (!vf)
                        put_bars(cfg, 0x10, d->res, 6);
                put16(cfg, 0x2c, d->sub_vendor);
                put16(cfg, 0x2e, d->sub_device);
                if (res_used(d->res + RES_ROM))
                        put32(cfg,
                              0x30,
                              (uint32_t) (d->res[RES_ROM].start & 0xfffff800) | (d->res[RES_ROM].flags & 1));
        } else {
                const Res *wio = d->res + RES_WINDOW, *wmem = wio + 1, *wpref = wio + 2;

                put_bars(cfg, 0x10, d->res, 2);
                cfg[0x18] = (uint8_t) d->bus;
                cfg[0x19] = (uint8_t) d->secondary;
                cfg[0x1a] = (uint8_t) d->subordinate;
                if (res_used(wio)) {
                        cfg[0x1c] = ((wio->start >> 8) & 0xf0) | 0x01;
                        cfg[0x1d] = ((wio->end >> 8) & 0xf0) | 0x01;
                        put16(cfg, 0x30, (uint16_t) (wio->start >> 16));
                        put16(cfg, 0x32, (uint16_t) (wio->end >> 16));
                } else {
                        /* base above limit: the window is closed */
                        cfg[0x1c] = 0xf1;
                        cfg[0x1d] = 0x01;
                }
                if (res_used(wmem)) {
                        put16(cfg, 0x20, (wmem->start >> 16) & 0xfff0);
                        put16(cfg, 0x22, (wmem->end >> 16) & 0xfff0);
                } else
                        put16(cfg, 0x20, 0xfff0);
                if (res_used(wpref)) {
                        uint16_t is64 = wpref->flags & IORESOURCE_MEM_64 ? 1 : 0;
                        put16(cfg, 0x24, ((wpref->start >> 16) & 0xfff0) | is64);
                        put16(cfg, 0x26, ((wpref->end >> 16) & 0xfff0) | is64);
                        put32(cfg, 0x28, (uint32_t) (wpref->start >> 32));
                        put32(cfg, 0x2c, (uint32_t) (wpref->end >> 32));
                } else {
                        put16(cfg, 0x24, 0xfff1);
                        put16(cfg, 0x26, 0x0001);
                }
                if (res_used(d->res + RES_ROM))
                        put32(cfg,
                              0x38,
                              (uint32_t) (d->res[RES_ROM].start & 0xfffff800) | (d->res[RES_ROM].flags & 1));
        }
        cfg[0x3c] = d->irq > 0 ? (uint8_t) d->irq : 0xff;
        cfg[0x3d] = vf ? 0 : 1; /* INTA# */

        if (d->no_caps)
                return size;

        /* Power Management at 0x40, MSI at 0x50, PCI Express at 0x70 */
        cfg[0x34] = 0x40;
        cfg[0x40] = 0x01;
        cfg[0x41] = 0x50;
        put16(cfg, 0x42, 0x0003);
        put16(cfg, 0x44, d->reset_pm ? 0x0000 : 0x0008); /* PMCSR No_Soft_Reset */
        cfg[0x50] = 0x05;
        cfg[0x51] = d->pcie == PCIE_NONE ? 0x00 : 0x70;
        put16(cfg, 0x52, 0x0080);
        if (d->reset_af_flr) {
                /* Advanced Features at 0x60 (after MSI's 14 bytes): length 6, capabilities TP | FLR */
                cfg[0x60] = 0x13;
                cfg[0x61] = cfg[0x51];
                cfg[0x62] = 0x06;
                cfg[0x63] = 0x03;
                cfg[0x51] = 0x60;
        }
        if (d->pcie == PCIE_NONE)
                return size;

        bool port = d->pcie == PCIE_ROOT_PORT || d->pcie == PCIE_DOWNSTREAM;
        unsigned width = pcie_link_width(d), speed = d->link_speed ?: 3;
        cfg[0x70] = 0x10;
        cfg[0x71] = 0x00;
        put16(cfg, 0x72, (uint16_t) (0x0002 | (unsigned) d->pcie << 4 | (port ? 0x0100 : 0)));
        put32(cfg, 0x74, 0x00008001 | (d->reset_flr ? 0x10000000 : 0)); /* DevCap, FLR in bit 28 */
        put16(cfg, 0x78, 0x2010);
        if (d->pcie != PCIE_RC_INTEGRATED && d->pcie != PCIE_RC_EC) {
                put32(cfg, 0x7c, (port ? (uint32_t) d->slot << 24 : 0) | width << 4 | speed);
                put16(cfg, 0x82, (uint16_t) ((port ? 0x2000 : 0) | width << 4 | speed));
        }
        if (size < 4096)
                return size;

        ExtCap caps[4];
        size_t n = 0, off = 0x100;
        caps[n++] = (ExtCap) { 0x0001, 2, 0x48 }; /* Advanced Error Reporting */
        if (d->acs)
                caps[n++] = (ExtCap) { 0x000d, 1, 0x08 };
        if (d->rebar)
                caps[n++] = (ExtCap) { 0x0015, 1, 0x0c }; /* Resizable BAR, one entry */
        if (d->sriov)
                caps[n++] = (ExtCap) { 0x0010, 1, 0x40 };
        for (size_t i = 0; i < n; i++) {
                size_t next = i + 1 < n ? off + caps[i].size : 0;

                put32(cfg, off, (uint32_t) (caps[i].id | caps[i].version << 16 | next << 20));
                switch (caps[i].id) {
                case 0x0001:
                        put32(cfg, off + 0x0c, 0x00462030); /* uncorrectable error severity, reset value */
                        break;
                case 0x000d:
                        put16(cfg, off + 4, d->acs_cap);
                        put16(cfg, off + 6, d->acs_ctl);
                        break;
                case 0x0015: {
                        /* The current size is the BAR's own (its resource line), as on hardware. */
                        const Res *b = d->res + d->rebar_bar;
                        uint64_t bsize = b->end >= b->start && b->end ? b->end - b->start + 1 : 0;
                        unsigned enc = 0;
                        while (enc < 43 && (UINT64_C(1) << (enc + 20)) < bsize)
                                enc++;
                        put32(cfg, off + 4, d->rebar_sizes << 4);
                        put32(cfg, off + 8, d->rebar_bar | 1u << 5 | enc << 8);
                        break;
                }
                case 0x0010:
                        put16(cfg, off + 0x08, d->num_vfs > 0 ? 0x0009 : 0x0000); /* VF Enable, VF MSE */
                        put16(cfg, off + 0x0c, (uint16_t) d->total_vfs);
                        put16(cfg, off + 0x0e, (uint16_t) d->total_vfs);
                        put16(cfg, off + 0x10, (uint16_t) d->num_vfs);
                        put16(cfg, off + 0x14, (uint16_t) d->vf_offset);
                        put16(cfg, off + 0x16, (uint16_t) d->vf_stride);
                        put16(cfg, off + 0x1a, d->vf_device);
                        put32(cfg, off + 0x1c, 0x00000553);
                        put32(cfg, off + 0x20, 0x00000001);
                        put_bars(cfg, off + 0x24, d->res + RES_IOV, 6);
                        break;
                }
                off += caps[i].size;
        }
        return size;
}

/* ---- per-device files ---- */

static const char *modalias(const Dev *d, char buf[static 64]) {
        (void) snprintf(
                buf,
                64,
                "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X",
                d->vendor,
                d->device,
                d->sub_vendor,
                d->sub_device,
                d->class >> 16,
                (d->class >> 8) & 0xff,
                d->class & 0xff);
        return buf;
}

static int write_resource(const Model *m, Tree *t, const Dev *d) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t len = 0;
        unsigned lines = d->bridge ? (m->iov ? 17 : 11) : (m->iov ? 13 : 7);
        FILE *f;

        PATHF(path, "%s/resource", d->path);
        f = open_memstream(&text, &len);
        if (!f)
                return oom();
        for (unsigned i = 0; i < lines; i++) {
                /* without CONFIG_PCI_IOV the bridge resources follow the ROM directly */
                unsigned src = !m->iov && i > RES_ROM ? i - RES_IOV + RES_WINDOW : i;
                const Res *r = d->res + src;
                fprintf(f,
                        "0x%016" PRIx64 " 0x%016" PRIx64 " 0x%016" PRIx64 "\n",
                        m->resource_zeroed ? 0 : r->start,
                        m->resource_zeroed ? 0 : r->end,
                        r->flags);
        }
        if (fclose(f) != 0)
                return oom();
        return tree_write(t, path, text, len);
}

static int write_driver_dir(Tree *t, const char *driver, char ***done) {
        static const char *const files[] = { "bind", "unbind", "new_id", "remove_id", "uevent" };
        int r;

        if (strv_contains(*done, driver))
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *path = NULL;
                PATHF(path, "sys/bus/pci/drivers/%s/%s", driver, files[i]);
                r = tree_write(t, path, "", 0);
                if (r < 0)
                        return r;
        }
        r = strv_extend(done, driver);
        return r < 0 ? oom() : 0;
}

static int write_device(const Model *m, Tree *t, size_t index, char ***drivers) {
        const Dev *d = m->devs + index;
        _cleanup_free_ uint8_t *cfg = malloc(4096);
        char alias[64];
        int irq = d->irq >= 0 ? d->irq : (int) (16 + (d->bus + d->slot + d->fn) % 8);
        struct {
                const char *name;
                char *value;
        } files[32] = {};
        size_t n = 0;
        int r = 0;

        if (!cfg)
                return oom();

#define FILEF(fname, ...)                                                                              \
        do {                                                                                            \
                files[n].name = fname;                                                                  \
                if (asprintf_safe(&files[n++].value, __VA_ARGS__) < 0)                                 \
                        r = -ENOMEM;                                                                    \
        } while (0)

        FILEF("vendor", "0x%04x\n", d->vendor);
        FILEF("device", "0x%04x\n", d->device);
        FILEF("subsystem_vendor", "0x%04x\n", d->sub_vendor);
        FILEF("subsystem_device", "0x%04x\n", d->sub_device);
        FILEF("class", "0x%06x\n", d->class);
        FILEF("revision", "0x%02x\n", d->revision);
        FILEF("irq", "%d\n", irq);
        FILEF("numa_node", "%d\n", d->numa);
        FILEF("driver_override", "%s\n", d->override ?: "(null)");
        FILEF("modalias", "%s\n", modalias(d, alias));
        FILEF("uevent",
              "%s%s%sPCI_CLASS=%X\nPCI_ID=%04X:%04X\nPCI_SUBSYS_ID=%04X:%04X\n"
              "PCI_SLOT_NAME=%s\nMODALIAS=%s\n",
              d->driver ? "DRIVER=" : "",
              d->driver ?: "",
              d->driver ? "\n" : "",
              d->class,
              d->vendor,
              d->device,
              d->sub_vendor,
              d->sub_device,
              d->name,
              alias);
        if (d->bridge) {
                FILEF("secondary_bus_number", "%u\n", d->secondary);
                FILEF("subordinate_bus_number", "%u\n", d->subordinate);
        }
        if (d->sriov) {
                FILEF("sriov_totalvfs", "%u\n", d->total_vfs);
                FILEF("sriov_numvfs", "%u\n", d->num_vfs);
                FILEF("sriov_offset", "%u\n", d->vf_offset);
                FILEF("sriov_stride", "%u\n", d->vf_stride);
                FILEF("sriov_vf_device", "%x\n", d->vf_device);
                FILEF("sriov_drivers_autoprobe", "1\n");
        }
#undef FILEF
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL;
                if (r >= 0 && asprintf_safe(&path, "%s/%s", d->path, files[i].name) < 0)
                        r = -ENOMEM;
                if (r >= 0)
                        r = tree_write(t, path, files[i].value, strlen(files[i].value));
                free(files[i].value);
        }
        if (r < 0)
                return r == -ENOMEM ? oom() : r;

        r = write_resource(m, t, d);
        if (r < 0)
                return r;

        _cleanup_free_ char *config = NULL, *subsystem = NULL, *buslink = NULL;
        PATHF(config, "%s/config", d->path);
        r = tree_write(t, config, cfg, build_config(m, d, cfg));
        if (r < 0)
                return r;
        PATHF(subsystem, "%s/subsystem", d->path);
        r = tree_link(t, subsystem, "sys/bus/pci");
        if (r < 0)
                return r;
        PATHF(buslink, "sys/bus/pci/devices/%s", d->name);
        r = tree_link(t, buslink, d->path);
        if (r < 0)
                return r;

        if (d->driver) {
                _cleanup_free_ char *link = NULL, *dir = NULL, *back = NULL;

                r = write_driver_dir(t, d->driver, drivers);
                if (r < 0)
                        return r;
                PATHF(link, "%s/driver", d->path);
                PATHF(dir, "sys/bus/pci/drivers/%s", d->driver);
                PATHF(back, "sys/bus/pci/drivers/%s/%s", d->driver, d->name);
                r = tree_link(t, link, dir);
                if (r >= 0)
                        r = tree_link(t, back, d->path);
                if (r < 0)
                        return r;
        }
        if (d->group >= 0) {
                _cleanup_free_ char *link = NULL, *to = NULL;
                PATHF(link, "%s/iommu_group", d->path);
                PATHF(to, "sys/kernel/iommu_groups/%d", d->group);
                r = tree_link(t, link, to);
                if (r < 0)
                        return r;
        }
        if (d->iommu) {
                _cleanup_free_ char *link = NULL;
                PATHF(link, "%s/iommu", d->path);
                r = tree_link(t, link, model_find_unit(m, d->iommu)->path);
                if (r < 0)
                        return r;
        }
        if (d->physfn >= 0) {
                _cleanup_free_ char *link = NULL, *back = NULL;
                PATHF(link, "%s/physfn", d->path);
                PATHF(back, "%s/virtfn%u", m->devs[d->physfn].path, d->vf_index);
                r = tree_link(t, link, m->devs[d->physfn].path);
                if (r >= 0)
                        r = tree_link(t, back, d->path);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- IOMMU groups ---- */

static int resv_rank(const char *type) {
        /* enum iommu_resv_type order, which breaks ties between regions starting at the same address */
        static const char *const order[] = { "direct", "direct-relaxable", "reserved", "msi" };
        for (size_t i = 0; i < ELEMENTSOF(order); i++)
                if (streq(type, order[i]))
                        return (int) i;
        return (int) ELEMENTSOF(order);
}

static int resv_compare(const void *a, const void *b) {
        const Resv *x = a, *y = b;
        if (x->start != y->start)
                return x->start < y->start ? -1 : 1;
        return resv_rank(x->type) - resv_rank(y->type);
}

/* reserved_regions as drivers/iommu/iommu.c prints it: sorted by start, regions of one type that overlap or
 * touch merged (iommu_insert_resv_region), different types never merged. */
static int write_group_regions(const Model *m, Tree *t, const GroupDef *g) {
        _cleanup_free_ Resv *l = NULL;
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t n = 0, len = 0;
        FILE *f;

        l = calloc(m->n_resv ?: 1, sizeof(Resv));
        if (!l)
                return oom();
        for (size_t i = 0; i < m->n_resv; i++)
                if (m->resv[i].group < 0 || m->resv[i].group == (int) g->number)
                        l[n++] = m->resv[i];
        if (n > 0)
                qsort(l, n, sizeof(Resv), resv_compare);

        f = open_memstream(&text, &len);
        if (!f)
                return oom();
        for (size_t i = 0; i < n; i++) {
                bool merged = false;
                if (!l[i].type)
                        continue;
                for (size_t j = 0; j < i && !merged; j++)
                        if (l[j].type && streq(l[j].type, l[i].type) &&
                            (l[j].end == UINT64_MAX || l[i].start <= l[j].end + 1)) {
                                l[j].end = MAX(l[j].end, l[i].end);
                                l[i].type = NULL;
                                merged = true;
                        }
        }
        for (size_t i = 0; i < n; i++)
                if (l[i].type)
                        fprintf(f,
                                "0x%016" PRIx64 " 0x%016" PRIx64 " %s\n",
                                l[i].start,
                                l[i].end,
                                l[i].type);
        if (fclose(f) != 0)
                return oom();
        PATHF(path, "sys/kernel/iommu_groups/%u/reserved_regions", g->number);
        return tree_write(t, path, text, len);
}

static int write_groups(const Model *m, Tree *t) {
        int r;

        for (size_t i = 0; i < m->n_groups; i++) {
                const GroupDef *g = m->groups + i;

                r = write_group_regions(m, t, g);
                if (r < 0)
                        return r;
                if (g->type) {
                        _cleanup_free_ char *path = NULL;
                        PATHF(path, "sys/kernel/iommu_groups/%u/type", g->number);
                        r = tree_printf(t, path, "%s\n", g->type);
                        if (r < 0)
                                return r;
                }
                for (size_t j = 0; j < m->n_devs; j++) {
                        _cleanup_free_ char *link = NULL;
                        if (m->devs[j].group != (int) g->number)
                                continue;
                        PATHF(link, "sys/kernel/iommu_groups/%u/devices/%s", g->number, m->devs[j].name);
                        r = tree_link(t, link, m->devs[j].path);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* ---- IOMMU units ---- */

static int write_unit(const Model *m, Tree *t, const Unit *u) {
        _cleanup_free_ char *class = NULL, *subsystem = NULL, *uevent = NULL;
        int r;

        PATHF(class, "sys/class/iommu/%s", u->name);
        PATHF(subsystem, "%s/subsystem", u->path);
        PATHF(uevent, "%s/uevent", u->path);
        r = tree_link(t, class, u->path);
        if (r >= 0)
                r = tree_link(t, subsystem, "sys/class/iommu");
        if (r >= 0)
                r = tree_write(t, uevent, "", 0);
        if (r < 0)
                return r;

        if (u->kind == UNIT_INTEL) {
                /* drivers/iommu/intel/iommu.c: version "%d:%d", the rest "%llx" */
                _cleanup_free_ char *version = NULL, *address = NULL, *cap = NULL, *ecap = NULL, *sup = NULL,
                                    *used = NULL;
                size_t groups = 0;

                for (size_t i = 0; i < m->n_groups; i++)
                        for (size_t j = 0; j < m->n_devs; j++)
                                if (m->devs[j].group == (int) m->groups[i].number &&
                                    streq_ptr(m->devs[j].iommu, u->name)) {
                                        groups++;
                                        break;
                                }
                PATHF(version, "%s/intel-iommu/version", u->path);
                PATHF(address, "%s/intel-iommu/address", u->path);
                PATHF(cap, "%s/intel-iommu/cap", u->path);
                PATHF(ecap, "%s/intel-iommu/ecap", u->path);
                PATHF(sup, "%s/intel-iommu/domains_supported", u->path);
                PATHF(used, "%s/intel-iommu/domains_used", u->path);
                r = tree_printf(t, version, "%s\n", u->version);
                if (r >= 0)
                        r = tree_printf(t, address, "%" PRIx64 "\n", u->address);
                if (r >= 0)
                        r = tree_printf(t, cap, "%" PRIx64 "\n", u->cap);
                if (r >= 0)
                        r = tree_printf(t, ecap, "%" PRIx64 "\n", u->ecap);
                if (r >= 0) /* cap_ndoms(): 2^(4 + 2 * ND) */
                        r = tree_printf(t, sup, "%lu\n", 1UL << (4 + 2 * (u->cap & 7)));
                if (r >= 0) /* domain 0 is reserved, then one per attached group */
                        r = tree_printf(t, used, "%zu\n", groups + 1);
        } else if (u->kind == UNIT_AMD) {
                /* drivers/iommu/amd/init.c: cap "%x", features "%llx:%llx" (EFR2:EFR) or "%llx" (EFR) */
                _cleanup_free_ char *cap = NULL, *features = NULL;

                PATHF(cap, "%s/amd-iommu/cap", u->path);
                PATHF(features, "%s/amd-iommu/features", u->path);
                r = tree_printf(t, cap, "%" PRIx64 "\n", u->cap);
                if (r >= 0) {
                        if (u->has_efr2)
                                r = tree_printf(t, features, "%" PRIx64 ":%" PRIx64 "\n", u->efr2, u->efr);
                        else
                                r = tree_printf(t, features, "%" PRIx64 "\n", u->efr);
                }
        }
        if (r < 0)
                return r;

        for (size_t i = 0; i < m->n_devs; i++) {
                _cleanup_free_ char *link = NULL;
                if (!streq_ptr(m->devs[i].iommu, u->name))
                        continue;
                PATHF(link, "%s/devices/%s", u->path, m->devs[i].name);
                r = tree_link(t, link, m->devs[i].path);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- /proc/iomem ---- */

typedef struct IomemLine {
        uint64_t start, end;
        unsigned prio; /* who nests inside whom when ranges are equal */
        size_t seq;
        const char *name;
} IomemLine;

static int iomem_compare(const void *a, const void *b) {
        const IomemLine *x = a, *y = b;
        if (x->start != y->start)
                return x->start < y->start ? -1 : 1;
        if (x->end != y->end)
                return x->end > y->end ? -1 : 1;
        if (x->prio != y->prio)
                return x->prio < y->prio ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static const char *dev_claim(const Dev *d) {
        if (d->claim)
                return streq(d->claim, "-") ? NULL : d->claim;
        /* these drivers do not request the BARs at probe time */
        if (!d->driver || driver_is_vfio(d->driver) || streq(d->driver, "pcieport") ||
            streq(d->driver, "pci-stub"))
                return NULL;
        return d->driver;
}

/* The resource tree of kernel/resource.c, rebuilt from what contains what, printed like r_show(): two
 * spaces per level (at most 5), at least 8 hex digits. */
static int write_iomem(const Model *m, Tree *t) {
        _cleanup_free_ IomemLine *l = NULL;
        _cleanup_free_ char *text = NULL, **names = NULL;
        _cleanup_free_ size_t *stack = NULL;
        size_t n = 0, allocated = 0, len = 0, depth = 0, n_names = 0, allocated_names = 0;
        FILE *f;
        int r;

        if (m->iomem_text)
                return tree_write(t, "proc/iomem", m->iomem_text, strlen(m->iomem_text));
        if (m->iomem_mode == IOMEM_NONE)
                return 0;

#define ADD(s, e, p, nm)                                                                               \
        do {                                                                                            \
                if (!GREEDY_REALLOC(l, allocated, n + 1))                                               \
                        goto fail;                                                                      \
                l[n] = (IomemLine) { .start = (s), .end = (e), .prio = (p), .seq = n, .name = (nm) };   \
                n++;                                                                                    \
        } while (0)

        for (size_t i = 0; i < m->n_iomem; i++)
                ADD(m->iomem[i].start, m->iomem[i].end, 0, m->iomem[i].name);
        for (size_t i = 0; i < m->n_rootbuses; i++)
                for (size_t j = 0; j < m->rootbuses[i].n_mem; j++)
                        ADD(m->rootbuses[i].mem[j].start,
                            m->rootbuses[i].mem[j].end,
                            1,
                            m->rootbuses[i].name);
        for (size_t i = 0; i < m->n_devs; i++) {
                const Dev *d = m->devs + i;
                const char *claim = dev_claim(d);

                if (d->bridge)
                        for (unsigned w = 1; w <= 2; w++) {
                                const Res *x = d->res + RES_WINDOW + w;
                                char *name;
                                if (!res_used(x) || (x->start == 0 && x->end == 0))
                                        continue;
                                r = asprintf_safe(
                                        &name, "PCI Bus %04" PRIx32 ":%02x", d->domain, d->secondary);
                                if (r < 0)
                                        goto fail;
                                if (!GREEDY_REALLOC(names, allocated_names, n_names + 1)) {
                                        free(name);
                                        goto fail;
                                }
                                names[n_names++] = name;
                                ADD(x->start, x->end, 2, name);
                        }
                for (unsigned b = 0; b < RES_WINDOW; b++) {
                        const Res *x = d->res + b;
                        if (!(x->flags & IORESOURCE_MEM) || (x->start == 0 && x->end == 0))
                                continue;
                        ADD(x->start, x->end, 3, d->name);
                        if (claim && b < RES_ROM)
                                ADD(x->start, x->end, 4, claim);
                }
        }
#undef ADD
        if (n > 0)
                qsort(l, n, sizeof(IomemLine), iomem_compare);
        stack = calloc(n ?: 1, sizeof(size_t));
        f = stack ? open_memstream(&text, &len) : NULL;
        if (!f)
                goto fail;
        for (size_t i = 0; i < n; i++) {
                while (depth > 0 &&
                       !(l[stack[depth - 1]].start <= l[i].start && l[i].end <= l[stack[depth - 1]].end))
                        depth--;
                fprintf(f,
                        "%*s%08" PRIx64 "-%08" PRIx64 " : %s\n",
                        (int) MIN(depth, (size_t) 5) * 2,
                        "",
                        m->iomem_mode == IOMEM_ZEROED ? 0 : l[i].start,
                        m->iomem_mode == IOMEM_ZEROED ? 0 : l[i].end,
                        l[i].name);
                stack[depth++] = i;
        }
        if (fclose(f) != 0)
                goto fail;
        r = tree_write(t, "proc/iomem", text, len);
        for (size_t i = 0; i < n_names; i++)
                free(names[i]);
        return r;

fail:
        for (size_t i = 0; i < n_names; i++)
                free(names[i]);
        return oom();
}

/* ---- /proc/cpuinfo ---- */

#define X86_FLAGS_INTEL \
        "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi " \
        "mmx fxsr sse sse2 ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc arch_perfmon pebs " \
        "bts rep_good nopl xtopology nonstop_tsc cpuid aperfmperf pni pclmulqdq dtes64 monitor " \
        "ds_cpl vmx smx est tm2 ssse3 sdbg fma cx16 xtpr pdcm pcid sse4_1 sse4_2 x2apic movbe " \
        "popcnt tsc_deadline_timer aes xsave avx f16c rdrand lahf_lm abm 3dnowprefetch cpuid_fault " \
        "epb invpcid_single ssbd ibrs ibpb stibp tpr_shadow vnmi flexpriority ept vpid ept_ad " \
        "fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid xsaveopt dtherm ida arat pln pts " \
        "md_clear flush_l1d"
#define X86_FLAGS_AMD \
        "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr " \
        "sse sse2 ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl " \
        "nonstop_tsc cpuid extd_apicid aperfmperf rapl pni pclmulqdq monitor ssse3 fma cx16 pcid " \
        "sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand lahf_lm cmp_legacy svm extapic " \
        "cr8_legacy abm sse4a misalignsse 3dnowprefetch osvw ibs skinit wdt tce topoext " \
        "perfctr_core perfctr_nb bpext perfctr_llc mwaitx cpb cat_l3 cdp_l3 invpcid_single " \
        "hw_pstate ssbd mba ibrs ibpb stibp vmmcall fsgsbase bmi1 avx2 smep bmi2 invpcid cqm rdt_a " \
        "rdseed adx smap clflushopt clwb sha_ni xsaveopt xsavec xgetbv1 xsaves cqm_llc " \
        "cqm_occup_llc cqm_mbm_total cqm_mbm_local clzero irperf xsaveerptr rdpru wbnoinvd amd_ppin " \
        "arat npt lbrv svm_lock nrip_save tsc_scale vmcb_clean flushbyasid decodeassists " \
        "pausefilter pfthreshold v_vmsave_vmload vgif v_spec_ctrl umip pku ospke vaes vpclmulqdq " \
        "rdpid overflow_recov succor smca fsrm"
#define ARM64_FEATURES \
        "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop " \
        "asimddp ssbs"

/* arch/x86/kernel/cpu/proc.c and arch/arm64/kernel/cpuinfo.c, one block per processor */
static int write_cpuinfo(const Model *m, Tree *t) {
        const Cpu *c = &m->cpu;
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        FILE *f;

        if (m->cpuinfo_text)
                return tree_write(t, "proc/cpuinfo", m->cpuinfo_text, strlen(m->cpuinfo_text));
        if (!c->set)
                return 0;
        f = open_memstream(&text, &len);
        if (!f)
                return oom();
        for (unsigned i = 0; i < c->count; i++) {
                if (c->arm) {
                        fprintf(f,
                                "processor\t: %u\nBogoMIPS\t: %s\nFeatures\t: %s\n",
                                i,
                                c->bogomips ?: "50.00",
                                c->flags ?: ARM64_FEATURES);
                        fprintf(f, "CPU implementer\t: 0x%02x\nCPU architecture: 8\nCPU variant\t: 0x%x\n"
                                   "CPU part\t: 0x%03x\nCPU revision\t: %u\n\n",
                                c->implementer, c->variant, c->part, c->revision);
                        continue;
                }
                bool amd = streq_ptr(c->vendor, "AuthenticAMD");
                unsigned cores = c->cores ?: c->count, siblings = c->siblings ?: c->count;
                unsigned threads = siblings / MAX(cores, 1u);
                fprintf(f,
                        "processor\t: %u\nvendor_id\t: %s\ncpu family\t: %u\nmodel\t\t: %u\n"
                        "model name\t: %s\n"
                        "stepping\t: %u\nmicrocode\t: %s\ncpu MHz\t\t: %s\ncache size\t: %u KB\n",
                        i,
                        c->vendor ?: "GenuineIntel",
                        c->family,
                        c->model,
                        c->name ?: "",
                        c->stepping,
                        c->microcode ?: "0x1",
                        c->mhz ?: "2000.000",
                        c->cache_kb);
                fprintf(f,
                        "physical id\t: 0\nsiblings\t: %u\ncore id\t\t: %u\ncpu cores\t: %u\n"
                        "apicid\t\t: %u\ninitial apicid\t: %u\nfpu\t\t: yes\nfpu_exception\t: yes\n"
                        "cpuid level\t: %u\nwp\t\t: yes\n",
                        siblings,
                        i / MAX(threads, 1u),
                        cores,
                        i,
                        i,
                        c->cpuid_level);
                fprintf(f, "flags\t\t: %s\n", c->flags ?: (amd ? X86_FLAGS_AMD : X86_FLAGS_INTEL));
                fprintf(f, "bugs\t\t: %s\nbogomips\t: %s\nclflush size\t: 64\ncache_alignment\t: 64\n"
                           "address sizes\t: %u bits physical, %u bits virtual\npower management:\n\n",
                        amd ? "sysret_ss_attrs spectre_v1 spectre_v2 spec_store_bypass srso"
                            : "spectre_v1 spectre_v2 spec_store_bypass swapgs",
                        c->bogomips ?: "4000.00", c->phys_bits ?: 39, c->virt_bits ?: 48);
        }
        if (fclose(f) != 0)
                return oom();
        return tree_write(t, "proc/cpuinfo", text, len);
}

/* ---- the rest: VFIO, processes, module parameters ---- */

static int write_vfio(const Model *m, Tree *t) {
        bool any = m->vfio_container;
        int r;

        /* the kernel creates /dev/vfio/N when the first device of group N binds to a VFIO driver */
        for (size_t i = 0; i < m->n_groups; i++) {
                bool vfio = false;
                for (size_t j = 0; j < m->n_devs && !vfio; j++)
                        vfio = m->devs[j].group == (int) m->groups[i].number &&
                                driver_is_vfio(m->devs[j].driver);
                if (!vfio)
                        continue;
                _cleanup_free_ char *path = NULL;
                PATHF(path, "dev/vfio/%u", m->groups[i].number);
                r = tree_write(t, path, "", 0);
                if (r < 0)
                        return r;
                any = true;
        }
        if (any) {
                r = tree_write(t, "dev/vfio/vfio", "", 0);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < m->n_procs; i++) {
                const Proc *p = m->procs + i;
                if (p->comm) {
                        _cleanup_free_ char *path = NULL;
                        PATHF(path, "proc/%u/comm", p->pid);
                        r = tree_printf(t, path, "%s\n", p->comm);
                        if (r < 0)
                                return r;
                }
                for (size_t j = 0; j < p->n_fds; j++) {
                        _cleanup_free_ char *path = NULL;
                        PATHF(path, "proc/%u/fd/%u", p->pid, p->fds[j].fd);
                        r = tree_symlink(t, path, p->fds[j].target);
                        if (r < 0)
                                return r;
                }
        }
        if (m->unsafe_interrupts >= 0) {
                r = tree_printf(t, "sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "%c\n",
                                m->unsafe_interrupts ? 'Y' : 'N');
                if (r < 0)
                        return r;
        }
        if (m->dma_entry_limit >= 0) {
                r = tree_printf(t, "sys/module/vfio_iommu_type1/parameters/dma_entry_limit", "%lld\n",
                                m->dma_entry_limit);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- the edits of bad-input fixtures ---- */

static int remove_recursive(int parent_fd, const char *name) {
        struct stat st;

        if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode)) {
                int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                DIR *dir;
                struct dirent *de;

                if (fd < 0)
                        return -errno;
                dir = fdopendir(fd);
                if (!dir) {
                        (void) close(fd);
                        return -errno;
                }
                while ((de = readdir(dir))) {
                        int r;
                        if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                                continue;
                        r = remove_recursive(dirfd(dir), de->d_name);
                        if (r < 0) {
                                (void) closedir(dir);
                                return r;
                        }
                }
                (void) closedir(dir);
                return unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 ? -errno : 0;
        }
        return unlinkat(parent_fd, name, 0) < 0 ? -errno : 0;
}

static int apply_edit(const Model *m, Tree *t, const PostOp *op) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (op->path[0] == '@') {
                size_t l = strcspn(op->path + 1, "/");
                _cleanup_free_ char *bdf = strndup(op->path + 1, l);
                uint32_t dom;
                unsigned bus, slot, fn;
                int i;

                if (!bdf)
                        return oom();
                if (parse_bdf(bdf, &dom, &bus, &slot, &fn) < 0 ||
                    (i = model_find_dev(m, dom, bus, slot, fn)) < 0)
                        return model_error(m, op->line, "no device %s", bdf);
                PATHF(path, "%s%s", m->devs[i].path, op->path + 1 + l);
        } else if (!(path = strdup(op->path)))
                return oom();

        switch (op->kind) {
        case OP_FILE:
                if (unlinkat(t->fd, path, 0) < 0 && errno != ENOENT)
                        return tree_error(t, path, -errno);
                return tree_write(t, path, op->data, strlen(op->data));
        case OP_REMOVE:
                free(t->last_dir); /* it may be gone */
                t->last_dir = NULL;
                r = remove_recursive(t->fd, path);
                if (r < 0)
                        return model_error(m, op->line, "cannot remove %s: %s", path, strerror(-r));
                return 0;
        case OP_TRUNCATE: {
                _cleanup_close_ int fd = openat(t->fd, path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0 || ftruncate(fd, (off_t) op->size) < 0)
                        return model_error(m, op->line, "cannot truncate %s: %m", path);
                return 0;
        }
        case OP_SYMLINK:
                if (unlinkat(t->fd, path, 0) < 0 && errno != ENOENT)
                        return tree_error(t, path, -errno);
                return tree_symlink(t, path, op->data);
        }
        return -EINVAL;
}

static int model_write(const Model *m, Tree *t) {
        _cleanup_strv_free_ char **drivers = NULL;
        int r;

        for (size_t i = 0; i < m->n_devs; i++) {
                r = write_device(m, t, i, &drivers);
                if (r < 0)
                        return r;
        }
        r = write_groups(m, t);
        if (r < 0)
                return r;
        for (size_t i = 0; i < m->n_units; i++) {
                r = write_unit(m, t, m->units + i);
                if (r < 0)
                        return r;
        }
        r = write_iomem(m, t);
        if (r < 0)
                return r;
        r = write_cpuinfo(m, t);
        if (r < 0)
                return r;
        r = write_vfio(m, t);
        if (r < 0)
                return r;
        for (size_t i = 0; i < m->n_ops; i++) {
                r = apply_edit(m, t, m->ops + i);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- generated hosts, for benchmarks ---- */

typedef enum Shape {
        SHAPE_MIXED,
        SHAPE_SRIOV,
        SHAPE_GPU_SWITCH,
} Shape;

typedef struct Gen {
        Model *m;
        bool amd;
        unsigned count;
        int domain;            /* current PCI domain, -1 before the first */
        unsigned next_bus;     /* next free bus number in the domain */
        unsigned rp_slot, rp_fn; /* next root port position on bus 00 */
        unsigned rc_slot;      /* next root-bus slot for integrated devices (0x10-0x1f) */
        unsigned next_group;
        unsigned serial;       /* counts components, picks drivers and variants */
        uint64_t cursor;       /* 64-bit prefetchable space of the domain, allocated upwards */
        char unit[16];
} Gen;

#define GDEV(g, i) ((g)->m->devs + (i))
#define MiB UINT64_C(0x100000)

static uint64_t align_up(uint64_t v, uint64_t a) {
        return (v + a - 1) & ~(a - 1);
}

static int gen_add(Gen *g, unsigned bus, unsigned slot, unsigned fn, uint16_t vendor, uint16_t device,
                   uint32_t class, int parent, int pcie, const char *driver) {
        Dev *d = model_add_dev(g->m);

        if (!d)
                return oom();
        d->domain = (uint32_t) g->domain;
        d->bus = bus;
        d->slot = slot;
        d->fn = fn;
        dev_set_name(d);
        d->vendor = d->sub_vendor = vendor;
        d->device = d->sub_device = device;
        d->class = class;
        d->parent = parent;
        d->pcie = pcie;
        d->config_size = pcie == PCIE_NONE ? 256 : 4096;
        if (driver && !(d->driver = strdup(driver)))
                return oom();
        g->count++;
        return (int) (g->m->n_devs - 1);
}

/* A new group for dev; the generator numbers groups in creation order, as the kernel does at probe. */
static void gen_group(Gen *g, int dev) {
        GDEV(g, dev)->group = (int) g->next_group++;
}

static void gen_join(Gen *g, int dev, int with) {
        GDEV(g, dev)->group = GDEV(g, with)->group;
}

static void gen_bar(Gen *g, int dev, unsigned n, uint64_t size) {
        g->cursor = align_up(g->cursor, size);
        GDEV(g, dev)->res[n] = (Res) { g->cursor, g->cursor + size - 1, FLAGS_BAR_PREF64 };
        g->cursor += size;
}

static uint64_t gen_window_begin(Gen *g) {
        g->cursor = align_up(g->cursor, MiB);
        return g->cursor;
}

static void gen_window_end(Gen *g, int bridge, uint64_t start) {
        g->cursor = align_up(g->cursor, MiB);
        if (g->cursor == start)
                g->cursor += MiB;
        GDEV(g, bridge)->res[RES_WINDOW + 2] = (Res) { start, g->cursor - 1, FLAGS_WINDOW_PREF64 };
}

static int gen_open_domain(Gen *g) {
        uint64_t base;
        RootBus *rb;
        Unit *u;
        int hb, r;

        g->domain++;
        if (g->domain > 0x3f) {
                fprintf(stderr, "mkhost: too many PCI domains\n");
                return -E2BIG;
        }
        g->next_bus = 1;
        g->rp_slot = 1;
        g->rp_fn = 0;
        g->rc_slot = 0x10;
        /* each host bridge gets 1 TiB of 64-bit space from 16 TiB up, like a multi-segment server */
        base = UINT64_C(0x100000000000) + (uint64_t) g->domain * UINT64_C(0x10000000000);
        g->cursor = base;

        rb = APPEND(g->m->rootbuses, g->m->n_rootbuses, g->m->allocated_rootbuses);
        if (!rb)
                return oom();
        rb->domain = (uint32_t) g->domain;
        rb->n_mem = 1;
        rb->mem[0] = (Res) { base, base + UINT64_C(0x10000000000) - 1, IORESOURCE_MEM | IORESOURCE_WINDOW };
        if (asprintf_safe(&rb->name, "PCI Bus %04x:00", (unsigned) g->domain) < 0)
                return oom();

        (void) snprintf(g->unit, sizeof(g->unit), "%s%d", g->amd ? "ivhd" : "dmar", g->domain);
        u = APPEND(g->m->units, g->m->n_units, g->m->allocated_units);
        if (!u || !(u->name = strdup(g->unit)))
                return oom();
        if (g->amd) {
                u->kind = UNIT_AMD;
                u->cap = 0x190b640f;
                u->efr = UINT64_C(0x246577efa22542fa);
                u->has_efr2 = true;
                if (asprintf_safe(&u->parent, "%04x:00:00.2", (unsigned) g->domain) < 0)
                        return oom();
        } else {
                u->kind = UNIT_INTEL;
                u->cap = UINT64_C(0x8d2078c106f0466);
                u->ecap = UINT64_C(0xf020df);
                u->address = UINT64_C(0xfbffc000) - (uint64_t) g->domain * UINT64_C(0x2000000);
                if (!(u->version = strdup("1:0")))
                        return oom();
        }

        hb = g->amd ? gen_add(g, 0, 0, 0, 0x1022, 0x1480, 0x060000, -1, PCIE_NONE, NULL)
                    : gen_add(g, 0, 0, 0, 0x8086, 0x2020, 0x060000, -1, PCIE_NONE, NULL);
        if (hb < 0)
                return hb;
        if (g->amd) {
                /* the AMD IOMMU is a PCI function of its root complex, outside any group */
                r = gen_add(g, 0, 0, 2, 0x1022, 0x1481, 0x080600, -1, PCIE_NONE, NULL);
                if (r < 0)
                        return r;
        } else
                gen_group(g, hb);
        return 0;
}

/* Makes sure the domain has room for buses more buses, a root port and rc_slots root-bus slots. */
static int gen_need(Gen *g, unsigned buses, unsigned rc_slots) {
        /* root ports use slots 0x01-0x0f; one without ACS may skip to the next slot, hence the margin */
        if (g->domain >= 0 && g->next_bus + buses <= 0x100 && g->rp_slot < 0x0f &&
            g->rc_slot + rc_slots <= 0x20)
                return 0;
        return gen_open_domain(g);
}

/* Opens the next domain between components, never inside one, so that the count stays exact: every
 * component fits in what is left of a domain that passes this check. */
static int gen_room(Gen *g) {
        if (g->next_bus <= 0x100 - 8 && g->rp_slot < 0x0e && g->rc_slot < 0x1f)
                return 0;
        return gen_open_domain(g);
}

static int gen_unit_for(Gen *g, int dev) {
        Dev *d = GDEV(g, dev);
        if (d->group < 0 || d->iommu)
                return 0;
        return (d->iommu = strdup(g->unit)) ? 0 : oom();
}

/* A root port on bus 00 owning buses buses. Ports without ACS take function 0 of a slot of their own, so
 * that no two of them share a slot (two non-isolated functions of one slot would share a group). */
static int gen_root_port(Gen *g, bool acs, unsigned buses) {
        int rp;

        if (!acs && g->rp_fn != 0) {
                g->rp_slot++;
                g->rp_fn = 0;
        }
        rp = gen_add(g,
                     0,
                     g->rp_slot,
                     g->rp_fn,
                     g->amd ? 0x1022 : 0x8086,
                     g->amd ? 0x1483 : 0x2030,
                     0x060400,
                     -1,
                     PCIE_ROOT_PORT,
                     "pcieport");
        if (rp < 0)
                return rp;
        if (++g->rp_fn == 8) {
                g->rp_slot++;
                g->rp_fn = 0;
        }
        Dev *d = GDEV(g, rp);
        d->sub_vendor = d->sub_device = 0;
        d->bridge = true;
        d->secondary = g->next_bus;
        d->subordinate = g->next_bus + buses - 1;
        g->next_bus += buses;
        if (acs) {
                d->acs = true;
                d->acs_cap = 0x001f;
                d->acs_ctl = 0x001d;
        }
        gen_group(g, rp);
        return rp;
}

static int gen_nvme(Gen *g) {
        int r, rp, d;
        uint64_t w;

        r = gen_need(g, 1, 0);
        if (r < 0)
                return r;
        rp = gen_root_port(g, true, 1);
        if (rp < 0)
                return rp;
        w = gen_window_begin(g);
        d = gen_add(g, GDEV(g, rp)->secondary, 0, 0, 0x144d, 0xa80a, 0x010802, rp, PCIE_ENDPOINT,
                    g->serial % 3 == 1 ? "vfio-pci" : "nvme");
        if (d < 0)
                return d;
        GDEV(g, d)->sub_device = 0xa801;
        gen_bar(g, d, 0, 16 * 1024);
        gen_group(g, d);
        gen_window_end(g, rp, w);
        return 0;
}

/* A GPU and its HDMI audio function; assigned or not, every other one. */
static int gen_gpu(Gen *g, unsigned bus, int parent, int join) {
        bool assigned = g->serial % 2 == 0;
        int v, a;

        if (g->amd) {
                v = gen_add(g, bus, 0, 0, 0x1002, 0x73a3, 0x030000, parent, PCIE_ENDPOINT,
                            assigned ? "vfio-pci" : "amdgpu");
                if (v < 0)
                        return v;
                a = gen_add(g, bus, 0, 1, 0x1002, 0xab28, 0x040300, parent, PCIE_ENDPOINT,
                            assigned ? "vfio-pci" : "snd_hda_intel");
        } else {
                v = gen_add(g, bus, 0, 0, 0x10de, 0x2206, 0x030000, parent, PCIE_ENDPOINT,
                            assigned ? "vfio-pci" : "nvidia");
                if (v < 0)
                        return v;
                a = gen_add(g, bus, 0, 1, 0x10de, 0x1aef, 0x040300, parent, PCIE_ENDPOINT,
                            assigned ? "vfio-pci" : "snd_hda_intel");
        }
        if (a < 0)
                return a;
        gen_bar(g, v, 0, 256 * MiB);
        gen_bar(g, v, 2, 32 * MiB);
        gen_bar(g, a, 0, 16 * 1024);
        if (join >= 0)
                gen_join(g, v, join);
        else
                gen_group(g, v);
        gen_join(g, a, v);
        return 0;
}

static int gen_gpu_noacs(Gen *g) {
        int r, rp;
        uint64_t w;

        r = gen_need(g, 1, 0);
        if (r < 0)
                return r;
        rp = gen_root_port(g, false, 1);
        if (rp < 0)
                return rp;
        w = gen_window_begin(g);
        r = gen_gpu(g, GDEV(g, rp)->secondary, rp, rp);
        if (r < 0)
                return r;
        gen_window_end(g, rp, w);
        return 0;
}

/* A switch below an isolating root port with ports GPUs behind it. The upstream port is a single function,
 * so the kernel sees no path problem there; downstream ports isolate or not, every other switch. */
static int gen_switch(Gen *g, unsigned ports) {
        bool acs = g->serial % 2 == 0;
        uint64_t wrp, wup;
        int r, rp, up;

        r = gen_need(g, 2 + ports, 0);
        if (r < 0)
                return r;
        rp = gen_root_port(g, true, 2 + ports);
        if (rp < 0)
                return rp;
        wrp = gen_window_begin(g);
        unsigned upbus = GDEV(g, rp)->secondary;
        up = gen_add(g, upbus, 0, 0, 0x10b5, 0x8747, 0x060400, rp, PCIE_UPSTREAM, "pcieport");
        if (up < 0)
                return up;
        GDEV(g, up)->bridge = true;
        GDEV(g, up)->secondary = upbus + 1;
        GDEV(g, up)->subordinate = upbus + 1 + ports;
        gen_group(g, up);
        wup = gen_window_begin(g);
        for (unsigned k = 0; k < ports; k++) {
                uint64_t w;
                int dp = gen_add(
                        g, upbus + 1, k, 0, 0x10b5, 0x8747, 0x060400, up, PCIE_DOWNSTREAM, "pcieport");
                if (dp < 0)
                        return dp;
                GDEV(g, dp)->bridge = true;
                GDEV(g, dp)->secondary = GDEV(g, dp)->subordinate = upbus + 2 + k;
                if (acs) {
                        GDEV(g, dp)->acs = true;
                        GDEV(g, dp)->acs_cap = 0x001f;
                        GDEV(g, dp)->acs_ctl = 0x001d;
                }
                gen_group(g, dp);
                w = gen_window_begin(g);
                r = gen_gpu(g, upbus + 2 + k, dp, acs ? -1 : dp);
                if (r < 0)
                        return r;
                gen_window_end(g, dp, w);
        }
        gen_window_end(g, up, wup);
        gen_window_end(g, rp, wrp);
        return 0;
}

/* An X710-like PF with vfs VFs behind an isolating root port; every VF in a group of its own. */
static int gen_sriov(Gen *g, unsigned vfs) {
        int r, rp, pf;
        uint64_t w;
        Dev *d = NULL;

        r = gen_need(g, 1, 0);
        if (r < 0)
                return r;
        rp = gen_root_port(g, true, 1);
        if (rp < 0)
                return rp;
        w = gen_window_begin(g);
        pf = gen_add(g, GDEV(g, rp)->secondary, 0, 0, 0x8086, 0x1572, 0x020000, rp, PCIE_ENDPOINT, "i40e");
        if (pf < 0)
                return pf;
        gen_bar(g, pf, 0, 8 * MiB);
        gen_bar(g, pf, 3, 32 * 1024);
        g->cursor = align_up(g->cursor, 64 * 1024);
        d = GDEV(g, pf);
        d->res[RES_IOV + 0] = (Res) { g->cursor, g->cursor + vfs * UINT64_C(0x10000) - 1, FLAGS_BAR_PREF64 };
        g->cursor += vfs * UINT64_C(0x10000);
        d->acs = true;
        d->acs_cap = 0x000c; /* RR and CR, what a single-function endpoint may implement */
        d->acs_ctl = 0x000c;
        d->sriov = true;
        d->total_vfs = d->num_vfs = vfs;
        d->vf_offset = 16;
        d->vf_stride = 1;
        d->vf_device = 0x154c;
        gen_group(g, pf);
        d->vf_group = (int) g->next_group;
        g->next_group += vfs;
        for (unsigned k = 0; k < 2; k++) {
                VfDriver *vd = APPEND(d->vf_drivers, d->n_vf_drivers, d->allocated_vf_drivers);
                if (!vd)
                        return oom();
                *vd = (VfDriver) { .first = k, .last = k, .name = strdup(k == 0 ? "vfio-pci" : "iavf") };
                if (!vd->name)
                        return oom();
        }
        /* every fourth VF to vfio-pci, every fourth to iavf, the rest unbound */
        for (unsigned k = 4; k < vfs; k += 4)
                for (unsigned j = 0; j < 2 && k + j < vfs; j++) {
                        VfDriver *vd = APPEND(d->vf_drivers, d->n_vf_drivers, d->allocated_vf_drivers);
                        if (!vd)
                                return oom();
                        *vd = (VfDriver){ .first = k + j,
                                          .last = k + j,
                                          .name = strdup(j == 0 ? "vfio-pci" : "iavf") };
                        if (!vd->name)
                                return oom();
                }
        g->count += vfs; /* created by model_finish() */
        gen_window_end(g, rp, w);
        return 0;
}

/* A PCIe-to-PCI bridge with two conventional devices: one requester ID, one group. */
static int gen_pci_bridge(Gen *g) {
        int r, rp, br, a, b;
        uint64_t w, wb;

        r = gen_need(g, 2, 0);
        if (r < 0)
                return r;
        rp = gen_root_port(g, true, 2);
        if (rp < 0)
                return rp;
        w = gen_window_begin(g);
        unsigned bus = GDEV(g, rp)->secondary;
        br = gen_add(g, bus, 0, 0, 0x1b21, 0x1080, 0x060401, rp, PCIE_PCIE_TO_PCI, NULL);
        if (br < 0)
                return br;
        GDEV(g, br)->bridge = true;
        GDEV(g, br)->secondary = GDEV(g, br)->subordinate = bus + 1;
        gen_group(g, br);
        wb = gen_window_begin(g);
        a =
                gen_add(g,
                        bus + 1,
                        0,
                        0,
                        0x8086,
                        0x107c,
                        0x020000,
                        br,
                        PCIE_NONE,
                        g->serial % 2 ? "e1000" : "vfio-pci");
        if (a < 0)
                return a;
        b = gen_add(g, bus + 1, 1, 0, 0x104c, 0x8024, 0x0c0010, br, PCIE_NONE,
                    g->serial % 2 ? "firewire_ohci" : "vfio-pci");
        if (b < 0)
                return b;
        gen_bar(g, a, 0, 128 * 1024);
        gen_bar(g, b, 0, 2048);
        gen_join(g, a, br);
        gen_join(g, b, br);
        gen_window_end(g, br, wb);
        gen_window_end(g, rp, w);
        return 0;
}

/* A chipset-like multifunction slot on the root bus without ACS: one group of four. */
static int gen_chipset(Gen *g) {
        static const struct {
                unsigned fn;
                uint16_t device;
                uint32_t class;
                const char *driver;
        } fns[] = {
                { 0, 0x7a84, 0x060100, "lpc_ich" },
                { 3, 0x7ad0, 0x040300, "snd_hda_intel" },
                { 4, 0x7aa3, 0x0c0500, "i801_smbus" },
                { 5, 0x7aa4, 0x0c8000, "intel-spi" },
        };
        int r, first = -1;

        r = gen_need(g, 0, 1);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(fns); i++) {
                int d =
                        gen_add(g,
                                0,
                                g->rc_slot,
                                fns[i].fn,
                                0x8086,
                                fns[i].device,
                                fns[i].class,
                                -1,
                                PCIE_NONE,
                                fns[i].driver);
                if (d < 0)
                        return d;
                if (i == 3 || i == 1)
                        gen_bar(g, d, 0, 16 * 1024);
                if (first < 0) {
                        first = d;
                        gen_group(g, d);
                } else
                        gen_join(g, d, first);
        }
        g->rc_slot++;
        /* the ISA bridge's floppy workaround region, as VT-d reports it since 5.5 */
        return model_add_resv(g->m, GDEV(g, first)->group, 0, 0xffffff, "direct-relaxable");
}

/* A dual-port NIC without ACS below an isolating root port: both functions in one group. */
static int gen_nic(Gen *g) {
        int r, rp, first = -1;
        uint64_t w;

        r = gen_need(g, 1, 0);
        if (r < 0)
                return r;
        rp = gen_root_port(g, true, 1);
        if (rp < 0)
                return rp;
        w = gen_window_begin(g);
        for (unsigned fn = 0; fn < 2; fn++) {
                int d =
                        gen_add(g,
                                GDEV(g, rp)->secondary,
                                0,
                                fn,
                                0x8086,
                                0x1521,
                                0x020000,
                                rp,
                                PCIE_ENDPOINT,
                                "igb");
                if (d < 0)
                        return d;
                gen_bar(g, d, 0, MiB);
                gen_bar(g, d, 3, 16 * 1024);
                if (first < 0) {
                        first = d;
                        gen_group(g, d);
                } else
                        gen_join(g, d, first);
        }
        gen_window_end(g, rp, w);
        return 0;
}

/* A root complex integrated endpoint alone in a slot: the filler when a few functions remain. */
static int gen_rciep(Gen *g) {
        int r, d;

        r = gen_need(g, 0, 1);
        if (r < 0)
                return r;
        d = gen_add(g, 0, g->rc_slot++, 0, 0x8086, 0x2021, 0x088000, -1, PCIE_RC_INTEGRATED,
                    g->serial % 2 ? "ioatdma" : NULL);
        if (d < 0)
                return d;
        gen_bar(g, d, 0, 16 * 1024);
        gen_group(g, d);
        return 0;
}

static int generate(Model *m, unsigned target, Shape shape) {
        Gen g = {
                .m = m,
                .amd = shape == SHAPE_GPU_SWITCH,
                .domain = -1,
        };
        int r;

        m->unsafe_interrupts = 0;
        free(m->group_type);
        if (!(m->group_type = strdup("DMA-FQ")))
                return oom();
        m->cpu = (Cpu) {
                .set = true,
                .count = 4,
                .cores = 4,
                .siblings = 4,
                .phys_bits = g.amd ? 48 : 46,
                .virt_bits = 48,
                .family = g.amd ? 25 : 6,
                .model = g.amd ? 1 : 85,
                .stepping = g.amd ? 1 : 4,
                .cache_kb = g.amd ? 512 : 28160,
                .cpuid_level = g.amd ? 16 : 22,
        };
        if (!(m->cpu.vendor = strdup(g.amd ? "AuthenticAMD" : "GenuineIntel")) ||
            !(m->cpu.name =
                      strdup(g.amd ? "AMD EPYC 7543 32-Core Processor"
                                   : "Intel(R) Xeon(R) Gold 6140 CPU @ 2.30GHz")))
                return oom();

        r = model_add_resv(m, -1, 0xfee00000, 0xfeefffff, "msi");
        if (r >= 0 && g.amd) /* the HyperTransport hole */
                r = model_add_resv(m, -1, UINT64_C(0xfd00000000), UINT64_C(0xffffffffff), "reserved");
        if (r < 0)
                return r;
        IomemExtra *ram = APPEND(m->iomem, m->n_iomem, m->allocated_iomem);
        if (!ram || !(ram->name = strdup("System RAM")))
                return oom();
        ram->start = 0x100000000;
        ram->end = UINT64_C(0x207fffffff);

        if (g.amd && target < 2) {
                fprintf(stderr, "mkhost: a gpu-switch host has at least 2 functions (root complex and IOMMU)\n");
                return -EINVAL;
        }
        r = gen_open_domain(&g);
        if (r < 0)
                return r;
        while (g.count < target) {
                unsigned left;

                r = gen_room(&g);
                if (r < 0)
                        return r;
                if (g.count >= target)
                        break;
                left = target - g.count;
                g.serial++;
                switch (shape) {
                case SHAPE_SRIOV:
                        r = left >= 3       ? gen_sriov(&g, MIN(64u, left - 2))
                                : left == 2 ? gen_nvme(&g)
                                            : gen_rciep(&g);
                        break;
                case SHAPE_GPU_SWITCH:
                        r = left >= 5       ? gen_switch(&g, MIN(4u, (left - 2) / 3))
                                : left >= 3 ? gen_gpu_noacs(&g)
                                : left == 2 ? gen_nvme(&g)
                                            : gen_rciep(&g);
                        break;
                case SHAPE_MIXED:
                default:
                        switch (g.serial % 7) {
                        case 0:
                                r = left >= 2 ? gen_nvme(&g) : gen_rciep(&g);
                                break;
                        case 1:
                                r = left >= 3 ? gen_gpu_noacs(&g) : left == 2 ? gen_nvme(&g) : gen_rciep(&g);
                                break;
                        case 2:
                                r = left >= 8 ? gen_switch(&g, 2) : left >= 2 ? gen_nvme(&g) : gen_rciep(&g);
                                break;
                        case 3:
                                r = left >= 10 ? gen_sriov(&g, 8) : left >= 2 ? gen_nvme(&g) : gen_rciep(&g);
                                break;
                        case 4:
                                r = left >= 4       ? gen_pci_bridge(&g)
                                        : left >= 2 ? gen_nvme(&g)
                                                    : gen_rciep(&g);
                                break;
                        case 5:
                                r = left >= 4 ? gen_chipset(&g) : left >= 2 ? gen_nvme(&g) : gen_rciep(&g);
                                break;
                        default:
                                r = left >= 3 ? gen_nic(&g) : left == 2 ? gen_nvme(&g) : gen_rciep(&g);
                                break;
                        }
                }
                if (r < 0)
                        return r;
        }
        if (g.count != target) {
                fprintf(stderr, "mkhost: generated %u functions instead of %u\n", g.count, target);
                return -EINVAL;
        }
        /* VFs inherit the PF's unit when model_finish() creates them */
        for (size_t i = 0; i < m->n_devs; i++) {
                r = gen_unit_for(&g, (int) i);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- main ---- */

static int open_output(const char *dir, Tree *ret) {
        _cleanup_close_ int fd = -EBADF;
        DIR *d;
        struct dirent *de;
        bool empty = true;

        if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
                fprintf(stderr, "mkhost: cannot create %s: %m\n", dir);
                return -errno;
        }
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                fprintf(stderr, "mkhost: cannot open %s: %m\n", dir);
                return -errno;
        }
        d = opendir(dir);
        if (!d) {
                fprintf(stderr, "mkhost: cannot read %s: %m\n", dir);
                return -errno;
        }
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        empty = false;
        (void) closedir(d);
        if (!empty) {
                fprintf(stderr, "mkhost: %s is not empty; mkhost only writes into a new directory\n", dir);
                return -ENOTEMPTY;
        }
        *ret = (Tree) { .fd = TAKE_FD(fd), .dir = dir };
        return 0;
}

static void help(void) {
        printf("Usage: mkhost DESCRIPTION DIR\n"
               "       mkhost --generate N [--shape mixed|sriov|gpu-switch] DIR\n\n"
               "Builds a host tree (sys/, proc/, dev/) for vfiomap's --root from a description\n"
               "(tests/hosts/README.md), or generates one of N PCI functions for benchmarks.\n\n"
               "  -h --help            show this help\n"
               "  -g --generate=N      generate a host of N PCI functions\n"
               "  -s --shape=SHAPE     mixed (default), sriov or gpu-switch\n");
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "generate", required_argument, NULL, 'g' },
                { "shape", required_argument, NULL, 's' },
                {},
        };
        Shape shape = SHAPE_MIXED;
        unsigned generate_n = 0;
        Model m;
        Tree t = { .fd = -EBADF };
        int c, r;

        while ((c = getopt_long(argc, argv, "hg:s:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                case 'g':
                        if (parse_unsigned(optarg, 1000000, &generate_n) < 0 || generate_n == 0) {
                                fprintf(stderr, "mkhost: --generate takes a positive number\n");
                                return EXIT_FAILURE;
                        }
                        break;
                case 's':
                        if (streq(optarg, "mixed"))
                                shape = SHAPE_MIXED;
                        else if (streq(optarg, "sriov"))
                                shape = SHAPE_SRIOV;
                        else if (streq(optarg, "gpu-switch"))
                                shape = SHAPE_GPU_SWITCH;
                        else {
                                fprintf(stderr, "mkhost: unknown shape '%s'\n", optarg);
                                return EXIT_FAILURE;
                        }
                        break;
                default:
                        return EXIT_FAILURE;
                }

        if (argc - optind != (generate_n > 0 ? 1 : 2)) {
                help();
                return EXIT_FAILURE;
        }

        r = model_init(&m, generate_n > 0 ? "generated host" : argv[optind]);
        if (r >= 0 && generate_n > 0)
                r = generate(&m, generate_n, shape);
        else if (r >= 0)
                r = parse_description(&m, argv[optind]);
        if (r >= 0)
                r = model_finish(&m);
        if (r >= 0)
                r = open_output(argv[argc - 1], &t);
        if (r >= 0)
                r = model_write(&m, &t);
        if (t.fd >= 0)
                (void) close(t.fd);
        free(t.last_dir);
        model_done(&m);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
