/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The checks of one assigned device against the host beyond IOMMU groups and addresses: reset (reset.c),
 * BARs claimed by host drivers (bar-ownership.c), option ROMs (rom.c). Each check adds findings here;
 * layout_compute() turns them into problems and recommendations, after those of the devices and groups.
 * Pure, like the layout engine. */

#include "layout.h"
#include "util.h"

typedef struct HostdevFinding {
        const char *code;       /* PROBLEM_* */
        Severity severity;
        char *device;           /* NULL if none */
        int group;              /* -1 if none */
        char *message;
        const char *action;     /* recommendation id, NULL for none */
        char *summary;          /* the recommendation's sentence */
        char *libvirt;          /* its domain XML, NULL when there is none */
} HostdevFinding;

typedef struct HostdevFindings {
        HostdevFinding *items;
        size_t n, allocated;
} HostdevFindings;

void hostdev_findings_done(HostdevFindings *f);

/* Adds one finding; message, summary and libvirt are taken (freed on failure too). 0 or -ENOMEM. */
int hostdev_finding_add(
                HostdevFindings *f,
                const char *code,
                Severity severity,
                const char *device,
                int group,
                char *message,
                const char *action,
                char *summary,
                char *libvirt);

/* A malloc'd formatted string, NULL when out of memory (hostdev_finding_add() then fails with -ENOMEM). */
char *hostdev_strdupf(const char *format, ...) _printf_(1, 2);

/* Whether the VM assigns a device of group (the groups QEMU opens, and so owns, for it). */
bool spec_owns_group(const Host *h, const VmSpec *spec, int group);

/* Every check, in a fixed order. Devices not on the host are skipped (device-not-found covers them). */
int hostdev_checks(const Host *h, const VmSpec *spec, HostdevFindings *f);

int reset_check(const Host *h, const VmSpec *spec, HostdevFindings *f);
int bar_ownership_check(const Host *h, const VmSpec *spec, HostdevFindings *f);
int rom_check(const Host *h, const VmSpec *spec, HostdevFindings *f);
int iommufd_check(const Host *h, const VmSpec *spec, HostdevFindings *f);
