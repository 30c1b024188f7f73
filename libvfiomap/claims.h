/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The claims vfiomapd persists (which machine owns which IOMMU groups, and the layout it was given), as
 * the JSON document of ../proto/claims-json.md. Pure: a buffer in, records or a negative errno plus a
 * message out, so the parser can be fuzzed. The file is written by root and read back by the same daemon,
 * but it is still parsed strictly: a corrupted file must never produce a claim on the wrong group. */

#include <stddef.h>
#include <stdint.h>

#define CLAIMS_FORMAT_VERSION 1
/* A claim record holds a domain XML (at most VMSPEC_INPUT_MAX) and a layout; a few hundred machines fit. */
#define CLAIMS_INPUT_MAX (256U * 1024U * 1024U)
#define CLAIMS_MACHINES_MAX 4096U
#define CLAIM_NAME_MAX 255U

typedef struct ClaimRecord {
        char *machine;       /* the VM's name */
        uint64_t claimed_at; /* µs since the epoch (CLOCK_REALTIME) */
        unsigned *groups;    /* sorted, unique */
        size_t n_groups;
        char **devices; /* normalised PCI addresses, sorted */
        char *spec;     /* the spec the claim was made with (domain XML or JSON spec) */
        char *layout;   /* the layout JSON returned to the claimer, verbatim */
} ClaimRecord;

void claim_record_done(ClaimRecord *r);
void claim_records_free(ClaimRecord *records, size_t n);

/* True for names vfiomap accepts for a machine: 1..CLAIM_NAME_MAX bytes of valid UTF-8 without control
 * characters or "/" (libvirt allows almost anything; these are what a file name and a message can carry). */
int claim_name_is_valid(const char *name);

/* Parses a claims document. Machine names must be unique and no group may belong to two machines
 * (-EINVAL with a message naming them). On failure *ret_error (when not NULL) gets a malloc'd message. */
int claims_parse(const char *buf, size_t len, ClaimRecord **ret, size_t *ret_n, char **ret_error);

/* Serializes records (in the given order) to a NUL-terminated pretty-printed document. */
int claims_serialize(const ClaimRecord *records, size_t n, char **ret);
