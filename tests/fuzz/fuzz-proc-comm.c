/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* proc_comm_parse() on a whole /proc/PID/comm: whatever a process named itself. */

#include "fuzz.h"
#include "sysfs-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char comm[PROC_COMM_MAX];
        int k;

        k = proc_comm_parse((const char *) data, size, comm);
        if (k < 0) {
                FUZZ_CHECK(k == -EBADMSG);
                return 0;
        }
        /* Printable ASCII only: safe on a terminal, valid UTF-8 on the bus and in JSON. */
        FUZZ_CHECK(comm[0]);
        FUZZ_CHECK(strlen(comm) < PROC_COMM_MAX && strlen(comm) <= size);
        for (const char *c = comm; *c; c++)
                FUZZ_CHECK(*c >= 0x20 && *c < 0x7f);
        return 0;
}
