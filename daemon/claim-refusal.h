/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Why a Claim fails: every reason, not the first one found. A user told only that a PCH function is bound
 * to a host driver rebinds it, and then learns that the group has a firmware 1:1 region and the VM can
 * never start. So the checks collect their errors here, each with a rank, and the bus error carries all of
 * them, one per line, those no change of the VM or of its drivers can fix first; its name is that of the
 * first. */

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>

typedef enum ClaimErrorRank {
        CLAIM_ERROR_UNFIXABLE,     /* the host cannot give the device to any VM: no such device, no IOMMU
                                    * group, a direct (firmware 1:1) region */
        CLAIM_ERROR_OTHER_MACHINE, /* another machine holds the group: stopping it frees the group */
        CLAIM_ERROR_HOST_DRIVER,   /* a member is bound to a host driver: binding it to vfio-pci fixes it */
        CLAIM_ERROR_LAYOUT,        /* the VM's configuration: its domain XML fixes it */
        _CLAIM_ERROR_RANK_MAX,
} ClaimErrorRank;

typedef struct ClaimError {
        ClaimErrorRank rank;
        const char *name; /* a D-Bus error name, static */
        char *message;
        char *device; /* the device it is about, NULL if none */
} ClaimError;

typedef struct ClaimRefusal {
        ClaimError *errors;
        size_t n;
} ClaimRefusal;

void claim_refusal_done(ClaimRefusal *r);

/* Adds one error. Returns 0 or -ENOMEM. */
int claim_refusal_add(
        ClaimRefusal *r,
        ClaimErrorRank rank,
        const char *name,
        const char *device,
        const char *format,
        ...) __attribute__((format(printf, 5, 6)));

/* Whether an error of that name about that device is already there. */
bool claim_refusal_has(const ClaimRefusal *r, const char *name, const char *device);

/* Sorts the errors by rank (stably: within a rank in the order found) and sets error to them: the first
 * one's name, every message on a line of its own. Returns the negative errno of sd_bus_error_set(). */
int claim_refusal_to_bus_error(ClaimRefusal *r, sd_bus_error *error);
