/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* bar_claims_find() on any /proc/iomem text, for a GPU whose BARs cover typical framebuffer addresses. */

#include "bar-ownership.h"
#include "fuzz.h"
#include "host.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Bar bars[] = {
                { .index = 0, .start = 0x82000000, .end = 0x82ffffff, .flags = PCI_RESOURCE_MEM },
                { .index = 1, .start = 0x4400000000, .end = 0x440fffffff, .flags = PCI_RESOURCE_MEM | PCI_RESOURCE_MEM_64 },
                { .index = 5, .start = 0x4000, .end = 0x407f, .flags = PCI_RESOURCE_IO },
                { .index = 6, .start = 0x83000000, .end = 0x8307ffff, .flags = PCI_RESOURCE_MEM },
        };
        Device d = { .address = "0000:01:00.0", .bars = bars, .n_bars = ELEMENTSOF(bars), .driver = (char *) "vfio-pci" };
        BarClaim *vfio = NULL, *host = NULL;
        IomemEntry *e = NULL;
        size_t n = 0;
        int nv, nh;

        if (iomem_parse((const char *) data, size, &e, &n, NULL, NULL) < 0)
                return 0;
        nv = bar_claims_find(e, n, &d, &vfio);
        FUZZ_CHECK(nv >= 0);
        FUZZ_CHECK((nv == 0) == (vfio == NULL));
        for (int i = 0; i < nv; i++) {
                const Bar *b = NULL;
                for (size_t j = 0; j < ELEMENTSOF(bars); j++)
                        if (bars[j].index == vfio[i].bar)
                                b = bars + j;
                /* only memory BARs 0-5, the claim inside its BAR, never VFIO's own or the BAR itself */
                FUZZ_CHECK(b && b->index <= 5 && (b->flags & PCI_RESOURCE_MEM));
                FUZZ_CHECK(vfio[i].start >= b->start && vfio[i].end <= b->end && vfio[i].start <= vfio[i].end);
                FUZZ_CHECK(vfio[i].name && !streq(vfio[i].name, "vfio") && !streq(vfio[i].name, d.address));
                FUZZ_CHECK(vfio[i].framebuffer == iomem_name_is_framebuffer(vfio[i].name));
                for (int j = 0; j < i; j++)
                        FUZZ_CHECK(vfio[j].bar != vfio[i].bar || !streq(vfio[j].name, vfio[i].name));
        }
        /* on a host driver only framebuffers count, a subset of the claims seen on vfio-pci */
        d.driver = (char *) "nvidia";
        nh = bar_claims_find(e, n, &d, &host);
        FUZZ_CHECK(nh >= 0 && nh <= nv);
        for (int i = 0; i < nh; i++)
                FUZZ_CHECK(host[i].framebuffer);
        free(vfio);
        free(host);
        iomem_free(e, n);
        return 0;
}
