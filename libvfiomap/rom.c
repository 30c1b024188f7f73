/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>

#include "fileio.h"
#include "host.h"
#include "hostdev-checks.h"
#include "rom.h"
#include "util.h"
#include "vmspec.h"

static const char *const rom_file_state_table[_ROM_FILE_STATE_MAX] = {
        [ROM_FILE_UNCHECKED] = "unchecked",
        [ROM_FILE_OK] = "ok",
        [ROM_FILE_MISSING] = "missing",
        [ROM_FILE_UNREADABLE] = "unreadable",
        [ROM_FILE_NOT_ROM] = "not-a-rom",
};

const char *rom_file_state_to_string(RomFileState s) {
        return s < _ROM_FILE_STATE_MAX ? rom_file_state_table[s] : NULL;
}

static const char *const rom_sysfs_table[_ROM_SYSFS_MAX] = {
        [ROM_SYSFS_UNKNOWN] = "unknown",
        [ROM_SYSFS_ABSENT] = "absent",
        [ROM_SYSFS_PRESENT] = "present",
        [ROM_SYSFS_UNREADABLE] = "unreadable",
};

const char *rom_sysfs_to_string(RomSysfs s) {
        return s < _ROM_SYSFS_MAX ? rom_sysfs_table[s] : NULL;
}

