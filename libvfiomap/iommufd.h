/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* iommufd and the VFIO device cdev (kernel 6.2+ /dev/iommu with CONFIG_IOMMUFD; 6.6+ per-device
 * /dev/vfio/devices/vfioN with CONFIG_VFIO_DEVICE_CDEV, named in sysfs below the device as
 * vfio-dev/vfioN, drivers/vfio/device_cdev.c). A QEMU using iommufd (-object iommufd, libvirt's
 * <iommufd enabled='yes'/> or <hostdev><driver iommufd='yes'/>) opens /dev/iommu and each device's cdev
 * instead of /dev/vfio/N and the container: the processes holding the cdev are the device's users.
 *
 * Pure: a parser of cdev names, loader hooks that only list directories (opening /dev/iommu would create
 * an iommufd context), and derivations. */

#include <stdbool.h>

struct Host;
struct Device;
struct Reader;
struct VfioNode;

/* "vfio0", "vfio12": "vfio" and a decimal number without leading zeros, at most INT_MAX
 * (drivers/vfio/device_cdev.c names them "vfio%d" from an IDA). -EINVAL otherwise. */
int vfio_cdev_name_parse(const char *name, int *ret);

/* A libvirt yes/no (virTristateBool) of <iommufd enabled=> or <hostdev><driver iommufd=>: 1, 0, or
 * -EINVAL with a message naming where. */
int iommufd_attr_parse(const char *value, const char *where, int *ret, char **ret_error);

/* Whether dev/ lists "iommu" (the loader's hook; -1 when dev/ cannot be listed). */
void host_iommufd_load(const struct Reader *r, struct Host *h);
/* The device's vfio-dev/vfioN (the loader's hook). */
void device_vfio_cdev_load(const struct Reader *r, struct Device *d);

/* The /dev/vfio/devices node of the device's cdev, NULL when it has none or the node is missing. */
const struct VfioNode *host_find_vfio_cdev_node(const struct Host *h, const struct Device *d);

struct json_object;
/* The "vfio_cdev" object of a device in ../proto/host-json.md, NULL without a cdev. */
struct json_object *device_vfio_cdev_to_json(const struct Host *h, const struct Device *d);
/* The "vfio_cdev_processes" array of a group: the users of its members' cdevs. */
struct json_object *group_vfio_cdev_processes_to_json(const struct Host *h, char *const *members);
