/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A claimed machine: which IOMMU groups and devices a VM owns, the layout it was given, and what the live
 * model says about them now. A claim is the record persisted in claims.json (libvfiomap/claims.h); the
 * state and problems are derived and never persisted. */

#include "claims.h"
#include "manager.h"

#include <json-c/json.h>

typedef enum MachineState {
        MACHINE_CLAIMED,  /* every claimed group exists and is usable by the VM */
        MACHINE_DEGRADED, /* a claimed device is gone or moved, or a group lost its viability */
        _MACHINE_STATE_MAX,
} MachineState;

const char *machine_state_to_string(MachineState s);

struct Machine {
        Manager *manager;
        ClaimRecord claim;
        char *path; /* /org/vfiomap1/machine/<escaped name> */
        MachineState state;
        char **problems; /* sentences naming device, group and driver; empty when claimed */
        /* Problems libvirt's events revealed (a hot-added device that conflicts with the layout): kept
         * until the claim is replaced or released, part of problems, and they make the machine degraded. */
        char **event_problems;
};

/* Takes ownership of the claim's contents (the record is zeroed). */
int machine_new(Manager *m, ClaimRecord *claim, Machine **ret);
Machine *machine_free(Machine *machine);
DEFINE_TRIVIAL_CLEANUP_FUNC(Machine *, machine_free);

bool machine_has_group(const Machine *machine, unsigned group);
bool machine_has_device(const Machine *machine, const char *address);

/* Records a problem found outside the host model (reconcile.c); machine_evaluate() reports it. */
int machine_add_event_problem(Machine *machine, const char *problem);

/* Computes state and problems from the host model. Returns 1 when either changed, 0 when not. */
int machine_evaluate(Machine *machine, const Host *h);

/* The PIDs holding /dev/vfio/N open for each claimed group, read now from <root>/proc/PID/fd: the VM's real
 * users. Returns an array of (group, pid) pairs. */
typedef struct GroupUser {
        unsigned group;
        pid_t pid;
} GroupUser;
int machine_users(const Machine *machine, const char *root, GroupUser **ret, size_t *ret_n);

/* "claimed 2026-11-21 18:02:11" in local time, for error messages. */
const char *machine_format_claimed_at(const Machine *machine, char buf[static 64]);

/* The machine as the "machines" member of Describe(): ../proto/claims-json.md shows the shape. */
json_object *machine_to_json(const Machine *machine, const char *root);