static int rom_fail(char **ret_error, const char *format, ...) _printf_(2, 3);
static int rom_fail(char **ret_error, const char *format, ...) {
        va_list ap;

        if (ret_error) {
                va_start(ap, format);
                if (vasprintf(ret_error, format, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return -EINVAL;
}

int hostdev_rom_parse(const char *bar, const char *file, const char *enabled, VmHostdev *h, char **ret_error) {
        int b = -1, e = -1;

        /* virDomainDeviceInfoParseXML() in src/conf/domain_conf.c: bar is a virTristateSwitch, enabled a
         * virTristateBool, and a disabled ROM takes no tuning. */
        if (bar) {
                if (streq(bar, "on"))
                        b = 1;
                else if (streq(bar, "off"))
                        b = 0;
                else
                        return rom_fail(ret_error, "<rom bar='%s'> is neither on nor off", bar);
        }
        if (enabled) {
                if (streq(enabled, "yes"))
                        e = 1;
                else if (streq(enabled, "no"))
                        e = 0;
                else
                        return rom_fail(ret_error, "<rom enabled='%s'> is neither yes nor no", enabled);
        }
        if (e == 0 && (bar || file))
                return rom_fail(ret_error, "<rom enabled='no'> takes no bar= or file= (\"ROM tuning is not "
                                           "supported when ROM is disabled\")");
        if (file) {
                /* libvirt keeps an empty file='' (QEMU's romfile= with no file: no ROM at all) */
                if (*file && *file != '/')
                        return rom_fail(ret_error, "<rom file='%s'> is not an absolute path", file);
                if (strlen(file) >= PATH_MAX || strchr(file, '\n'))
                        return rom_fail(ret_error, "<rom file=> is not a usable path");
        }
        free(h->rom_file);
        h->rom_file = NULL;
        if (file && !(h->rom_file = strdup(file)))
                return -ENOMEM;
        h->rom_bar = b;
        h->rom_enabled = e;
        return 0;
}

RomFileState rom_file_probe(const char *root, const char *path) {
        _cleanup_free_ uint8_t *buf = NULL;
        Reader r = { .root = root && !streq(root, "/") ? root : "" };
        size_t size = 0;
        int k;

        if (isempty(path))
                return ROM_FILE_UNCHECKED;
        /* the Reader takes paths relative to the root */
        while (*path == '/')
                path++;
        k = reader_read_binary(&r, path, 2, &buf, &size);
        if (k == -ENOENT || k == -ENOTDIR)
                return ROM_FILE_MISSING;
        if (k < 0)
                return ROM_FILE_UNREADABLE;
        /* PCI Firmware Specification: every ROM image starts with 0x55 0xaa */
        return size == 2 && buf[0] == 0x55 && buf[1] == 0xaa ? ROM_FILE_OK : ROM_FILE_NOT_ROM;
}

void vmspec_probe_rom_files(VmSpec *spec, const char *root) {
        for (size_t i = 0; i < spec->n_hostdevs; i++)
                spec->hostdevs[i].rom_file_state = rom_file_probe(root, spec->hostdevs[i].rom_file);
}

void device_rom_load(const Reader *r, Device *d) {
        char p[PATH_MAX], buf[8];
        size_t size;
        int k;

        if (path_join(p, sizeof(p), d->syspath, "rom") < 0)
                return;
        d->rom_sysfs = ROM_SYSFS_ABSENT;
        k = reader_read_file_buf(r, p, buf, sizeof(buf), &size);
        if (k == -ENOENT)
                return;
        d->rom_sysfs = IN_SET(k, -EACCES, -EPERM) ? ROM_SYSFS_UNREADABLE : ROM_SYSFS_PRESENT;
        /* EINVAL: the kernel refuses to read a ROM not enabled first, which proves the file is there. The
         * reader traces only what it read, but a snapshot must keep the file (as an empty one). */
        if (k == -EINVAL)
                reader_trace(r, p);
}

bool device_has_rom_bar(const Device *d) {
        for (size_t i = 0; i < d->n_bars; i++)
                if (d->bars[i].index == 6 && d->bars[i].end > d->bars[i].start)
                        return true;
        return false;
}

bool device_is_gpu(const Device *d) {
        return (d->class >> 16) == 0x03;
}

json_object *device_rom_to_json(const Device *d) {
        json_object *o = json_object_new_object();

        (void) json_object_object_add(o, "bar", json_object_new_boolean(device_has_rom_bar(d)));
        (void) json_object_object_add(o, "sysfs", json_object_new_string(rom_sysfs_to_string(d->rom_sysfs)));
        return o;
}

/* ---- the check of an assigned device ---- */

int rom_check(const Host *h, const VmSpec *spec, HostdevFindings *f) {
        int r;

        for (size_t i = 0; i < spec->n_hostdevs; i++) {
                const VmHostdev *hd = spec->hostdevs + i;
                const Device *d = host_find_device(h, hd->address);

                if (!d || d->group < 0 || hd->rom_enabled == 0)
                        continue;
                if (!isempty(hd->rom_file)) {
                        if ((hd->rom_file_state == ROM_FILE_MISSING || hd->rom_file_state == ROM_FILE_UNREADABLE)) {
                                r = hostdev_finding_add(
                                        f, PROBLEM_ROM_FILE_UNREADABLE, SEVERITY_ERROR, d->address, d->group,
                                        hostdev_strdupf("The ROM file %s of %s %s: QEMU refuses to start "
                                                        "(\"failed to find romfile \\\"%s\\\"\").",
                                                        hd->rom_file, d->address,
                                                        hd->rom_file_state == ROM_FILE_MISSING ? "does not exist"
                                                                                               : "cannot be read",
                                                        hd->rom_file),
                                        "fix-rom-file",
                                        hostdev_strdupf("Put the ROM image at %s, readable by the user QEMU runs "
                                                        "as, or drop file= from the <rom> of %s.",
                                                        hd->rom_file, d->address),
                                        NULL);
                                if (r < 0)
                                        return r;
                        } else if (hd->rom_file_state == ROM_FILE_NOT_ROM) {
                                r = hostdev_finding_add(
                                        f, PROBLEM_ROM_FILE_NOT_ROM, SEVERITY_WARNING, d->address, d->group,
                                        hostdev_strdupf("The ROM file %s of %s does not start with the ROM "
                                                        "signature 0x55 0xaa: the guest firmware ignores it.",
                                                        hd->rom_file, d->address),
                                        "fix-rom-file",
                                        hostdev_strdupf("Use a ROM image of %s (a dump of its ROM, without the "
                                                        "header some flashing tools prepend).",
                                                        d->address),
                                        NULL);
                                if (r < 0)
                                        return r;
                        }
                        continue;
                }
                /* QEMU's rombar=0 hides the ROM BAR and loads no ROM: nothing to read */
                if (hd->rom_bar == 0 || !device_is_gpu(d))
                        continue;
                if (device_has_rom_bar(d) || d->rom_sysfs != ROM_SYSFS_ABSENT || d->resource_zeroed)
                        continue;
                r = hostdev_finding_add(
                        f, PROBLEM_GPU_NO_ROM, SEVERITY_WARNING, d->address, d->group,
                        hostdev_strdupf("GPU %s has no ROM BAR and no sysfs rom: QEMU has no option ROM to give "
                                        "the guest, whose firmware then has no driver for it (no display until "
                                        "the guest OS loads its own driver).",
                                        d->address),
                        "add-rom-file",
                        hostdev_strdupf("Give %s a ROM image in its <hostdev>: <rom file='/usr/share/vgabios/"
                                        "%04x-%04x.rom'/> (a dump of the card's ROM, or the vendor's image for it).",
                                        d->address, d->vendor, d->device),
                        NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}
