/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What fuzz-domain-xml and fuzz-vm-spec check on every accepted VM description: the spec is within its
 * documented bounds, and the whole pipeline behind it (layout on an empty host, JSON, text report, SVG)
 * runs without error and keeps RAM equal to <memory>. */

#include <json-c/json.h>

#include "fuzz.h"
#include "guest-topology.h"
#include "layout.h"
#include "util.h"
#include "vmspec.h"

static inline void fuzz_check_spec(int r, VmSpec *s, char *error) {
        Host host = { .root = (char *) "(fuzz)" };
        Layout *l = NULL;
        json_object *j = NULL;
        char *svg = NULL, *text = NULL;
        size_t text_size = 0;
        FILE *f;

        if (r < 0) {
                FUZZ_CHECK(!s);
                FUZZ_CHECK(r == -EINVAL || r == -E2BIG || r == -EFBIG || r == -ENOMEM);
                FUZZ_CHECK(r == -ENOMEM || error); /* every refusal says why */
                free(error);
                return;
        }
        FUZZ_CHECK(s && !error);
        FUZZ_CHECK(s->memory > 0 && s->memory <= VMSPEC_SIZE_MAX);
        FUZZ_CHECK(s->max_memory == 0 || s->max_memory >= s->memory);
        FUZZ_CHECK(s->current_memory <= s->memory);
        FUZZ_CHECK(machine_family_to_string(s->machine.family));
        FUZZ_CHECK(s->n_hostdevs <= VMSPEC_HOSTDEVS_MAX);
        for (size_t i = 0; i < s->n_hostdevs; i++)
                FUZZ_CHECK(pci_address_is_valid(s->hostdevs[i].address));
        FUZZ_CHECK(s->n_controllers <= VMSPEC_CONTROLLERS_MAX);

        /* The guest topology: every hostdev gets an address space, a requester ID when it is one. */
        if (s->n_hostdevs > 0) {
                GuestDmaSpace *spaces = calloc(s->n_hostdevs, sizeof(GuestDmaSpace));
                FUZZ_CHECK(spaces);
                FUZZ_CHECK(guest_dma_spaces(s, spaces) == 0);
                for (size_t i = 0; i < s->n_hostdevs; i++)
                        FUZZ_CHECK(!spaces[i].known || spaces[i].key >= 0x10000 ||
                                   spaces[i].key == ((uint32_t) spaces[i].bus << 8 | spaces[i].devfn));
                free(spaces);
        }
        {
                int k = guest_free_controller_index(s);
                FUZZ_CHECK(k == -1 || (k >= 1 && k <= 255));
                for (size_t i = 0; k > 0 && i < s->n_controllers; i++)
                        FUZZ_CHECK(s->controllers[i].index != (unsigned) k);
        }

        FUZZ_CHECK(layout_compute(&host, s, &l) == 0);
        FUZZ_CHECK(l->ram_size == s->memory);
        FUZZ_CHECK(verdict_to_string(l->verdict));
        FUZZ_CHECK(layout_to_json(l, &j) == 0 && json_object_to_json_string(j));
        json_object_put(j);
        f = open_memstream(&text, &text_size);
        FUZZ_CHECK(f);
        FUZZ_CHECK(layout_report(l, f) == 0);
        fclose(f);
        free(text);
        FUZZ_CHECK(layout_to_svg(l, &svg) == 0 && strstr(svg, "</svg>"));
        free(svg);
        layout_free(l);
        vmspec_free(s);
}
