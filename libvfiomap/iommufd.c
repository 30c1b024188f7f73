/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-c/json.h>
#include <limits.h>

#include "fileio.h"
#include "host.h"
#include "hostdev-checks.h"
#include "iommufd.h"
#include "util.h"
#include "vmspec.h"

int vfio_cdev_name_parse(const char *name, int *ret) {
        const char *p = name ? startswith(name, "vfio") : NULL;
        long long v = 0;

        if (!p || !*p || (p[0] == '0' && p[1]))
                return -EINVAL;
        for (; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                v = v * 10 + (*p - '0');
                if (v > INT_MAX)
                        return -EINVAL;
        }
        if (ret)
                *ret = (int) v;
        return 0;
}

int iommufd_attr_parse(const char *value, const char *where, int *ret, char **ret_error) {
        if (streq_ptr(value, "yes") || streq_ptr(value, "no")) {
                *ret = streq(value, "yes");
                return 0;
        }
        if (ret_error && asprintf_safe(ret_error, "%s takes yes or no, not \"%s\"", where, strna(value)) < 0)
                *ret_error = NULL;
        return -EINVAL;
}

void host_iommufd_load(const Reader *r, Host *h) {
        _cleanup_strv_free_ char **entries = NULL;

        h->dev_iommu = -1;
        if (reader_list_dir(r, "dev", &entries) < 0)
                return;
        h->dev_iommu = strv_contains(entries, "iommu");
        if (h->dev_iommu)
                reader_trace(r, "dev/iommu");
}

void device_vfio_cdev_load(const Reader *r, Device *d) {
        _cleanup_strv_free_ char **entries = NULL;
        char p[PATH_MAX];

        if (path_join(p, sizeof(p), d->syspath, "vfio-dev") < 0 || reader_list_dir(r, p, &entries) < 0)
                return;
        STRV_FOREACH(e, entries) {
                if (vfio_cdev_name_parse(*e, NULL) < 0)
                        continue;
                if (d->vfio_cdev) {
                        (void) strv_extendf(&d->warnings, "%s lists more than one VFIO cdev", p);
                        return;
                }
                d->vfio_cdev = strdup(*e);
                if (!d->vfio_cdev)
                        return;
        }
        reader_trace_entries(r, p, entries);
}

static int vfio_node_name_compare(const void *key, const void *node) {
        return strcmp(key, ((const VfioNode *) node)->name);
}

const VfioNode *host_find_vfio_cdev_node(const Host *h, const Device *d) {
        char name[64];

        if (!d->vfio_cdev || h->n_vfio_nodes == 0)
                return NULL;
        (void) snprintf(name, sizeof(name), "devices/%s", d->vfio_cdev);
        return bsearch(name, h->vfio_nodes, h->n_vfio_nodes, sizeof(VfioNode), vfio_node_name_compare);
}

static json_object *processes_to_json(const VfioNode *node, const char *device) {
        json_object *a = json_object_new_array();

        for (size_t i = 0; node && i < node->n_pids; i++) {
                json_object *p = json_object_new_object();
                (void) json_object_object_add(p, "pid", json_object_new_int(node->pids[i]));
                (void) json_object_object_add(
                        p, "comm",
                        node->comms && node->comms[i] ? json_object_new_string(node->comms[i]) : NULL);
                if (device)
                        (void) json_object_object_add(p, "device", json_object_new_string(device));
                (void) json_object_array_add(a, p);
        }
        return a;
}

json_object *device_vfio_cdev_to_json(const Host *h, const Device *d) {
        const VfioNode *node;
        json_object *o;

        if (!d->vfio_cdev)
                return NULL;
        node = host_find_vfio_cdev_node(h, d);
        o = json_object_new_object();
        (void) json_object_object_add(o, "name", json_object_new_string(d->vfio_cdev));
        (void) json_object_object_add(o, "node", node ? json_object_new_string(node->name) : NULL);
        (void) json_object_object_add(o, "processes", processes_to_json(node, NULL));
        return o;
}

