/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Option ROMs of assigned devices. QEMU gives the guest a device's ROM from its ROM BAR (resource line 6,
 * read through VFIO's ROM region, which the kernel backs with sysfs "rom" or the shadow copy of the boot
 * GPU) or from the file of libvirt's <hostdev><rom file='...'/> (QEMU's romfile=). A GPU without either has
 * no driver in the guest firmware: no display until the guest OS loads its own driver, and OVMF cannot
 * show its boot menu on it. A romfile QEMU cannot open stops it at start (hw/pci/pci.c,
 * pci_add_option_rom(): "failed to find romfile \"%s\"").
 *
 * The <rom> parser and the derivations are pure; rom_file_probe() reads the ROM file below the root. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct Host;
struct Device;
struct Reader;
struct VmSpec;
struct VmHostdev;

typedef enum RomFileState {
        ROM_FILE_UNCHECKED,   /* no file given, or not probed (a spec checked without a root) */
        ROM_FILE_OK,          /* readable and starts with the 0x55 0xaa ROM signature */
        ROM_FILE_MISSING,     /* no such file */
        ROM_FILE_UNREADABLE,  /* it exists but cannot be read (permissions, a directory...) */
        ROM_FILE_NOT_ROM,     /* readable, but no ROM signature */
        _ROM_FILE_STATE_MAX,
} RomFileState;

const char *rom_file_state_to_string(RomFileState s);

/* The attributes of libvirt's <rom> (docs/formatdomain.rst, "rom"; virDomainDeviceInfoParseXML()): bar
 * "on"/"off", file an absolute path, enabled "yes"/"no"; enabled='no' with bar or file is refused as libvirt
 * refuses it ("ROM tuning is not supported when ROM is disabled"). NULL means the attribute is absent. Sets
 * the hostdev's rom_bar / rom_enabled (-1 when absent) and rom_file. -EINVAL with *ret_error, -ENOMEM. */
int hostdev_rom_parse(
                const char *bar,
                const char *file,
                const char *enabled,
                struct VmHostdev *h,
                char **ret_error);

/* Probes the ROM file at path below root ("/" for the live host). */
RomFileState rom_file_probe(const char *root, const char *path);
/* Probes every hostdev's rom_file and records the result in rom_file_state. */
void vmspec_probe_rom_files(struct VmSpec *spec, const char *root);

/* sysfs "rom" of a device: present when the kernel can give its ROM (a ROM BAR, or the shadow copy of the
 * boot VGA device; drivers/pci/pci-sysfs.c, pci_dev_rom_attr_is_visible()). Reading it needs enabling first
 * (echo 1 > rom) and fails with EINVAL before that, which still proves it exists. */
typedef enum RomSysfs {
        ROM_SYSFS_UNKNOWN,    /* not read (a model built in memory) */
        ROM_SYSFS_ABSENT,
        ROM_SYSFS_PRESENT,
        ROM_SYSFS_UNREADABLE, /* EACCES: a non-root reader (the file is 0600) */
        _ROM_SYSFS_MAX,
} RomSysfs;

const char *rom_sysfs_to_string(RomSysfs s);
void device_rom_load(const struct Reader *r, struct Device *d);
bool device_has_rom_bar(const struct Device *d);
/* PCI base class 0x03: display controllers */
bool device_is_gpu(const struct Device *d);

struct json_object;
/* The "rom" object of a device in ../proto/host-json.md. */
struct json_object *device_rom_to_json(const struct Device *d);
