/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The host-side facts of issue 13 (reset, BAR ownership, ROMs, iommufd): their parsers on real and broken
 * input, and the model and the layout's problems on the sample host tests/hosts/workstation, whose
 * description says what each device shows. */

#include <inttypes.h>
#include <fcntl.h>
#include <limits.h>
#include <json-c/json.h>
#include <sys/stat.h>

#include "bar-ownership.h"
#include "fileio.h"
#include "host-json.h"
#include "host.h"
#include "hostdev-checks.h"
#include "iommufd.h"
#include "layout.h"
#include "reset.h"
#include "tap.h"
#include "util.h"
#include "vmspec.h"

#ifndef SAMPLE_HOSTS_DIR
#error "SAMPLE_HOSTS_DIR must point at tests/hosts"
#endif

static char *joined(char **l) {
        char *s = NULL;
        STRV_FOREACH(x, l) {
                char *n = NULL;
                if (asprintf_safe(&n, "%s%s%s", s ?: "", s ? " " : "", *x) < 0)
                        abort();
                free(s);
                s = n;
        }
        return s ?: strdup("");
}

static void test_reset_method_parse(void) {
        static const struct {
                const char *in;
                int ret;
                const char *want;
        } cases[] = {
                { "flr bus\n", 0, "flr bus" },
                { "device_specific acpi flr af_flr pm bus cxl_bus\n", 0, "device_specific acpi flr af_flr pm bus cxl_bus" },
                { "", 0, "" },                  /* no method enabled: the kernel prints nothing */
                { "flr\n", 0, "flr" },
                { "flr", -EBADMSG, NULL },      /* the kernel always ends the list with a newline */
                { "\n", -EBADMSG, NULL },
                { "flr  bus\n", -EBADMSG, NULL },
                { "flr bus \n", -EBADMSG, NULL },
                { " flr\n", -EBADMSG, NULL },
                { "FLR\n", -EBADMSG, NULL },
                { "flr\nbus\n", -EBADMSG, NULL },
                { "flr flr\n", -EBADMSG, NULL },
                { "a b c d e f g h\n", -EBADMSG, NULL }, /* more than PCI_NUM_RESET_METHODS - 1 */
                { "abcdefghijklmnopqrstuvwxyzabcdefgh\n", -EBADMSG, NULL },
                { "fl\x01r\n", -EBADMSG, NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_strv_free_ char **l = NULL;
                int k = reset_method_parse(cases[i].in, strlen(cases[i].in), &l);

                is_int(k, cases[i].ret, "reset_method_parse: return value");
                if (cases[i].want) {
                        _cleanup_free_ char *s = joined(l);
                        ok(l != NULL, "reset_method_parse: a list, even when empty");
                        is_str(s, cases[i].want, "reset_method_parse: the names in order");
                }
        }
        /* an embedded NUL is no name character */
        {
                _cleanup_strv_free_ char **l = NULL;
                is_int(reset_method_parse("flr\0bus\n", 8, &l), -EBADMSG, "reset_method_parse: NUL inside");
        }
}

static void put16(uint8_t *c, size_t off, uint16_t v) {
        c[off] = v & 0xff;
        c[off + 1] = v >> 8;
}

static void put32(uint8_t *c, size_t off, uint32_t v) {
        put16(c, off, v & 0xffff);
        put16(c, off + 2, v >> 16);
}

/* A type 0 header with PM at 0x40 -> AF at 0x60 -> PCIe at 0x70 */
static void config_with_caps(uint8_t c[static 256], bool flr, bool af_flr, bool no_soft_reset) {
        memset(c, 0, 256);
        put16(c, 0x06, 0x0010);
        c[0x34] = 0x40;
        c[0x40] = 0x01;
        c[0x41] = 0x60;
        put16(c, 0x44, no_soft_reset ? 0x0008 : 0);
        c[0x60] = 0x13;
        c[0x61] = 0x70;
        c[0x63] = af_flr ? 0x03 : 0x01;
        c[0x70] = 0x10;
        c[0x71] = 0x00;
        put32(c, 0x74, flr ? 0x10008001 : 0x00008001);
}

static void test_config_reset_parse(void) {
        uint8_t c[256];
        ResetCaps r;

        config_with_caps(c, true, true, false);
        is_int(pci_config_reset_parse(c, sizeof(c), &r), 0, "config: parses");
        ok(r.read && r.pcie && r.flr && r.af && r.af_flr && r.pm && !r.pm_no_soft_reset,
           "config: FLR, AF FLR, PM reset all seen");

        config_with_caps(c, false, false, true);
        (void) pci_config_reset_parse(c, sizeof(c), &r);
        ok(r.read && r.pcie && !r.flr && r.af && !r.af_flr && r.pm && r.pm_no_soft_reset,
           "config: no FLR, AF without FLR (TP alone is not enough), No_Soft_Reset");

        /* the kernel ignores capabilities once the status bit says there is no list */
        config_with_caps(c, true, true, false);
        put16(c, 0x06, 0);
        (void) pci_config_reset_parse(c, sizeof(c), &r);
        ok(r.read && !r.pcie && !r.pm && !r.af, "config: no capability list without the status bit");

        /* a loop: PCIe -> PM -> AF -> PCIe ... ends after 48 entries with what was seen */
        config_with_caps(c, true, false, false);
        c[0x71] = 0x40;
        is_int(pci_config_reset_parse(c, sizeof(c), &r), 0, "config: a looping list parses");
        ok(r.read && r.pcie && r.flr && r.pm, "config: a looping list still yields its capabilities");

        /* a non-root reader's 64 bytes: the list leads past them */
        config_with_caps(c, true, false, false);
        is_int(pci_config_reset_parse(c, 64, &r), 0, "config: 64 bytes parse");
        ok(!r.read, "config: 64 bytes cannot tell");
        is_int(pci_config_reset_parse(c, 63, &r), -EBADMSG, "config: less than a header is refused");

        /* a pointer below the header ends the walk, 0xff reads as the end of the list */
        config_with_caps(c, true, false, false);
        c[0x34] = 0x20;
        (void) pci_config_reset_parse(c, sizeof(c), &r);
        ok(r.read && !r.pcie && !r.pm, "config: a pointer into the header ends the list");
        config_with_caps(c, true, false, false);
        c[0x40] = 0xff;
        (void) pci_config_reset_parse(c, sizeof(c), &r);
        ok(r.read && !r.pm && !r.pcie, "config: id 0xff ends the list");
        /* a capability cut by the end of the buffer */
        config_with_caps(c, true, false, false);
        c[0x34] = 0xfc;
        c[0xfc] = 0x10;
        (void) pci_config_reset_parse(c, sizeof(c), &r);
        ok(!r.read && !r.pcie, "config: a PCIe capability past the end of the buffer is unknown, not absent");
        {
                /* the same capability in a full dump: its DevCap lies beyond 256 bytes (found by fuzz-reset) */
                uint8_t big[4096] = {};
                memcpy(big, c, sizeof(c));
                put32(big, 0x100, 0x10000000);
                is_int(pci_config_reset_parse(big, sizeof(big), &r), 0, "config: 4096 bytes parse");
                ok(r.read && r.pcie && r.flr, "config: a capability at 0xfc reads its DevCap at 0x100");
        }
}

static Host *workstation(void) {
        Host *h = NULL;
        int k = host_load(SAMPLE_HOSTS_DIR "/workstation", &h);

        if (k < 0) {
                printf("Bail out! cannot load %s/workstation: %s\n", SAMPLE_HOSTS_DIR, strerror(-k));
                exit(EXIT_FAILURE);
        }
        return h;
}

static char *methods_of(const Host *h, const char *address, int *ret_source) {
        _cleanup_strv_free_ char **l = NULL;
        const Device *d = host_find_device(h, address);

        if (!d)
                return strdup("(no device)");
        *ret_source = device_reset_methods(h, d, &l);
        return l ? joined(l) : strdup("(unknown)");
}

static void test_reset_model(void) {
        _cleanup_(host_freep) Host *h = workstation();
        _cleanup_strv_free_ char **scope = NULL;
        const Device *d;
        int source = -1;

        {
                _cleanup_free_ char *m = methods_of(h, "0000:02:00.0", &source);
                is_str(m, "flr bus", "02:00.0: the methods of reset_method");
                is_int(source, RESET_SOURCE_SYSFS, "02:00.0: from sysfs");
        }
        {
                _cleanup_free_ char *m = methods_of(h, "0000:00:14.0", &source);
                is_str(m, "flr", "00:14.0: FLR from DevCap, no bus reset on a root bus");
                is_int(source, RESET_SOURCE_CONFIG, "00:14.0: from config space");
        }
        {
                _cleanup_free_ char *m = methods_of(h, "0000:01:00.0", &source);
                is_str(m, "", "01:00.0: no method (no FLR, No_Soft_Reset, not alone on its bus)");
        }
        d = host_find_device(h, "0000:01:00.0");
        is_int(device_bus_reset_scope(h, d, &scope), 0, "01:00.0: a bus reset exists");
        {
                _cleanup_free_ char *s = joined(scope);
                is_str(s, "0000:01:00.0 0000:01:00.1", "01:00.0: the bus reset reaches both functions");
        }
        is_str(d->reset.power_state, "D3hot", "01:00.0: power_state");
        is_int(d->reset.d3cold_allowed, 1, "01:00.0: d3cold_allowed");
        d = host_find_device(h, "0000:00:17.0");
        scope = strv_free(scope);
        is_int(device_bus_reset_scope(h, d, &scope), -ENOTTY, "00:17.0: no bus reset on a root bus");
        is_int(d->reset.d3cold_allowed, -1, "00:17.0: no d3cold_allowed file");
        ok(!d->reset.power_state, "00:17.0: no power_state file");

        /* the JSON of proto/host-json.md */
        {
                json_object *o = device_to_json(h, host_find_device(h, "0000:02:00.0")), *r;
                r = json_object_object_get(o, "reset");
                is_str(json_object_get_string(json_object_object_get(r, "source")), "sysfs", "JSON: reset.source");
                is_int((int) json_object_array_length(json_object_object_get(r, "methods")), 2, "JSON: reset.methods");
                is_str(json_object_get_string(json_object_object_get(r, "power_state")), "D0", "JSON: power_state");
                ok(json_object_get_boolean(json_object_object_get(r, "d3cold_allowed")), "JSON: d3cold_allowed");
                json_object_put(o);
        }
}

static Layout *layout_of(const Host *h, const char *spec_json) {
        _cleanup_(vmspec_freep) VmSpec *spec = NULL;
        _cleanup_free_ char *error = NULL;
        Layout *l = NULL;

        if (vmspec_parse(spec_json, strlen(spec_json), &spec, &error) < 0 || layout_compute(h, spec, &l) < 0) {
                printf("Bail out! %s: %s\n", spec_json, strna(error));
                exit(EXIT_FAILURE);
        }
        return l;
}

static const Problem *find_problem(const Layout *l, const char *code, const char *device) {
        for (size_t i = 0; i < l->n_problems; i++)
                if (streq(l->problems[i].code, code) && streq_ptr(l->problems[i].device, device))
                        return l->problems + i;
        return NULL;
}

static size_t count_problems(const Layout *l, const char *code) {
        size_t n = 0;
        for (size_t i = 0; i < l->n_problems; i++)
                n += streq(l->problems[i].code, code);
        return n;
}

static void test_reset_problems(void) {
        _cleanup_(host_freep) Host *h = workstation();
        const Problem *p;

        {
                _cleanup_(layout_freep) Layout *l = layout_of(
                        h, "{\"machine\": \"q35\", \"memory\": \"4G\", \"hostdevs\": [\"00:17.0\"]}");
                p = find_problem(l, PROBLEM_NO_RESET, "0000:00:17.0");
                ok(p, "00:17.0 on the root bus without FLR: no-reset");
                ok(p && p->severity == SEVERITY_WARNING, "no-reset is a warning: QEMU starts the VM");
                ok(p && strstr(p->message, "\"vfio: Cannot reset device 0000:00:17.0, no available reset mechanism.\""),
                   "no-reset quotes QEMU's message");
                ok(layout_has_problem(l, PROBLEM_NO_RESET) && l->verdict == VERDICT_WARNING, "verdict warning");
        }
        {
                _cleanup_(layout_freep) Layout *l = layout_of(
                        h, "{\"machine\": \"q35\", \"memory\": \"4G\", \"hostdevs\": [\"03:00.0\"]}");
                p = find_problem(l, PROBLEM_BUS_RESET_NOT_OWNED, "0000:03:00.0");
                ok(p, "03:00.0, whose bus reset reaches 03:00.1: bus-reset-not-owned");
                ok(p && strstr(p->message, "0000:03:00.1 (group 7, bound to the host driver tg3)"),
                   "bus-reset-not-owned names the host device and its driver");
                ok(p && strstr(p->message, "depends on group 7 which is not owned."),
                   "bus-reset-not-owned quotes QEMU's message with the group");
                ok(!layout_has_problem(l, PROBLEM_NO_RESET), "a device behind a bridge is not no-reset");
        }
        {
                /* Both functions of the GPU share group 2: QEMU owns the group, the bus reset is fine. One
                 * function alone still owns the group. */
                _cleanup_(layout_freep) Layout *l = layout_of(
                        h, "{\"machine\": \"q35\", \"memory\": \"4G\", \"hostdevs\": [\"01:00.0\"]}");
                is_int((int) count_problems(l, PROBLEM_BUS_RESET_NOT_OWNED), 0,
                       "01:00.0: its bus reset reaches only its own group");
                is_int((int) count_problems(l, PROBLEM_NO_RESET), 0, "01:00.0: no no-reset");
        }
        {
                /* FLR (sysfs) and FLR (config): nothing to report */
                _cleanup_(layout_freep) Layout *l = layout_of(
                        h, "{\"machine\": \"q35\", \"memory\": \"4G\", \"hostdevs\": [\"02:00.0\", \"00:14.0\"]}");
                ok(!layout_has_problem(l, PROBLEM_NO_RESET) && !layout_has_problem(l, PROBLEM_BUS_RESET_NOT_OWNED),
                   "devices with FLR: no reset problem");
        }
}

static void bar(Device *d, unsigned index, uint64_t start, uint64_t end, uint64_t flags) {
        d->bars = realloc(d->bars, sizeof(Bar) * (d->n_bars + 1));
        if (!d->bars)
                abort();
        d->bars[d->n_bars++] = (Bar) { .index = index, .start = start, .end = end, .flags = flags };
}

static char *claims_text(const char *iomem, const Device *d) {
        IomemEntry *e = NULL;
        size_t n = 0;
        _cleanup_free_ BarClaim *c = NULL;
        char *s = strdup("");
        int k;

        if (iomem_parse(iomem, strlen(iomem), &e, &n, NULL, NULL) < 0)
                abort();
        k = bar_claims_find(e, n, d, &c);
        for (int i = 0; i < k; i++) {
                char *x = NULL;
                if (asprintf_safe(&x, "%s%s%u:%s:%" PRIx64 "-%" PRIx64 "%s", s, *s ? " " : "", c[i].bar, c[i].name,
                                  c[i].start, c[i].end, c[i].framebuffer ? ":fb" : "") < 0)
                        abort();
                free(s);
                s = x;
        }
        iomem_free(e, n);
        return s;
}

static void test_bar_claims(void) {
        static const char iomem[] =
                "80000000-bfffffff : PCI Bus 0000:00\n"
                "  82000000-830fffff : PCI Bus 0000:01\n"
                "    82000000-82ffffff : 0000:01:00.0\n"
                "      82000000-82ffffff : vfio-pci\n"
                "    83000000-8307ffff : 0000:01:00.0\n"
                "4000000000-7fffffffff : PCI Bus 0000:00\n"
                "  4400000000-4411ffffff : PCI Bus 0000:01\n"
                "    4400000000-440fffffff : 0000:01:00.0\n"
                "      4400000000-44007e8fff : BOOTFB\n"
                "        4400000000-44007e8fff : simpledrm\n"
                "    4410000000-4411ffffff : 0000:01:00.0\n"
                "      4410000000-4410000fff : nvidia\n";
        Device d = { .address = "0000:01:00.0", .driver = (char *) "vfio-pci" };

        bar(&d, 0, 0x82000000, 0x82ffffff, PCI_RESOURCE_MEM);
        bar(&d, 1, 0x4400000000, 0x440fffffff, PCI_RESOURCE_MEM | PCI_RESOURCE_PREFETCH | PCI_RESOURCE_MEM_64);
        bar(&d, 3, 0x4410000000, 0x4411ffffff, PCI_RESOURCE_MEM | PCI_RESOURCE_PREFETCH | PCI_RESOURCE_MEM_64);
        bar(&d, 6, 0x83000000, 0x8307ffff, PCI_RESOURCE_MEM);
        {
                _cleanup_free_ char *s = claims_text(iomem, &d);
                /* vfio-pci's own claim, the BAR entries themselves and the bus windows are not claims; the
                 * framebuffer is, and so is another driver's leftover while the device is on vfio-pci */
                is_str(s, "1:BOOTFB:4400000000-44007e8fff:fb 1:simpledrm:4400000000-44007e8fff:fb 3:nvidia:4410000000-4410000fff",
                       "claims on a vfio-pci device: framebuffers and a leftover driver claim");
        }
        d.driver = (char *) "nvidia";
        {
                _cleanup_free_ char *s = claims_text(iomem, &d);
                /* still on its host driver: libvirt unbinds it, its claims go, the framebuffer stays */
                is_str(s, "1:BOOTFB:4400000000-44007e8fff:fb 1:simpledrm:4400000000-44007e8fff:fb",
                       "claims while on the host driver: only the framebuffers");
        }
        {
                /* efifb registered before the BAR (the BAR then is missing): overlapping still counts */
                _cleanup_free_ char *s = claims_text("4400000000-44002fffff : efifb\n", &d);
                is_str(s, "1:efifb:4400000000-44002fffff:fb", "a framebuffer outside the BAR's entry");
        }
        {
                _cleanup_free_ char *s = claims_text("5000000000-5000000fff : efifb\n00000000-00000000 : x\n", &d);
                is_str(s, "", "a framebuffer elsewhere is no claim");
        }
        {
                /* an I/O BAR is not in /proc/iomem */
                Device io = { .address = "0000:00:1f.5" };
                bar(&io, 0, 0x82000000, 0x82ffffff, PCI_RESOURCE_IO);
                _cleanup_free_ char *s = claims_text(iomem, &io);
                is_str(s, "", "I/O BARs are not checked");
                free(io.bars);
        }
        ok(iomem_name_is_framebuffer("simple-framebuffer.0") && iomem_name_is_framebuffer("vesafb") &&
           !iomem_name_is_framebuffer("nvidia") && !iomem_name_is_framebuffer("0000:01:00.0"),
           "framebuffer names");
        free(d.bars);
}

/* ROOT/RELPATH as a string (NUL-terminated by reader_read_file()). Not inlined: GCC 12 then warns of a
 * "dangling pointer" to its local, a false positive of -Wdangling-pointer (the buffer is the heap's). */
__attribute__((noinline)) static char *read_all(const char *root, const char *relpath) {
        Reader r = { .root = root };
        char *text = NULL;
        size_t size = 0;

        if (reader_read_file(&r, relpath, 1 << 20, &text, &size) < 0)
                abort();
        return text;
}

static size_t offset_after(const char *text, const char *needle) {
        const char *at = strstr(text, needle);

        if (!at)
                abort();
        return (size_t) (at - text) + strlen(needle);
}

static void write_all(const char *path, const char *text) {
        _cleanup_fclose_ FILE *f = fopen(path, "we");

        if (!f || fputs(text, f) < 0)
                abort();
}

/* A long-lived model (vfiomapd) re-reads /proc/iomem after a rebind: a claim the old driver held under a
 * BAR must go once the file no longer shows it (tests/system found "BAR 0 ... is still claimed by e1000"
 * on a NIC libvirt had moved to vfio-pci). */
static void test_bar_claims_reload(void) {
        char dir[] = "/tmp/test-host-facts-XXXXXX", cmd[PATH_MAX * 2], iomem[PATH_MAX];
        const char *bar = "    4800000000-480fffffff : 0000:02:00.0\n";
        _cleanup_free_ char *orig = NULL, *stale = NULL;
        _cleanup_(host_freep) Host *h = NULL;
        _cleanup_free_ BarClaim *c = NULL;
        size_t off;

        if (!mkdtemp(dir))
                abort();
        (void) snprintf(cmd, sizeof(cmd), "cp -a '%s/workstation/.' '%s'", SAMPLE_HOSTS_DIR, dir);
        if (system(cmd) != 0)
                abort();
        (void) snprintf(iomem, sizeof(iomem), "%s/proc/iomem", dir);
        orig = read_all(dir, "proc/iomem");
        off = offset_after(orig, bar);
        if (asprintf_safe(&stale, "%.*s      4800000000-4800ffffff : nouveau\n%s", (int) off, orig, orig + off) < 0)
                abort();
        write_all(iomem, stale);

        if (host_load(dir, &h) < 0)
                abort();
        is_int(device_bar_claims(h, host_find_device(h, "0000:02:00.0"), &c), 1,
               "02:00.0 on vfio-pci, nouveau still in /proc/iomem under BAR 1: one claim");
        free(c);
        c = NULL;
        write_all(iomem, orig);
        is_int(device_bar_claims(h, host_find_device(h, "0000:02:00.0"), &c), 1,
               "the model keeps the copy it read until told to re-read");
        free(c);
        c = NULL;
        is_int(host_reload_iomem(h), 0, "host_reload_iomem()");
        is_int(device_bar_claims(h, host_find_device(h, "0000:02:00.0"), &c), 0,
               "after the re-read the claim is gone");
        (void) snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        (void) system(cmd);
}

static void test_bar_problems(void) {
        _cleanup_(host_freep) Host *h = workstation();
        const Problem *p;
        const Device *d = host_find_device(h, "0000:01:00.0");

        is_int(d->boot_vga, 1, "01:00.0: boot_vga");
        is_int(host_find_device(h, "0000:02:00.0")->boot_vga, -1, "02:00.0: no boot_vga file");
        {
                _cleanup_(layout_freep) Layout *l = layout_of(
                        h, "{\"machine\": \"q35\", \"memory\": \"4G\", \"hostdevs\": [\"01:00.0\", \"01:00.1\"]}");
                p = find_problem(l, PROBLEM_BAR_CLAIMED_BY_HOST, "0000:01:00.0");
                ok(p && p->severity == SEVERITY_ERROR, "BOOTFB in BAR 1: bar-claimed-by-host, an error");
                ok(p && strstr(p->message, "\"vfio-pci 0000:01:00.0: BAR 1: can't reserve [mem 0x4400000000-0x440fffffff 64bit pref]\""),
                   "bar-claimed-by-host quotes the kernel's message");
                ok(!layout_has_problem(l, PROBLEM_BOOT_VGA), "boot-vga is not repeated when a claim is shown");
                is_int((int) count_problems(l, PROBLEM_BAR_CLAIMED_BY_HOST), 1, "01:00.1 has no claim");
                ok(l->verdict == VERDICT_ERROR, "verdict error");
        }
        /* /proc/iomem unreadable: boot_vga alone warns */
        h->iomem_zeroed = true;
        {
                _cleanup_(layout_freep) Layout *l = layout_of(
                        h, "{\"machine\": \"q35\", \"memory\": \"4G\", \"hostdevs\": [\"01:00.0\"]}");
                p = find_problem(l, PROBLEM_BOOT_VGA, "0000:01:00.0");
                ok(p && p->severity == SEVERITY_WARNING, "boot_vga 1 without readable /proc/iomem: boot-vga warning");
                ok(p && strstr(p->message, "could not be checked"), "boot-vga says the claims were not checked");
                ok(!layout_has_problem(l, PROBLEM_BAR_CLAIMED_BY_HOST), "no claim seen in zeroed /proc/iomem");
        }
}

static const char rom_xml_head[] =
        "<domain type='kvm'><name>rom</name><memory unit='GiB'>4</memory>"
        "<os><type arch='x86_64' machine='pc-q35-8.2'>hvm</type></os><devices>"
        "<hostdev mode='subsystem' type='pci' managed='yes'>"
        "<source><address domain='0x0000' bus='0x%s' slot='0x00' function='0x0'/></source>%s</hostdev>"
        "</devices></domain>";

static int parse_rom_xml(const char *bus, const char *rom, VmSpec **ret, char **ret_error) {
        _cleanup_free_ char *xml = NULL;

        if (asprintf_safe(&xml, rom_xml_head, bus, rom) < 0)
                abort();
        return vmspec_parse(xml, strlen(xml), ret, ret_error);
}

static void test_rom_parse(void) {
        static const struct {
                const char *rom;
                int ret, bar, enabled;
                const char *file;
        } cases[] = {
                { "", 0, -1, -1, NULL },
                { "<rom bar='on' file='/usr/share/vgabios/gpu.rom'/>", 0, 1, -1, "/usr/share/vgabios/gpu.rom" },
                { "<rom bar='off'/>", 0, 0, -1, NULL },
                { "<rom enabled='no'/>", 0, -1, 0, NULL },
                { "<rom enabled='yes' file=''/>", 0, -1, 1, "" },
                { "<rom bar='yes'/>", -EINVAL, 0, 0, NULL },
                { "<rom enabled='off'/>", -EINVAL, 0, 0, NULL },
                { "<rom enabled='no' bar='on'/>", -EINVAL, 0, 0, NULL },
                { "<rom enabled='no' file='/x.rom'/>", -EINVAL, 0, 0, NULL },
                { "<rom file='gpu.rom'/>", -EINVAL, 0, 0, NULL },
                { "<rom bar='on'/><rom bar='off'/>", -EINVAL, 0, 0, NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(vmspec_freep) VmSpec *spec = NULL;
                _cleanup_free_ char *error = NULL;
                int k = parse_rom_xml("02", cases[i].rom, &spec, &error);

                if (!is_int(k, cases[i].ret, cases[i].rom[0] ? cases[i].rom : "no <rom>"))
                        printf("#   %s\n", strna(error));
                if (k < 0) {
                        ok(error && strstr(error, "rom"), "the error names <rom>");
                        continue;
                }
                is_int(spec->hostdevs[0].rom_bar, cases[i].bar, "rom bar");
                is_int(spec->hostdevs[0].rom_enabled, cases[i].enabled, "rom enabled");
                is_str(spec->hostdevs[0].rom_file, cases[i].file, "rom file");
        }
}

static void test_rom_probe(void) {
        char dir[] = "/tmp/test-host-facts-XXXXXX", p[PATH_MAX];
        int fd;

        if (!mkdtemp(dir))
                abort();
        (void) snprintf(p, sizeof(p), "%s/good.rom", dir);
        fd = open(p, O_WRONLY | O_CREAT, 0644);
        if (fd < 0 || write(fd, "\x55\xaa\x40", 3) != 3)
                abort();
        close(fd);
        (void) snprintf(p, sizeof(p), "%s/bad.rom", dir);
        fd = open(p, O_WRONLY | O_CREAT, 0644);
        if (fd < 0 || write(fd, "MZ\x90", 3) != 3)
                abort();
        close(fd);
        (void) snprintf(p, sizeof(p), "%s/dir.rom", dir);
        (void) mkdir(p, 0755);

        is_int(rom_file_probe(dir, "/good.rom"), ROM_FILE_OK, "probe: a ROM image below the root");
        is_int(rom_file_probe(dir, "/bad.rom"), ROM_FILE_NOT_ROM, "probe: no 0x55 0xaa signature");
        is_int(rom_file_probe(dir, "/missing.rom"), ROM_FILE_MISSING, "probe: missing");
        is_int(rom_file_probe(dir, "/good.rom/x"), ROM_FILE_MISSING, "probe: below a file");
        is_int(rom_file_probe(dir, "/dir.rom"), ROM_FILE_UNREADABLE, "probe: a directory");
        is_int(rom_file_probe(dir, ""), ROM_FILE_UNCHECKED, "probe: file='' is no file");

        {
                _cleanup_(host_freep) Host *h = workstation();
                _cleanup_(vmspec_freep) VmSpec *spec = NULL;
                _cleanup_(layout_freep) Layout *l = NULL;
                const Problem *pr;

                is_int(host_find_device(h, "0000:01:00.0")->rom_sysfs, ROM_SYSFS_PRESENT, "01:00.0: sysfs rom");
                is_int(host_find_device(h, "0000:02:00.0")->rom_sysfs, ROM_SYSFS_ABSENT, "02:00.0: no sysfs rom");

                /* 02:00.0: a GPU with neither ROM BAR nor rom */
                if (parse_rom_xml("02", "", &spec, NULL) < 0 || layout_compute(h, spec, &l) < 0)
                        abort();
                pr = find_problem(l, PROBLEM_GPU_NO_ROM, "0000:02:00.0");
                ok(pr && pr->severity == SEVERITY_WARNING, "02:00.0 without a ROM: gpu-no-rom warning");
                l = layout_free(l);
                spec = vmspec_free(spec);

                /* rombar off: QEMU loads no ROM, nothing to warn about */
                if (parse_rom_xml("02", "<rom bar='off'/>", &spec, NULL) < 0 || layout_compute(h, spec, &l) < 0)
                        abort();
                ok(!layout_has_problem(l, PROBLEM_GPU_NO_ROM), "rombar off: no gpu-no-rom");
                l = layout_free(l);
                spec = vmspec_free(spec);

                /* a good ROM file fixes it; a missing one stops QEMU; a non-ROM warns */
                if (parse_rom_xml("02", "<rom file='/good.rom'/>", &spec, NULL) < 0)
                        abort();
                vmspec_probe_rom_files(spec, dir);
                if (layout_compute(h, spec, &l) < 0)
                        abort();
                ok(!layout_has_problem(l, PROBLEM_GPU_NO_ROM) && !layout_has_problem(l, PROBLEM_ROM_FILE_UNREADABLE),
                   "a readable ROM file: no ROM problem");
                l = layout_free(l);
                spec = vmspec_free(spec);

                if (parse_rom_xml("02", "<rom file='/missing.rom'/>", &spec, NULL) < 0)
                        abort();
                vmspec_probe_rom_files(spec, dir);
                if (layout_compute(h, spec, &l) < 0)
                        abort();
                pr = find_problem(l, PROBLEM_ROM_FILE_UNREADABLE, "0000:02:00.0");
                ok(pr && pr->severity == SEVERITY_ERROR, "a missing ROM file: rom-file-unreadable error");
                ok(pr && strstr(pr->message, "\"failed to find romfile \\\"/missing.rom\\\"\""), "it quotes QEMU");
                l = layout_free(l);
                spec = vmspec_free(spec);

                if (parse_rom_xml("02", "<rom file='/bad.rom'/>", &spec, NULL) < 0)
                        abort();
                vmspec_probe_rom_files(spec, dir);
                if (layout_compute(h, spec, &l) < 0)
                        abort();
                ok(layout_has_problem(l, PROBLEM_ROM_FILE_NOT_ROM), "a file without ROM signature: rom-file-not-rom");
                l = layout_free(l);
                spec = vmspec_free(spec);

                /* 01:00.0 has a ROM BAR */
                if (parse_rom_xml("01", "", &spec, NULL) < 0 || layout_compute(h, spec, &l) < 0)
                        abort();
                ok(!layout_has_problem(l, PROBLEM_GPU_NO_ROM), "01:00.0 with its ROM BAR: no gpu-no-rom");
        }

        (void) snprintf(p, sizeof(p), "rm -rf '%s'", dir);
        if (system(p) != 0)
                abort();
}

static void test_iommufd_parse(void) {
        static const struct {
                const char *name;
                int ret, value;
        } names[] = {
                { "vfio0", 0, 0 },         { "vfio12", 0, 12 },        { "vfio2147483647", 0, 2147483647 },
                { "vfio2147483648", -EINVAL, 0 }, { "vfio", -EINVAL, 0 }, { "vfio01", -EINVAL, 0 },
                { "vfio-1", -EINVAL, 0 },  { "vfio1a", -EINVAL, 0 },   { "vfi0", -EINVAL, 0 },
                { "", -EINVAL, 0 },        { "vfio 1", -EINVAL, 0 },   { "VFIO1", -EINVAL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                int v = -1, k = vfio_cdev_name_parse(names[i].name, &v);
                is_int(k, names[i].ret, names[i].name[0] ? names[i].name : "(empty cdev name)");
                if (k == 0)
                        is_int(v, names[i].value, "cdev number");
        }
        is_int(vfio_cdev_name_parse(NULL, NULL), -EINVAL, "no cdev name");

        static const struct {
                const char *domain, *driver;
                int ret, spec, hostdev;
        } xml[] = {
                { "", "", 0, -1, -1 },
                { "<iommufd enabled='yes'/>", "", 0, 1, -1 },
                { "<iommufd enabled='yes' fdgroup='iommu'/>", "<driver iommufd='no'/>", 0, 1, 0 },
                { "<iommufd enabled='no'/>", "<driver name='vfio' iommufd='yes'/>", 0, 0, 1 },
                { "", "<driver name='vfio'/>", 0, -1, -1 },
                { "<iommufd enabled='on'/>", "", -EINVAL, 0, 0 },
                { "<iommufd/>", "", -EINVAL, 0, 0 },
                { "", "<driver iommufd='true'/>", -EINVAL, 0, 0 },
                { "<iommufd enabled='yes'/><iommufd enabled='no'/>", "", -EINVAL, 0, 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(xml); i++) {
                _cleanup_(vmspec_freep) VmSpec *spec = NULL;
                _cleanup_free_ char *doc = NULL, *error = NULL;
                int k;

                if (asprintf_safe(&doc,
                                  "<domain type='kvm'><name>fd</name><memory unit='GiB'>4</memory>%s"
                                  "<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>"
                                  "<hostdev mode='subsystem' type='pci' managed='yes'>%s<source><address "
                                  "domain='0x0000' bus='0x02' slot='0x00' function='0x0'/></source></hostdev>"
                                  "</devices></domain>",
                                  xml[i].domain, xml[i].driver) < 0)
                        abort();
                k = vmspec_parse(doc, strlen(doc), &spec, &error);
                if (!is_int(k, xml[i].ret, "iommufd XML: parse result"))
                        printf("#   %s %s: %s\n", xml[i].domain, xml[i].driver, strna(error));
                if (k < 0) {
                        ok(error && strstr(error, "iommufd"), "the error names iommufd");
                        continue;
                }
                is_int(spec->iommufd, xml[i].spec, "<iommufd enabled=>");
                is_int(spec->hostdevs[0].iommufd, xml[i].hostdev, "<driver iommufd=>");
        }
}

static void test_iommufd_model(void) {
        _cleanup_(host_freep) Host *h = workstation();
        const Device *d = host_find_device(h, "0000:02:00.0");
        const VfioNode *node;
        const Problem *p;

        is_int(h->dev_iommu, 1, "workstation: /dev/iommu");
        is_str(d->vfio_cdev, "vfio0", "02:00.0: vfio-dev/vfio0");
        ok(!host_find_device(h, "0000:01:00.0")->vfio_cdev, "01:00.0: no cdev");
        node = host_find_vfio_cdev_node(h, d);
        ok(node && node->n_pids == 1 && node->pids[0] == 5150, "02:00.0: its cdev is held by PID 5150");
        {
                json_object *o = device_to_json(h, d), *c = json_object_object_get(o, "vfio_cdev");
                is_str(json_object_get_string(json_object_object_get(c, "node")), "devices/vfio0", "JSON: vfio_cdev.node");
                is_int((int) json_object_array_length(json_object_object_get(c, "processes")), 1, "JSON: cdev users");
                json_object_put(o);
        }
        {
                json_object *o = group_to_json(h, host_find_group(h, 4));
                json_object *a = json_object_object_get(o, "vfio_cdev_processes");
                ok(json_object_array_length(a) == 1 &&
                   json_object_get_int(json_object_object_get(json_object_array_get_idx(a, 0), "pid")) == 5150,
                   "JSON: group 4's cdev users");
                json_object_put(o);
        }

        {
                _cleanup_(layout_freep) Layout *l = layout_of(
                        h, "{\"machine\": \"q35\", \"memory\": \"4G\", \"hostdevs\": [\"02:00.0\"]}");
                ok(!layout_has_problem(l, PROBLEM_VFIO_CDEV_MISSING), "no iommufd: no cdev problem");
        }
        static const char doc[] =
                "<domain type='kvm'><name>fd</name><memory unit='GiB'>4</memory><iommufd enabled='yes'/>"
                "<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>"
                "<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x02' "
                "slot='0x00' function='0x0'/></source></hostdev>"
                "<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x01' "
                "slot='0x00' function='0x0'/></source></hostdev>"
                "<hostdev mode='subsystem' type='pci' managed='yes'><driver iommufd='no'/><source><address "
                "domain='0x0000' bus='0x03' slot='0x00' function='0x0'/></source></hostdev>"
                "</devices></domain>";
        {
                _cleanup_(vmspec_freep) VmSpec *spec = NULL;
                _cleanup_(layout_freep) Layout *l = NULL;

                if (vmspec_parse(doc, strlen(doc), &spec, NULL) < 0 || layout_compute(h, spec, &l) < 0)
                        abort();
                ok(!find_problem(l, PROBLEM_VFIO_CDEV_MISSING, "0000:02:00.0"), "iommufd: 02:00.0 has its cdev");
                p = find_problem(l, PROBLEM_VFIO_CDEV_MISSING, "0000:01:00.0");
                ok(p && p->severity == SEVERITY_ERROR, "iommufd: 01:00.0 on vfio-pci without a cdev is an error");
                ok(!find_problem(l, PROBLEM_VFIO_CDEV_MISSING, "0000:03:00.0"), "<driver iommufd='no'/> opts out");
                ok(!layout_has_problem(l, PROBLEM_IOMMUFD_UNAVAILABLE), "/dev/iommu exists");
        }
        h->dev_iommu = 0;
        {
                _cleanup_(vmspec_freep) VmSpec *spec = NULL;
                _cleanup_(layout_freep) Layout *l = NULL;

                if (vmspec_parse(doc, strlen(doc), &spec, NULL) < 0 || layout_compute(h, spec, &l) < 0)
                        abort();
                is_int((int) count_problems(l, PROBLEM_IOMMUFD_UNAVAILABLE), 1, "no /dev/iommu: one iommufd-unavailable");
                p = find_problem(l, PROBLEM_IOMMUFD_UNAVAILABLE, "0000:02:00.0");
                ok(p && strstr(p->message, "\"Could not open '/dev/iommu': No such file or directory\""),
                   "iommufd-unavailable quotes QEMU");
        }
}

int main(void) {
        test_reset_method_parse();
        test_config_reset_parse();
        test_reset_model();
        test_reset_problems();
        test_bar_claims();
        test_bar_problems();
        test_bar_claims_reload();
        test_rom_parse();
        test_rom_probe();
        test_iommufd_parse();
        test_iommufd_model();
        return tap_done();
}