json_object *group_vfio_cdev_processes_to_json(const Host *h, char *const *members) {
        json_object *a = json_object_new_array();

        STRV_FOREACH(m, members) {
                const Device *d = host_find_device(h, *m);
                const VfioNode *node = d ? host_find_vfio_cdev_node(h, d) : NULL;
                json_object *p;

                if (!node)
                        continue;
                p = processes_to_json(node, d->address);
                for (size_t i = 0; i < json_object_array_length(p); i++)
                        (void) json_object_array_add(a, json_object_get(json_object_array_get_idx(p, i)));
                json_object_put(p);
        }
        return a;
}

/* ---- the check of an assigned device ---- */

int iommufd_check(const Host *h, const VmSpec *spec, HostdevFindings *f) {
        bool reported_dev_iommu = false;
        int r;

        for (size_t i = 0; i < spec->n_hostdevs; i++) {
                const VmHostdev *hd = spec->hostdevs + i;
                const Device *d = host_find_device(h, hd->address);
                /* libvirt: a hostdev's <driver iommufd=> overrides the domain's <iommufd enabled=> */
                bool uses = hd->iommufd >= 0 ? hd->iommufd > 0 : spec->iommufd > 0;

                if (!d || d->group < 0 || !uses)
                        continue;
                if (h->dev_iommu == 0 && !reported_dev_iommu) {
                        reported_dev_iommu = true;
                        r = hostdev_finding_add(
                                f, PROBLEM_IOMMUFD_UNAVAILABLE, SEVERITY_ERROR, d->address, d->group,
                                hostdev_strdupf("%s is to be opened through iommufd, but the host has no /dev/iommu "
                                                "(a kernel before 6.2, or without CONFIG_IOMMUFD, or the iommufd "
                                                "module not loaded): the VM cannot start (QEMU: \"Could not open "
                                                "'/dev/iommu': No such file or directory\").",
                                                d->address),
                                "disable-iommufd",
                                hostdev_strdupf("Load the iommufd module (modprobe iommufd), or use the VFIO "
                                                "group interface: remove <iommufd enabled='yes'/> and the "
                                                "hostdevs' <driver iommufd='yes'/>."),
                                NULL);
                        if (r < 0)
                                return r;
                }
                /* The cdev exists while the device is bound to a VFIO driver on a kernel with
                 * CONFIG_VFIO_DEVICE_CDEV (6.6+); an unbound device gets it when libvirt binds it. */
                if (driver_is_vfio(d->driver) && !d->vfio_cdev) {
                        r = hostdev_finding_add(
                                f, PROBLEM_VFIO_CDEV_MISSING, SEVERITY_ERROR, d->address, d->group,
                                hostdev_strdupf("%s is bound to %s but has no VFIO device cdev (no vfio-dev/ in "
                                                "sysfs: a kernel before 6.6 or without CONFIG_VFIO_DEVICE_CDEV): "
                                                "QEMU cannot open it through iommufd.",
                                                d->address, d->driver),
                                "disable-iommufd",
                                hostdev_strdupf("Use the VFIO group interface for %s: <driver iommufd='no'/> in "
                                                "its <hostdev>, or a kernel with CONFIG_VFIO_DEVICE_CDEV.",
                                                d->address),
                                NULL);
                        if (r < 0)
                                return r;
                } else if (d->vfio_cdev && !host_find_vfio_cdev_node(h, d)) {
                        r = hostdev_finding_add(
                                f, PROBLEM_VFIO_CDEV_MISSING, SEVERITY_ERROR, d->address, d->group,
                                hostdev_strdupf("%s has the VFIO cdev %s in sysfs but no /dev/vfio/devices/%s: "
                                                "QEMU cannot open it through iommufd (is devtmpfs mounted, or "
                                                "did udev remove the node?).",
                                                d->address, d->vfio_cdev, d->vfio_cdev),
                                "disable-iommufd",
                                hostdev_strdupf("Recreate /dev/vfio/devices/%s (udevadm trigger), or use the "
                                                "VFIO group interface for %s: <driver iommufd='no'/>.",
                                                d->vfio_cdev, d->address),
                                NULL);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}
