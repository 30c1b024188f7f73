/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The host model as JSON: the contract documented in proto/host-json.md. Addresses and ranges are
 * lowercase "0x..." strings with inclusive ends, arrays are sorted, absent facts are null. The same
 * encoder serves the offline client and the daemon, so both print identical output for one host. */

#include <json-c/json.h>

#include "host.h"

json_object *json_addr(uint64_t a);
/* {"start": "0x...", "end": "0x..."} */
json_object *json_range(uint64_t start, uint64_t end);

json_object *device_to_json(const Host *h, const Device *d);
json_object *group_to_json(const Host *h, const Group *g);
json_object *unit_to_json(const Host *h, const IommuUnit *u);

json_object *host_devices_to_json(const Host *h);
json_object *host_groups_to_json(const Host *h);
/* {"units": [...], "allow_unsafe_interrupts": bool} */
json_object *host_iommu_to_json(const Host *h);
/* Everything: {"root", "cpu_vendor", "devices", "groups", "iommu", "vfio", "warnings"} */
json_object *host_to_json(const Host *h);
