/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* lspci's vendor and device names in the device tables: looked up in pci.ids by the client, for people,
 * after the host document arrived (from --root or from vfiomapd, whose documents carry none: a name is a
 * label, not a fact of the host, and the daemon need not hold the 1.3 MB file).
 *
 * Our own parser (libvfiomap/pci-ids.c) rather than libpci's pci_lookup_name() through dlopen: libpci3
 * would be a run-time dependency resolved by name and ABI-guessed struct pci_access without its headers
 * (libpci-dev is not a build dependency), it reads only the host's file, while --root ROOT must prefer
 * ROOT's, and it would also consult udev's hwdb. One pass over pci.ids takes well under a millisecond. */

#include <fcntl.h>
#include <unistd.h>

#include "pci-ids.h"
#include "util.h"
#include "vfiomapctl.h"

/* pci.ids is 1.3 MB today; anything much larger is not one. */
#define PCI_IDS_FILE_MAX (64U * 1024 * 1024)

/* Debian's pci.ids package and hwdata (Fedora, Arch) put it in different places. */
static const char *const pci_ids_paths[] = {
        "usr/share/misc/pci.ids",
        "usr/share/hwdata/pci.ids",
};

static int read_whole(const char *path, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, allocated = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        for (;;) {
                ssize_t n;

                if (size >= PCI_IDS_FILE_MAX)
                        return -EFBIG;
                if (!GREEDY_REALLOC(buf, allocated, size + 65536))
                        return -ENOMEM;
                n = read(fd, buf + size, 65536);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                size += (size_t) n;
        }
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

/* Under --root the tree's own pci.ids (a snapshot of another machine may know newer devices), else this
 * host's. */
static int read_pci_ids(const Context *c, char **ret, size_t *ret_size) {
        for (int pass = c->root ? 0 : 1; pass < 2; pass++)
                for (size_t i = 0; i < ELEMENTSOF(pci_ids_paths); i++) {
                        _cleanup_free_ char *p = NULL;
                        int k;

                        if (asprintf_safe(&p, "%s/%s", pass == 0 ? c->root : "", pci_ids_paths[i]) < 0)
                                return -ENOMEM;
                        k = read_whole(p, ret, ret_size);
                        if (k != -ENOENT)
                                return k;
                }
        return -ENOENT;
}

static bool parse_id(json_object *d, const char *key, uint16_t *ret) {
        const char *s = jstr(d, key);
        uint64_t v;

        if (!s || !startswith(s, "0x") || safe_atou64_base(s + 2, 16, &v) < 0 || v > UINT16_MAX)
                return false;
        *ret = (uint16_t) v;
        return true;
}

void annotate_pci_names(const Context *c, json_object *devices) {
        _cleanup_free_ PciIdsName *names = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, size = 0;

        if (jlen(devices) == 0 || read_pci_ids(c, &buf, &size) < 0)
                return; /* no pci.ids: tables show ids only, as lspci -n does */
        names = calloc(jlen(devices), sizeof(PciIdsName));
        if (!names)
                return;
        /* One entry per device: a host has few distinct ids, and duplicates cost a compare each. */
        for (size_t i = 0; i < jlen(devices); i++) {
                json_object *d = jidx(devices, i);
                uint16_t device = 0;

                if (!parse_id(d, "vendor", &names[n].vendor))
                        names[n].vendor = 0xffff; /* pci.ids names 0xffff nothing */
                if (!parse_id(d, "device", &device))
                        device = 0xffff;
                names[n++].device = device;
        }
        if (pci_ids_lookup(buf, size, names, n) == -ENOMEM) {
                pci_ids_names_done(names, n);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                json_object *d = jidx(devices, i);

                if (names[i].vendor_name && jstr(d, "vendor"))
                        (void) json_object_object_add(d, "vendor_name",
                                                      json_object_new_string(names[i].vendor_name));
                if (names[i].device_name && jstr(d, "device"))
                        (void) json_object_object_add(d, "device_name",
                                                      json_object_new_string(names[i].device_name));
        }
        pci_ids_names_done(names, n);
}
